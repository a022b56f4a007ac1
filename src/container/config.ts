// A container's configuration as Docker keeps it: the create body merged with the image's
// config (env, command, entrypoint, working dir, user, labels, stop signal), and the
// HostConfig validated and filled with Docker's defaults, so that inspect shows what runs.
import type { ContainerConfig, ContainerCreateBody, HostConfig, RestartPolicy } from '../engine/engine.js';
import { InvalidArgumentError } from '../errors.js';
import type { ContainerConfig as ImageRuntimeConfig } from '../image/types.js';
import { DEFAULT_SHM_SIZE, MASKED_PATHS, READONLY_PATHS } from '../runtime/spec.js';
import { checkDnsSearch, checkDnsServer, checkMacAddress, parseExtraHost } from '../network/etc.js';
import { mergeHealthcheck } from './health.js';
import { checkMountSpec, parseBind, parseVolumesFrom } from './mounts.js';

function invalid(message: string, code = 'invalid_config'): never {
  throw new InvalidArgumentError(code, message);
}

/** A network setting's check, its message as the engine's error. */
function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    return invalid((err as Error).message, 'invalid_network_setting');
  }
}

const envKey = (kv: string) => kv.split('=', 1)[0];

/** Docker's merge: the image's variables the user did not set come first, then the user's. */
export function mergeConfig(body: ContainerCreateBody, image: ImageRuntimeConfig | undefined, id: string): ContainerConfig {
  const img = image ?? {};
  const userEnv = body.Env ?? [];
  const userKeys = new Set(userEnv.map(envKey));
  const env = [...(img.Env ?? []).filter((kv) => !userKeys.has(envKey(kv))), ...userEnv];
  // An entrypoint given for the container replaces the image's command too.
  const userEntrypoint = body.Entrypoint !== undefined && body.Entrypoint !== null;
  // `--entrypoint ""` arrives as [""]: no entrypoint at all.
  const given = body.Entrypoint?.length === 1 && body.Entrypoint[0] === '' ? [] : body.Entrypoint;
  const entrypoint = userEntrypoint ? given! : (img.Entrypoint ?? null);
  const cmd = body.Cmd?.length ? body.Cmd : userEntrypoint ? null : (img.Cmd ?? null);
  const config: ContainerConfig = {
    Hostname: body.Hostname || id.slice(0, 12),
    Domainname: body.Domainname ?? '',
    User: body.User || img.User || '',
    AttachStdin: body.AttachStdin ?? false,
    AttachStdout: body.AttachStdout ?? false,
    AttachStderr: body.AttachStderr ?? false,
    ...(body.ExposedPorts || img.ExposedPorts ? { ExposedPorts: { ...img.ExposedPorts, ...body.ExposedPorts } } : {}),
    Tty: body.Tty ?? false,
    OpenStdin: body.OpenStdin ?? false,
    StdinOnce: body.StdinOnce ?? false,
    Env: env,
    Cmd: cmd?.length ? cmd : null,
    ...(body.Healthcheck || img.Healthcheck ? { Healthcheck: mergeHealthcheck(body.Healthcheck, img.Healthcheck) } : {}),
    Image: body.Image,
    // The image's VOLUME paths and the container's (-v /path) together, as Docker merges them.
    Volumes: body.Volumes || img.Volumes ? { ...img.Volumes, ...body.Volumes } : null,
    WorkingDir: body.WorkingDir || img.WorkingDir || '',
    Entrypoint: entrypoint && entrypoint.length ? entrypoint : null,
    OnBuild: null,
    Labels: { ...img.Labels, ...body.Labels },
    ...(body.StopSignal || img.StopSignal ? { StopSignal: body.StopSignal || img.StopSignal } : {}),
    ...(typeof body.StopTimeout === 'number' ? { StopTimeout: body.StopTimeout } : {}),
    ...(body.MacAddress ? { MacAddress: checked(() => checkMacAddress(body.MacAddress!)) } : {}),
  };
  if (commandLine(config).length === 0) invalid('No command specified', 'no_command');
  return config;
}

