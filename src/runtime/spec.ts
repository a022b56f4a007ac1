// OCI runtime spec generation: the config.json that Docker would hand to runc for the same
// `docker run` flags. Pure: host facts (capability bounding set, rlimits, devices, kernel) are
// read by src/sys and passed in, so every decision here is unit-testable without root.
import { InvalidArgumentError } from '../errors.js';
import { jsonText } from '../json.js';
import { resolveCapabilities } from './capabilities.js';
import {
  defaultSeccompProfile,
  resolveSeccompProfile,
  type OciSeccomp,
  type SeccompProfile,
} from './seccomp.js';

export const OCI_VERSION = '1.0.2';
export const DEFAULT_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
export const DEFAULT_CGROUP_PARENT = '/berth';
/** RLIM_INFINITY; a bigint because it does not fit a JSON-safe number (see specToJson). */
export const RLIM_INFINITY = 2n ** 64n - 1n;
export const INIT_PATH = '/sbin/docker-init';

// Docker's lists (moby oci/defaults.go); `docker inspect` shows the same under HostConfig.
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

// ---- OCI types (the subset berth writes) ----

export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}
export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
}
export interface OciRlimit {
  type: string;
  hard: number | bigint;
  soft: number | bigint;
}
export interface OciProcess {
  terminal: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}
export interface OciNamespace {
  type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';
  path?: string;
}
export interface OciDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}
export interface OciDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access: string;
}
export interface OciWeightDevice {
  major: number;
  minor: number;
  weight: number;
}
export interface OciThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}
export interface OciResources {
  devices: OciDeviceCgroup[];
  memory?: {
    limit?: number;
    reservation?: number;
    swap?: number;
    swappiness?: number;
    disableOOMKiller?: boolean;
  };
  cpu?: {
    shares?: number;
    quota?: number;
    period?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
  };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    weightDevice?: OciWeightDevice[];
    throttleReadBpsDevice?: OciThrottleDevice[];
    throttleWriteBpsDevice?: OciThrottleDevice[];
    throttleReadIOPSDevice?: OciThrottleDevice[];
    throttleWriteIOPSDevice?: OciThrottleDevice[];
  };
}
export interface OciLinux {
  sysctl?: Record<string, string>;
  resources: OciResources;
  cgroupsPath: string;
  namespaces: OciNamespace[];
  devices: OciDevice[];
  seccomp?: OciSeccomp;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
}
export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: OciLinux;
}

// ---- input ----

/** What the host allows; read once with src/sys/proc.ts (see runtime/host.ts). */
export interface HostFacts {
  /** Capability names in the host's bounding set (CapBnd). */
  capabilities: readonly string[];
  /** Hard rlimits by OCI type (RLIMIT_NOFILE…); null = unlimited. */
  rlimitHard: Readonly<Record<string, number | null>>;
  /** Node's process.arch. */
  arch: string;
  /** uname -r. */
  kernel: string;
  /** Whether the memory cgroup can limit swap. */
  swapLimit: boolean;
  /** Host device nodes, handed to privileged containers. */
  devices?: readonly OciDevice[];
}

/** 'private': a new namespace; 'host': the host's; { path }: join another's (container:<x>). */
export type NamespaceMode = 'private' | 'host' | { path: string };

export type MountPropagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

export interface MountInput {
  /** 'volume' is a bind of the volume's directory; 'tmpfs' ignores source. */
  type: 'bind' | 'volume' | 'tmpfs';
  source?: string;
  destination: string;
  readonly?: boolean;
  propagation?: MountPropagation;
  /** Extra mount options: tmpfs size=/mode=/exec…, or bind nosuid/nodev/noexec. */
  options?: string[];
  /** Bind only the top mount, not submounts (--mount bind-nonrecursive). */
  nonRecursive?: boolean;
}

export interface DeviceInput {
  /** The host device, as read by src/sys/proc.ts readDevice. */
  host: OciDevice;
  /** Where it appears in the container (defaults to the host path). */
  containerPath?: string;
  /** Any of r, w, m (default rwm). */
  permissions?: string;
}

