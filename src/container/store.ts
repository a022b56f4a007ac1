// Containers and their lifecycle events in the state database. A container's row is written
// before anything is made on the host, and its bookkeeping says what exists there (a mounted
// rootfs, a runtime container with its monitor), so a crash at any point leaves a record that
// the next berth command can repair from.
import { EventLog } from '../events/log.js';
import type { ContainerConfig, ContainerState, HostConfig } from '../engine/engine.js';
import { ConflictError, errnoCode, NotFoundError } from '../errors.js';
import type { Db } from '../storage/db.js';
import { resolveMounts, type ContainerMount } from './mounts.js';

/** What berth has made on the host for a container, and what it still owes it. */
export interface Bookkeeping {
  /** The overlay may be mounted at merged/ (set before mounting, cleared after unmounting). */
  mounted: boolean;
  /** A runtime container and its conmon may exist (set before creating them). */
  runtime: boolean;
  conmonPid: number;
  /** The monitor's start time (clock ticks), so a reused pid is not taken for it. */
  conmonStart: number;
  /** Stopped or killed by a user: the restart policy does not bring it back. */
  manualStop: boolean;
  /** The last exit is recorded but its restart policy not yet applied (conmon's exit command does that). */
  policyPending: boolean;
  /** The process waiting out a restart delay; the container is 'restarting' while it lives. */
  restarter: { pid: number; start: number } | null;
  restartCount: number;
  /** The health-check loop of a running container (see src/engine/container-health.ts). */
  healthMonitor: { pid: number; start: number } | null;
}

export interface ContainerRecord {
  id: string;
  /** Without the leading '/'. */
  name: string;
  imageId: string;
  /** The image as the user named it. */
  imageRef: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  state: ContainerState;
  book: Bookkeeping;
  /** Unix milliseconds. */
  created: number;
  /** The kernel boot id when the container was last started. */
  bootId: string;
  /** Binds and volumes, resolved at create. */
  mounts: ContainerMount[];
}