/** What the container's init runs: entrypoint, then command. */
export function commandLine(config: Pick<ContainerConfig, 'Entrypoint' | 'Cmd'>): string[] {
  return [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
}

/** Docker's Command column: the arguments with spaces single-quoted. */
export function commandString(config: Pick<ContainerConfig, 'Entrypoint' | 'Cmd'>): string {
  return commandLine(config)
    .map((a, i) => (i > 0 && a.includes(' ') ? `'${a}'` : a))
    .join(' ');
}

export type NamespaceRef = { kind: 'private' } | { kind: 'host' } | { kind: 'container'; ref: string };

/** `host`, `container:<name|id>` or a private namespace. */
export function namespaceMode(value: string | undefined, what: string, allowed: readonly string[]): NamespaceRef {
  const v = value ?? '';
  if (v.startsWith('container:')) {
    const ref = v.slice('container:'.length);
    if (!ref) invalid(`invalid ${what} mode: ${v}`);
    return { kind: 'container', ref };
  }
  if (v === 'host') return { kind: 'host' };
  if (v === '' || allowed.includes(v)) return { kind: 'private' };
  return invalid(`invalid ${what} mode: ${v}`);
}

export function restartPolicy(p: RestartPolicy | undefined, autoRemove: boolean): RestartPolicy {
  const name = p?.Name || 'no';
  const count = p?.MaximumRetryCount ?? 0;
  if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(name)) invalid(`invalid restart policy '${name}'`, 'invalid_restart_policy');
  if (count < 0) invalid('invalid restart policy: maximum retry count cannot be negative', 'invalid_restart_policy');
  if (count > 0 && name !== 'on-failure') {
    invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'`, 'invalid_restart_policy');
  }
  if (autoRemove && name !== 'no') invalid('conflicting options: cannot specify both --restart and --rm', 'restart_and_rm');
  return { Name: name as RestartPolicy['Name'], MaximumRetryCount: count };
}

function networkMode(mode: string | undefined): string {
  const m = mode ?? '';
  // Without a choice a container joins the default bridge; inspect says "default", as Docker's.
  if (m === '') return 'default';
  if (m.startsWith('container:') && m.length === 'container:'.length) invalid('invalid network mode: container:', 'invalid_network_mode');
  // bridge and user-defined networks: the engine checks that the network exists.
  return m;
}

/** The network mode a container has: "default" (recorded when none was asked for) is the default bridge. */
export function effectiveNetworkMode(hc: Pick<HostConfig, 'NetworkMode'>): string {
  const m = hc.NetworkMode ?? 'none';
  return m === 'default' ? 'bridge' : m;
}

const SECURITY_OPT = /^(no-new-privileges|seccomp|label|apparmor)[:=]?(.*)$/s;

/** Validates --security-opt values: what berth applies, and what is harmless to accept. */
export function checkSecurityOpts(opts: readonly string[]): void {
  for (const o of opts) {
    const m = SECURITY_OPT.exec(o);
    if (!m) invalid(`Invalid --security-opt: "${o}"`, 'invalid_security_opt');
    const [, key, value] = m;
    if (key === 'no-new-privileges' && !['', 'true', 'false'].includes(value)) {
      invalid(`Invalid --security-opt: "${o}"`, 'invalid_security_opt');
    }
    if (key === 'seccomp' && value === '') invalid(`invalid --security-opt: "${o}"`, 'invalid_security_opt');
    // No SELinux or AppArmor profile is ever applied, so only their "off" settings are true.
    if (key === 'label' && value !== 'disable') invalid(`SELinux labels are not supported by berth: "${o}"`, 'invalid_security_opt');
    if (key === 'apparmor' && value !== 'unconfined') invalid(`AppArmor profiles are not supported by berth: "${o}"`, 'invalid_security_opt');
  }
}

/**
 * Checks a create request's HostConfig and fills in Docker's defaults. `defaultCgroupns` is
 * Docker's default for the host: a private cgroup namespace under cgroup v2, the host's under
 * v1 and hybrid hierarchies (where a private one shows the container nothing more useful, and
 * costs runc a namespace and its mounts at every start).
 */
