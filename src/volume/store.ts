// Named volumes: a row in the state database and a directory <root>/volumes/<name>/_data.
// The row is written first and the directory made after, so a crash leaves a row whose
// directory is recreated on next use, never a directory nobody knows about. A volume whose
// options name a filesystem has it mounted on that directory while containers use it (see
// src/engine/volumes.ts).
import { randomId } from '../sys/random.js';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, InvalidArgumentError, NotFoundError, SystemError } from '../errors.js';
import type { Db } from '../storage/db.js';
import { isMountPoint, unmountFilesystem } from '../sys/mounts.js';
import { localOptionsError, needsMount } from './options.js';

export interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  created: number;
  anonymous: boolean;
  mountpoint: string;
}

interface VolumeRow {
  name: string;
  driver: string;
  labels: string;
  options: string;
  created: number;
  anonymous: number;
}

const validVolumeName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class VolumeStore {
  readonly dir: string;

  constructor(
    root: string,
    private readonly db: Db,
  ) {
    this.dir = join(root, 'volumes');
  }

  mountpoint(name: string): string {
    return join(this.dir, name, '_data');
  }

  /**
   * Creates a volume, or returns the existing one of that name as Docker does when the
   * driver matches. An empty name makes an anonymous volume with a random 64-hex name; a
   * container names its anonymous volumes itself, before they exist.
   */
  async create(opts: { name?: string; driver?: string; labels?: Record<string, string>; options?: Record<string, string>; anonymous?: boolean }): Promise<VolumeRecord> {
    const anonymous = opts.anonymous ?? !opts.name;
    const name = opts.name || randomId();
    if (/^[a-zA-Z0-9]$/.test(name)) {
      throw new InvalidArgumentError('invalid_volume_name', `create ${name}: volume name is too short, names should be at least two alphanumeric characters`);
    }
    if (!validVolumeName.test(name)) {
      throw new InvalidArgumentError(
        'invalid_volume_name',
        `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      );
    }
    const driver = opts.driver ?? 'local';
    if (driver !== 'local') {
      throw new InvalidArgumentError('volume_driver', `create ${name}: volume driver "${driver}" is not available: berth has the local driver only`);
    }
    // As Docker's: an existing volume is returned whatever options were asked for.
    const existing = this.get(name);
    if (existing) return existing;
    const invalid = localOptionsError(opts.options ?? {});
    if (invalid) throw new InvalidArgumentError('volume_option', `create ${name}: ${invalid}`);
    this.db
      .prepare(`INSERT OR IGNORE INTO volumes (name, driver, labels, options, created, anonymous) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(name, driver, JSON.stringify(opts.labels ?? {}), JSON.stringify(opts.options ?? {}), Date.now(), anonymous ? 1 : 0);
    await fsp.mkdir(this.mountpoint(name), { recursive: true, mode: 0o755 });
    return this.get(name)!;
  }

  get(name: string): VolumeRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM volumes WHERE name = ?`).get(name) as VolumeRow | undefined;
    return row && this.record(row);
  }

  resolve(name: string): VolumeRecord {
    const v = this.get(name);
    if (!v) throw new NotFoundError('volume_not_found', `get ${name}: no such volume`);
    return v;
  }

  list(): VolumeRecord[] {
    return (this.db.prepare(`SELECT * FROM volumes ORDER BY name`).all() as VolumeRow[]).map((r) => this.record(r));
  }

  /** Deletes a volume and its data; `users` are the containers that still mount it. */
  async remove(name: string, users: string[], force = false): Promise<void> {
    const v = this.get(name);
    if (!v) {
      if (force) return;
      throw new NotFoundError('volume_not_found', `get ${name}: no such volume`);
    }
    if (users.length > 0) {
      throw new ConflictError('volume_in_use', `remove ${name}: volume is in use - [${users.join(', ')}]`);
    }
    // Never delete through a mount: a bind-mounted device's files are the user's. Only a volume
    // whose options name a filesystem is ever mounted (one a crash left mounted, here).
    if (needsMount(v.options) && isMountPoint(v.mountpoint)) {
      unmountFilesystem(v.mountpoint);
      if (isMountPoint(v.mountpoint)) throw new SystemError('volume_mounted', `remove ${name}: ${v.mountpoint} is still mounted`);
    }
    // The row goes last: if removing the data fails half-way, the volume is still listed
    // and `rm` can be run again.
    await fsp.rm(join(this.dir, name), { recursive: true, force: true });
    this.db.prepare(`DELETE FROM volumes WHERE name = ?`).run(name);
  }

  /** Bytes used under the volume's data directory. */
  async usage(name: string): Promise<number> {
    let total = 0;
    const walk = async (dir: string): Promise<void> => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else total += (await fsp.lstat(p).catch(() => undefined))?.size ?? 0;
      }
    };
    await walk(this.mountpoint(name));
    return total;
  }

  private record(r: VolumeRow): VolumeRecord {
    return {
      name: r.name,
      driver: r.driver,
      labels: JSON.parse(r.labels) as Record<string, string>,
      options: JSON.parse(r.options) as Record<string, string>,
      created: r.created,
      anonymous: r.anonymous === 1,
      mountpoint: this.mountpoint(r.name),
    };
  }
}
