// The engine's volume operations in Docker API shapes, on top of the volume store.
//
// Mounted volumes. A volume created with Docker's local driver options (`type`, `device`, `o`)
// has that filesystem mounted on its data directory from the start of the first container that
// uses it to the end of the last one, as Docker's. Without a daemon there is no count in memory:
// the containers' records are the count (one that is started, prepared for a start or opened by
// `cp` says so in its bookkeeping before its volumes are mounted, and until after they are
// released), and one lock file in the run root orders the mounts and unmounts of all berth
// processes. A reboot takes the mounts away, and records of an earlier boot do not count.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { lazy } from '../builtins.js';
import { SystemError } from '../errors.js';
import type { EventLog } from '../events/log.js';
import { lock } from '../sys/lock.js';
import { isMountPoint, mountFilesystem, unmountFilesystem } from '../sys/mounts.js';
import { needsMount, parseMountOptions, resolveNfsAddress } from '../volume/options.js';
import type { VolumeRecord, VolumeStore } from '../volume/store.js';
import type { ContainerMount } from '../container/mounts.js';
import type { Filters } from './engine.js';
import { boolFilter, checkFilterKeys, labelsExcluded, labelsMatch } from './filters.js';

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Scope: 'local';
  Options: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number };
}

/** Containers that use a volume; the containers part of the engine answers this. */
export interface VolumeUsers {
  /** Those that mount it, whatever their state: a volume they name cannot be removed. */
  all(name: string): string[];
  /** Those that may have it mounted now: started, prepared for a start, or opened by `cp`, in this boot. */
  active(name: string): string[];
}

const LOCK_WAIT_MS = 60_000;

export class VolumeService {
  private readonly lockFile: string;

  constructor(
    private readonly store: VolumeStore,
    private readonly users: VolumeUsers,
    runroot: string,
    private readonly events?: EventLog,
  ) {
    this.lockFile = join(runroot, 'volumes.lock');
  }

  async create(opts: { Name?: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }): Promise<Volume> {
    const v = await this.store.create({ name: opts.Name, driver: opts.Driver, options: opts.DriverOpts, labels: opts.Labels });
    this.events?.record('volume', 'create', v.name, { driver: v.driver });
    return toVolume(v);
  }

  /** The data directory of a volume, whether or not it exists. */
  mountpoint(name: string): string {
    return this.store.mountpoint(name);
  }

  /**
   * The volume a container mounts, created on first use. Its data directory is made again if
   * a crash lost it.
   */
  async forContainer(name: string, anonymous = false, create: ContainerMount['create'] = {}): Promise<VolumeRecord> {
    let v = this.store.get(name);
    if (!v) {
      v = await this.store.create({ name, anonymous, ...create });
      this.events?.record('volume', 'create', v.name, { driver: v.driver });
    }
    await fsp.mkdir(v.mountpoint, { recursive: true, mode: 0o755 });
    return v;
  }

  /**
   * The volume a container is about to use, as forContainer, with its filesystem mounted unless
   * another container's start mounted it already. The container's record says it is active
   * before this, so that another user's end meanwhile leaves the mount alone.
   */
  async mountFor(name: string): Promise<VolumeRecord> {
    if (!needsMount(this.store.get(name)?.options ?? {})) return this.forContainer(name);
    return this.withMountLock(async () => {
      // Made again here if a `volume rm` took it meanwhile: then a plain directory.
      const v = await this.forContainer(name);
      if (needsMount(v.options) && !isMountPoint(v.mountpoint)) await this.mountLocal(v);
      return v;
    });
  }

