// The Engine interface: everything the CLI (and, later, the API service) can ask of berth.
// Two implementations share it: the local engine (in-process, daemonless) and the remote one
// (an HTTP client of `berth serve`). Shapes follow the Docker Engine API so that the API
// service passes them through unchanged.
import type { Readable, Writable } from 'node:stream';
import type { EventMessage } from '../events/log.js';
import type { RegistryServiceConfig } from '../image/registry/settings.js';
import type { NetDevCounters } from '../sys/cgroups.js';
import type { EndpointConfig, NetworkCreateBody, NetworkInspect } from './networks.js';
import type { Volume } from './volumes.js';

export type { EndpointConfig, EventMessage, NetworkCreateBody, NetworkInspect, Volume };

export type Filters = Record<string, string[]>;

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Container: string;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  VirtualSize: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export type ImageDeleteItem = { Untagged: string } | { Deleted: string };

export interface PruneReport {
  ImagesDeleted: ImageDeleteItem[] | null;
  SpaceReclaimed: number;
}

/** GET /system/df: what images, containers and volumes take on disk. berth has no build cache. */
export interface SystemDataUsage {
  /** All image layers, each counted once however many images share it. */
  LayersSize: number;
  /** With SharedSize (bytes of layers other images have too) and Containers (how many use it). */
  Images: ImageSummary[];
  /** With SizeRw and SizeRootFs. */
  Containers: ContainerSummary[];
  /** With UsageData. */
  Volumes: Volume[];
  BuildCache: never[];
}

export interface SystemInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  DriverStatus: [string, string][];
  DockerRootDir: string;
  Name: string;
  ServerVersion: string;
  KernelVersion: string;
  OperatingSystem: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  CgroupDriver: string;
  CgroupVersion: string;
  DefaultRuntime: string;
  Runtimes: Record<string, { path: string }>;
  SecurityOptions: string[];
  /** From berth's config file (insecure-registries, registry-mirrors). */
  RegistryConfig: RegistryServiceConfig;
  [extra: string]: unknown;
}

export interface VersionInfo {
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  BuildTime: string;
  Components: { Name: string; Version: string; Details?: Record<string, string> }[];
}

// ---- containers (Docker API shapes) ----

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount?: number;
}

export interface MountSpec {
  Type: 'bind' | 'volume' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface ThrottleDevice {
  Path: string;
  Rate: number;
}

export interface HostConfig {
  Binds?: string[] | null;
  /** `container[:ro|rw]`: mount another container's volumes and binds too. */
  VolumesFrom?: string[] | null;
  NetworkMode?: string;
  /** --add-host, `host:ip`; the ip may be `host-gateway`. */
  ExtraHosts?: string[] | null;
  Dns?: string[];
  DnsSearch?: string[];
  DnsOptions?: string[];
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Tmpfs?: Record<string, string>;
  ShmSize?: number;
  Sysctls?: Record<string, string>;
  Init?: boolean | null;
  Mounts?: MountSpec[];
  Devices?: DeviceMapping[];
  Ulimits?: Ulimit[];
  OomScoreAdj?: number;
  CgroupParent?: string;
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  MemorySwappiness?: number | null;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  BlkioWeight?: number;
  OomKillDisable?: boolean;
  BlkioDeviceReadBps?: ThrottleDevice[] | null;
  BlkioDeviceWriteBps?: ThrottleDevice[] | null;
  BlkioDeviceReadIOps?: ThrottleDevice[] | null;
  BlkioDeviceWriteIOps?: ThrottleDevice[] | null;
  DeviceCgroupRules?: string[] | null;
  CgroupnsMode?: '' | 'host' | 'private';
  UsernsMode?: string;
  Runtime?: string;
  ContainerIDFile?: string;
  LogConfig?: { Type: string; Config: Record<string, string> };
  PortBindings?: Record<string, unknown>;
  PublishAllPorts?: boolean;
  /** [height, width] of the terminal of a container with Tty. */
  ConsoleSize?: [number, number];
  [extra: string]: unknown;
}

/** Durations are in nanoseconds, as in the Docker API; 0 takes the default. */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  /** The last five probes, oldest first. */
  Log: HealthLogEntry[];
}

/** The body of POST /containers/create. */
export interface ContainerCreateBody {
  Image: string;
  /** The endpoint settings (aliases, static addresses) for the container's network. */
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointConfig> | null } | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Hostname?: string;
  Domainname?: string;
  Labels?: Record<string, string> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  StopSignal?: string;
  StopTimeout?: number | null;
  Healthcheck?: HealthConfig;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object> | null;
  /** The MAC address of the container's interface on its first network. */
  MacAddress?: string;
  HostConfig?: HostConfig;
}