export interface UlimitInput {
  /** Docker's names: nofile, nproc, core, memlock, stack… */
  name: string;
  soft: number;
  hard: number;
}

export interface ResourcesInput {
  memory?: number;
  memoryReservation?: number;
  /** Memory plus swap; -1 for unlimited swap. */
  memorySwap?: number;
  memorySwappiness?: number;
  oomKillDisable?: boolean;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  /** --cpus, in billionths of a CPU. */
  nanoCpus?: number;
  cpuRealtimeRuntime?: number;
  cpuRealtimePeriod?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  blkioWeight?: number;
  blkioWeightDevice?: OciWeightDevice[];
  blkioDeviceReadBps?: OciThrottleDevice[];
  blkioDeviceWriteBps?: OciThrottleDevice[];
  blkioDeviceReadIOps?: OciThrottleDevice[];
  blkioDeviceWriteIOps?: OciThrottleDevice[];
}

export interface ContainerSpecInput {
  id: string;
  /** The root filesystem directory (overlay merged dir), absolute or relative to the bundle. */
  rootfs: string;
  args: string[];
  env?: string[];
  cwd?: string;
  user?: OciUser;
  tty?: boolean;
  hostname?: string;
  /** The NIS domain name (--domainname). */
  domainname?: string;
  readonlyRootfs?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  /** Default: Docker's profile. A Docker-format profile object for --security-opt seccomp=FILE. */
  seccomp?: 'default' | 'unconfined' | SeccompProfile;
  noNewPrivileges?: boolean;
  mounts?: MountInput[];
  /** --tmpfs DEST[:OPTIONS], as destination → comma-separated options. */
  tmpfs?: Record<string, string>;
  devices?: DeviceInput[];
  /** --device-cgroup-rule: devices the container may use without having them (see parseDeviceCgroupRule). */
  deviceCgroupRules?: OciDeviceCgroup[];
  ulimits?: UlimitInput[];
  sysctls?: Record<string, string>;
  shmSize?: number;
  /** Host directory to bind as /dev/shm, to share another container's IPC namespace fully. */
  shmPath?: string;
  ipc?: NamespaceMode;
  pid?: NamespaceMode;
  uts?: NamespaceMode;
  /** 'none' is a private namespace that nothing configures (only loopback). */
  network?: NamespaceMode | 'none';
  cgroupns?: 'private' | 'host';
  resources?: ResourcesInput;
  /** Default: `${cgroupParent}/${id}`. */
  cgroupsPath?: string;
  cgroupParent?: string;
  /** Host path of an init binary (tini) to run as PID 1, mounted at /sbin/docker-init. */
  init?: string;
  oomScoreAdj?: number;
  annotations?: Record<string, string>;
  host: HostFacts;
}

// ---- building blocks ----

function invalid(code: string, message: string): never {
  throw new InvalidArgumentError(code, message);
}

/** Docker's ReplaceOrAppendEnvValues: later KEY=V replace earlier ones; a bare KEY removes it. */
export function mergeEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out = [...defaults];
  const keyOf = (kv: string) => kv.split('=', 1)[0];
  for (const kv of overrides) {
    const key = keyOf(kv);
    const idx = out.findIndex((e) => keyOf(e) === key);
    if (!kv.includes('=')) {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = kv;
    else out.push(kv);
  }
  return out;
}

/**
 * Merges tmpfs options the way Docker does: the later of two conflicting flags wins (exec over
 * noexec…), and size=/mode= keep their last value.
 */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const opposites: Record<string, string> = {
    exec: 'noexec',
    noexec: 'exec',
    suid: 'nosuid',
    nosuid: 'suid',
    dev: 'nodev',
    nodev: 'dev',
    ro: 'rw',
    rw: 'ro',
    atime: 'noatime',
    noatime: 'atime',
    diratime: 'nodiratime',
    nodiratime: 'diratime',
  };
  const out: string[] = [];
  for (const raw of [...options].reverse()) {
    const opt = raw.trim();
    if (!opt) continue;
    const eq = opt.indexOf('=');
    if (eq >= 0) {
      const key = opt.slice(0, eq + 1);
      if (!out.some((o) => o.startsWith(key))) out.unshift(opt);
      continue;
    }
    const opposite = opposites[opt];
    if (out.includes(opt) || (opposite && out.includes(opposite))) continue;
    out.unshift(opt);
  }
  return out;
}

