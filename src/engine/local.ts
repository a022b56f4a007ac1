// The local engine: berth in-process, daemonless. Stores open lazily on first use, so
// commands that need no state (version, help) never touch the database.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { ensureDefaultImage } from '../image/default-image.js';
import { ImageStore } from '../image/store.js';
import { ContentStore } from '../storage/content.js';
import { openDb, type Db } from '../storage/db.js';
import { LayerStore } from '../storage/layers.js';
import { cgroupVersion, kernelVersion, operatingSystem } from '../sys/host.js';
import { apiVersion, berthVersion, minApiVersion } from '../version.js';
import type { Engine, Filters, SystemInfo, VersionInfo } from './engine.js';
import { ImageService, type ImageStores } from './images.js';
import { dbFile, type EnginePaths } from './paths.js';

export class LocalEngine implements Engine {
  private opened?: { db: Db; stores: ImageStores; images: ImageService };

  constructor(readonly paths: EnginePaths) {}

  private async open(): Promise<NonNullable<LocalEngine['opened']>> {
    if (this.opened) return this.opened;
    mkdirSync(this.paths.root, { recursive: true, mode: 0o711 });
    const db = openDb(dbFile(this.paths));
    const content = new ContentStore(this.paths.root);
    const layers = new LayerStore(this.paths.root, db);
    await Promise.all([content.init(), layers.init()]);
    const images = new ImageStore(db, content, layers);
    const stores = { content, layers, images };
    this.opened = { db, stores, images: new ImageService(stores) };
    return this.opened;
  }

  async info(): Promise<SystemInfo> {
    const { stores } = await this.open();
    return {
      ID: '',
      Containers: 0,
      ContainersRunning: 0,
      ContainersPaused: 0,
      ContainersStopped: 0,
      Images: stores.images.list().length,
      Driver: 'overlay',
      DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
      DockerRootDir: this.paths.root,
      Name: os.hostname(),
      ServerVersion: berthVersion,
      KernelVersion: kernelVersion(),
      OperatingSystem: operatingSystem(),
      OSType: 'linux',
      Architecture: os.machine(),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroupVersion(),
      DefaultRuntime: 'runc',
      Runtimes: { runc: { path: 'runc' } },
      SecurityOptions: ['name=seccomp,profile=builtin'],
    };
  }

  async version(): Promise<VersionInfo> {
    return {
      Version: berthVersion,
      ApiVersion: apiVersion,
      MinAPIVersion: minApiVersion,
      GitCommit: '',
      GoVersion: `node ${process.version}`,
      Os: 'linux',
      Arch: os.arch() === 'x64' ? 'amd64' : os.arch(),
      KernelVersion: kernelVersion(),
      BuildTime: '',
      Components: [{ Name: 'Engine', Version: berthVersion, Details: { ApiVersion: apiVersion, MinAPIVersion: minApiVersion } }],
    };
  }

  async imageList(opts: { all?: boolean; filters?: Filters }) {
    return (await this.open()).images.list(opts);
  }
  async imageInspect(ref: string) {
    return (await this.open()).images.inspect(ref);
  }
  async imageHistory(ref: string) {
    return (await this.open()).images.history(ref);
  }
  async imageTag(source: string, target: string) {
    return (await this.open()).images.tag(source, target);
  }
  async imageRemove(ref: string, opts: { force?: boolean }) {
    return (await this.open()).images.remove(ref, opts);
  }
  async imagePrune(opts: { all?: boolean; filters?: Filters }) {
    return (await this.open()).images.prune(opts);
  }
  async imageLoad(source: Readable) {
    return (await this.open()).images.load(source);
  }
  async imageSave(refs: string[], out: Writable, opts: { format: 'docker' | 'oci' }) {
    return (await this.open()).images.save(refs, out, opts);
  }
  async imageImport(source: Readable, opts: { ref?: string; changes?: string[]; message?: string }) {
    return (await this.open()).images.import(source, opts);
  }

  async ensureDefaultImage() {
    const { stores } = await this.open();
    return ensureDefaultImage(stores.content, stores.images);
  }

  close(): void {
    this.opened?.db.close();
    this.opened = undefined;
  }
}
