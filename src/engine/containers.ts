// The engine's container operations in Docker API shapes: the lifecycle of a container from
// create to remove, daemonless. A container outlives the berth process that started it: conmon
// watches it and, when it exits, calls back into berth (`berth container cleanup <id>`) to
// record the exit, unmount, apply --rm and the restart policy.
//
// State and repair. The database row says what berth has made on the host for a container
// (Bookkeeping), written before the host is changed. Any command that touches a container
// first reconciles that record with the host (sync): conmon's exit file, whether conmon still
// lives, `runc state`, and the kernel's boot id. So a crash of berth, a killed conmon or
// container, or a reboot is repaired by the next command. Work on one container that must not
// interleave (start, stop, exit handling, remove) holds its lock, a flock on a file in the
// runtime directory.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { commandLine, commandString, effectiveNetworkMode, mergeConfig, namespaceMode, normalizeHostConfig } from '../container/config.js';
import { fqdn, hostsFile, resolvConfFile } from '../container/etc-files.js';
import { readLog } from '../container/logs.js';
import { randomName, validName } from '../container/names.js';
import { ContainerPaths, MONITOR_BUNDLE_FILES } from '../container/paths.js';
import { mkdirInRoot, readFileInRoot } from '../container/rootfs.js';
import { specInput } from '../container/spec-input.js';
import { inheritedMounts, mountInputs, parseBind, parseVolumesFrom, resolveMounts } from '../container/mounts.js';
import { statsStream } from '../container/stats.js';
import { checkHealthcheck, healthOnStart } from '../container/health.js';
import { initialBook, initialState, ZERO_TIME, type ContainerRecord, type ContainerStore } from '../container/store.js';
import { parseSignal, SIGNALS, statusText } from '../container/status.js';
import { filterPsOutput, psEf } from '../container/top.js';
import { resolveUser } from '../container/user.js';
import { ConflictError, errnoCode, InvalidArgumentError, NotFoundError, SystemError } from '../errors.js';
import { hostPlatform } from '../image/types.js';
import type { ImageStore } from '../image/store.js';
import { containerResolvConf, dnsSettings, extraHostEntries, HOST_GATEWAY, hostsLine } from '../network/etc.js';
import { checkRuntime, readHostFacts, resolveDeviceFlag, resolveThrottleDevices } from '../runtime/host-facts.js';
import { attach as attachSocket, resizeTerminal, type AttachHandlers, type AttachSession } from '../runtime/attach.js';
import { DetachKeyScanner, parseDetachKeys } from '../container/detach-keys.js';
import { readExitCode, startFailureExitCode, wasOomKilled, type CreateResult, type OciRuntime, type PendingCreate, type RuntimeState } from '../runtime/runtime.js';
import { buildSpec, DEFAULT_CGROUP_PARENT, specToJson, type OciProcess } from '../runtime/spec.js';
import type { LayerStore } from '../storage/layers.js';
import type { ContentStore } from '../storage/content.js';
import { RootDir } from '../storage/in-root.js';
import { copyTree } from '../storage/tree-tar.js';
import { bootId } from '../sys/host.js';
import { lock, tryLock, type FileLock } from '../sys/lock.js';
import { cgroupPids, processAlive, processStartTime, removeCgroup } from '../sys/pids.js';
import { cgroupMode, cgroupOomKills, warmCgroupMigration } from '../sys/cgroups.js';
import { randomId } from '../sys/random.js';
import { removeFile, removeTree, removeTreeSettling } from '../sys/tree.js';
import { runTool } from '../sys/process.js';
import { mark } from '../timing.js';
import type {
  AttachEnd,
  AttachOptions,
  BootReport,
  ContainerAttachment,
  ContainerCreateBody,
  ContainerInspect,
  ContainerPruneReport,
  ContainerStats,
  ContainerSummary,
  ContainerTop,
  ContainerUpdateBody,
  HealthState,
  Filters,
  LogEntry,
  LogOptions,
  MountPoint,
  WaitCondition,
} from './engine.js';
import { checkFilterKeys, globMatch, labelsExcluded, labelsMatch, parseTimestamp } from './filters.js';
import { ContainerExecs } from './container-exec.js';
import { ContainerFiles } from './container-fs.js';
import type { VolumeService } from './volumes.js';
import { isNetworkName, type ContainerNetworkInfo, type NetworkService } from './networks.js';
import { bindingsOf, portsView, summaryPorts, withPublishAll, type PortBindings } from '../network/ports.js';
import { ContainerHealth } from './container-health.js';
import { liveResources, mergeUpdate } from './container-update.js';
import type { EnginePaths } from './paths.js';
import type { ImageEvents } from './images.js';

export interface ContainerServiceDeps {
  paths: EnginePaths;
  store: ContainerStore;
  images: ImageStore;
  imageEvents: ImageEvents;
  layers: LayerStore;
  content: ContentStore;
  volumes: VolumeService;
  networks: NetworkService;
  runtime: OciRuntime;
  /** How conmon calls back into berth: the program and its leading arguments (node and the CLI script). */
  berthCommand: string[];
}

/** The runtime could not start the container's command; `exitCode` is what `docker run` exits with. */
export class ContainerStartError extends SystemError {
  constructor(message: string, readonly exitCode: 125 | 126 | 127) {
    super(exitCode === 127 ? 'command_not_found' : exitCode === 126 ? 'command_not_executable' : 'start_failed', message);
  }
}

const LOCK_WAIT_MS = 60_000;
/** Docker's restart backoff: doubling from 100 ms, capped at a minute, reset after 10 s of running. */
const RESTART_BACKOFF_MIN_MS = 100;
const RESTART_BACKOFF_MAX_MS = 60_000;
const RESTART_RESET_MS = 10_000;
const INIT_BINARIES = ['/usr/bin/tini-static', '/usr/libexec/docker/docker-init', '/usr/bin/docker-init'];
const FLOCK = '/usr/bin/flock';

const isActive = (rec: ContainerRecord) => ['running', 'paused', 'restarting'].includes(rec.state.Status);

function newId(): string {
  // Docker avoids all-digit short IDs, which would read as numbers.
  for (;;) {
    const id = randomId();
    if (/[a-f]/.test(id.slice(0, 12))) return id;
  }
}

function nowIso(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Docker repeats the default bridge's endpoint at the top of NetworkSettings (and only that one). */
function defaultBridgeFields(ep: Record<string, unknown> | undefined): Record<string, unknown> {
  const keys = ['EndpointID', 'Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'MacAddress'];
  return Object.fromEntries(keys.map((k) => [k, ep?.[k] ?? (k.endsWith('Len') ? 0 : '')]));
}

function dirSize(path: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(path);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const p = join(path, name);
    try {
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) total += dirSize(p);
      else total += st.size;
    } catch {
      // vanished while walking
    }
  }
  return total;
}


export class ContainerService {
  private readonly store: ContainerStore;
  private boot?: string;
  private bootReport?: Promise<BootReport>;
  readonly execs: ContainerExecs;
  /** cp, diff, export, commit. */
  readonly files: ContainerFiles;
  private readonly health: ContainerHealth;

  constructor(private readonly deps: ContainerServiceDeps) {
    this.store = deps.store;
    this.health = new ContainerHealth({
      store: deps.store,
      runtime: deps.runtime,
      paths: (id) => this.paths(id),
      berthCommand: [...deps.berthCommand, '--root', deps.paths.root, '--runroot', deps.paths.runroot],
    });
    this.files = new ContainerFiles({
      store: deps.store,
      images: deps.images,
      imageEvents: deps.imageEvents,
      layers: deps.layers,
      content: deps.content,
      volumes: deps.volumes,
      paths: (id) => this.paths(id),
      get: (ref) => this.get(ref),
      withLock: (id, fn) => this.withLock(id, fn),
      pause: (id) => this.pause(id),
      unpause: (id) => this.unpause(id),
    });
    this.execs = new ContainerExecs({
      runroot: deps.paths.runroot,
      store: deps.store,
      runtime: deps.runtime,
      containerPaths: (id) => this.paths(id),
      get: (ref) => this.get(ref),
    });
  }

  /** The kernel's boot id: a container started under another one did not survive a reboot. */
  private get bootId(): string {
    return (this.boot ??= bootId());
  }

  paths(id: string): ContainerPaths {
    return new ContainerPaths(this.deps.paths.root, this.deps.paths.runroot, id);
  }

  // ---- create ----