/** Parses --device HOST[:CONTAINER[:PERMISSIONS]]. */
/** Docker's --device-cgroup-rule: "TYPE MAJOR:MINOR ACCESS", e.g. "c 1:3 mr" or "b 8:* rw" ('*' is any). */
const ULIMIT_TYPES: Record<string, string> = {
  core: 'RLIMIT_CORE',
  cpu: 'RLIMIT_CPU',
  data: 'RLIMIT_DATA',
  fsize: 'RLIMIT_FSIZE',
  locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE',
  nice: 'RLIMIT_NICE',
  nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS',
  rtprio: 'RLIMIT_RTPRIO',
  rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING',
  stack: 'RLIMIT_STACK',
};

// Podman's defaults for a root container; Docker leaves these to what dockerd inherited, which
// makes the container's limits depend on how the daemon was started. Here they are explicit and
// clamped to what the host can grant (raising a hard limit needs CAP_SYS_RESOURCE, which
// runc may not have).
const DEFAULT_RLIMITS: readonly [string, number][] = [
  ['RLIMIT_NOFILE', 1048576],
  ['RLIMIT_NPROC', 4194304],
];

export function buildRlimits(ulimits: readonly UlimitInput[], hostHard: HostFacts['rlimitHard']): OciRlimit[] {
  const byType = new Map<string, OciRlimit>();
  for (const [type, value] of DEFAULT_RLIMITS) {
    const host = hostHard[type];
    const v = host === null || host === undefined ? value : Math.min(value, host);
    byType.set(type, { type, hard: v, soft: v });
  }
  for (const u of ulimits) {
    const type = ULIMIT_TYPES[u.name];
    if (!type) invalid('invalid_ulimit', `invalid ulimit type: ${u.name}`);
    const value = (n: number): number | bigint => (n === -1 ? RLIM_INFINITY : n);
    if (!Number.isInteger(u.soft) || !Number.isInteger(u.hard) || u.soft < -1 || u.hard < -1) {
      invalid('invalid_ulimit', `invalid ulimit value for ${u.name}: ${u.soft}:${u.hard}`);
    }
    const soft = value(u.soft);
    const hard = value(u.hard);
    if (soft > hard) {
      invalid('invalid_ulimit', `ulimit soft limit must be less than or equal to hard limit: ${u.soft} > ${u.hard}`);
    }
    const host = hostHard[type];
    if (host !== null && host !== undefined && hard > host) {
      invalid(
        'ulimit_exceeds_host',
        `ulimit ${u.name}: hard limit ${u.hard === -1 ? 'unlimited' : u.hard} exceeds the host's hard limit ${host}` +
          ' (raising it needs CAP_SYS_RESOURCE, which the host does not grant)',
      );
    }
    byType.set(type, { type, hard, soft });
  }
  return [...byType.values()];
}