/** A container's Config as inspect shows it: the create body merged with the image's config. */
export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Healthcheck?: HealthConfig;
  Image: string;
  Volumes: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  MacAddress?: string;
}

export interface ContainerState {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Only for a container with a health check. */
  Health?: HealthState;
}

export interface MountPoint {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: HostConfig;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: MountPoint[];
  Config: ContainerConfig;
  NetworkSettings: Record<string, unknown>;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: unknown[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string>;
  State: ContainerState['Status'];
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, unknown> };
  Mounts: MountPoint[];
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface LogOptions {
  follow?: boolean;
  /** Number of lines from the end, or 'all'. */
  tail?: number | 'all';
  timestamps?: boolean;
  /** Unix seconds (fractional allowed). */
  since?: number;
  until?: number;
  stdout?: boolean;
  stderr?: boolean;
}

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** The bytes of one line, with its newline unless the line was cut short. */
  line: Buffer;
  /** RFC 3339 with nanoseconds, as the monitor recorded it. */
  time: string;
}

export interface AttachOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** The key sequence that detaches a client from a container with a TTY (Docker's syntax; '' or unset: ctrl-p,ctrl-q). */
  detachKeys?: string;
  onOutput: (stream: 'stdout' | 'stderr', data: Buffer) => void;
}

/** What the pass after a reboot did: the containers it started, and those it could not. */
export interface BootReport {
  started: string[];
  failed: { id: string; error: string }[];
}

/** How an attachment ended: the container's output closed, or the client typed the detach keys. */
export type AttachEnd = 'ended' | 'detached';

/** A live connection to a container's stdio. */
export interface ContainerAttachment {
  write(data: Buffer | string): Promise<void>;
  /** Ends the container's stdin (when it was created with StdinOnce). */
  closeStdin(): void;
  /** Sets the terminal size of a container with a TTY. */
  resize(height: number, width: number): void;
  /** Disconnects; call it after waiting for the container's exit, which the attached client records. */
  detach(): Promise<void>;
  /** Settles when the container's output has ended, or when the input carried the detach keys (then the container runs on). */
  readonly done: Promise<AttachEnd>;
}

/** A path in a container as HEAD /containers/{id}/archive describes it (X-Docker-Container-Path-Stat). */
export interface ContainerPathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits (type and permissions), as the Docker API carries them. */
  mode: number;
  mtime: string;
  /** For a symlink: its target resolved inside the container, as an absolute path. */
  linkTarget: string;
}

/** One line of `docker diff`: Kind 0 changed, 1 added, 2 deleted. */
export interface ContainerChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

export interface ContainerCommitOptions {
  /** repository[:tag] for the new image; untagged without. */
  reference?: string;
  comment?: string;
  author?: string;
  /** Dockerfile instructions applied to the new image's config (`--change`). */
  changes?: string[];
  /** Pause a running container while its changes are read (default true). */
  pause?: boolean;
}

