// The engine's volume operations in Docker API shapes, on top of the volume store.
import { promises as fsp } from 'node:fs';
import type { EventLog } from '../events/log.js';
import type { VolumeRecord, VolumeStore } from '../volume/store.js';
import type { Filters } from './engine.js';
import { boolFilter, checkFilterKeys, labelsMatch } from './filters.js';

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

/** Containers that mount a volume; the containers part of the engine answers this. */
export type VolumeUsers = (name: string) => string[];

export class VolumeService {
  constructor(
    private readonly store: VolumeStore,
    private readonly usersOf: VolumeUsers,
    private readonly events?: EventLog,
  ) {}

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
  async forContainer(name: string, anonymous = false): Promise<{ name: string; mountpoint: string }> {
    let v = this.store.get(name);
    if (!v) {
      v = await this.store.create({ name, anonymous });
      this.events?.record('volume', 'create', v.name, { driver: v.driver });
    }
    await fsp.mkdir(v.mountpoint, { recursive: true, mode: 0o755 });
    return v;
  }

  /** `rm -v` and `run --rm`: the anonymous volumes among `names` that no container mounts any more. */
  async removeAnonymous(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const v = this.store.get(name);
      // As Docker: a volume another container still mounts stays, without an error.
      if (!v?.anonymous || this.usersOf(name).length > 0) continue;
      await this.store.remove(name, []);
      this.events?.record('volume', 'destroy', name, { driver: v.driver });
    }
  }

  list(filters: Filters = {}): { Volumes: Volume[]; Warnings: string[] } {
    checkFilterKeys(filters, ['dangling', 'driver', 'label', 'name']);
    const dangling = boolFilter(filters, 'dangling');
    const volumes = this.store.list().filter(
      (v) =>
        (dangling === undefined || (this.usersOf(v.name).length === 0) === dangling) &&
        (!filters.driver || filters.driver.includes(v.driver)) &&
        (!filters.name || filters.name.some((n) => v.name.includes(n))) &&
        labelsMatch(v.labels, filters.label),
    );
    return { Volumes: volumes.map(toVolume), Warnings: [] };
  }

  inspect(name: string): Volume {
    return toVolume(this.store.resolve(name));
  }

  async remove(name: string, opts: { force?: boolean }): Promise<void> {
    const existed = this.store.get(name) !== undefined;
    await this.store.remove(name, this.usersOf(name), opts.force);
    if (existed) this.events?.record('volume', 'destroy', name, { driver: 'local' });
  }

  /** Docker 23+: only anonymous volumes unless `all`; never one a container uses. */
  async prune(opts: { all?: boolean; filters?: Filters }): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    const filters = opts.filters ?? {};
    checkFilterKeys(filters, ['label', 'all']);
    const all = opts.all || boolFilter(filters, 'all') === true;
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of this.store.list()) {
      if (!all && !v.anonymous) continue;
      if (!labelsMatch(v.labels, filters.label)) continue;
      if (this.usersOf(v.name).length > 0) continue;
      const size = await this.store.usage(v.name);
      await this.store.remove(v.name, []);
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