// Which kernel namespace a sysctl lives in (runc's validation, done early for a clear message).
function checkSysctl(key: string, input: ContainerSpecInput): void {
  const ipcKeys = new Set([
    'kernel.msgmax',
    'kernel.msgmnb',
    'kernel.msgmni',
    'kernel.sem',
    'kernel.shmall',
    'kernel.shmmax',
    'kernel.shmmni',
    'kernel.shm_rmid_forced',
  ]);
  if (ipcKeys.has(key) || key.startsWith('fs.mqueue.')) {
    if (input.ipc === 'host') invalid('invalid_sysctl', `sysctl "${key}" is not allowed in host IPC namespace`);
    return;
  }
  if (key.startsWith('net.')) {
    if (input.network === 'host') {
      invalid('invalid_sysctl', `sysctl "${key}" is not allowed in host network namespace`);
    }
    return;
  }
  if (key === 'kernel.domainname') {
    if (input.uts === 'host') invalid('invalid_sysctl', `sysctl "${key}" is not allowed in host UTS namespace`);
    return;
  }
  if (key === 'kernel.hostname') {
    invalid('invalid_sysctl', 'sysctl "kernel.hostname" is not allowed: use --hostname');
  }
  invalid('invalid_sysctl', `sysctl "${key}" is not allowed: it is not in a separate kernel namespace`);
}

function namespaces(input: ContainerSpecInput): OciNamespace[] {
  const out: OciNamespace[] = [{ type: 'mount' }];
  const add = (type: OciNamespace['type'], mode: NamespaceMode | 'none' | undefined) => {
    if (mode === 'host') return;
    if (mode && typeof mode === 'object') {
      if (!mode.path.startsWith('/')) invalid('invalid_namespace', `${type} namespace path must be absolute: ${mode.path}`);
      out.push({ type, path: mode.path });
    } else {
      out.push({ type });
    }
  };
  add('network', input.network);
  add('uts', input.uts);
  add('pid', input.pid);
  add('ipc', input.ipc);
  if (input.cgroupns !== 'host') out.push({ type: 'cgroup' });
  return out;
}