  async create(body: ContainerCreateBody, opts: { name?: string; platform?: string } = {}): Promise<{ Id: string; Warnings: string[] }> {
    if (!body.Image) throw new InvalidArgumentError('no_image', 'config.Image is required');
    mark('open state');
    const warnings: string[] = [];
    const hostConfig = normalizeHostConfig(body.HostConfig, cgroupMode() === 'v2' ? 'private' : 'host');
    const image = this.deps.images.resolve(body.Image);
    const imageConfig = await this.deps.images.config(image.id);
    const host = hostPlatform();
    const imagePlatform = `${imageConfig.os}/${imageConfig.architecture}`;
    if (opts.platform) {
      const wanted = opts.platform.split('/');
      if (wanted.length < 2 || wanted.length > 3 || wanted.some((p) => p === '')) {
        throw new InvalidArgumentError('invalid_platform', `invalid platform "${opts.platform}": expected os/arch[/variant]`);
      }
      if (`${wanted[0]}/${wanted[1]}` !== imagePlatform) {
        throw new NotFoundError(
          'platform_mismatch',
          `image with reference ${body.Image} was found but does not match the specified platform: wanted ${wanted[0]}/${wanted[1]}, actual: ${imagePlatform}`,
        );
      }
    }
    // As Docker: a --platform that the image matches was asked for, so it is no surprise.
    if (!opts.platform && imagePlatform !== `${host.os}/${host.architecture}`) {
      warnings.push(
        `The requested image's platform (${imagePlatform}) does not match the detected host platform (${host.os}/${host.architecture}) and no specific platform was requested`,
      );
    }
    const id = newId();
    const config = mergeConfig(body, imageConfig.config, id);
    const networkMode = effectiveNetworkMode(hostConfig);
    if (networkMode === 'host' && !body.Hostname) config.Hostname = osHostname();
    if (body.Hostname && (hostConfig.UTSMode === 'host' || networkMode.startsWith('container:'))) {
      throw new InvalidArgumentError('hostname_conflict', 'conflicting options: hostname and the network mode');
    }
    // As Docker: a shared network namespace has no ports of its own to publish; the host's
    // are the container's own already, so there publishing is only pointless.
    const publishes = Object.keys(hostConfig.PortBindings ?? {}).length > 0;
    if (networkMode.startsWith('container:') && (publishes || hostConfig.PublishAllPorts)) {
      throw new InvalidArgumentError('publish_conflict', 'conflicting options: port publishing and the container type network mode');
    }
    if (networkMode === 'host' && publishes) {
      warnings.push('Published ports are discarded when using host network mode');
      hostConfig.PortBindings = {};
    }
    if (config.MacAddress && (networkMode === 'host' || networkMode.startsWith('container:'))) {
      throw new InvalidArgumentError('mac_conflict', 'conflicting options: mac-address and the network mode');
    }
    if (body.Hostname && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(body.Hostname)) {
      throw new InvalidArgumentError('invalid_hostname', `invalid hostname format: ${body.Hostname}`);
    }
    if (hostConfig.Init) findInitBinary();
    // Without a network of its own (host, none), --add-host's host-gateway is the default bridge's gateway.
    const wantsGateway = hostConfig.ExtraHosts?.some((h) => h.endsWith(`:${HOST_GATEWAY}`)) && !isNetworkName(networkMode);
    const hostGateway = wantsGateway ? await this.deps.networks.defaultGateway() : undefined;
    checkRuntime(hostConfig.Runtime ?? 'runc');
    checkHealthcheck(config.Healthcheck);
    bindingsOf(hostConfig.PortBindings as PortBindings);
    for (const mode of [networkMode, hostConfig.IpcMode, hostConfig.PidMode]) {
      if (mode?.startsWith('container:')) this.store.resolve(mode.slice('container:'.length));
    }
    const inherited = (hostConfig.VolumesFrom ?? []).flatMap((spec) => {
      const from = parseVolumesFrom(spec);
      return inheritedMounts(this.store.resolve(from.container).mounts, from.mode);
    });
    const mounts = resolveMounts(hostConfig, config.Volumes, inherited);
    // Anonymous volumes are named now, so that the record names them before they exist.
    const anonymous = new Set<string>();
    for (const m of mounts) {
      if (m.type !== 'volume' || m.source !== '') continue;
      m.source = randomId();
      anonymous.add(m.source);
    }
    // Resource limits and the like are checked now, so that a bad value fails create, not start.
    buildSpec(specInput(id, config, hostConfig, this.paths(id), commandLine(config), {
      host: readHostFacts(),
      user: { uid: 0, gid: 0, additionalGids: [], home: '/' },
      joined: { network: '/proc/self/ns/net', ipc: '/proc/self/ns/ipc', pid: '/proc/self/ns/pid' },
      devices: [],
      mounts: mountInputs(mounts, (name) => this.deps.volumes.mountpoint(name)),
      throttle: resolveThrottleDevices(hostConfig),
    }));

    const rec: ContainerRecord = {
      id,
      name: '',
      imageId: image.id,
      imageRef: body.Image,
      config,
      hostConfig,
      state: initialState(),
      book: initialBook(),
      created: Date.now(),
      bootId: '',
      mounts,
    };
    if (opts.name !== undefined) {
      const name = opts.name.replace(/^\//, '');
      if (!validName.test(name)) {
        throw new InvalidArgumentError('invalid_name', `Invalid container name (${opts.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      }
      rec.name = name;
      this.store.insert(rec);
    } else {
      for (let attempt = 0; ; attempt++) {
        rec.name = randomName(attempt);
        try {
          this.store.insert(rec);
          break;
        } catch (err) {
          if (!(err instanceof ConflictError) || attempt >= 10) throw err;
        }
      }
    }
    mark('create: record');
    // After the record, which makes them in use: a `volume rm` meanwhile cannot take them.
    try {
      for (const m of mounts) if (m.type === 'volume') await this.deps.volumes.forContainer(m.source, anonymous.has(m.source), m.create);
      if (isNetworkName(networkMode)) await this.deps.networks.attach(id, networkMode, body.NetworkingConfig?.EndpointsConfig?.[networkMode]);
    } catch (err) {
      this.deps.networks.detach(id);
      this.store.delete(id);
      await this.deps.volumes.removeAnonymous([...anonymous]);
      throw err;
    }
    const p = this.paths(id);
    mkdirSync(p.dir, { recursive: true, mode: 0o700 });
    // upper/ is the root directory the container sees: it must be searchable by any user.
    for (const d of [p.upper, p.merged]) mkdirSync(d, { mode: 0o755 });
    for (const d of [p.work, p.userdata]) mkdirSync(d, { mode: 0o700 });
    writeFileSync(p.hostname, config.Hostname + '\n');
    // A container on a network gets both again when it joins; these are for the other modes.
    writeFileSync(p.hosts, hostsFile(networkMode, extraHostEntries(hostConfig.ExtraHosts, hostGateway).map(hostsLine)));
    const dns = dnsSettings(hostConfig);
    const ownResolvConf = networkMode === 'host' && !dns.servers.length && !dns.search.length && !dns.options.length;
    writeFileSync(p.resolvConf, ownResolvConf ? resolvConfFile() : containerResolvConf(resolvConfFile(), dns));
    this.store.event('create', rec);
    mark('create: directories');
    return { Id: id, Warnings: warnings };
  }

  // ---- reading ----

  /** Resolves a name or ID and brings its record up to date with the host. */
  async get(ref: string): Promise<ContainerRecord> {
    return this.sync(this.store.resolve(ref));
  }

  async list(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Filters } = {}): Promise<ContainerSummary[]> {
    const filters = opts.filters ?? {};
    checkFilterKeys(filters, ['status', 'name', 'label', 'ancestor', 'exited', 'id', 'before', 'since', 'health', 'volume', 'network', 'publish', 'expose']);
    for (const h of filters.health ?? []) {
      if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw new InvalidArgumentError('invalid_filter', `Unrecognised filter value for health: ${h}`);
    }
    const statuses = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
    for (const s of filters.status ?? []) {
      if (!statuses.includes(s)) throw new InvalidArgumentError('invalid_filter', `invalid filter 'status=${s}'`);
    }
    const exited = (filters.exited ?? []).map((e) => {
      if (!/^-?\d+$/.test(e)) throw new InvalidArgumentError('invalid_filter', `invalid filter 'exited=${e}'`);
      return Number(e);
    });
    const published = filters.publish?.flatMap((v) => portFilter('publish', v));
    const exposed = filters.expose?.flatMap((v) => portFilter('expose', v));
    const recs = this.store.list();
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : undefined;
    const createdOf = (ref: string) => this.store.resolve(ref).created;
    const before = filters.before?.map(createdOf);
    const since = filters.since?.map(createdOf);
    const names = filters.name?.map((n) => {
      try {
        return new RegExp(n);
      } catch {
        throw new InvalidArgumentError('invalid_filter', `invalid filter 'name=${n}': not a valid regular expression`);
      }
    });
    const ancestors = filters.ancestor?.map((a) => {
      const img = this.deps.images.lookup(a);
      return { ref: a, id: img?.id };
    });
    const out: ContainerSummary[] = [];
    for (let rec of recs) {
      if (limit !== undefined && out.length >= limit) break;
      rec = await this.sync(rec, { wait: false });
      // Removed meanwhile (e.g. by the exit of a --rm container).
      if (rec.state.Status === 'removing' && !this.store.get(rec.id)) continue;
      if (!opts.all && limit === undefined && !filters.status && !isActive(rec)) continue;
      if (filters.status && !filters.status.includes(rec.state.Status)) continue;
      if (names && !names.some((n) => n.test('/' + rec.name))) continue;
      if (filters.id && !filters.id.some((i) => rec.id.startsWith(i))) continue;
      if (!labelsMatch(rec.config.Labels, filters.label)) continue;
      if (exited.length && (rec.state.Status !== 'exited' || !exited.includes(rec.state.ExitCode))) continue;
      if (before && !before.every((b) => rec.created < b)) continue;
      if (since && !since.every((s) => rec.created > s)) continue;
      if (ancestors && !ancestors.some((a) => a.id === rec.imageId || globMatch(a.ref, rec.imageRef))) continue;
      if (filters.health && !filters.health.includes(rec.state.Health?.Status ?? 'none')) continue;
      if (filters.network && !filters.network.some((n) => this.onNetwork(rec, n))) continue;
      // As Docker's: by container port, published (-p) or exposed (EXPOSE, --expose, -p).
      if (published && !published.some((port) => port in (rec.hostConfig.PortBindings ?? {}))) continue;
      if (exposed && !exposed.some((port) => port in (rec.config.ExposedPorts ?? {}))) continue;
      const summary = this.summary(rec, opts.size ?? false);
      // As Docker's: a volume by name (a bind by its source) or by where it is mounted.
      if (filters.volume && !filters.volume.some((v) => summary.Mounts.some((m) => (m.Name || m.Source) === v || m.Destination === v))) continue;
      out.push(summary);
    }
    return out;
  }

  private summary(rec: ContainerRecord, size: boolean): ContainerSummary {
    const mounts = this.mountPoints(rec);
    const s: ContainerSummary = {
      Id: rec.id,
      Names: ['/' + rec.name],
      Image: rec.imageRef,
      ImageID: rec.imageId,
      Command: commandString(rec.config),
      Created: Math.floor(rec.created / 1000),
      Ports: summaryPorts(this.portsView(rec)),
      Labels: rec.config.Labels,
      State: rec.state.Status,
      Status: statusText(rec),
      HostConfig: { NetworkMode: rec.hostConfig.NetworkMode ?? 'none' },
      NetworkSettings: { Networks: this.networks(rec) },
      Mounts: mounts,
    };
    if (size) {
      s.SizeRw = dirSize(this.paths(rec.id).upper);
      s.SizeRootFs = s.SizeRw + (this.deps.images.get(rec.imageId)?.size ?? 0);
    }
    return s;
  }

  /** Whether the container is on the network named, or with that ID (or a prefix of it), as ps --filter network= asks. */
  private onNetwork(rec: ContainerRecord, ref: string): boolean {
    const attached = this.deps.networks.attachments(rec.id);
    if (attached.length === 0) return effectiveNetworkMode(rec.hostConfig) === ref;
    return attached.some(({ network }) => network.name === ref || (ref.length > 0 && network.id.startsWith(ref)));
  }

  private networks(rec: ContainerRecord): Record<string, unknown> {
    const mode = effectiveNetworkMode(rec.hostConfig);
    if (mode.startsWith('container:')) return {};
    const endpoint = {
      IPAMConfig: null,
      Links: null,
      Aliases: null,
      NetworkID: '',
      EndpointID: '',
      Gateway: '',
      IPAddress: '',
      IPPrefixLen: 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: '',
      DriverOpts: null,
    };
    const attached = this.deps.networks.attachments(rec.id);
    if (attached.length === 0) return { [mode]: endpoint };
    const live = this.deps.networks.endpointsOf(rec.id);
    const out: Record<string, unknown> = {};
    const shortId = rec.id.slice(0, 12);
    for (const { network, aliases, ipv4, ipv6 } of attached) {
      const ep = live.find((l) => l.network.id === network.id)?.endpoint;
      const [v4, v6] = [network.subnets.find((s) => !s.Subnet.includes(':')), network.subnets.find((s) => s.Subnet.includes(':'))];
      out[network.name] = {
        ...endpoint,
        IPAMConfig: ipv4 || ipv6 ? { ...(ipv4 ? { IPv4Address: ipv4 } : {}), ...(ipv6 ? { IPv6Address: ipv6 } : {}) } : null,
        Aliases: endpointAliases(aliases, { userNetwork: network.name !== 'bridge', started: rec.state.StartedAt !== ZERO_TIME, shortId }),
        NetworkID: network.id,
        DNSNames: network.name === 'bridge' ? null : [rec.name, shortId, ...aliases],
        ...(ep
          ? {
              EndpointID: ep.id,
              Gateway: v4?.Gateway ?? '',
              IPAddress: ep.ip,
              IPPrefixLen: v4 ? Number(v4.Subnet.split('/')[1]) : 0,
              IPv6Gateway: ep.ipv6 ? v6?.Gateway ?? '' : '',
              GlobalIPv6Address: ep.ipv6 ?? '',
              GlobalIPv6PrefixLen: ep.ipv6 && v6 ? Number(v6.Subnet.split('/')[1]) : 0,
              MacAddress: ep.mac,
            }
          : {}),
      };
    }
    return out;
  }

  /** NetworkSettings.Ports: as Docker, empty unless the container runs. */
  private portsView(rec: ContainerRecord): ReturnType<typeof portsView> {
    if (!rec.state.Running) return {};
    return portsView(this.deps.networks.endpointsOf(rec.id).flatMap((e) => e.endpoint.ports), rec.config.ExposedPorts);
  }

  /** What the network part needs to know of a container to give it endpoints. */
  networkInfo(rec: ContainerRecord): ContainerNetworkInfo {
    const p = this.paths(rec.id);
    return {
      containerId: rec.id,
      name: rec.name,
      hostname: fqdn(rec.config.Hostname || rec.id.slice(0, 12), rec.config.Domainname),
      hostsPath: p.hosts,
      resolvConfPath: p.resolvConf,
      dns: dnsSettings(rec.hostConfig),
      ...(rec.config.MacAddress ? { macAddress: rec.config.MacAddress } : {}),
      ports: bindingsOf(
        rec.hostConfig.PublishAllPorts ? withPublishAll(rec.hostConfig.PortBindings as PortBindings, rec.config.ExposedPorts) : (rec.hostConfig.PortBindings as PortBindings),
      ),
    };
  }

  private mountPoints(rec: ContainerRecord): MountPoint[] {
    // As Docker's: a --mount tmpfs is a mount point, a --tmpfs (HostConfig.Tmpfs) is not.
    const tmpfs = (rec.hostConfig.Mounts ?? [])
      .filter((m) => m.Type === 'tmpfs')
      .map((m): MountPoint => ({ Type: 'tmpfs', Source: '', Destination: m.Target, Mode: '', RW: !m.ReadOnly, Propagation: '' }));
    const stored = rec.mounts.map((m): MountPoint =>
      m.type === 'volume'
        ? {
            Type: 'volume',
            Name: m.source,
            Source: this.deps.volumes.mountpoint(m.source),
            Destination: m.destination,
            Driver: 'local',
            Mode: m.mode,
            RW: m.rw,
            Propagation: '',
          }
        : { Type: 'bind', Source: m.source, Destination: m.destination, Mode: m.mode, RW: m.rw, Propagation: m.propagation ?? 'rprivate' },
    );
    return [...stored, ...tmpfs];
  }

  async inspect(ref: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    const rec = await this.get(ref);
    const networks = this.networks(rec);
    const p = this.paths(rec.id);
    const etc = this.paths(this.networkOwner(rec)?.id ?? rec.id);
    const argv = commandLine(rec.config);
    const lowers = (() => {
      const top = this.deps.images.get(rec.imageId)?.topLayer;
      if (!top) return [];
      try {
        return this.deps.layers.stack(top).map((l) => this.deps.layers.diffDir(l.chainId));
      } catch {
        return [];
      }
    })();
    const out: ContainerInspect = {
      Id: rec.id,
      Created: new Date(rec.created).toISOString(),
      Path: argv[0] ?? '',
      Args: argv.slice(1),
      State: rec.state,
      Image: rec.imageId,
      ResolvConfPath: etc.resolvConf,
      HostnamePath: etc.hostname,
      HostsPath: etc.hosts,
      LogPath: p.log,
      Name: '/' + rec.name,
      RestartCount: rec.book.restartCount,
      Driver: 'overlay',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: this.execs.ids(rec.id),
      HostConfig: rec.hostConfig,
      GraphDriver: {
        Name: 'overlay',
        Data: { LowerDir: lowers.join(':'), MergedDir: p.merged, UpperDir: p.upper, WorkDir: p.work },
      },
      Mounts: this.mountPoints(rec),
      Config: rec.config,
      NetworkSettings: {
        Bridge: '',
        SandboxID: '',
        HairpinMode: false,
        LinkLocalIPv6Address: '',
        LinkLocalIPv6PrefixLen: 0,
        Ports: this.portsView(rec),
        SandboxKey: rec.state.Pid > 0 && effectiveNetworkMode(rec.hostConfig) !== 'host' ? `/proc/${rec.state.Pid}/ns/net` : '',
        SecondaryIPAddresses: null,
        SecondaryIPv6Addresses: null,
        ...defaultBridgeFields(networks.bridge as Record<string, unknown> | undefined),
        Networks: networks,
      },
    };
    if (opts.size) {
      out.SizeRw = dirSize(p.upper);
      out.SizeRootFs = out.SizeRw + (this.deps.images.get(rec.imageId)?.size ?? 0);
    }
    return out;
  }

  // ---- locking and repair ----

  private async withLock<T>(id: string, fn: (rec: ContainerRecord) => Promise<T>): Promise<T> {
    const held = await lock(this.paths(id).lock, LOCK_WAIT_MS);
    if (!held) throw new SystemError('container_locked', `container ${id} is busy: another berth process holds its lock`);
    try {
      // The container may have been removed while this process waited.
      const rec = this.store.get(id);
      if (!rec) {
        this.forgetRunDir(id);
        throw new NotFoundError('container_not_found', `No such container: ${id}`);
      }
      return await fn(await this.reconcile(rec));
    } finally {
      held.release();
    }
  }

  /**
   * Taking a container's lock creates its runtime dir for the lock file; when the container
   * turned out to be gone (removed while this process waited), that dir must go again.
   */
  private forgetRunDir(id: string): void {
    removeTree(this.paths(id).runDir);
  }

  /**
   * Brings a record up to date with the host. With `wait: false` (listing), a container whose
   * lock another process holds is shown as recorded instead of waiting for it.
   */
  private async sync(rec: ContainerRecord, opts: { wait?: boolean } = {}): Promise<ContainerRecord> {
    if (!this.mayNeedRepair(rec)) return rec;
    let held: FileLock | null;
    if (opts.wait === false) held = tryLock(this.paths(rec.id).lock);
    else held = await lock(this.paths(rec.id).lock, LOCK_WAIT_MS);
    if (!held) return rec;
    try {
      const fresh = this.store.get(rec.id);
      if (!fresh) {
        this.forgetRunDir(rec.id);
        return { ...rec, state: { ...rec.state, Status: 'removing' } };
      }
      return await this.reconcile(fresh);
    } finally {
      held.release();
    }
  }

  /** Cheap test: only a container with something on the host can disagree with its record. */
  private mayNeedRepair(rec: ContainerRecord): boolean {
    if (rec.book.mounted || rec.book.runtime) {
      if (rec.bootId !== this.bootId) return true;
      if (existsSync(join(this.paths(rec.id).exitDir, rec.id))) return true;
      // A rootfs mounted without a runtime container is a start that died half-way.
      if (!rec.book.runtime) return true;
      return !processAlive(rec.book.conmonPid, rec.book.conmonStart);
    }
    if (rec.state.Status === 'restarting') return !rec.book.restarter || !processAlive(rec.book.restarter.pid, rec.book.restarter.start);
    return false;
  }

  /** The repair itself; the caller holds the container's lock. */
  private async reconcile(rec: ContainerRecord): Promise<ContainerRecord> {
    if (rec.state.Status === 'restarting' && !(rec.book.restarter && processAlive(rec.book.restarter.pid, rec.book.restarter.start))) {
      rec.book.restarter = null;
      rec.book.policyPending = false;
      rec.state = { ...rec.state, Status: 'exited', Restarting: false };
      this.store.save(rec);
    }
    if (!rec.book.mounted && !rec.book.runtime) return rec;
    const p = this.paths(rec.id);
    if (rec.bootId !== '' && rec.bootId !== this.bootId) {
      return this.recordExit(rec, 255, { error: 'the host rebooted while the container was running' });
    }
    const code = readExitCode(p.exitDir, rec.id);
    if (code !== null) return this.recordExit(rec, code);
    const monitorAlive = processAlive(rec.book.conmonPid, rec.book.conmonStart);
    // With its monitor alive, a container is as recorded: running, or created and waiting for start.
    if (monitorAlive && ['running', 'paused', 'created', 'exited'].includes(rec.state.Status)) return rec;
    let st: RuntimeState | null = null;
    try {
      st = await this.deps.runtime.state(rec.id);
    } catch {
      st = null;
    }
    if (st && (st.status === 'running' || st.status === 'paused')) {
      // Running, maybe without its monitor: a start that berth did not get to record, or a
      // killed conmon. The container still runs and stop/kill still reach it.
      if (rec.state.Status !== st.status) {
        rec.state = { ...rec.state, Status: st.status, Running: true, Paused: st.status === 'paused', Pid: st.pid, StartedAt: rec.state.StartedAt === ZERO_TIME ? st.created : rec.state.StartedAt };
        this.store.save(rec);
      }
      return rec;
    }
    // Nothing runs: a start that died half-way, or a container whose monitor died with it.
    if (rec.state.Status === 'running' || rec.state.Status === 'paused') {
      return this.recordExit(rec, 255, { error: 'the container monitor (conmon) died; the exit status is unknown' });
    }
    await this.teardown(rec);
    rec.book = { ...rec.book, mounted: false, runtime: false, conmonPid: 0, conmonStart: 0 };
    rec.state = { ...rec.state, Pid: 0 };
    this.store.save(rec);
    return rec;
  }

  /** Removes what the container has on the host: runtime state, cgroup, rootfs mount, monitor files. */
  private async teardown(rec: ContainerRecord): Promise<void> {
    const p = this.paths(rec.id);
    this.health.stopMonitor(rec);
    if (rec.book.runtime) {
      // Once conmon has recorded the exit, the runtime would only remove the cgroup and its
      // state; otherwise it must kill what still runs first.
      const exited = readExitCode(p.exitDir, rec.id) !== null;
      if (!exited) await this.deps.runtime.delete(rec.id, true).catch(() => undefined);
      // Left behind by an exited container, or when the runtime had lost its record of the
      // container (a reboot, a wiped run root): either way the cgroup is berth's to remove.
      const cgroup = this.cgroupPath(rec);
      await removeCgroup(cgroup);
      if (exited) this.deps.runtime.removeStoppedState(rec.id);
    }
    mark('teardown: runtime');
    if (isNetworkName(effectiveNetworkMode(rec.hostConfig))) await this.deps.networks.leave(rec.id);
    if (rec.book.mounted) {
      await this.deps.layers.unmount(p.merged);
      mark('teardown: unmount rootfs');
    }
    // Once nothing of the container runs: the last user's end unmounts a volume's filesystem.
    await this.deps.volumes.release(rec.mounts.filter((m) => m.type === 'volume').map((m) => m.source), rec.id);
    removeTree(p.monitor);
    for (const f of MONITOR_BUNDLE_FILES) removeFile(join(p.bundle, f));
  }

  private cgroupPath(rec: ContainerRecord): string {
    const parent = rec.hostConfig.CgroupParent ? '/' + rec.hostConfig.CgroupParent.replace(/^\/+/, '') : DEFAULT_CGROUP_PARENT;
    return `${parent}/${rec.id}`;
  }

  /**
   * Records that the container exited: tears its host side down, applies --rm, and leaves the
   * restart policy to conmon's exit command (policyPending). The caller holds the lock.
   */
  private async recordExit(rec: ContainerRecord, exitCode: number, opts: { error?: string } = {}): Promise<ContainerRecord> {
    const p = this.paths(rec.id);
    // conmon's oom file can miss a kill that comes just before the exit; the cgroup's own
    // count cannot, and it is still there until the teardown below.
    const oom = wasOomKilled(p.monitor) || (rec.book.runtime && cgroupOomKills(this.cgroupPath(rec)) > 0);
    let finishedAt = nowIso();
    try {
      finishedAt = statSync(join(p.exitDir, rec.id)).mtime.toISOString();
    } catch {
      // no exit file: now is as close as berth can tell
    }
    await this.teardown(rec);
    mark('exit: teardown');
    const wasRunning = rec.state.Status === 'running' || rec.state.Status === 'paused';
    rec.book = { ...rec.book, mounted: false, runtime: false, conmonPid: 0, conmonStart: 0 };
    rec.bootId = '';
    if (!wasRunning) {
      // A start that never completed: the container stays created.
      rec.state = { ...rec.state, Pid: 0 };
      this.store.save(rec);
      return rec;
    }
    rec.state = {
      ...rec.state,
      Status: 'exited',
      Running: false,
      Paused: false,
      Restarting: false,
      OOMKilled: oom,
      Pid: 0,
      ExitCode: exitCode,
      Error: opts.error ?? '',
      FinishedAt: finishedAt,
    };
    const policy = rec.hostConfig.RestartPolicy?.Name ?? 'no';
    rec.book.policyPending = !rec.book.manualStop && policy !== 'no' && policy !== '';
    this.store.save(rec);
    // Docker reports the OOM kill first, then the exit it caused.
    if (oom) this.store.event('oom', rec);
    this.store.event('die', rec, { exitCode: String(exitCode) });
    // As Docker's --rm: the anonymous volumes go with the container.
    if (rec.hostConfig.AutoRemove) await this.destroy(rec, { volumes: true });
    return rec;
  }

  /** Deletes the container's files and record; it must not be running. The caller holds the lock. */
  private async destroy(rec: ContainerRecord, opts: { volumes?: boolean } = {}): Promise<void> {
    rec.state = { ...rec.state, Status: 'removing' };
    this.store.save(rec);
    await this.teardown(rec);
    this.deps.networks.detach(rec.id);
    const p = this.paths(rec.id);
    mark('remove: teardown');
    removeTree(p.dir);
    mark('remove: files');
    this.store.delete(rec.id);
    this.store.event('destroy', rec);
    if (opts.volumes) await this.deps.volumes.removeAnonymous(rec.mounts.filter((m) => m.type === 'volume').map((m) => m.source));
    // The lock file goes last: a process waiting for it finds the record gone. conmon's exit
    // command may be creating its lock file in there at this moment: hence the retries.
    await removeTreeSettling(p.runDir);
    mark('remove');
  }

  // ---- start ----

  async start(ref: string): Promise<void> {
    const { id } = this.store.resolve(ref);
    await this.withLock(id, async (rec) => {
      if (rec.state.Status === 'running') return;
      if (rec.state.Status === 'paused') throw new ConflictError('container_paused', 'cannot start a paused container, try unpause instead');
      if (rec.state.Status === 'removing') throw new ConflictError('container_removing', `container ${rec.id} is marked for removal and cannot be started`);
      rec.book.restartCount = 0;
      rec.book.restarter = null;
      await this.startLocked(rec);
    });
  }

  /** Prepares (if needed) and starts the container; the caller holds the lock. */
  private async startLocked(rec: ContainerRecord): Promise<void> {
    if (!rec.book.runtime) await this.prepare(rec);
    try {
      await this.deps.runtime.start(rec.id, rec.state.Pid);
    } catch (err) {
      // Started already, by a berth that died before it could record it.
      const st = err instanceof ConflictError ? await this.deps.runtime.state(rec.id).catch(() => null) : null;
      if (st?.status === 'running') {
        rec.state = { ...rec.state, Status: 'running', Running: true, Pid: st.pid, StartedAt: st.created };
        this.store.save(rec);
        return;
      }
      const message = (err as Error).message;
      await this.teardown(rec);
      rec.book = { ...rec.book, mounted: false, runtime: false, conmonPid: 0, conmonStart: 0 };
      rec.state = { ...rec.state, Status: rec.state.StartedAt === ZERO_TIME ? 'created' : 'exited', Pid: 0, Error: message, ExitCode: startFailureExitCode(message) };
      this.store.save(rec);
      throw new ContainerStartError(message, startFailureExitCode(message));
    }
    mark('start: runc start');
    rec.state = {
      ...rec.state,
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      ExitCode: 0,
      Error: '',
      StartedAt: nowIso(),
      ...(ContainerHealth.enabled(rec) ? { Health: healthOnStart(rec.state.Health) } : {}),
    };
    rec.book.manualStop = false;
    rec.book.policyPending = false;
    rec.book.restarter = null;
    this.health.startMonitor(rec);
    this.store.save(rec);
    this.store.event('start', rec);
    mark('start: record');
  }

  /**
   * Mounts the rootfs, writes the OCI bundle and creates the runtime container under a new
   * conmon, stopped just before the command runs (so an attach misses nothing). The record
   * says what is about to exist before it exists. `onReleased` runs once conmon is running
   * `runc create` (conmon listens on the attach socket by then, or within a millisecond).
   */
  private async prepare(rec: ContainerRecord, onReleased?: () => void): Promise<void> {
    const p = this.paths(rec.id);
    const hc = rec.hostConfig;
    const joined = this.joinedNamespaces(rec);
    // As Docker's: a container on another's network takes its names too (hostname, domain name
    // and the /etc files), as they are when it starts.
    const owner = this.networkOwner(rec);
    if (owner && (rec.config.Hostname !== owner.config.Hostname || rec.config.Domainname !== owner.config.Domainname)) {
      rec.config = { ...rec.config, Hostname: owner.config.Hostname, Domainname: owner.config.Domainname };
      this.store.saveConfig(rec);
    }
    rec.book = { ...rec.book, mounted: true, runtime: true, conmonPid: 0, conmonStart: 0 };
    rec.bootId = this.bootId;
    this.store.save(rec);
    mark('prepare: record');
    // Until runc has moved the container's first process into its cgroups.
    const warmer = warmCgroupMigration();
    let network: Promise<void> | undefined;
    let pending: PendingCreate | undefined;
    let creating: Promise<CreateResult> | undefined;
    try {
      for (const d of [p.upper, p.merged]) mkdirSync(d, { recursive: true, mode: 0o755 });
      for (const d of [p.work, p.userdata]) mkdirSync(d, { recursive: true, mode: 0o700 });
      removeTree(p.monitor);
      mkdirSync(p.monitor, { recursive: true, mode: 0o700 });
      for (const f of MONITOR_BUNDLE_FILES) removeFile(join(p.bundle, f));
      // conmon starts now and waits: it loads while the rootfs is mounted and the spec written.
      // Should berth die before it releases conmon, conmon goes on all the same (it takes the
      // start pipe's end for its byte), so the bundle has no config.json until it is complete
      // (written whole and renamed, after the mount): runc create then fails and leaves nothing.
      removeFile(p.configJson);
      const maxSize = hc.LogConfig?.Config?.['max-size'];
      pending = this.deps.runtime.launch({
        id: rec.id,
        name: rec.name,
        bundleDir: p.bundle,
        exitDir: p.exitDir,
        persistDir: p.monitor,
        logPath: p.log,
        ...(maxSize ? { logMaxSize: parseLogSize(maxSize) } : {}),
        pidFile: p.pidFile,
        conmonPidFile: p.conmonPidFile,
        tty: rec.config.Tty,
        stdin: rec.config.OpenStdin,
        stdinOnce: rec.config.StdinOnce,
        exitCommand: this.exitCommand(rec, p),
      });
      mark('prepare: launch conmon');
      const image = this.deps.images.get(rec.imageId);
      if (!image) throw new NotFoundError('image_not_found', `No such image: ${rec.imageId}`);
      if (image.topLayer) await this.deps.layers.mount(image.topLayer, p.merged, p.upper, p.work, { volatile: hc.AutoRemove === true });
      mark('prepare: mount rootfs');
      const user = resolveUser(
        rec.config.User,
        hc.GroupAdd ?? [],
        readFileInRoot(p.merged, '/etc/passwd'),
        readFileInRoot(p.merged, '/etc/group'),
      );
      if (rec.config.WorkingDir) mkdirInRoot(p.merged, rec.config.WorkingDir);
      for (const b of hc.Binds ?? []) {
        const bind = parseBind(b);
        if (bind.type === 'bind' && !existsSync(bind.source)) mkdirSync(bind.source, { recursive: true, mode: 0o755 });
      }
      const volumeDirs = await this.prepareVolumes(rec, p);
      mark('prepare: volumes');
      for (const m of hc.Mounts ?? []) {
        if (m.Type === 'bind' && !existsSync(m.Source!)) {
          throw new InvalidArgumentError('invalid_mount', `invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
        }
      }
      const devices = (hc.Devices ?? []).map((d) => resolveDeviceFlag(`${d.PathOnHost}:${d.PathInContainer}:${d.CgroupPermissions}`));
      // The namespace now, its interfaces while conmon runs `runc create` (below), which only
      // joins the namespace: they need to be there by the start, not before.
      const netns = isNetworkName(effectiveNetworkMode(hc)) ? this.deps.networks.makeNamespace(rec.id) : undefined;
      if (netns) {
        joined.network = netns;
        mark('prepare: network namespace');
      }
      const spec = buildSpec(
        specInput(rec.id, rec.config, hc, p, commandLine(rec.config), {
          host: readHostFacts({ withDevices: hc.Privileged === true }),
          user,
          joined,
          devices,
          mounts: mountInputs(rec.mounts, (name) => volumeDirs.get(name)!),
          throttle: resolveThrottleDevices(hc),
          ...(hc.Init ? { initPath: findInitBinary() } : {}),
          ...(owner ? { etcFrom: this.paths(owner.id) } : {}),
        }),
      );
      const size = hc.ConsoleSize;
      if (rec.config.Tty && Array.isArray(size) && size[0] > 0 && size[1] > 0) {
        // The terminal has the client's size from the start, before any resize could arrive.
        (spec.process as OciProcess & { consoleSize?: { height: number; width: number } }).consoleSize = { height: size[0], width: size[1] };
      }
      writeFileSync(`${p.configJson}.tmp`, specToJson(spec));
      renameSync(`${p.configJson}.tmp`, p.configJson);
      mark('prepare: OCI spec');
      creating = pending.create();
      onReleased?.();
      // conmon runs `runc create` by now.
      if (netns) network = this.deps.networks.up(this.networkInfo(rec));
      // A network failure is the one to report: runc may fail only because of it.
      const [result] = await Promise.all([creating, network]).catch(async (err) => {
        await network;
        throw err;
      });
      mark('prepare: conmon + runc create, network');
      rec.book.conmonPid = result.conmonPid;
      rec.book.conmonStart = processStartTime(result.conmonPid) ?? 0;
      rec.state = { ...rec.state, Pid: result.pid };
      this.store.save(rec);
    } catch (err) {
      // What the network made so far is undone by the teardown only once it has stopped.
      await network?.catch(() => undefined);
      if (creating) await creating.catch(() => undefined);
      else pending?.abandon();
      await this.teardown(rec);
      rec.book = { ...rec.book, mounted: false, runtime: false, conmonPid: 0, conmonStart: 0 };
      rec.bootId = '';
      const message = (err as Error).message;
      const exitCode = startFailureExitCode(message);
      rec.state = { ...rec.state, Pid: 0, Error: message, ExitCode: exitCode };
      this.store.save(rec);
      if (err instanceof InvalidArgumentError || err instanceof NotFoundError) throw err;
      throw new ContainerStartError(message, exitCode);
    } finally {
      warmer.stop();
    }
  }

  /**
   * Makes sure the container's volumes exist, with the filesystems their options name mounted,
   * and, at the first start, fills each new empty one from what the image has at its
   * destination (Docker's copy of image content into a volume; not with nocopy). The rootfs is
   * mounted and nothing runs in it yet. Returns each volume's data directory.
   */
  private async prepareVolumes(rec: ContainerRecord, p: ContainerPaths): Promise<Map<string, string>> {
    const dirs = new Map<string, string>();
    let copied = false;
    for (const m of rec.mounts) {
      if (m.type !== 'volume') continue;
      const { mountpoint } = await this.deps.volumes.mountFor(m.source);
      dirs.set(m.source, mountpoint);
      if (!m.copyData) continue;
      m.copyData = false;
      copied = true;
      if (readdirSync(mountpoint).length > 0) continue;
      const from = RootDir.open(p.merged);
      const to = RootDir.open(mountpoint);
      try {
        await copyTree(from, m.destination, to);
      } catch (err) {
        // Nothing there, or not a directory: nothing to copy.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      } finally {
        from.close();
        to.close();
      }
    }
    if (copied) this.store.saveMounts(rec);
    return dirs;
  }

  /**
   * What conmon runs when the container exits: `berth container cleanup`. A berth attached to
   * the container (run without -d) records the exit itself, so while it holds the attached lock
   * the cleanup is skipped instead of starting a second node process for nothing; if that berth
   * died, the lock is free and the cleanup runs. The lock is only tested, not held: a cleanup
   * that restarts the container must not keep the next exit's cleanup from running.
   */
  private exitCommand(rec: ContainerRecord, p: ContainerPaths): string[] {
    const { root, runroot } = this.deps.paths;
    const cleanup = [...this.deps.berthCommand, '--root', root, '--runroot', runroot, 'container', 'cleanup', rec.id];
    if (!existsSync(FLOCK)) return cleanup;
    const script = `${FLOCK} --nonblock --conflict-exit-code 99 "$0" true; [ $? -eq 99 ] || exec "$@"`;
    return ['/bin/sh', '-c', script, p.attachedLock, ...cleanup];
  }

  /** The container whose network namespace this one joins (--network container:<x>), while it exists. */
  private networkOwner(rec: ContainerRecord): ContainerRecord | undefined {
    const mode = effectiveNetworkMode(rec.hostConfig);
    if (!mode.startsWith('container:')) return undefined;
    try {
      return this.store.resolve(mode.slice('container:'.length));
    } catch {
      return undefined;
    }
  }

  /** The namespace files of the containers named by container:<x> modes; they must be running. */
  private joinedNamespaces(rec: ContainerRecord): { network?: string; ipc?: string; pid?: string } {
    const out: { network?: string; ipc?: string; pid?: string } = {};
    const network = effectiveNetworkMode(rec.hostConfig);
    const modes: [keyof typeof out, string | undefined, string][] = [
      ['network', isNetworkName(network) ? undefined : network, 'net'],
      ['ipc', rec.hostConfig.IpcMode, 'ipc'],
      ['pid', rec.hostConfig.PidMode, 'pid'],
    ];
    for (const [key, mode, ns] of modes) {
      const m = namespaceMode(mode === 'none' ? '' : mode, key, ['private', 'shareable', 'none']);
      if (m.kind !== 'container') continue;
      const other = this.store.resolve(m.ref);
      if (other.id === rec.id) throw new InvalidArgumentError('join_self', `cannot join own ${key} namespace`);
      if (other.state.Status !== 'running' || other.state.Pid <= 0) {
        throw new ConflictError('container_not_running', `cannot join ${key} namespace of a non running container: container ${other.id} is not running`);
      }
      out[key] = `/proc/${other.state.Pid}/ns/${ns}`;
    }
    return out;
  }

  // ---- attach ----

  async attach(ref: string, opts: AttachOptions): Promise<ContainerAttachment> {
    const detachKeys = parseDetachKeys(opts.detachKeys ?? '');
    const { id } = this.store.resolve(ref);
    const p = this.paths(id);
    const handlers = {
      ...(opts.stdout !== false ? { stdout: (d: Buffer) => opts.onOutput('stdout', d) } : {}),
      ...(opts.stderr !== false ? { stderr: (d: Buffer) => opts.onOutput('stderr', d) } : {}),
    };
    // A container prepared here is connected to while runc creates it, not after.
    let early: Promise<AttachSession | undefined> | undefined;
    let failed = false;
    const rec = await this.withLock(id, async (r) => {
      // A stopped container is prepared now and waits for its start with the client attached.
      if ((r.state.Status === 'created' || r.state.Status === 'exited') && !r.book.runtime) {
        try {
          await this.prepare(r, () => {
            early = connectWhenListening(p.bundle, handlers, () => failed).catch(() => undefined);
          });
        } catch (err) {
          failed = true;
          await (await early)?.detach();
          throw err;
        }
      } else if (!['running', 'paused', 'created', 'exited'].includes(r.state.Status)) {
        throw new ConflictError('container_not_running', `cannot attach to a container that is ${r.state.Status}`);
      }
      return r;
    });
    const session = (await early) ?? connectAttach(p.bundle, handlers);
    // As Docker's daemon: each client that attaches (run without -d, start -a, attach) is an event.
    this.store.event('attach', rec);
    mark('attach');
    // This process will see the exit and record it (the caller waits after the output ends);
    // a restart policy is applied by conmon's exit command alone.
    const policy = rec.hostConfig.RestartPolicy?.Name ?? 'no';
    const attached = policy === 'no' || policy === '' ? tryLock(p.attachedLock) : null;
    // As Docker's: the detach keys apply to a terminal with the client's input attached.
    const scanner = rec.config.Tty && opts.stdin ? new DetachKeyScanner(detachKeys) : null;
    let detached = false;
    const detach = async () => {
      await session.detach();
      attached?.release();
    };
    return {
      write: async (data) => {
        if (detached) return;
        if (!scanner) return session.write(data);
        const { forward, detach: hit } = scanner.scan(typeof data === 'string' ? Buffer.from(data) : data);
        if (forward.length) await session.write(forward);
        if (hit) {
          detached = true;
          await detach();
        }
      },
      closeStdin: () => session.closeStdin(),
      resize: (height, width) => {
        if (rec.config.Tty) resizeTerminal(p.bundle, height, width);
      },
      detach,
      done: session.done.then((): AttachEnd => (detached ? 'detached' : 'ended')),
    };
  }

  // ---- stop, kill, restart, pause ----

  async stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const { id } = this.store.resolve(ref);
    const sent = await this.withLock(id, async (rec) => {
      if (rec.state.Status === 'restarting') {
        // Waiting out a restart delay: cancel the restart.
        rec.book = { ...rec.book, manualStop: true, policyPending: false, restarter: null };
        rec.state = { ...rec.state, Status: 'exited', Restarting: false };
        this.store.save(rec);
        this.store.event('stop', rec);
        return null;
      }
      if (!isActive(rec)) return null;
      const signal = parseSignal(opts.signal ?? rec.config.StopSignal ?? 'SIGTERM');
      rec.book.manualStop = true;
      this.store.save(rec);
      await this.signal(rec, signal.name, false);
      this.store.event('kill', rec, { signal: String(signal.number) });
      return rec;
    });
    if (!sent) return;
    const timeout = opts.timeout ?? sent.config.StopTimeout ?? 10;
    let exited = timeout < 0 ? await this.awaitExit(id, Infinity) : await this.awaitExit(id, timeout * 1000);
    if (!exited) {
      await this.withLock(id, async (rec) => {
        if (!isActive(rec)) return;
        await this.signal(rec, 'SIGKILL', true);
        this.store.event('kill', rec, { signal: '9' });
      });
      exited = await this.awaitExit(id, 30_000);
      if (!exited) throw new SystemError('stop_failed', `container ${id} did not exit after SIGKILL`);
    }
    const rec = this.store.get(id);
    if (rec) this.store.event('stop', rec);
  }