  /** Docker's local driver's mount, with its messages. The caller holds the mount lock. */
  private async mountLocal(v: VolumeRecord): Promise<void> {
    const type = v.options.type ?? '';
    try {
      if (!v.options.device) throw new Error('missing device in volume options');
      let o: string;
      try {
        o = await resolveNfsAddress(type, v.options.o ?? '', async (host) => (await lazy.dns.promises.lookup(host)).address);
      } catch (err) {
        throw new Error(`error resolving passed in network volume address: ${(err as Error).message}`);
      }
      const { flags, data } = parseMountOptions(o);
      try {
        mountFilesystem(v.options.device, v.mountpoint, type, flags, data);
      } catch (err) {
        throw new Error(`failed to mount local volume: ${(err as Error).message}`);
      }
    } catch (err) {
      throw new SystemError('volume_mount_failed', `error while mounting volume '${v.mountpoint}': ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * After a container's end (or `cp`'s use of a stopped one): unmounts each of `names` that no
   * other container has mounted now. `container` is the one that ends, still active in its record.
   */
  async release(names: readonly string[], container: string): Promise<void> {
    const mounted = names.map((n) => this.store.get(n)).filter((v): v is VolumeRecord => v !== undefined && needsMount(v.options));
    if (mounted.length === 0) return;
    await this.withMountLock(async () => {
      for (const v of mounted) {
        if (this.users.active(v.name).every((id) => id === container)) unmountFilesystem(v.mountpoint);
      }
    });
  }

  private async withMountLock<T>(fn: () => Promise<T>): Promise<T> {
    const held = await lock(this.lockFile, LOCK_WAIT_MS);
    if (!held) throw new SystemError('volume_locked', `timed out waiting for the volume mount lock ${this.lockFile}`);
    try {
      return await fn();
    } finally {
      held.release();
    }
  }

  /** Removal of a volume that may be mounted happens under the mount lock, so no start mounts it meanwhile. */
  private removing(v: VolumeRecord | undefined, fn: () => Promise<void>): Promise<void> {
    return v && needsMount(v.options) ? this.withMountLock(fn) : fn();
  }

  /** `rm -v` and `run --rm`: the anonymous volumes among `names` that no container mounts any more. */
  async removeAnonymous(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const v = this.store.get(name);
      // As Docker: a volume another container still mounts stays, without an error.
      if (!v?.anonymous || this.users.all(name).length > 0) continue;
      await this.removing(v, () => this.store.remove(name, []));
      this.events?.record('volume', 'destroy', name, { driver: v.driver });
    }
  }

  list(filters: Filters = {}): { Volumes: Volume[]; Warnings: string[] } {
    checkFilterKeys(filters, ['dangling', 'driver', 'label', 'name']);
    const dangling = boolFilter(filters, 'dangling');
    const volumes = this.store.list().filter(
      (v) =>
        (dangling === undefined || (this.users.all(v.name).length === 0) === dangling) &&
        (!filters.driver || filters.driver.includes(v.driver)) &&
        (!filters.name || filters.name.some((n) => v.name.includes(n))) &&
        labelsMatch(v.labels, filters.label),
    );
    return { Volumes: volumes.map(toVolume), Warnings: [] };
  }

  inspect(name: string): Volume {
    return toVolume(this.store.resolve(name));
  }

  /** The volumes of GET /system/df: each with the bytes under its data directory and the containers that mount it. */
  async diskUsage(): Promise<Volume[]> {
    return Promise.all(
      this.store.list().map(async (v) => ({ ...toVolume(v), UsageData: { Size: await this.store.usage(v.name), RefCount: this.users.all(v.name).length } })),
    );
  }

  async remove(name: string, opts: { force?: boolean }): Promise<void> {
    const v = this.store.get(name);
    await this.removing(v, () => this.store.remove(name, this.users.all(name), opts.force));
    if (v) this.events?.record('volume', 'destroy', name, { driver: 'local' });
  }

  /** Docker 23+: only anonymous volumes unless `all`; never one a container uses. */
  async prune(opts: { all?: boolean; filters?: Filters }): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    const filters = opts.filters ?? {};
    checkFilterKeys(filters, ['label', 'label!', 'all']);
    const all = opts.all || boolFilter(filters, 'all') === true;
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of this.store.list()) {
      if (!all && !v.anonymous) continue;
      if (!labelsMatch(v.labels, filters.label) || labelsExcluded(v.labels, filters['label!'])) continue;
      if (this.users.all(v.name).length > 0) continue;
      const size = await this.store.usage(v.name);
      await this.removing(v, () => this.store.remove(v.name, []));
      this.events?.record('volume', 'destroy', v.name, { driver: v.driver });
      deleted.push(v.name);
      reclaimed += size;
    }
    return { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }
}

function toVolume(v: VolumeRecord): Volume {
  return {
    Name: v.name,
    Driver: v.driver,
    Mountpoint: v.mountpoint,
    CreatedAt: new Date(v.created).toISOString().replace(/\.\d+Z$/, 'Z'),
    Labels: Object.keys(v.labels).length ? v.labels : null,
    Scope: 'local',
    Options: Object.keys(v.options).length ? v.options : null,
  };
}