function defaultMounts(input: ContainerSpecInput): OciMount[] {
  const shmSize = input.shmSize ?? DEFAULT_SHM_SIZE;
  if (!Number.isInteger(shmSize) || shmSize <= 0) invalid('invalid_shm_size', 'SHM size must be greater than 0');
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['ro', 'nosuid', 'noexec', 'nodev'],
    },
  ];
  // An mqueue filesystem shows the queues of the IPC namespace that mounts it, the host's too:
  // no need for the host to have one mounted at /dev/mqueue (Docker's way).
  mounts.push({ destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] });
  if (input.ipc === 'host') {
    mounts.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
  } else {
    mounts.push(
      input.shmPath
        ? { destination: '/dev/shm', type: 'bind', source: input.shmPath, options: ['rbind', 'rprivate'] }
        : {
            destination: '/dev/shm',
            type: 'tmpfs',
            source: 'shm',
            options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`],
          },
    );
  }
  if (input.privileged) {
    // Docker clears "ro" on sysfs and the cgroup filesystem for privileged containers.
    for (const m of mounts) {
      if (m.type === 'sysfs' || m.type === 'cgroup') m.options = m.options?.filter((o) => o !== 'ro');
    }
  }
  return mounts;
}

function cleanDestination(dest: string): string {
  if (!dest.startsWith('/')) invalid('invalid_mount', `invalid mount config: mount path must be absolute: ${dest}`);
  const parts: string[] = [];
  for (const p of dest.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return '/' + parts.join('/');
}

function userMounts(input: ContainerSpecInput): { mounts: OciMount[]; rootfsPropagation?: string } {
  const mounts: OciMount[] = [];
  let rootfsPropagation: string | undefined;
  const seen = new Set<string>();
  const claim = (dest: string) => {
    if (seen.has(dest)) invalid('duplicate_mount', `Duplicate mount point: ${dest}`);
    seen.add(dest);
  };
  for (const m of input.mounts ?? []) {
    const destination = cleanDestination(m.destination);
    claim(destination);
    if (m.type === 'tmpfs') {
      const opts = mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...(m.readonly ? ['ro'] : []), ...(m.options ?? [])]);
      mounts.push({ destination, type: 'tmpfs', source: 'tmpfs', options: opts });
      continue;
    }
    if (!m.source || !m.source.startsWith('/')) {
      invalid('invalid_mount', `invalid mount config for type "${m.type}": source must be an absolute path`);
    }
    const propagation = m.propagation ?? 'rprivate';
    const opts = [m.nonRecursive ? 'bind' : 'rbind'];
    if (m.readonly) opts.push('ro');
    opts.push(...(m.options ?? []), propagation);
    // A shared or slave bind needs the rootfs itself to propagate, or the kernel refuses it.
    if (propagation === 'shared' || propagation === 'rshared') rootfsPropagation = 'rshared';
    else if ((propagation === 'slave' || propagation === 'rslave') && rootfsPropagation !== 'rshared') {
      rootfsPropagation = 'rslave';
    }
    mounts.push({ destination, type: 'bind', source: m.source, options: opts });
  }
  for (const [dest, data] of Object.entries(input.tmpfs ?? {})) {
    const destination = cleanDestination(dest);
    claim(destination);
    const opts = mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...data.split(',')]);
    mounts.push({ destination, type: 'tmpfs', source: 'tmpfs', options: opts });
  }
  if (input.init) {
    claim(INIT_PATH);
    mounts.push({ destination: INIT_PATH, type: 'bind', source: input.init, options: ['bind', 'ro'] });
  }
  // Parents before children, so that /a is mounted before /a/b (Docker's sortMounts).
  const depth = (m: OciMount) => m.destination.split('/').length;
  mounts.sort((a, b) => depth(a) - depth(b));
  return { mounts, rootfsPropagation };
}

function mergeMounts(defaults: OciMount[], user: OciMount[]): OciMount[] {
  const userDests = new Set(user.map((m) => m.destination));
  const mountsDev = userDests.has('/dev');
  const kept = defaults.filter(
    (m) => !userDests.has(m.destination) && !(mountsDev && m.destination.startsWith('/dev/')),
  );
  return [...kept, ...user];
}

// Docker's default device cgroup: deny all, then the basic character devices (runc itself adds
// its own defaults such as /dev/pts/* and mknod of any device, then creates the nodes).
const DEFAULT_DEVICE_RULES: readonly OciDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
];

function devices(input: ContainerSpecInput): { devices: OciDevice[]; rules: OciDeviceCgroup[] } {
  if (input.privileged) {
    const hostDevices = (input.host.devices ?? []).map((d) => ({ ...d }));
    const paths = new Set(hostDevices.map((d) => d.path));
    for (const d of input.devices ?? []) {
      const path = d.containerPath ?? d.host.path;
      if (!paths.has(path)) hostDevices.push({ ...d.host, path });
    }
    return { devices: hostDevices, rules: [{ allow: true, access: 'rwm' }] };
  }
  const out: OciDevice[] = [];
  const rules = DEFAULT_DEVICE_RULES.map((r) => ({ ...r }));
  for (const d of input.devices ?? []) {
    const perms = d.permissions ?? 'rwm';
    if (!/^[rwm]{1,3}$/.test(perms)) invalid('invalid_device', `invalid device mode: ${perms}`);
    const path = d.containerPath ?? d.host.path;
    out.push({ ...d.host, path });
    const type = d.host.type === 'b' ? 'b' : 'c';
    rules.push({ allow: true, type, major: d.host.major, minor: d.host.minor, access: perms });
  }
  rules.push(...(input.deviceCgroupRules ?? []).map((r) => ({ ...r })));
  return { devices: out, rules };
}

function resources(input: ContainerSpecInput, deviceRules: OciDeviceCgroup[]): OciResources {
  const r = input.resources ?? {};
  const out: OciResources = { devices: deviceRules };

  const memory: NonNullable<OciResources['memory']> = {};
  if (r.memory !== undefined && r.memory !== 0) {
    if (r.memory < 6 * 1024 * 1024) invalid('invalid_memory', 'Minimum memory limit allowed is 6MB');
    memory.limit = r.memory;
  }
  if (r.memoryReservation) {
    if (memory.limit !== undefined && r.memoryReservation > memory.limit) {
      invalid('invalid_memory', 'Minimum memory limit can not be less than memory reservation limit, see usage');
    }
    memory.reservation = r.memoryReservation;
  }
  if (input.host.swapLimit) {
    if (r.memorySwap !== undefined && r.memorySwap !== 0) {
      if (r.memorySwap > 0 && memory.limit === undefined) {
        invalid('invalid_memory', 'You should always set the Memory limit when using Memoryswap limit, see usage');
      }
      if (r.memorySwap > 0 && memory.limit !== undefined && r.memorySwap < memory.limit) {
        invalid('invalid_memory', 'Minimum memoryswap limit should be larger than memory limit, see usage');
      }
      memory.swap = r.memorySwap;
    } else if (memory.limit !== undefined) {
      // Docker's default: as much swap as memory.
      memory.swap = memory.limit * 2;
    }
  }
  if (r.memorySwappiness !== undefined && r.memorySwappiness !== -1) {
    if (r.memorySwappiness < 0 || r.memorySwappiness > 100) {
      invalid('invalid_memory', `Invalid value: ${r.memorySwappiness}, valid memory swappiness range is 0-100`);
    }
    memory.swappiness = r.memorySwappiness;
  }
  if (r.oomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) out.memory = memory;

  const cpu: NonNullable<OciResources['cpu']> = {};
  if (r.nanoCpus) {
    if (r.cpuQuota || r.cpuPeriod) {
      invalid('invalid_cpu', 'Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set');
    }
    cpu.period = 100000;
    cpu.quota = Math.round((r.nanoCpus * 100000) / 1e9);
  }
  if (r.cpuShares) cpu.shares = r.cpuShares;
  if (r.cpuQuota) cpu.quota = r.cpuQuota;
  if (r.cpuPeriod) {
    if (r.cpuPeriod < 1000 || r.cpuPeriod > 1000000) {
      invalid('invalid_cpu', 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
    }
    cpu.period = r.cpuPeriod;
  }
  if (cpu.quota !== undefined && cpu.quota > 0 && cpu.quota < 1000) {
    invalid('invalid_cpu', 'CPU cfs quota can not be less than 1ms (i.e. 1000)');
  }
  if (r.cpuRealtimeRuntime) cpu.realtimeRuntime = r.cpuRealtimeRuntime;
  if (r.cpuRealtimePeriod) cpu.realtimePeriod = r.cpuRealtimePeriod;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;

  if (r.pidsLimit !== undefined && r.pidsLimit > 0) out.pids = { limit: r.pidsLimit };

  const blockIO: NonNullable<OciResources['blockIO']> = {};
  if (r.blkioWeight) {
    if (r.blkioWeight < 10 || r.blkioWeight > 1000) {
      invalid('invalid_blkio', 'Range of blkio weight is from 10 to 1000');
    }
    blockIO.weight = r.blkioWeight;
  }
  if (r.blkioWeightDevice?.length) blockIO.weightDevice = r.blkioWeightDevice.map((d) => ({ ...d }));
  if (r.blkioDeviceReadBps?.length) blockIO.throttleReadBpsDevice = r.blkioDeviceReadBps.map((d) => ({ ...d }));
  if (r.blkioDeviceWriteBps?.length) blockIO.throttleWriteBpsDevice = r.blkioDeviceWriteBps.map((d) => ({ ...d }));
  if (r.blkioDeviceReadIOps?.length) blockIO.throttleReadIOPSDevice = r.blkioDeviceReadIOps.map((d) => ({ ...d }));
  if (r.blkioDeviceWriteIOps?.length) blockIO.throttleWriteIOPSDevice = r.blkioDeviceWriteIOps.map((d) => ({ ...d }));
  if (Object.keys(blockIO).length) out.blockIO = blockIO;
  return out;
}

// ---- the spec ----

export function buildSpec(input: ContainerSpecInput): OciSpec {
  if (!input.args.length) invalid('no_command', 'no command specified');
  if (!input.id) invalid('invalid_id', 'container id is required');
  if (input.hostname && input.uts === 'host') {
    invalid('invalid_hostname', 'Conflicting options: hostname and the network mode (--uts=host)');
  }
  const privileged = input.privileged ?? false;

  const caps = resolveCapabilities({
    capAdd: input.capAdd,
    capDrop: input.capDrop,
    privileged,
    hostBounding: input.host.capabilities,
  });
  const user: OciUser = { uid: input.user?.uid ?? 0, gid: input.user?.gid ?? 0 };
  if (input.user?.additionalGids?.length) user.additionalGids = [...input.user.additionalGids];
  // A non-root process starts with empty effective and permitted sets, as execve gives it.
  const capabilities: OciCapabilities =
    user.uid === 0
      ? { bounding: caps, effective: [...caps], permitted: [...caps] }
      : { bounding: caps, effective: [], permitted: [] };

  const envDefaults = [`PATH=${DEFAULT_PATH_ENV}`];
  if (input.hostname) envDefaults.push(`HOSTNAME=${input.hostname}`);
  if (input.tty) envDefaults.push('TERM=xterm');

  const process: OciProcess = {
    terminal: input.tty ?? false,
    user,
    args: input.init ? [INIT_PATH, '--', ...input.args] : [...input.args],
    env: mergeEnv(envDefaults, input.env ?? []),
    cwd: input.cwd || '/',
    capabilities,
    rlimits: buildRlimits(input.ulimits ?? [], input.host.rlimitHard),
  };
  if (input.noNewPrivileges) process.noNewPrivileges = true;
  if (input.oomScoreAdj !== undefined) {
    if (input.oomScoreAdj < -1000 || input.oomScoreAdj > 1000) {
      invalid('invalid_oom_score_adj', `Invalid value ${input.oomScoreAdj}, range for oom score adj is [-1000, 1000]`);
    }
    process.oomScoreAdj = input.oomScoreAdj;
  }
  if (!process.cwd.startsWith('/')) invalid('invalid_cwd', `the working directory '${process.cwd}' is invalid, it needs to be an absolute path`);

  const extraMounts = userMounts(input);
  const dev = devices(input);

  const linux: OciLinux = {
    resources: resources(input, dev.rules),
    cgroupsPath: input.cgroupsPath ?? `${input.cgroupParent ?? DEFAULT_CGROUP_PARENT}/${input.id}`,
    namespaces: namespaces(input),
    devices: dev.devices,
  };
  // runc 1.1 ignores the spec's domainname field; the sysctl sets the same, as Docker sets it
  // (over a --sysctl of it).
  const domain = input.domainname && input.uts !== 'host' ? { 'kernel.domainname': input.domainname } : {};
  const sysctls = Object.entries({ ...input.sysctls, ...domain });
  if (sysctls.length) {
    for (const [k] of sysctls) checkSysctl(k, input);
    linux.sysctl = Object.fromEntries(sysctls);
  }
  if (!privileged && input.seccomp !== 'unconfined') {
    const profile = input.seccomp === undefined || input.seccomp === 'default' ? defaultSeccompProfile : input.seccomp;
    linux.seccomp = resolveSeccompProfile(profile, { arch: input.host.arch, caps, kernel: input.host.kernel });
  }
  if (extraMounts.rootfsPropagation) linux.rootfsPropagation = extraMounts.rootfsPropagation;
  if (!privileged) {
    linux.maskedPaths = [...MASKED_PATHS];
    linux.readonlyPaths = [...READONLY_PATHS];
  }

  return {
    ociVersion: OCI_VERSION,
    process,
    root: { path: input.rootfs, readonly: input.readonlyRootfs ?? false },
    ...(input.hostname && input.uts !== 'host' ? { hostname: input.hostname } : {}),
    mounts: mergeMounts(defaultMounts(input), extraMounts.mounts),
    ...(input.annotations && Object.keys(input.annotations).length ? { annotations: { ...input.annotations } } : {}),
    linux,
  };
}

/** config.json text. Bigints (RLIM_INFINITY) are written as plain uint64 digits, as runc expects. */
export function specToJson(spec: OciSpec): string {
  return jsonText(spec);
}