export function normalizeHostConfig(hc: HostConfig | undefined, defaultCgroupns: 'private' | 'host' = 'private'): HostConfig {
  const h: HostConfig = { ...hc };
  const autoRemove = h.AutoRemove ?? false;
  for (const b of h.Binds ?? []) parseBind(b);
  for (const m of h.Mounts ?? []) checkMountSpec(m);
  for (const v of h.VolumesFrom ?? []) parseVolumesFrom(v);
  checkSecurityOpts(h.SecurityOpt ?? []);
  const extraHosts = (h.ExtraHosts ?? []).map((e) => checked(() => parseExtraHost(e)));
  for (const d of h.Dns ?? []) checked(() => checkDnsServer(d));
  for (const d of h.DnsSearch ?? []) checked(() => checkDnsSearch(d));
  // The other container's network, files included, is this one's: Docker refuses to change them.
  if (h.NetworkMode?.startsWith('container:')) {
    if (h.Dns?.length) invalid('conflicting options: dns and the network mode', 'network_mode_conflict');
    if (extraHosts.length) invalid('conflicting options: custom host-to-IP mapping and the network mode', 'network_mode_conflict');
  }
  namespaceMode(h.IpcMode, 'IPC', ['private', 'shareable']);
  namespaceMode(h.PidMode, 'PID', []);
  if (h.UTSMode && h.UTSMode !== 'host') invalid(`invalid UTS mode: ${h.UTSMode}`);
  if (h.CgroupnsMode && h.CgroupnsMode !== 'host' && h.CgroupnsMode !== 'private') invalid(`invalid cgroup namespace mode: ${h.CgroupnsMode}`);
  if (h.UsernsMode && h.UsernsMode !== 'host') {
    invalid(`invalid USER mode: ${h.UsernsMode}: containers run in the host's user namespace (user namespace remapping is not available in berth yet)`);
  }
  const logType = h.LogConfig?.Type || 'k8s-file';
  if (logType !== 'k8s-file' && logType !== 'json-file') {
    invalid(`log driver "${logType}" is not available in berth: containers log in the k8s-file format`, 'invalid_log_driver');
  }
  for (const key of Object.keys(h.LogConfig?.Config ?? {})) {
    if (key !== 'max-size') invalid(`unknown log opt '${key}' for k8s-file log driver`, 'invalid_log_opt');
  }
  // Keys Docker's HostConfig always has, at its zero values, where berth has no setting of
  // its own (tools read them without checking that they are there).
  const dockerKeys = {
    ContainerIDFile: '',
    VolumeDriver: '',
    ConsoleSize: [0, 0] as [number, number],
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    Isolation: '',
    BlkioWeightDevice: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetMems: '',
    DeviceRequests: null,
    KernelMemory: 0,
    KernelMemoryTCP: 0,
    MemorySwappiness: null,
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
  };
  const privileged = h.Privileged ?? false;
  return {
    ...dockerKeys,
    ...h,
    Binds: h.Binds?.length ? h.Binds : null,
    VolumesFrom: h.VolumesFrom?.length ? h.VolumesFrom : null,
    LogConfig: { Type: 'k8s-file', Config: { ...h.LogConfig?.Config } },
    NetworkMode: networkMode(h.NetworkMode),
    ExtraHosts: extraHosts.length ? extraHosts : null,
    Dns: h.Dns ?? [],
    DnsSearch: h.DnsSearch ?? [],
    DnsOptions: h.DnsOptions ?? [],
    PortBindings: h.PortBindings ?? {},
    PublishAllPorts: h.PublishAllPorts ?? false,
    RestartPolicy: restartPolicy(h.RestartPolicy, autoRemove),
    AutoRemove: autoRemove,
    CapAdd: h.CapAdd?.length ? h.CapAdd : null,
    CapDrop: h.CapDrop?.length ? h.CapDrop : null,
    GroupAdd: h.GroupAdd?.length ? h.GroupAdd : null,
    IpcMode: h.IpcMode || 'private',
    PidMode: h.PidMode ?? '',
    UTSMode: h.UTSMode ?? '',
    Privileged: privileged,
    ReadonlyRootfs: h.ReadonlyRootfs ?? false,
    SecurityOpt: h.SecurityOpt?.length ? h.SecurityOpt : null,
    ShmSize: h.ShmSize || DEFAULT_SHM_SIZE,
    Runtime: h.Runtime || 'runc',
    CgroupnsMode: h.CgroupnsMode || defaultCgroupns,
    UsernsMode: h.UsernsMode ?? '',
    CgroupParent: h.CgroupParent ?? '',
    Memory: h.Memory ?? 0,
    MemoryReservation: h.MemoryReservation ?? 0,
    MemorySwap: h.MemorySwap ?? 0,
    NanoCpus: h.NanoCpus ?? 0,
    CpuShares: h.CpuShares ?? 0,
    CpusetCpus: h.CpusetCpus ?? '',
    BlkioWeight: h.BlkioWeight ?? 0,
    OomKillDisable: h.OomKillDisable ?? false,
    PidsLimit: h.PidsLimit ?? null,
    Devices: h.Devices ?? [],
    Ulimits: h.Ulimits ?? [],
    BlkioDeviceReadBps: h.BlkioDeviceReadBps ?? [],
    BlkioDeviceWriteBps: h.BlkioDeviceWriteBps ?? [],
    BlkioDeviceReadIOps: h.BlkioDeviceReadIOps ?? [],
    BlkioDeviceWriteIOps: h.BlkioDeviceWriteIOps ?? [],
    DeviceCgroupRules: h.DeviceCgroupRules?.length ? h.DeviceCgroupRules : null,
    // What the runtime spec masks; a privileged container has neither list, as in Docker.
    MaskedPaths: privileged ? null : [...MASKED_PATHS],
    ReadonlyPaths: privileged ? null : [...READONLY_PATHS],
  };
}