  /** Sends a signal to the container's init (or every process); a paused container is thawed to receive it. */
  private async signal(rec: ContainerRecord, signal: string, all: boolean): Promise<void> {
    try {
      await this.deps.runtime.kill(rec.id, signal, all);
      if (rec.state.Status === 'paused') await this.deps.runtime.resume(rec.id);
    } catch (err) {
      // It exited meanwhile: the exit is recorded by whoever syncs next.
      if (!(err instanceof ConflictError) && !(err instanceof NotFoundError)) throw err;
    }
  }

  /** Waits until the container is no longer running; false on timeout. Records the exit. */
  private async awaitExit(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let delay = 5;
    for (;;) {
      const rec = this.store.get(id);
      if (!rec) return true;
      const fresh = await this.sync(rec);
      if (!['running', 'paused'].includes(fresh.state.Status)) return true;
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
      delay = Math.min(delay * 2, 100);
    }
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const sig = parseSignal(signal);
    const { id } = this.store.resolve(ref);
    await this.withLock(id, async (rec) => {
      if (rec.state.Status !== 'running' && rec.state.Status !== 'paused') {
        throw new ConflictError('container_not_running', `Cannot kill container: ${ref}: Container ${rec.id} is not running`);
      }
      const stopSignal = parseSignal(rec.config.StopSignal ?? 'SIGTERM').number;
      if (sig.number === SIGNALS.SIGKILL || sig.number === stopSignal) {
        rec.book.manualStop = true;
        this.store.save(rec);
      }
      await this.signal(rec, sig.name, false);
      this.store.event('kill', rec, { signal: String(sig.number) });
    });
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    await this.stop(ref, opts);
    await this.start(ref);
    const rec = this.store.resolve(ref);
    this.store.event('restart', rec);
  }

