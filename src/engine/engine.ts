// The Engine interface: everything the CLI (and, later, the API service) can ask of berth.
// Two implementations share it: the local engine (in-process, daemonless) and the remote one
// (an HTTP client of `berth serve`). Shapes follow the Docker Engine API so that the API
// service passes them through unchanged.
import type { Readable, Writable } from 'node:stream';

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

  /** Creates the embedded default image (busybox:latest) unless present. */
  ensureDefaultImage(): Promise<{ id: string; created: boolean }>;

  close(): void;
}
