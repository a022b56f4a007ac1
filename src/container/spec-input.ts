// From a container's Docker configuration to the input of the OCI spec generator. Pure: what
// has to be looked up on the host (the user in the image's passwd, devices, the namespaces of
// other containers, the init binary) is resolved by the caller and passed in.
import type { ContainerConfig, HostConfig } from '../engine/engine.js';
import { InvalidArgumentError } from '../errors.js';
import type { SeccompProfile } from '../runtime/seccomp.js';
import {
  DEFAULT_CGROUP_PARENT,
  type ContainerSpecInput,
  type DeviceInput,
  type HostFacts,
  type MountInput,
  type NamespaceMode,
  type OciThrottleDevice,
} from '../runtime/spec.js';
import { parseDeviceCgroupRule } from '../runtime/device-flags.js';
import type { ContainerPaths } from './paths.js';
import type { ExecUser } from './user.js';

export interface SpecContext {
  host: HostFacts;
  user: ExecUser;
  /** /proc/<pid>/ns/<type> of the containers whose namespaces this one joins (container:<x>). */
  joined: { network?: string; ipc?: string; pid?: string };
  devices: DeviceInput[];
  /** The container's binds and volumes, with the volumes' host directories (src/container/mounts.ts). */
  mounts: MountInput[];
  /** The HostConfig's BlkioDevice* throttles with their devices' numbers. */
  throttle?: ThrottleInput;
  /** Host path of the init binary for --init. */
  initPath?: string;
  /**
   * The container whose /etc/hostname, /etc/hosts and /etc/resolv.conf are bound: with
   * --network container:<x>, <x>'s, as Docker shares them along with the network. Default: its own.
   */
  etcFrom?: ContainerPaths;
}

export interface ThrottleInput {
  readBps: OciThrottleDevice[];
  writeBps: OciThrottleDevice[];
  readIOps: OciThrottleDevice[];
  writeIOps: OciThrottleDevice[];
}

export interface SecurityOptions {
  noNewPrivileges: boolean;
  seccomp: 'default' | 'unconfined' | SeccompProfile;
}

export function securityOptions(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: 'default' };
  for (const o of opts ?? []) {
    const m = /^(no-new-privileges|seccomp)[:=]?(.*)$/s.exec(o);
    if (!m) continue;
    if (m[1] === 'no-new-privileges') out.noNewPrivileges = m[2] !== 'false';
    else if (m[2] === 'unconfined') out.seccomp = 'unconfined';
    else {
      try {
        out.seccomp = JSON.parse(m[2]) as SeccompProfile;
      } catch (err) {
        throw new InvalidArgumentError('invalid_seccomp', `decoding seccomp profile failed: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

function namespace(mode: string | undefined, joined: string | undefined): NamespaceMode {
  if (mode === 'host') return 'host';
  // Another container's namespace, or the one berth made and wired to a bridge network.
  if (joined) return { path: joined };
  return 'private';
}

/** The --mount tmpfs entries; binds and volumes come resolved in the context (src/container/mounts.ts). */
function tmpfsMounts(hc: HostConfig): MountInput[] {
  return (hc.Mounts ?? [])
    .filter((m) => m.Type === 'tmpfs')
    .map((m) => {
      const options: string[] = [];
      if (m.TmpfsOptions?.SizeBytes) options.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) options.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      return { type: 'tmpfs', destination: m.Target, readonly: m.ReadOnly ?? false, options };
    });
}

export function specInput(
  id: string,
  config: ContainerConfig,
  hc: HostConfig,
  paths: ContainerPaths,
  args: string[],
  ctx: SpecContext,
): ContainerSpecInput {
  const security = securityOptions(hc.SecurityOpt);
  const mounts = [...ctx.mounts, ...tmpfsMounts(hc)];
  const taken = new Set([...mounts.map((m) => m.destination.replace(/\/+$/, '')), ...Object.keys(hc.Tmpfs ?? {})]);
  const readonly = hc.ReadonlyRootfs ?? false;
  const etcFrom = ctx.etcFrom ?? paths;
  const etc: MountInput[] = [
    { type: 'bind', source: etcFrom.resolvConf, destination: '/etc/resolv.conf', readonly },
    { type: 'bind', source: etcFrom.hostname, destination: '/etc/hostname', readonly },
    { type: 'bind', source: etcFrom.hosts, destination: '/etc/hosts', readonly },
  ];
  const env = config.Env.some((kv) => kv.startsWith('HOME=')) ? config.Env : [...config.Env, `HOME=${ctx.user.home || '/'}`];
  const utsHost = hc.UTSMode === 'host';
  const network = hc.NetworkMode === 'none' ? 'none' : namespace(hc.NetworkMode, ctx.joined.network);
  const swappiness = hc.MemorySwappiness;
  const parent = hc.CgroupParent ? '/' + hc.CgroupParent.replace(/^\/+/, '') : DEFAULT_CGROUP_PARENT;
  return {
    id,
    rootfs: paths.merged,
    args,
    env,
    cwd: config.WorkingDir || '/',
    user: { uid: ctx.user.uid, gid: ctx.user.gid, additionalGids: ctx.user.additionalGids },
    tty: config.Tty,
    ...(utsHost ? {} : { hostname: config.Hostname, domainname: config.Domainname }),
    readonlyRootfs: readonly,
    privileged: hc.Privileged ?? false,
    capAdd: hc.CapAdd ?? [],
    capDrop: hc.CapDrop ?? [],
    seccomp: security.seccomp,
    noNewPrivileges: security.noNewPrivileges,
    mounts: [...etc.filter((m) => !taken.has(m.destination)), ...mounts],
    tmpfs: hc.Tmpfs ?? {},
    devices: ctx.devices,
    deviceCgroupRules: (hc.DeviceCgroupRules ?? []).map(parseDeviceCgroupRule),
    ulimits: (hc.Ulimits ?? []).map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })),
    sysctls: hc.Sysctls ?? {},
    shmSize: hc.ShmSize,
    ipc: namespace(hc.IpcMode, ctx.joined.ipc),
    pid: namespace(hc.PidMode, ctx.joined.pid),
    uts: utsHost ? 'host' : 'private',
    network,
    resources: {
      memory: hc.Memory || undefined,
      memoryReservation: hc.MemoryReservation || undefined,
      memorySwap: hc.MemorySwap || undefined,
      memorySwappiness: swappiness === null || swappiness === undefined ? undefined : swappiness,
      oomKillDisable: hc.OomKillDisable ?? false,
      cpuShares: hc.CpuShares || undefined,
      cpuQuota: hc.CpuQuota || undefined,
      cpuPeriod: hc.CpuPeriod || undefined,
      nanoCpus: hc.NanoCpus || undefined,
      cpusetCpus: hc.CpusetCpus || undefined,
      cpusetMems: hc.CpusetMems || undefined,
      pidsLimit: hc.PidsLimit && hc.PidsLimit > 0 ? hc.PidsLimit : undefined,
      blkioWeight: hc.BlkioWeight || undefined,
      blkioDeviceReadBps: ctx.throttle?.readBps,
      blkioDeviceWriteBps: ctx.throttle?.writeBps,
      blkioDeviceReadIOps: ctx.throttle?.readIOps,
      blkioDeviceWriteIOps: ctx.throttle?.writeIOps,
    },
    ...(hc.CgroupnsMode === 'host' ? { cgroupns: 'host' as const } : {}),
    cgroupParent: parent,
    ...(ctx.initPath ? { init: ctx.initPath } : {}),
    ...(hc.OomScoreAdj ? { oomScoreAdj: hc.OomScoreAdj } : {}),
    host: ctx.host,
  };
}