  async pause(ref: string): Promise<void> {
    const { id } = this.store.resolve(ref);
    await this.withLock(id, async (rec) => {
      if (rec.state.Status === 'paused') throw new ConflictError('container_paused', `Container ${rec.id} is already paused`);
      if (rec.state.Status !== 'running') throw new ConflictError('container_not_running', `Container ${rec.id} is not running`);
      await this.deps.runtime.pause(rec.id);
      rec.state = { ...rec.state, Status: 'paused', Paused: true };
      this.store.save(rec);
      this.store.event('pause', rec);
    });
  }

  async unpause(ref: string): Promise<void> {
    const { id } = this.store.resolve(ref);
    await this.withLock(id, async (rec) => {
      if (rec.state.Status !== 'paused') throw new ConflictError('container_not_paused', `Container ${rec.id} is not paused`);
      await this.deps.runtime.resume(rec.id);
      rec.state = { ...rec.state, Status: 'running', Paused: false };
      this.store.save(rec);
      this.store.event('unpause', rec);
    });
  }

  // ---- wait, remove, rename, prune ----

  async wait(ref: string, condition: WaitCondition = 'not-running'): Promise<{ StatusCode: number; Error?: { Message: string } }> {
    let last = this.store.resolve(ref);
    const id = last.id;
    const firstFinish = last.state.FinishedAt;
    let delay = 5;
    for (;;) {
      const raw = this.store.get(id);
      // Gone: removed, or --rm after its exit.
      if (!raw) return this.removedResult(id, last);
      last = await this.sync(raw);
      const running = last.state.Status === 'running' || last.state.Status === 'paused';
      if (condition === 'not-running' && !running) {
        if (last.state.Status !== 'removing') return this.waitResult(last);
        // sync found it removed by another process while it waited for the lock.
        if (!this.store.get(id)) return this.removedResult(id, raw);
      }
      if (condition === 'next-exit' && !running && last.state.FinishedAt !== firstFinish) return this.waitResult(last);
      await sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
  }

  /**
   * The result for a container removed since `seen` was read. Another process (conmon's exit
   * command) may have recorded its exit and removed it in between: then its die event has the code.
   */
  private removedResult(id: string, seen: ContainerRecord): { StatusCode: number; Error?: { Message: string } } {
    const exitUnseen = seen.state.Status === 'running' || seen.state.Status === 'paused' || seen.state.Status === 'restarting';
    const code = exitUnseen ? this.store.lastExitCode(id) : undefined;
    return code === undefined ? this.waitResult(seen) : { StatusCode: code };
  }

  private waitResult(rec: ContainerRecord): { StatusCode: number; Error?: { Message: string } } {
    return rec.state.Error ? { StatusCode: rec.state.ExitCode, Error: { Message: rec.state.Error } } : { StatusCode: rec.state.ExitCode };
  }

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const { id } = this.store.resolve(ref);
    const running = await this.withLock(id, async (rec) => {
      if (rec.state.Status === 'paused' && !opts.force) {
        throw new ConflictError('container_paused', `You cannot remove a paused container ${rec.id}. Unpause and then stop the container before attempting removal or force remove`);
      }
      if (isActive(rec) && !opts.force) {
        throw new ConflictError('container_running', `You cannot remove a running container ${rec.id}. Stop the container before attempting removal or force remove`);
      }
      if (!isActive(rec)) {
        await this.destroy(rec, { volumes: opts.volumes });
        return false;
      }
      rec.book = { ...rec.book, manualStop: true, restarter: null, policyPending: false };
      this.store.save(rec);
      if (rec.state.Status !== 'restarting') {
        await this.signal(rec, 'SIGKILL', true);
        this.store.event('kill', rec, { signal: '9' });
      }
      return true;
    });
    if (!running) return;
    await this.awaitExit(id, 30_000);
    await this.withLock(id, async (rec) => {
      if (isActive(rec) && rec.state.Status !== 'restarting') {
        // Still not down (e.g. an unmonitored container): the runtime removes it by force.
        await this.teardown(rec);
        rec = await this.recordExit(rec, 137);
      }
      if (this.store.get(id)) await this.destroy(rec, { volumes: opts.volumes });
    }).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
  }