export interface ContainerPruneReport {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

export interface ContainerTop {
  Titles: string[];
  Processes: string[][];
}

/** The body of POST /containers/{id}/update: resources and the restart policy; zero leaves a value as it is. */
export type ContainerUpdateBody = Pick<
  HostConfig,
  'Memory' | 'MemorySwap' | 'MemoryReservation' | 'NanoCpus' | 'CpuShares' | 'CpuPeriod' | 'CpuQuota' | 'CpusetCpus' | 'CpusetMems' | 'BlkioWeight' | 'RestartPolicy'
> & {
  /** Given (0 or -1 for unlimited) or left as it is when undefined. */
  PidsLimit?: number;
};

export interface CpuStats {
  cpu_usage: {
    total_usage: number;
    percpu_usage?: number[];
    usage_in_kernelmode: number;
    usage_in_usermode: number;
  };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface BlkioStatEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** Per-interface counters, as the kernel reports them in /proc/<pid>/net/dev. */
export type NetworkStats = NetDevCounters;

/** GET /containers/{id}/stats, as Docker's daemon reports it on Linux. */
export interface ContainerStats {
  read: string;
  preread: string;
  name: string;
  id: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: {
    io_service_bytes_recursive: BlkioStatEntry[] | null;
    io_serviced_recursive: BlkioStatEntry[] | null;
    io_queue_recursive: BlkioStatEntry[] | null;
    io_service_time_recursive: BlkioStatEntry[] | null;
    io_wait_time_recursive: BlkioStatEntry[] | null;
    io_merged_recursive: BlkioStatEntry[] | null;
    io_time_recursive: BlkioStatEntry[] | null;
    sectors_recursive: BlkioStatEntry[] | null;
  };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; failcnt?: number; limit?: number };
  networks?: Record<string, NetworkStats>;
}

export interface ExecCreateBody {
  Cmd: string[];
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Privileged?: boolean;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
}

export interface ExecStartOptions {
  Detach?: boolean;
  Tty?: boolean;
  /** The terminal's initial [height, width] for an exec with a TTY. */
  ConsoleSize?: [number, number];
  /** Streams of an attached exec: input is read from stdin (with AttachStdin), output written to stdout and stderr. */
  stdio?: { stdin?: NodeJS.ReadableStream | null; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
}

export interface ExecInspect {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  ProcessConfig: { entrypoint: string; arguments: string[]; privileged: boolean; tty: boolean; user: string };
  OpenStdin: boolean;
  OpenStdout: boolean;
  OpenStderr: boolean;
  CanRemove: boolean;
  DetachKeys: string;
}

/** One progress message of a pull or push, in the Docker API's JSONMessage shape (the API streams them as they are). */
export interface ProgressMessage {
  id?: string;
  status: string;
  progressDetail?: { current?: number; total?: number };
  aux?: Record<string, unknown>;
}

export type ProgressHandler = (message: ProgressMessage) => void;

export interface ImageSearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

export interface LoginResult {
  Status: string;
  /** The key the credentials are filed under ('localhost:5000', 'https://index.docker.io/v1/'). */
  serverAddress: string;
  /** The Docker config file that holds the login, and whether the password sits in it unencrypted. */
  configFile: string;
  plaintext: boolean;
  /** Whether saved credentials were checked again (no user or password given). */
  reused: boolean;
}

export interface Engine {
  info(): Promise<SystemInfo>;
  version(): Promise<VersionInfo>;

  imageList(opts: { all?: boolean; filters?: Filters; digests?: boolean }): Promise<ImageSummary[]>;
  imageInspect(ref: string): Promise<ImageInspect>;
  imageHistory(ref: string): Promise<HistoryItem[]>;
  imageTag(source: string, target: string): Promise<void>;
  imageRemove(ref: string, opts: { force?: boolean; noPrune?: boolean }): Promise<ImageDeleteItem[]>;
  imagePrune(opts: { all?: boolean; filters?: Filters }): Promise<PruneReport>;
  imageLoad(source: Readable): Promise<{ loaded: { id: string; tags: string[] }[] }>;
  imageSave(refs: string[], out: Writable, opts: { format: 'docker' | 'oci' }): Promise<void>;
  imageImport(source: Readable, opts: { ref?: string; changes?: string[]; message?: string; platform?: string }): Promise<string>;
  /** Pulls a tag, a digest, or every tag; resolves with the image ID and the full reference Docker prints last. */
  imagePull(ref: string, opts: { platform?: string; allTags?: boolean }, onProgress?: ProgressHandler): Promise<{ id: string; reference: string }>;
  imagePush(ref: string, opts: { allTags?: boolean }, onProgress?: ProgressHandler): Promise<{ reference: string; pushed: { tag: string; digest: string; size: number }[] }>;
  imageSearch(term: string, opts: { limit?: number; filters?: Filters }): Promise<ImageSearchResult[]>;
  /** Checks credentials with the registry (Docker Hub when `server` is undefined) and saves them; without user and password, re-checks the saved ones. */
  login(server: string | undefined, username?: string, password?: string): Promise<LoginResult>;
  logout(server: string | undefined): Promise<{ removed: boolean; serverAddress: string }>;

