// The Engine interface: everything the CLI (and, later, the API service) can ask of berth.
// Two implementations share it: the local engine (in-process, daemonless) and the remote one
// (an HTTP client of `berth serve`). Shapes follow the Docker Engine API so that the API
// service passes them through unchanged.
import type { Readable, Writable } from 'node:stream';
import type { EventMessage } from '../events/log.js';
import type { Volume } from './volumes.js';

export type { EventMessage, Volume };

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
  VolumeOptions?: Record<string, unknown>;
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

export interface HostConfig {
  Binds?: string[] | null;
  NetworkMode?: string;
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
  LogConfig?: { Type: string; Config: Record<string, string> };
  PortBindings?: Record<string, unknown>;
  /** [height, width] of the terminal of a container with Tty. */
  ConsoleSize?: [number, number];
  [extra: string]: unknown;
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** The body of POST /containers/create. */
export interface ContainerCreateBody {
  Image: string;
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
  onOutput: (stream: 'stdout' | 'stderr', data: Buffer) => void;
}

/** A live connection to a container's stdio. */
export interface ContainerAttachment {
  write(data: Buffer | string): Promise<void>;
  /** Ends the container's stdin (when it was created with StdinOnce). */
  closeStdin(): void;
  /** Sets the terminal size of a container with a TTY. */
  resize(height: number, width: number): void;
  /** Disconnects; call it after waiting for the container's exit, which the attached client records. */
  detach(): Promise<void>;
  /** Settles when the container's output has ended. */
  readonly done: Promise<void>;
}

export interface ContainerPruneReport {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

export interface ContainerTop {
  Titles: string[];
  Processes: string[][];
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
  /** Streams of an attached exec. A stream backed by a file descriptor is handed to the process as is. */
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
  execCreate(id: string, body: ExecCreateBody): Promise<{ Id: string }>;
  /** Runs the exec; attached, resolves with its exit code once it ends, detached as soon as it started. */
  execStart(execId: string, opts?: ExecStartOptions): Promise<{ exitCode: number | null }>;
  execInspect(execId: string): Promise<ExecInspect>;

  /** Creates the embedded default image (busybox:latest) unless present. */
  ensureDefaultImage(): Promise<{ id: string; created: boolean }>;

  volumeCreate(opts: { Name?: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }): Promise<Volume>;
  volumeList(filters?: Filters): Promise<{ Volumes: Volume[]; Warnings: string[] }>;
  volumeInspect(name: string): Promise<Volume>;
  volumeRemove(name: string, opts: { force?: boolean }): Promise<void>;
  volumePrune(opts: { all?: boolean; filters?: Filters }): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>;

  /** Past events in the window, then (without `until`) new ones until the signal aborts. */
  events(opts: { since?: string; until?: string; filters?: Filters }, signal?: AbortSignal): AsyncIterable<EventMessage>;

  close(): void;
}