  async rename(ref: string, newName: string): Promise<void> {
    const name = newName.replace(/^\//, '');
    if (!validName.test(name)) {
      throw new InvalidArgumentError('invalid_name', `Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const { id } = this.store.resolve(ref);
    await this.withLock(id, async (rec) => {
      if (rec.name === name) {
        throw new InvalidArgumentError('same_name', 'Renaming a container with the same name as its current name');
      }
      const old = rec.name;
      this.store.rename(rec.id, name);
      await this.deps.networks.rename(rec.id, name);
      this.store.event('rename', { ...rec, name }, { oldName: '/' + old });
    });
  }

  async prune(opts: { filters?: Filters } = {}): Promise<ContainerPruneReport> {
    const filters = opts.filters ?? {};
    checkFilterKeys(filters, ['until', 'label', 'label!']);
    const until = filters.until?.map((t) => parseTimestamp(t));
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const listed of this.store.list()) {
      const rec = await this.sync(listed);
      // Running, or prepared for a start that a client attached to is about to make.
      if (isActive(rec) || rec.book.runtime) continue;
      if (until && !until.every((u) => rec.created / 1000 < u)) continue;
      if (!labelsMatch(rec.config.Labels, filters.label)) continue;
      if (labelsExcluded(rec.config.Labels, filters['label!'])) continue;
      const size = dirSize(this.paths(rec.id).upper);
      try {
        await this.withLock(rec.id, async (r) => {
          if (isActive(r)) return;
          await this.destroy(r);
          deleted.push(r.id);
          reclaimed += size;
        });
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  // ---- update, stats, health ----

  /** `docker update`: the new limits go to the live cgroup (when the container has one) and into HostConfig for later starts. */
  async update(ref: string, body: ContainerUpdateBody): Promise<{ Warnings: string[] }> {
    const { id } = this.store.resolve(ref);
    return this.withLock(id, async (rec) => {
      const host = readHostFacts();
      const hostConfig = mergeUpdate(rec, body, host.swapLimit);
      const resources = liveResources(rec, hostConfig, body, this.paths(rec.id), host);
      if (rec.book.runtime) await this.deps.runtime.update(rec.id, resources);
      rec.hostConfig = hostConfig;
      this.store.saveHostConfig(rec);
      this.store.event('update', rec);
      return { Warnings: [] };
    });
  }

  stats(ref: string, opts: { stream?: boolean } = {}): AsyncIterable<ContainerStats> {
    const { id } = this.store.resolve(ref);
    return statsStream(async () => {
      const raw = this.store.get(id);
      if (!raw) return null;
      const rec = await this.sync(raw, { wait: false });
      return {
        id: rec.id,
        name: rec.name,
        cgroupPath: this.cgroupPath(rec),
        pid: rec.state.Pid,
        running: rec.state.Status === 'running' || rec.state.Status === 'paused',
        networkMode: effectiveNetworkMode(rec.hostConfig),
      };
    }, opts.stream ?? true);
  }

  /** Runs the health check once (`berth healthcheck run`, also what the container's check loop runs). */
  async healthcheck(ref: string): Promise<HealthState> {
    return this.health.run(await this.get(ref));
  }

  // ---- logs, top ----

  logs(ref: string, opts: LogOptions): AsyncIterable<LogEntry> {
    const { id } = this.store.resolve(ref);
    const running = async () => {
      const rec = this.store.get(id);
      if (!rec) return false;
      const fresh = await this.sync(rec, { wait: false });
      return isActive(fresh) || (fresh.state.Status === 'created' && fresh.book.runtime);
    };
    return readLog(this.paths(id).log, opts, running);
  }

  async top(ref: string, psArgs?: string): Promise<ContainerTop> {
    const rec = await this.get(ref);
    if (rec.state.Status !== 'running' && rec.state.Status !== 'paused') {
      throw new ConflictError('container_not_running', `Container ${rec.id} is not running`);
    }
    const pids = cgroupPids(this.cgroupPath(rec));
    const args = (psArgs ?? '').trim();
    if (args === '' || args === '-ef') return psEf(pids);
    // As Docker: ps selects the container's processes itself (-q), since by default it lists
    // only those on the caller's terminal; options that cannot go with -q (f) go without it.
    let r = pids.length ? await runTool('ps', [...args.split(/\s+/), `-q${pids.join(',')}`], { timeoutMs: 30_000 }) : undefined;
    if (!r || r.code !== 0) r = await runTool('ps', args.split(/\s+/), { timeoutMs: 30_000 });
    if (r.code !== 0) throw new InvalidArgumentError('ps_failed', `ps: ${r.stderr.toString('utf8').trim() || `exited with ${r.code}`}`);
    return filterPsOutput(r.stdout.toString('utf8'), pids);
  }

  // ---- conmon's exit command ----

  /**
   * `berth container cleanup <id>`, run by conmon when the container exits: records the exit
   * if no one has yet, then applies the restart policy, waiting out Docker's backoff.
   */
  async cleanup(id: string): Promise<void> {
    if (!this.store.get(id)) return;
    const delay = await this.withLock(id, async (rec) => this.planRestart(rec)).catch((err) => {
      if (err instanceof NotFoundError) return null;
      throw err;
    });
    if (delay === null) return;
    await sleep(delay);
    await this.withLock(id, async (rec) => {
      const me = rec.book.restarter;
      if (rec.state.Status !== 'restarting' || !me || me.pid !== process.pid) return;
      rec.book.restartCount += 1;
      try {
        await this.startLocked(rec);
      } catch (err) {
        rec.state = { ...rec.state, Status: 'exited', Restarting: false };
        rec.book.restarter = null;
        this.store.save(rec);
        throw err;
      }
    }).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
  }

  /** Decides whether the policy restarts the container; returns the delay, or null for no restart. */
  private planRestart(rec: ContainerRecord): number | null {
    if (!rec.book.policyPending || isActive(rec)) return null;
    const policy = rec.hostConfig.RestartPolicy ?? { Name: 'no' };
    rec.book.policyPending = false;
    let restart = false;
    if (!rec.book.manualStop) {
      if (policy.Name === 'always' || policy.Name === 'unless-stopped') restart = true;
      else if (policy.Name === 'on-failure') {
        const max = policy.MaximumRetryCount ?? 0;
        restart = rec.state.ExitCode !== 0 && (max === 0 || rec.book.restartCount < max);
      }
    }
    if (!restart) {
      this.store.save(rec);
      return null;
    }
    const ranFor = Date.parse(rec.state.FinishedAt) - Date.parse(rec.state.StartedAt);
    const streak = ranFor >= RESTART_RESET_MS ? 0 : rec.book.restartCount;
    const delay = Math.min(RESTART_BACKOFF_MIN_MS * 2 ** Math.min(streak, 20), RESTART_BACKOFF_MAX_MS);
    rec.book.restarter = { pid: process.pid, start: processStartTime(process.pid) ?? 0 };
    rec.state = { ...rec.state, Status: 'restarting', Restarting: true };
    this.store.save(rec);
    return delay;
  }

  // ---- after a reboot ----

  /**
   * Brings back, once per boot, the containers whose restart policy outlives a reboot, as
   * Docker's daemon does when it starts: `always` (even one the user had stopped),
   * `unless-stopped` unless the user stopped it, and `on-failure` when it ended with a failure
   * (the reboot counts as one) and has retries left, among the containers that have run before.
   * berth has no daemon that starts with the host, so the first berth command of a boot does
   * this (the boot id in <runroot>/boot-id says whether it is done; <runroot> is a tmpfs that a
   * reboot clears), and `berth system boot` does it explicitly for a boot service. One process
   * does it per boot; one running it already makes the others go on without waiting.
   */
  afterBoot(): Promise<BootReport> {
    return (this.bootReport ??= this.bootPass());
  }

  private async bootPass(): Promise<BootReport> {
    const report: BootReport = { started: [], failed: [] };
    const marker = join(this.deps.paths.runroot, 'boot-id');
    const done = () => {
      try {
        return readFileSync(marker, 'utf8') === this.bootId;
      } catch {
        return false;
      }
    };
    if (done()) return report;
    const held = tryLock(join(this.deps.paths.runroot, 'boot.lock'));
    if (!held) return report;
    try {
      if (done()) return report;
      for (const listed of this.store.list()) {
        const policy = listed.hostConfig.RestartPolicy?.Name;
        if (policy !== 'always' && policy !== 'unless-stopped' && policy !== 'on-failure') continue;
        try {
          await this.withLock(listed.id, async (rec) => {
            if (isActive(rec) || rec.state.StartedAt === ZERO_TIME) return;
            if (policy === 'unless-stopped' && rec.book.manualStop) return;
            if (policy === 'on-failure') {
              // As Docker: one that the reboot (or a failure) ended comes back, within its retries.
              const max = rec.hostConfig.RestartPolicy?.MaximumRetryCount ?? 0;
              if (rec.book.manualStop || rec.state.ExitCode === 0 || (max > 0 && rec.book.restartCount >= max)) return;
              rec.book.restartCount += 1;
            } else {
              rec.book.restartCount = 0;
            }
            rec.book.restarter = null;
            await this.startLocked(rec);
            report.started.push(rec.id);
          });
        } catch (err) {
          // One container that cannot start (its image or a bind source gone) holds up no other.
          if (!(err instanceof NotFoundError && err.code === 'container_not_found')) report.failed.push({ id: listed.id, error: (err as Error).message });
        }
      }
      const tmp = `${marker}.${process.pid}`;
      writeFileSync(tmp, this.bootId);
      renameSync(tmp, marker);
    } finally {
      held.release();
    }
    return report;
  }

  /** Counts for `info`. */
  counts(): { total: number; running: number; paused: number; stopped: number } {
    const by = this.store.countByStatus();
    const total = Object.values(by).reduce((a, b) => a + b, 0);
    const running = (by.running ?? 0) + (by.restarting ?? 0);
    const paused = by.paused ?? 0;
    return { total, running, paused, stopped: total - running - paused };
  }

  /** Image IDs' users, for rmi. */
  usersOfImage(imageId: string): string[] {
    return this.store.usersOfImage(imageId);
  }
}

/** The container ports a ps --filter publish=/expose= value names: "80", "80/udp", "8000-8010/tcp". */
function portFilter(key: string, value: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(value);
  const first = m ? Number(m[1]) : NaN;
  const last = m?.[2] ? Number(m[2]) : first;
  if (!m || first < 1 || last > 65535 || last < first) throw new InvalidArgumentError('invalid_filter', `invalid filter '${key}=${value}'`);
  const proto = m[3] ?? 'tcp';
  return Array.from({ length: last - first + 1 }, (_, i) => `${first + i}/${proto}`);
}

function findInitBinary(): string {
  const found = INIT_BINARIES.find((p) => existsSync(p));
  if (!found) {
    throw new NotFoundError('init_missing', `--init needs an init binary on the host (${INIT_BINARIES.join(', ')}): install the tini package (apt-get install tini)`);
  }
  return found;
}

function parseLogSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('invalid_log_opt', `invalid max-size for the log: ${value}`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  return Math.floor(Number(m[1]) * mult[m[2].toLowerCase()]);
}

/**
 * An endpoint's Aliases as Docker 20.10's inspect shows them: the daemon adds the short ID to a
 * user network's aliases when it first connects the container (its first start) and keeps it;
 * none is null.
 */
export function endpointAliases(aliases: string[], opts: { userNetwork: boolean; started: boolean; shortId: string }): string[] | null {
  const shown = opts.userNetwork && opts.started && !aliases.includes(opts.shortId) ? [...aliases, opts.shortId] : aliases;
  return shown.length ? shown : null;
}

/** Connects to the attach socket of the container whose bundle is `bundle`. */
function connectAttach(bundle: string, handlers: AttachHandlers): AttachSession {
  // The socket path can exceed what sockaddr_un holds; a descriptor of its directory keeps it short.
  const dirFd = openSync(bundle, 'r');
  try {
    return attachSocket(`/proc/self/fd/${dirFd}`, handlers);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * connectAttach once conmon listens: it binds the socket just after it is released, before it
 * runs `runc create`. Gives up when `gaveUp` says so (the start failed) or after a second.
 */
async function connectWhenListening(bundle: string, handlers: AttachHandlers, gaveUp: () => boolean): Promise<AttachSession> {
  for (let waited = 0; ; waited++) {
    try {
      const session = connectAttach(bundle, handlers);
      // The start may still fail, and conmon drop the connection, before anyone awaits its end.
      session.done.catch(() => undefined);
      return session;
    } catch (err) {
      const code = errnoCode(err);
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || gaveUp() || waited >= 1000) throw err;
      await sleep(1);
    }
  }
}