  containerCreate(body: ContainerCreateBody, opts?: { name?: string; platform?: string }): Promise<{ Id: string; Warnings: string[] }>;
  containerStart(id: string): Promise<void>;
  /** Stops with the container's stop signal, then SIGKILL after `timeout` seconds (default: its StopTimeout, else 10). */
  containerStop(id: string, opts?: { timeout?: number; signal?: string }): Promise<void>;
  containerRestart(id: string, opts?: { timeout?: number; signal?: string }): Promise<void>;
  containerKill(id: string, signal?: string): Promise<void>;
  containerRemove(id: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
  containerList(opts?: { all?: boolean; limit?: number; size?: boolean; filters?: Filters }): Promise<ContainerSummary[]>;
  containerInspect(id: string, opts?: { size?: boolean }): Promise<ContainerInspect>;
  containerWait(id: string, condition?: WaitCondition): Promise<{ StatusCode: number; Error?: { Message: string } }>;
  containerLogs(id: string, opts: LogOptions): AsyncIterable<LogEntry>;
  /** Connects to the container's stdio; a created container is prepared so that nothing it prints is missed. */
  containerAttach(id: string, opts: AttachOptions): Promise<ContainerAttachment>;
  containerPrune(opts?: { filters?: Filters }): Promise<ContainerPruneReport>;
  containerRename(id: string, newName: string): Promise<void>;
  containerPause(id: string): Promise<void>;
  containerUnpause(id: string): Promise<void>;
  containerTop(id: string, psArgs?: string): Promise<ContainerTop>;
  /** Resource usage: one reading taken over a second (stream false), or a reading every second until the consumer stops. */
  containerStats(id: string, opts?: { stream?: boolean }): AsyncIterable<ContainerStats>;
  /** Changes resources (live, through the runtime, when it runs) and the restart policy. */
  containerUpdate(id: string, body: ContainerUpdateBody): Promise<{ Warnings: string[] }>;
  /** Runs the container's health check once and records the result (podman's `healthcheck run`). */
  containerHealthcheck(id: string): Promise<HealthState>;
  /** Describes a path in the container; its last component is not followed. */
  containerStatPath(id: string, path: string): Promise<ContainerPathStat>;
  /** A tar of a path in the container (running or not), its top entry named after the path's last component. */
  containerArchive(id: string, path: string): Promise<{ stat: ContainerPathStat; content: Readable }>;
  /** Extracts a tar into a directory of the container; owners become root unless `copyUIDGID`. */
  containerExtract(id: string, path: string, content: Readable, opts?: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean }): Promise<void>;
  /** What the container changed in its filesystem, compared with its image. */
  containerChanges(id: string): Promise<ContainerChange[]>;
  /** Writes the container's whole filesystem (without its volumes) as a tar. */
  containerExport(id: string, out: Writable): Promise<void>;
  /** A new image: the container's image plus a layer of its changes, with its config. */
  containerCommit(id: string, opts: ContainerCommitOptions): Promise<{ Id: string }>;
  execCreate(id: string, body: ExecCreateBody): Promise<{ Id: string }>;
  /** Runs the exec; attached, resolves with its exit code once it ends, detached as soon as it started. */
  execStart(execId: string, opts?: ExecStartOptions): Promise<{ exitCode: number | null; detached?: boolean }>;
  /** Resizes the terminal of a running exec with a TTY. */
  execResize(execId: string, height: number, width: number): Promise<void>;
  execInspect(execId: string): Promise<ExecInspect>;

  systemDf(): Promise<SystemDataUsage>;

  /** Starts, once per boot, the containers whose restart policy brings them back after a reboot (the first command of a boot does it too). */
  systemBoot(): Promise<BootReport>;

  /** Creates the embedded default image (busybox:latest) unless present. */
  ensureDefaultImage(): Promise<{ id: string; created: boolean }>;

  volumeCreate(opts: { Name?: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }): Promise<Volume>;
  volumeList(filters?: Filters): Promise<{ Volumes: Volume[]; Warnings: string[] }>;
  volumeInspect(name: string): Promise<Volume>;
  volumeRemove(name: string, opts: { force?: boolean }): Promise<void>;
  volumePrune(opts: { all?: boolean; filters?: Filters }): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>;
  networkCreate(body: NetworkCreateBody): Promise<{ Id: string; Warning: string }>;
  networkList(filters?: Filters): Promise<NetworkInspect[]>;
  networkInspect(ref: string): Promise<NetworkInspect>;
  networkRemove(ref: string): Promise<void>;
  networkPrune(filters?: Filters): Promise<{ NetworksDeleted: string[] | null }>;
  networkConnect(network: string, container: string, config?: EndpointConfig): Promise<void>;
  networkDisconnect(network: string, container: string): Promise<void>;

  /** Past events in the window, then (without `until`) new ones until the signal aborts. */
  events(opts: { since?: string; until?: string; filters?: Filters }, signal?: AbortSignal): AsyncIterable<EventMessage>;

  close(): void;
}