interface Row {
  id: string;
  name: string;
  image_id: string;
  image_ref: string;
  config: string;
  host_config: string;
  state: string;
  book: string;
  created: number;
  boot_id: string;
  mounts: string | null;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function initialState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

export function initialBook(): Bookkeeping {
  return {
    mounted: false,
    runtime: false,
    conmonPid: 0,
    conmonStart: 0,
    manualStop: false,
    policyPending: false,
    restarter: null,
    restartCount: 0,
    healthMonitor: null,
  };
}

function fromRow(r: Row): ContainerRecord {
  const hostConfig = JSON.parse(r.host_config) as HostConfig;
  return {
    id: r.id,
    name: r.name,
    imageId: r.image_id,
    imageRef: r.image_ref,
    config: JSON.parse(r.config) as ContainerConfig,
    hostConfig,
    state: JSON.parse(r.state) as ContainerState,
    book: { ...initialBook(), ...(JSON.parse(r.book) as Partial<Bookkeeping>) },
    created: r.created,
    bootId: r.boot_id,
    mounts: r.mounts === null ? resolveMounts(hostConfig, null, []) : (JSON.parse(r.mounts) as ContainerMount[]),
  };
}

export function nameConflict(name: string, holder: string): ConflictError {
  return new ConflictError(
    'name_in_use',
    `Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
  );
}

export class ContainerStore {
  private readonly events: EventLog;

  constructor(private readonly db: Db) {
    this.events = new EventLog(db);
  }

  /** Inserts a new container; a taken name is Docker's conflict error. */
  insert(rec: ContainerRecord): void {
    try {
      this.db
        .prepare(
          `INSERT INTO containers (id, name, image_id, image_ref, config, host_config, state, book, created, boot_id, mounts)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          rec.id,
          rec.name,
          rec.imageId,
          rec.imageRef,
          JSON.stringify(rec.config),
          JSON.stringify(rec.hostConfig),
          JSON.stringify(rec.state),
          JSON.stringify(rec.book),
          rec.created,
          rec.bootId,
          JSON.stringify(rec.mounts),
        );
    } catch (err) {
      if (errnoCode(err) === 'SQLITE_CONSTRAINT_UNIQUE') {
        const holder = this.byName(rec.name);
        if (holder) throw nameConflict(rec.name, holder.id);
      }
      throw err;
    }
  }

  get(id: string): ContainerRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM containers WHERE id = ?`).get(id) as Row | undefined;
    return row && fromRow(row);
  }

  byName(name: string): ContainerRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM containers WHERE name = ?`).get(name) as Row | undefined;
    return row && fromRow(row);
  }

  /** Docker's lookup: a full ID, then an exact name, then a unique ID prefix. */
  resolve(ref: string): ContainerRecord {
    const found = this.lookup(ref);
    if (!found) throw new NotFoundError('container_not_found', `No such container: ${ref}`);
    return found;
  }

  lookup(ref: string): ContainerRecord | undefined {
    if (ref === '') return undefined;
    if (/^[a-f0-9]{64}$/.test(ref)) {
      const rec = this.get(ref);
      if (rec) return rec;
    }
    const byName = this.byName(ref.replace(/^\//, ''));
    if (byName) return byName;
    if (!/^[a-f0-9]+$/.test(ref)) return undefined;
    const rows = this.db.prepare(`SELECT * FROM containers WHERE id LIKE ? LIMIT 2`).all(`${ref}%`) as Row[];
    if (rows.length > 1) {
      throw new ConflictError('ambiguous_container_id', `Multiple IDs found with provided prefix: ${ref}`);
    }
    return rows[0] && fromRow(rows[0]);
  }

  /** Newest first, as `ps` lists them. */
  list(): ContainerRecord[] {
    return (this.db.prepare(`SELECT * FROM containers ORDER BY created DESC, rowid DESC`).all() as Row[]).map(fromRow);
  }

  /** Writes state, bookkeeping and boot id together. */
  save(rec: ContainerRecord): void {
    this.db
      .prepare(`UPDATE containers SET state = ?, book = ?, boot_id = ? WHERE id = ?`)
      .run(JSON.stringify(rec.state), JSON.stringify(rec.book), rec.bootId, rec.id);
  }

  /** Writes a changed Config (the names a container takes from the one whose network it joins). */
  saveConfig(rec: Pick<ContainerRecord, 'id' | 'config'>): void {
    this.db.prepare(`UPDATE containers SET config = ? WHERE id = ?`).run(JSON.stringify(rec.config), rec.id);
  }

  /** Writes a changed HostConfig (`update`). */
  saveHostConfig(rec: Pick<ContainerRecord, 'id' | 'hostConfig'>): void {
    this.db.prepare(`UPDATE containers SET host_config = ? WHERE id = ?`).run(JSON.stringify(rec.hostConfig), rec.id);
  }

  rename(id: string, name: string): void {
    try {
      this.db.prepare(`UPDATE containers SET name = ? WHERE id = ?`).run(name, id);
    } catch (err) {
      if (errnoCode(err) === 'SQLITE_CONSTRAINT_UNIQUE') {
        const holder = this.byName(name);
        if (holder) throw nameConflict(name, holder.id);
      }
      throw err;
    }
  }

  delete(id: string): void {
    this.db.prepare(`DELETE FROM containers WHERE id = ?`).run(id);
  }

  usersOfImage(imageId: string): string[] {
    return (this.db.prepare(`SELECT id FROM containers WHERE image_id = ?`).all(imageId) as { id: string }[]).map((r) => r.id);
  }

  /** Writes the mounts after they changed (a volume's content copied in at the first start). */
  saveMounts(rec: Pick<ContainerRecord, 'id' | 'mounts'>): void {
    this.db.prepare(`UPDATE containers SET mounts = ? WHERE id = ?`).run(JSON.stringify(rec.mounts), rec.id);
  }

  /** Containers that mount the volume, whether named by -v, --mount or --volumes-from, or anonymous; oldest first. */
  usersOfVolume(name: string): string[] {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT c.id FROM containers c, json_each(c.mounts) m
         WHERE json_extract(m.value, '$.type') = 'volume' AND json_extract(m.value, '$.source') = ?
         ORDER BY c.created, c.rowid`,
      )
      .all(name) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /**
   * Containers that may have the volume mounted now: their bookkeeping says the rootfs is
   * mounted or a runtime container exists, in boot `bootId` ('' is a stopped container's,
   * which `cp` mounts without starting it); oldest first.
   */
  activeUsersOfVolume(name: string, bootId: string): string[] {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT c.id FROM containers c, json_each(c.mounts) m
         WHERE json_extract(m.value, '$.type') = 'volume' AND json_extract(m.value, '$.source') = ?
           AND (json_extract(c.book, '$.mounted') OR json_extract(c.book, '$.runtime')) AND c.boot_id IN (?, '')
         ORDER BY c.created, c.rowid`,
      )
      .all(name, bootId) as { id: string }[];
    return rows.map((r) => r.id);
  }

  countByStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.db.prepare(`SELECT json_extract(state, '$.Status') AS s, COUNT(*) AS n FROM containers GROUP BY s`).all() as {
      s: string;
      n: number;
    }[]) {
      out[r.s] = r.n;
    }
    return out;
  }

  /** The exit code of the container's last `die` event: what is left of it once removed. */
  lastExitCode(id: string): number | undefined {
    const code = this.events.lastAttributes('container', 'die', id)?.exitCode;
    return code === undefined ? undefined : Number(code);
  }

  /** Records a lifecycle event with Docker's actor attributes. */
  event(action: string, rec: Pick<ContainerRecord, 'id' | 'name' | 'imageRef' | 'config'>, extra: Record<string, string> = {}): void {
    const attributes = { ...rec.config.Labels, image: rec.imageRef, name: rec.name, ...extra };
    this.events.record('container', action, rec.id, attributes);
  }
}
