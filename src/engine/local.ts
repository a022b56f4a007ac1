// The local engine: berth in-process, daemonless. Stores open lazily on first use, so
// commands that need no state (version, help) never touch the database.
import { mkdirSync } from 'node:fs';
import { arch as osArch, cpus as osCpus, hostname as osHostname, machine as osMachine, totalmem as osTotalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { effectiveNetworkMode } from '../container/config.js';
import { ContainerStore } from '../container/store.js';
import { ImageStore } from '../image/store.js';
import { CRUN_PATH, OciRuntime } from '../runtime/runtime.js';
import { ContentStore } from '../storage/content.js';
import { openDb, type Db } from '../storage/db.js';
import { LayerStore } from '../storage/layers.js';
import { backingFilesystem, bootId, cgroupVersion, kernelVersion, operatingSystem } from '../sys/host.js';
import { apiVersion, berthVersion, minApiVersion } from '../version.js';
import type {
  AttachOptions,
  ContainerCommitOptions,
  ContainerCreateBody,
  ContainerStats,
  ContainerUpdateBody,
  Engine,
  ExecCreateBody,
  ExecStartOptions,
  Filters,
  LogEntry,
  LogOptions,
  ProgressHandler,
  SystemDataUsage,
  SystemInfo,
  VersionInfo,
  WaitCondition,
} from './engine.js';
import { ImageEvents, ImageService, type ImageStores } from './images.js';
import type { RegistryService } from './registry.js';
import { dbFile, type EnginePaths } from './paths.js';
import { ContainerService } from './containers.js';
import { streamEvents } from './events.js';
import { VolumeService } from './volumes.js';
import { isNetworkName, NetworkService, type EndpointConfig, type NetworkCreateBody } from './networks.js';
import { ForbiddenError } from '../errors.js';
import { NetworkStore } from '../network/store.js';
import { EventLog, type EventMessage } from '../events/log.js';
import { VolumeStore } from '../volume/store.js';

export interface LocalEngineOptions {
  /**
   * How conmon's exit command calls back into berth: the program and its leading arguments.
   * Defaults to this process's node and script, which is right for the CLI.
   */
  berthCommand?: string[];
}

export class LocalEngine implements Engine {
  private opened?: {
    db: Db;
    stores: ImageStores;
    images: ImageService;
    containers: ContainerService;
    volumes: VolumeService;
    networks: NetworkService;
    events: EventLog;
    imageEvents: ImageEvents;
  };

  constructor(
    readonly paths: EnginePaths,
    private readonly options: LocalEngineOptions = {},
  ) {}

  private async open(): Promise<NonNullable<LocalEngine['opened']>> {
    if (this.opened) return this.opened;
    mkdirSync(this.paths.root, { recursive: true, mode: 0o711 });
    const db = openDb(dbFile(this.paths));
    const content = new ContentStore(this.paths.root);
    const layers = new LayerStore(this.paths.root, db);
    content.init();
    layers.init();
    const images = new ImageStore(db, content, layers);
    const stores = { content, layers, images };
    const paths = { root: resolve(this.paths.root), runroot: resolve(this.paths.runroot) };
    const containerStore = new ContainerStore(db);
    const events = new EventLog(db);
    const imageEvents = new ImageEvents(events, images);
    const volumes = new VolumeService(
      new VolumeStore(this.paths.root, db),
      { all: (name) => containerStore.usersOfVolume(name), active: (name) => containerStore.activeUsersOfVolume(name, bootId()) },
      paths.runroot,
      events,
    );
    const networks = new NetworkService(new NetworkStore(db), paths, events, (id) => containerStore.get(id)?.hostConfig.ExtraHosts);
    const containers = new ContainerService({
      paths,
      store: containerStore,
      images,
      imageEvents,
      layers,
      content,
      volumes,
      networks,
      runtime: new OciRuntime({
        runtimeRoot: join(paths.runroot, 'runc'),
        // crun keeps its state apart: runc would take crun's state directories for broken containers.
        runtimeOf: (id) => (containerStore.get(id)?.hostConfig.Runtime === 'crun' ? { path: CRUN_PATH, root: join(paths.runroot, 'crun') } : undefined),
      }),
      berthCommand: this.options.berthCommand ?? [process.execPath, resolve(process.argv[1])],
    });
    // The first berth command of a boot brings back what the restart policies say should run.
    // It must not fail the command the user ran; `berth system boot` reports the same pass.
    await containers.afterBoot().catch(() => undefined);
    this.opened = {
      db,
      stores,
      images: new ImageService(stores, imageEvents, (id) => containers.usersOfImage(id)),
      imageEvents,
      containers,
      volumes,
      networks,
      events,
    };
    return this.opened;
  }

  async info(): Promise<SystemInfo> {
    const { stores, containers } = await this.open();
    const counts = containers.counts();
    // Loaded here, not at start: only info and the registry commands read berth's config file.
    const { loadRegistrySettings, registryServiceConfig } = await import('../image/registry/settings.js');
    return {
      ID: '',
      Containers: counts.total,
      ContainersRunning: counts.running,
      ContainersPaused: counts.paused,
      ContainersStopped: counts.stopped,
      Images: stores.images.list().length,
      Driver: 'overlay',
      DriverStatus: [['Backing Filesystem', backingFilesystem(this.paths.root)], ['Supports d_type', 'true']],
      DockerRootDir: this.paths.root,
      Name: osHostname(),
      ServerVersion: berthVersion,
      KernelVersion: kernelVersion(),
      OperatingSystem: operatingSystem(),
      OSType: 'linux',
      Architecture: osMachine(),
      NCPU: osCpus().length,
      MemTotal: osTotalmem(),
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroupVersion(),
      DefaultRuntime: 'runc',
      Runtimes: { runc: { path: 'runc' } },
      SecurityOptions: ['name=seccomp,profile=builtin'],
      RegistryConfig: registryServiceConfig(loadRegistrySettings()),
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
      Arch: osArch() === 'x64' ? 'amd64' : osArch(),
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
  async imagePull(ref: string, opts: { platform?: string; allTags?: boolean }, onProgress?: ProgressHandler) {
    return (await this.registry()).pull(ref, opts, onProgress);
  }
  async imagePush(ref: string, opts: { allTags?: boolean }, onProgress?: ProgressHandler) {
    return (await this.registry()).push(ref, opts, onProgress);
  }
  async imageSearch(term: string, opts: { limit?: number; filters?: Filters }) {
    return (await this.registry()).search(term, opts);
  }
  async login(server: string | undefined, username?: string, password?: string) {
    return (await this.registry()).login(server, username, password);
  }
  async logout(server: string | undefined) {
    return (await this.registry()).logout(server);
  }

  private registryService?: RegistryService;

  /** The registry client is loaded on first use: most commands never talk to a registry. */
  private async registry(): Promise<RegistryService> {
    const { stores, imageEvents } = await this.open();
    if (!this.registryService) {
      const { RegistryService } = await import('./registry.js');
      this.registryService = new RegistryService(stores, imageEvents);
    }
    return this.registryService;
  }

  async ensureDefaultImage() {
    const { ensureDefaultImage } = await import('../image/default-image.js');
    const { stores } = await this.open();
    return ensureDefaultImage(stores.content, stores.images);
  }

  async containerCreate(body: ContainerCreateBody, opts?: { name?: string; platform?: string }) {
    return (await this.open()).containers.create(body, opts);
  }
  async containerStart(id: string) {
    return (await this.open()).containers.start(id);
  }
  async containerStop(id: string, opts?: { timeout?: number; signal?: string }) {
    return (await this.open()).containers.stop(id, opts);
  }
  async containerRestart(id: string, opts?: { timeout?: number; signal?: string }) {
    return (await this.open()).containers.restart(id, opts);
  }
  async containerKill(id: string, signal?: string) {
    return (await this.open()).containers.kill(id, signal);
  }
  async containerRemove(id: string, opts?: { force?: boolean; volumes?: boolean }) {
    return (await this.open()).containers.remove(id, opts);
  }
  async containerList(opts?: { all?: boolean; limit?: number; size?: boolean; filters?: Filters }) {
    return (await this.open()).containers.list(opts);
  }
  async containerInspect(id: string, opts?: { size?: boolean }) {
    return (await this.open()).containers.inspect(id, opts);
  }
  async containerWait(id: string, condition?: WaitCondition) {
    return (await this.open()).containers.wait(id, condition);
  }
  async *containerLogs(id: string, opts: LogOptions): AsyncIterable<LogEntry> {
    yield* (await this.open()).containers.logs(id, opts);
  }
  async containerAttach(id: string, opts: AttachOptions) {
    return (await this.open()).containers.attach(id, opts);
  }
  async containerPrune(opts?: { filters?: Filters }) {
    return (await this.open()).containers.prune(opts);
  }
  async containerRename(id: string, newName: string) {
    return (await this.open()).containers.rename(id, newName);
  }
  async containerPause(id: string) {
    return (await this.open()).containers.pause(id);
  }
  async containerUnpause(id: string) {
    return (await this.open()).containers.unpause(id);
  }
  async containerStatPath(id: string, path: string) {
    return (await this.open()).containers.files.statPath(id, path);
  }
  async containerArchive(id: string, path: string) {
    return (await this.open()).containers.files.archive(id, path);
  }
  async containerExtract(id: string, path: string, content: Readable, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {}) {
    return (await this.open()).containers.files.extract(id, path, content, opts);
  }
  async containerChanges(id: string) {
    return (await this.open()).containers.files.changes(id);
  }
  async containerExport(id: string, out: Writable) {
    return (await this.open()).containers.files.export(id, out);
  }
  async containerCommit(id: string, opts: ContainerCommitOptions) {
    return { Id: await (await this.open()).containers.files.commit(id, opts) };
  }
  async containerTop(id: string, psArgs?: string) {
    return (await this.open()).containers.top(id, psArgs);
  }
  async *containerStats(id: string, opts?: { stream?: boolean }): AsyncIterable<ContainerStats> {
    yield* (await this.open()).containers.stats(id, opts);
  }
  async containerUpdate(id: string, body: ContainerUpdateBody) {
    return (await this.open()).containers.update(id, body);
  }
  async containerHealthcheck(id: string) {
    return (await this.open()).containers.healthcheck(id);
  }
  async execCreate(id: string, body: ExecCreateBody) {
    return (await this.open()).containers.execs.create(id, body);
  }
  async execStart(execId: string, opts?: ExecStartOptions) {
    return (await this.open()).containers.execs.start(execId, opts);
  }
  async execInspect(execId: string) {
    return (await this.open()).containers.execs.inspect(execId);
  }
  async systemDf(): Promise<SystemDataUsage> {
    const { images, containers, volumes } = await this.open();
    const { LayersSize, Images } = await images.diskUsage();
    return { LayersSize, Images, Containers: await containers.list({ all: true, size: true }), Volumes: await volumes.diskUsage(), BuildCache: [] };
  }
  async systemBoot() {
    return (await this.open()).containers.afterBoot();
  }
  async execResize(execId: string, height: number, width: number) {
    return (await this.open()).containers.execs.resize(execId, height, width);
  }
  /** conmon's exit command: record the exit, apply --rm and the restart policy. Not part of the Engine API. */
  async containerCleanup(id: string) {
    return (await this.open()).containers.cleanup(id);
  }

  async volumeCreate(opts: { Name?: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }) {
    return (await this.open()).volumes.create(opts);
  }
  async volumeList(filters?: Filters) {
    return (await this.open()).volumes.list(filters);
  }
  async volumeInspect(name: string) {
    return (await this.open()).volumes.inspect(name);
  }
  async volumeRemove(name: string, opts: { force?: boolean }) {
    return (await this.open()).volumes.remove(name, opts);
  }
  async volumePrune(opts: { all?: boolean; filters?: Filters }) {
    return (await this.open()).volumes.prune(opts);
  }

  async networkCreate(body: NetworkCreateBody) {
    return (await this.open()).networks.create(body);
  }
  async networkList(filters?: Filters) {
    const { networks } = await this.open();
    // Docker always has its default bridge: berth makes it the first time anyone looks.
    await networks.defaultNetwork();
    return networks.list(filters);
  }
  async networkInspect(ref: string) {
    return (await this.open()).networks.inspect(ref);
  }
  async networkRemove(ref: string) {
    return (await this.open()).networks.remove(ref);
  }
  async networkPrune(filters?: Filters) {
    return (await this.open()).networks.prune(filters);
  }
  async networkConnect(network: string, container: string, config?: EndpointConfig) {
    const { networks, containers } = await this.open();
    const rec = await containers.get(container);
    const mode = effectiveNetworkMode(rec.hostConfig);
    if (!isNetworkName(mode)) {
      throw new ForbiddenError('network_mode', `container sharing network namespace with another container or host cannot be connected to any other network (network mode ${mode})`);
    }
    const n = await networks.attach(rec.id, network, config);
    if (rec.state.Running) {
      try {
        await networks.connectRunning(n.id, containers.networkInfo(rec));
      } catch (err) {
        await networks.leave(rec.id, n.id);
        networks.detach(rec.id, n.id);
        throw err;
      }
    }
  }
  async networkDisconnect(network: string, container: string) {
    const { networks, containers } = await this.open();
    const rec = await containers.get(container);
    const n = await networks.resolve(network);
    if (!networks.attachments(rec.id).some((a) => a.network.id === n.id)) {
      throw new ForbiddenError('not_connected', `container ${rec.id} is not connected to network ${n.name}`);
    }
    await networks.leave(rec.id, n.id);
    networks.detach(rec.id, n.id);
  }

  async *events(opts: { since?: string; until?: string; filters?: Filters }, signal?: AbortSignal): AsyncIterable<EventMessage> {
    yield* streamEvents((await this.open()).events, opts, signal);
  }

  close(): void {
    this.opened?.db.close();
    this.opened = undefined;
  }
}
