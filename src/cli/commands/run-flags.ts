// `run` and `create` flags with Docker's names, parsing and error wording, turned into the body
// of a container create request (Docker's Config + HostConfig). Pure apart from reading the
// files some flags name (--env-file, --label-file, a seccomp profile), which is injected.
import type { Command } from 'commander';
import type { ContainerCreateBody, ContainerUpdateBody, DeviceMapping, HealthConfig, HostConfig, MountSpec, ThrottleDevice, Ulimit } from '../../engine/engine.js';
import { InvalidArgumentError } from '../../errors.js';
import { parseDetachKeys } from '../../container/detach-keys.js';
import { checkDnsSearch, checkDnsServer, checkMacAddress, parseExtraHost } from '../../network/etc.js';
import { parseDeviceCgroupRule, parseDeviceFlag } from '../../runtime/device-flags.js';
import { parseBytes, parseDuration } from '../units.js';
import { parsePublish } from '../ports.js';

type Kind = 'bool' | 'string' | 'list';

interface FlagDef {
  flags: string;
  kind: Kind;
  help: string;
  hidden?: boolean;
}

// Docker's run/create flags that berth implements (others are unknown options).
export const RUN_FLAGS: readonly FlagDef[] = [
  { flags: '--add-host <host:ip>', kind: 'list', help: 'Add a custom host-to-IP mapping (host:ip, ip may be host-gateway)' },
  { flags: '-a, --attach <stream>', kind: 'list', help: 'Attach to STDIN, STDOUT or STDERR' },
  { flags: '--blkio-weight <uint16>', kind: 'string', help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable' },
  { flags: '--cap-add <cap>', kind: 'list', help: 'Add Linux capabilities' },
  { flags: '--cap-drop <cap>', kind: 'list', help: 'Drop Linux capabilities' },
  { flags: '--cgroup-parent <string>', kind: 'string', help: 'Optional parent cgroup for the container' },
  { flags: '--cgroupns <string>', kind: 'string', help: 'Cgroup namespace to use (host|private)' },
  { flags: '--cidfile <string>', kind: 'string', help: 'Write the container ID to the file' },
  { flags: '--cpu-period <int>', kind: 'string', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { flags: '--cpu-quota <int>', kind: 'string', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { flags: '-c, --cpu-shares <int>', kind: 'string', help: 'CPU shares (relative weight)' },
  { flags: '--cpus <decimal>', kind: 'string', help: 'Number of CPUs' },
  { flags: '--cpuset-cpus <string>', kind: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
  { flags: '--cpuset-mems <string>', kind: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
  { flags: '-d, --detach', kind: 'bool', help: 'Run container in background and print container ID' },
  { flags: '--device <device>', kind: 'list', help: 'Add a host device to the container' },
  { flags: '--device-cgroup-rule <rule>', kind: 'list', help: 'Add a rule to the cgroup allowed devices list' },
  { flags: '--device-read-bps <list>', kind: 'list', help: 'Limit read rate (bytes per second) from a device' },
  { flags: '--device-read-iops <list>', kind: 'list', help: 'Limit read rate (IO per second) from a device' },
  { flags: '--device-write-bps <list>', kind: 'list', help: 'Limit write rate (bytes per second) to a device' },
  { flags: '--device-write-iops <list>', kind: 'list', help: 'Limit write rate (IO per second) to a device' },
  { flags: '--dns <ip>', kind: 'list', help: 'Set custom DNS servers' },
  { flags: '--dns-option <option>', kind: 'list', help: 'Set DNS options' },
  { flags: '--dns-search <domain>', kind: 'list', help: 'Set custom DNS search domains' },
  { flags: '--domainname <string>', kind: 'string', help: 'Container NIS domain name' },
  { flags: '--entrypoint <string>', kind: 'string', help: 'Overwrite the default ENTRYPOINT of the image' },
  { flags: '-e, --env <var>', kind: 'list', help: 'Set environment variables' },
  { flags: '--env-file <file>', kind: 'list', help: 'Read in a file of environment variables' },
  { flags: '--expose <port>', kind: 'list', help: 'Expose a port or a range of ports' },
  { flags: '--group-add <group>', kind: 'list', help: 'Add additional groups to join' },
  { flags: '--health-cmd <string>', kind: 'string', help: 'Command to run to check health' },
  { flags: '--health-interval <duration>', kind: 'string', help: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { flags: '--health-retries <int>', kind: 'string', help: 'Consecutive failures needed to report unhealthy' },
  { flags: '--health-start-period <duration>', kind: 'string', help: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)' },
  { flags: '--health-timeout <duration>', kind: 'string', help: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)' },
  { flags: '-h, --hostname <string>', kind: 'string', help: 'Container host name' },
  { flags: '--init', kind: 'bool', help: 'Run an init inside the container that forwards signals and reaps processes' },
  { flags: '-i, --interactive', kind: 'bool', help: 'Keep STDIN open even if not attached' },
  { flags: '--ip <address>', kind: 'string', help: 'IPv4 address (e.g., 172.30.100.104)' },
  { flags: '--ip6 <address>', kind: 'string', help: 'IPv6 address (e.g., 2001:db8::33)' },
  { flags: '--ipc <string>', kind: 'string', help: 'IPC mode to use' },
  { flags: '-l, --label <label>', kind: 'list', help: 'Set meta data on a container' },
  { flags: '--label-file <file>', kind: 'list', help: 'Read in a line delimited file of labels' },
  { flags: '--log-driver <string>', kind: 'string', help: 'Logging driver for the container (k8s-file)' },
  { flags: '--log-opt <opt>', kind: 'list', help: 'Log driver options (max-size)' },
  { flags: '--mac-address <string>', kind: 'string', help: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
  { flags: '-m, --memory <bytes>', kind: 'string', help: 'Memory limit' },
  { flags: '--memory-reservation <bytes>', kind: 'string', help: 'Memory soft limit' },
  { flags: '--memory-swap <bytes>', kind: 'string', help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  { flags: '--memory-swappiness <int>', kind: 'string', help: 'Tune container memory swappiness (0 to 100)' },
  { flags: '--mount <mount>', kind: 'list', help: 'Attach a filesystem mount to the container' },
  { flags: '--name <string>', kind: 'string', help: 'Assign a name to the container' },
  { flags: '--network <network>', kind: 'string', help: 'Connect a container to a network (none, host, bridge, container:<name|id>, or a network name or id)' },
  { flags: '--net <network>', kind: 'string', help: 'Connect a container to a network', hidden: true },
  { flags: '--network-alias <alias>', kind: 'list', help: 'Add network-scoped alias for the container' },
  { flags: '--no-healthcheck', kind: 'bool', help: 'Disable any container-specified HEALTHCHECK' },
  { flags: '--oom-kill-disable', kind: 'bool', help: 'Disable OOM Killer' },
  { flags: '--oom-score-adj <int>', kind: 'string', help: "Tune host's OOM preferences (-1000 to 1000)" },
  { flags: '--pid <string>', kind: 'string', help: 'PID namespace to use' },
  { flags: '--pids-limit <int>', kind: 'string', help: 'Tune container pids limit (set -1 for unlimited)' },
  { flags: '--platform <string>', kind: 'string', help: 'Set platform if server is multi-platform capable' },
  { flags: '--privileged', kind: 'bool', help: 'Give extended privileges to this container' },
  { flags: '-p, --publish <port>', kind: 'list', help: "Publish a container's port(s) to the host" },
  { flags: '-P, --publish-all', kind: 'bool', help: 'Publish all exposed ports to random ports' },
  { flags: '--pull <string>', kind: 'string', help: 'Pull image before running ("always", "missing", "never")' },
  { flags: '-q, --quiet', kind: 'bool', help: 'Suppress the pull output' },
  { flags: '--read-only', kind: 'bool', help: "Mount the container's root filesystem as read only" },
  { flags: '--restart <string>', kind: 'string', help: 'Restart policy to apply when a container exits (default "no")' },
  { flags: '--rm', kind: 'bool', help: 'Automatically remove the container when it exits' },
  { flags: '--runtime <string>', kind: 'string', help: 'Runtime to use for this container (runc)' },
  { flags: '--security-opt <opt>', kind: 'list', help: 'Security Options' },
  { flags: '--shm-size <bytes>', kind: 'string', help: 'Size of /dev/shm' },
  { flags: '--stop-signal <string>', kind: 'string', help: 'Signal to stop the container' },
  { flags: '--stop-timeout <int>', kind: 'string', help: 'Timeout (in seconds) to stop a container' },
  { flags: '--sysctl <map>', kind: 'list', help: 'Sysctl options' },
  { flags: '--tmpfs <mount>', kind: 'list', help: 'Mount a tmpfs directory' },
  { flags: '-t, --tty', kind: 'bool', help: 'Allocate a pseudo-TTY' },
  { flags: '--ulimit <ulimit>', kind: 'list', help: 'Ulimit options' },
  { flags: '-u, --user <string>', kind: 'string', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { flags: '--userns <string>', kind: 'string', help: 'User namespace to use (host)' },
  { flags: '--uts <string>', kind: 'string', help: 'UTS namespace to use' },
  { flags: '-v, --volume <volume>', kind: 'list', help: 'Bind mount a volume (host-path|volume-name:container-path[:options], or container-path for an anonymous volume)' },
  { flags: '--volumes-from <container>', kind: 'list', help: 'Mount volumes from the specified container(s)' },
  { flags: '-w, --workdir <string>', kind: 'string', help: 'Working directory inside the container' },
];

/** The values commander collects for RUN_FLAGS (camelCased long names). */
export interface RunFlagValues {
  [key: string]: string | string[] | boolean | undefined;
}

export interface RunRequest {
  body: ContainerCreateBody;
  name?: string;
  platform?: string;
  pull: 'missing' | 'never' | 'always';
  /** -q: no pull progress. */
  quiet: boolean;
  detach: boolean;
  /** Forward SIGINT/SIGTERM and friends to the container (foreground, without a TTY). */
  sigProxy: boolean;
  /** --detach-keys: the sequence that detaches from the container's terminal. */
  detachKeys?: string;
  /** --cidfile: where to write the container's ID. */
  cidfile?: string;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds the run/create flags to a command; `run` adds the run-only ones (-d, --sig-proxy). */
export function addRunFlags(cmd: Command, opts: { run: boolean }): Command {
  // Docker's -h is --hostname, so help is --help only.
  cmd.helpOption('--help', 'Print usage');
  for (const f of RUN_FLAGS) {
    if (!opts.run && f.flags.startsWith('-d,')) continue;
    if (f.kind === 'list') cmd.option(f.flags, f.help, collect);
    else cmd.option(f.flags, f.help);
    if (f.hidden) cmd.options.at(-1)!.hideHelp();
  }
  if (opts.run) {
    cmd.option('--sig-proxy', 'Proxy received signals to the process (default true)');
    cmd.option('--no-sig-proxy', 'Do not proxy received signals to the process');
    cmd.option('--detach-keys <string>', 'Override the key sequence for detaching a container');
  }
  return cmd;
}

const BOOL_FLAGS = new Set(RUN_FLAGS.filter((f) => f.kind === 'bool').map((f) => /--[\w-]+/.exec(f.flags)![0]).concat('--sig-proxy'));
const VALUE_LONG = new Set(RUN_FLAGS.filter((f) => f.kind !== 'bool').map((f) => /--[\w-]+/.exec(f.flags)![0]));
const shorts = (bool: boolean) => new Set(RUN_FLAGS.filter((f) => (f.kind === 'bool') === bool && /^-\w,/.test(f.flags)).map((f) => f.flags[1]));
const VALUE_SHORT = shorts(false);
const BOOL_SHORT = shorts(true);

/**
 * Docker's boolean flags also take `=true`/`=false` (`--sig-proxy=false`, `--rm=true`), which
 * commander does not; this rewrites them, up to the image name where the command begins.
 */
export function normalizeBoolFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' || !a.startsWith('-') || a === '-') {
      out.push(...argv.slice(i));
      break;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (a.startsWith('--') && eq > 0 && BOOL_FLAGS.has(name)) {
      const v = a.slice(eq + 1).toLowerCase();
      if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') {
        throw new InvalidArgumentError('invalid_flag', `invalid argument "${a.slice(eq + 1)}" for "${name}" flag: strconv.ParseBool: parsing "${a.slice(eq + 1)}": invalid syntax`);
      }
      const on = v === 'true' || v === '1';
      if (on) out.push(name);
      else if (name === '--sig-proxy') out.push('--no-sig-proxy');
      continue;
    }
    out.push(a);
    if (a.startsWith('--')) {
      if (eq < 0 && VALUE_LONG.has(a)) out.push(argv[++i]);
    } else {
      // A cluster like -it, -e or -eFOO=1: a value flag takes the rest of the word, or the next word.
      for (let j = 1; j < a.length; j++) {
        if (VALUE_SHORT.has(a[j])) {
          if (j === a.length - 1) out.push(argv[++i]);
          break;
        }
        if (!BOOL_SHORT.has(a[j])) break;
      }
    }
  }
  return out.filter((a) => a !== undefined);
}

function bad(flag: string, value: string, why: string): never {
  throw new InvalidArgumentError('invalid_flag', `invalid argument "${value}" for "${flag}" flag: ${why}`);
}

function int(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(value.trim())) bad(flag, value, `strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}

function bytes(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseBytes(value);
  } catch (err) {
    return bad(flag, value, (err as Error).message);
  }
}

/** Lines of a Docker env/label file: comments and blank lines skipped; a bare name takes its value from `env`. */
export function parseKeyValueFile(text: string, file: string, env: NodeJS.ProcessEnv, fromEnv: boolean): string[] {
  const out: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '').replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq >= 0 ? line.slice(0, eq) : line.trimEnd();
    if (key === '') throw new InvalidArgumentError('invalid_env_file', `invalid variable in ${file} on line ${i + 1}: ${line}`);
    if (/\s/.test(key)) throw new InvalidArgumentError('invalid_env_file', `variable '${key}' contains whitespaces`);
    if (eq >= 0) out.push(line);
    else if (!fromEnv) out.push(key);
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`);
  });
  return out;
}

function envVar(value: string, env: NodeJS.ProcessEnv): string {
  const eq = value.indexOf('=');
  const key = eq >= 0 ? value.slice(0, eq) : value;
  if (key === '') throw new InvalidArgumentError('invalid_env', `invalid environment variable: ${value}`);
  if (/\s/.test(key)) throw new InvalidArgumentError('invalid_env', `poorly formatted environment: variable '${key}' contains whitespaces`);
  if (eq < 0 && env[key] !== undefined) return `${key}=${env[key]}`;
  return value;
}

function ulimit(value: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
  if (!m) bad('--ulimit', value, `invalid ulimit argument: ${value}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard && hard !== -1) bad('--ulimit', value, `ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: m[1], Soft: soft, Hard: hard };
}

/** --mount type=bind|tmpfs,source=…,target=…,readonly,bind-propagation=…,tmpfs-size=… */
export function parseMountFlag(value: string): MountSpec {
  const spec: Partial<MountSpec> & { Type: MountSpec['Type'] } = { Type: 'volume' };
  const bool = (k: string, v: string | undefined) => {
    if (v === undefined || v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    return bad('--mount', value, `invalid value for ${k}: ${v}`);
  };
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq >= 0 ? field.slice(0, eq) : field).trim().toLowerCase();
    const v = eq >= 0 ? field.slice(eq + 1) : undefined;
    const need = () => v ?? bad('--mount', value, `invalid field '${field}' must be a key=value pair`);
    switch (key) {
      case 'type': {
        const t = need();
        if (t !== 'bind' && t !== 'volume' && t !== 'tmpfs') bad('--mount', value, `invalid mount type: ${t}`);
        spec.Type = t;
        break;
      }
      case 'source':
      case 'src':
        spec.Source = need();
        break;
      case 'target':
      case 'dst':
      case 'destination':
        spec.Target = need();
        break;
      case 'readonly':
      case 'ro':
        spec.ReadOnly = bool(key, v);
        break;
      case 'bind-propagation':
        spec.BindOptions = { ...spec.BindOptions, Propagation: need() };
        break;
      case 'bind-nonrecursive':
        spec.BindOptions = { ...spec.BindOptions, NonRecursive: bool(key, v) };
        break;
      case 'tmpfs-size':
        spec.TmpfsOptions = { ...spec.TmpfsOptions, SizeBytes: bytes('--mount', need()) };
        break;
      case 'tmpfs-mode': {
        const mode = need();
        if (!/^[0-7]+$/.test(mode)) bad('--mount', value, `invalid value for tmpfs-mode: ${mode}`);
        spec.TmpfsOptions = { ...spec.TmpfsOptions, Mode: parseInt(mode, 8) };
        break;
      }
      case 'consistency':
        break;
      case 'volume-nocopy':
        spec.VolumeOptions = { ...spec.VolumeOptions, NoCopy: bool(key, v) };
        break;
      // What a volume made on first use is created with (an existing one keeps its own).
      case 'volume-driver':
        spec.VolumeOptions = { ...spec.VolumeOptions, DriverConfig: { ...spec.VolumeOptions?.DriverConfig, Name: need() } };
        break;
      case 'volume-opt':
      case 'volume-label': {
        const kv = need();
        const at = kv.indexOf('=');
        if (at < 1) bad('--mount', value, `invalid ${key} '${kv}': must be a key=value pair`);
        const [k, val] = [kv.slice(0, at), kv.slice(at + 1)];
        const o = spec.VolumeOptions ?? {};
        spec.VolumeOptions =
          key === 'volume-opt'
            ? { ...o, DriverConfig: { ...o.DriverConfig, Options: { ...o.DriverConfig?.Options, [k]: val } } }
            : { ...o, Labels: { ...o.Labels, [k]: val } };
        break;
      }
      default:
        bad('--mount', value, `unexpected key '${key}' in '${field}'`);
    }
  }
  if (!spec.Target) bad('--mount', value, 'target is required');
  if (spec.Type === 'tmpfs' && spec.Source) bad('--mount', value, 'source is not supported for tmpfs mounts');
  return spec as MountSpec;
}

function restartPolicy(value: string): HostConfig['RestartPolicy'] {
  const [name, count] = value.split(':', 2);
  if (count !== undefined && !/^\d+$/.test(count)) bad('--restart', value, 'maximum retry count must be an integer');
  return { Name: name as NonNullable<HostConfig['RestartPolicy']>['Name'], MaximumRetryCount: count === undefined ? 0 : Number(count) };
}

/** --device-{read,write}-{bps,iops} PATH:RATE, with docker's validation and wording. */
function throttleDevice(flag: string, value: string): ThrottleDevice {
  const colon = value.indexOf(':');
  if (colon < 0) bad(flag, value, `bad format: ${value}`);
  const path = value.slice(0, colon);
  const rate = value.slice(colon + 1);
  if (!path.startsWith('/dev/')) bad(flag, value, `bad format for device path: ${value}`);
  if (flag.endsWith('iops')) {
    if (!/^\d+$/.test(rate)) bad(flag, value, `invalid rate for device: ${value}. The correct format is <device-path>:<number>. Number must be a positive integer`);
    return { Path: path, Rate: Number(rate) };
  }
  let n: number;
  try {
    n = parseBytes(rate);
  } catch {
    n = -1;
  }
  if (n < 0) {
    bad(flag, value, `invalid rate for device: ${value}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`);
  }
  return { Path: path, Rate: n };
}

/** --expose PORT[/PROTO] or START-END[/PROTO]: ports to add to ExposedPorts ("80/tcp"). */
function exposedPorts(list: string[]): Record<string, object> {
  const out: Record<string, object> = {};
  const port = (e: string, p: string) => {
    if (!/^\d+$/.test(p)) throw new InvalidArgumentError('invalid_flag', `invalid range format for --expose: ${e}, error: strconv.ParseUint: parsing "${p}": invalid syntax`);
    if (Number(p) > 65535) throw new InvalidArgumentError('invalid_flag', `invalid range format for --expose: ${e}, error: strconv.ParseUint: parsing "${p}": value out of range`);
    return Number(p);
  };
  for (const e of list) {
    if (e.includes(':')) throw new InvalidArgumentError('invalid_flag', `invalid port format for --expose: ${e}`);
    const [range, proto] = e.split('/');
    if (!range) throw new InvalidArgumentError('invalid_flag', `invalid range format for --expose: ${e}, error: empty string specified for ports`);
    const [first, last] = range.split('-');
    const start = port(e, first);
    const end = last === undefined ? start : port(e, last);
    if (end < start) throw new InvalidArgumentError('invalid_flag', `invalid range format for --expose: ${e}, error: invalid range specified for port: ${range}`);
    for (let p = start; p <= end; p++) out[`${p}/${proto || 'tcp'}`] = {};
  }
  return out;
}

/** A Go duration flag in nanoseconds, as the Docker API carries it. */
function durationNs(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return Math.round(parseDuration(value) * 1e6);
  } catch (err) {
    return bad(flag, value, (err as Error).message);
  }
}

/** --health-* and --no-healthcheck, as docker's CLI turns them into Config.Healthcheck. */
function healthcheck(o: RunFlagValues): HealthConfig | undefined {
  const cmd = o.healthCmd as string | undefined;
  const interval = durationNs('--health-interval', o.healthInterval as string | undefined) ?? 0;
  const timeout = durationNs('--health-timeout', o.healthTimeout as string | undefined) ?? 0;
  const startPeriod = durationNs('--health-start-period', o.healthStartPeriod as string | undefined) ?? 0;
  const retries = int('--health-retries', o.healthRetries as string | undefined) ?? 0;
  const any = !!cmd || interval !== 0 || timeout !== 0 || startPeriod !== 0 || retries !== 0;
  if (o.healthcheck === false) {
    if (any) throw new InvalidArgumentError('invalid_flag', '--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!any) return undefined;
  const negative = (name: string, v: number) => {
    if (v < 0) throw new InvalidArgumentError('invalid_flag', `--health-${name} cannot be negative`);
  };
  negative('interval', interval);
  negative('timeout', timeout);
  negative('retries', retries);
  negative('start-period', startPeriod);
  // Zeros are left out, as docker's JSON omits them; the image's values fill them in.
  return {
    ...(cmd ? { Test: ['CMD-SHELL', cmd] } : {}),
    ...(interval ? { Interval: interval } : {}),
    ...(timeout ? { Timeout: timeout } : {}),
    ...(startPeriod ? { StartPeriod: startPeriod } : {}),
    ...(retries ? { Retries: retries } : {}),
  };
}

function nanoCpus(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d*\.?\d+$/.test(value.trim())) bad('--cpus', value, `failed to parse ${value} as a rational number`);
  return Math.round(Number(value) * 1e9);
}

function memorySwap(value: string | undefined): number | undefined {
  return value === '-1' ? -1 : bytes('--memory-swap', value);
}

function blkioWeight(value: string | undefined): number | undefined {
  const w = int('--blkio-weight', value);
  if (w !== undefined && (w < 0 || w > 65535)) bad('--blkio-weight', String(w), 'value out of range');
  return w;
}

function keyValues(flag: string, list: string[] | undefined): Record<string, string> | undefined {
  if (!list) return undefined;
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq <= 0) bad(flag, kv, 'expected key=value');
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export interface RunFlagContext {
  env: NodeJS.ProcessEnv;
  readFile: (path: string) => string;
}

/** The create request for `run`/`create` flags, an image and a command. */
export function buildRunRequest(o: RunFlagValues, image: string, command: string[], ctx: RunFlagContext): RunRequest {
  const str = (k: string) => o[k] as string | undefined;
  const list = (k: string) => o[k] as string[] | undefined;
  const flag = (k: string) => o[k] === true;
  const read = (flagName: string, path: string) => {
    try {
      return ctx.readFile(path);
    } catch (err) {
      throw new InvalidArgumentError('no_such_file', `${flagName}: open ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
  };

  const detach = flag('detach');
  const attach = list('attach') ?? [];
  for (const a of attach) {
    if (!['stdin', 'stdout', 'stderr'].includes(a.toLowerCase())) bad('--attach', a, `valid streams are STDIN, STDOUT and STDERR`);
  }
  if (detach && attach.length) throw new InvalidArgumentError('conflicting_options', 'Conflicting options: -a and -d');
  const interactive = flag('interactive');
  const streams = new Set(attach.map((a) => a.toLowerCase()));
  const attachStdin = !detach && (attach.length ? streams.has('stdin') : interactive);
  const attachStdout = !detach && (attach.length ? streams.has('stdout') : true);
  const attachStderr = !detach && (attach.length ? streams.has('stderr') : true);

  const env = [
    ...(list('envFile') ?? []).flatMap((f) => parseKeyValueFile(read('--env-file', f), f, ctx.env, true)),
    ...(list('env') ?? []).map((e) => envVar(e, ctx.env)),
  ];
  const labels: Record<string, string> = {};
  for (const l of [...(list('labelFile') ?? []).flatMap((f) => parseKeyValueFile(read('--label-file', f), f, ctx.env, false)), ...(list('label') ?? [])]) {
    const eq = l.indexOf('=');
    if (eq === 0) bad('--label', l, 'invalid label: empty name');
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }

  const securityOpt = (list('securityOpt') ?? []).map((s) => {
    const m = /^seccomp[=:](.+)$/s.exec(s);
    if (!m || m[1] === 'unconfined') return s;
    // As docker's CLI does: the profile's content travels, not its path.
    let profile: unknown;
    try {
      profile = JSON.parse(read('--security-opt', m[1]));
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError('invalid_seccomp', `opening seccomp profile (${m[1]}) failed: ${err.message.replace(/^--security-opt: /, '')}`);
      throw new InvalidArgumentError('invalid_seccomp', `decoding seccomp profile (${m[1]}) failed: ${(err as Error).message}`);
    }
    return `seccomp=${JSON.stringify(profile)}`;
  });

  const devices: DeviceMapping[] = (list('device') ?? []).map((d) => {
    const { hostPath, containerPath, permissions } = parseDeviceFlag(d);
    return { PathOnHost: hostPath, PathInContainer: containerPath, CgroupPermissions: permissions };
  });
  const tmpfs: Record<string, string> = {};
  for (const t of list('tmpfs') ?? []) {
    const colon = t.indexOf(':');
    const dest = colon >= 0 ? t.slice(0, colon) : t;
    if (!dest.startsWith('/')) bad('--tmpfs', t, 'invalid mount path: must be absolute');
    tmpfs[dest] = colon >= 0 ? t.slice(colon + 1) : '';
  }

  const cpus = nanoCpus(str('cpus'));
  const swap = memorySwap(str('memorySwap'));
  const pull = (str('pull') ?? 'missing') as RunRequest['pull'];
  if (!['missing', 'never', 'always'].includes(pull)) {
    throw new InvalidArgumentError('invalid_pull', `invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  }
  const blkio = blkioWeight(str('blkioWeight'));
  const cgroupns = str('cgroupns');
  if (cgroupns !== undefined && !['', 'host', 'private'].includes(cgroupns)) throw new InvalidArgumentError('invalid_flag', '--cgroupns: invalid CGROUP mode');
  const userns = str('userns');
  if (userns !== undefined && userns !== '' && userns !== 'host') {
    throw new InvalidArgumentError('invalid_flag', `--userns: invalid USER mode: "${userns}": only "host" is available (user namespace remapping is not available in berth yet)`);
  }
  const throttles = (key: string, flag: string, field: keyof HostConfig) => (list(key) ? { [field]: list(key)!.map((v) => throttleDevice(flag, v)) } : {});
  const deviceCgroupRules = list('deviceCgroupRule')?.map((r) => {
    try {
      parseDeviceCgroupRule(r);
    } catch (err) {
      bad('--device-cgroup-rule', r, (err as Error).message);
    }
    return r;
  });
  const health = healthcheck(o);
  const checkEach = (key: string, flagName: string, check: (v: string) => string) =>
    list(key)?.map((v) => {
      try {
        return check(v);
      } catch (err) {
        return bad(flagName, v, (err as Error).message);
      }
    });
  const extraHosts = checkEach('addHost', '--add-host', parseExtraHost);
  const dns = checkEach('dns', '--dns', checkDnsServer);
  const dnsSearch = checkEach('dnsSearch', '--dns-search', checkDnsSearch);
  const mac = str('macAddress');
  if (mac) {
    try {
      checkMacAddress(mac);
    } catch (err) {
      throw new InvalidArgumentError('invalid_flag', (err as Error).message);
    }
  }
  const exposed = list('expose') ? exposedPorts(list('expose')!) : undefined;
  const published = list('publish') ? parsePublish(list('publish')!) : undefined;
  const logOpts = keyValues('--log-opt', list('logOpt'));
  const entrypoint = str('entrypoint');
  // As docker's CLI: `-v /path` (no source) is an anonymous volume, kept in Config.Volumes.
  const binds = (list('volume') ?? []).filter((v) => v.includes(':'));
  const anonymousVolumes = (list('volume') ?? []).filter((v) => !v.includes(':'));

  const hostConfig: HostConfig = {
    ...(binds.length ? { Binds: binds } : {}),
    ...(list('volumesFrom') ? { VolumesFrom: list('volumesFrom') } : {}),
    ...(str('network') ?? str('net') ? { NetworkMode: str('network') ?? str('net') } : {}),
    ...(extraHosts ? { ExtraHosts: extraHosts } : {}),
    ...(dns ? { Dns: dns } : {}),
    ...(dnsSearch ? { DnsSearch: dnsSearch } : {}),
    ...(list('dnsOption') ? { DnsOptions: list('dnsOption') } : {}),
    ...(published ? { PortBindings: published.PortBindings } : {}),
    ...(flag('publishAll') ? { PublishAllPorts: true } : {}),
    ...(str('restart') ? { RestartPolicy: restartPolicy(str('restart')!) } : {}),
    AutoRemove: flag('rm'),
    ...(list('capAdd') ? { CapAdd: list('capAdd') } : {}),
    ...(list('capDrop') ? { CapDrop: list('capDrop') } : {}),
    ...(list('groupAdd') ? { GroupAdd: list('groupAdd') } : {}),
    ...(str('ipc') !== undefined ? { IpcMode: str('ipc') } : {}),
    ...(str('pid') !== undefined ? { PidMode: str('pid') } : {}),
    ...(str('uts') !== undefined ? { UTSMode: str('uts') } : {}),
    Privileged: flag('privileged'),
    ReadonlyRootfs: flag('readOnly'),
    ...(securityOpt.length ? { SecurityOpt: securityOpt } : {}),
    ...(Object.keys(tmpfs).length ? { Tmpfs: tmpfs } : {}),
    ...(str('shmSize') !== undefined ? { ShmSize: bytes('--shm-size', str('shmSize')) } : {}),
    ...(list('sysctl') ? { Sysctls: keyValues('--sysctl', list('sysctl')) } : {}),
    ...(flag('init') ? { Init: true } : {}),
    ...(list('mount') ? { Mounts: list('mount')!.map(parseMountFlag) } : {}),
    ...(devices.length ? { Devices: devices } : {}),
    ...(list('ulimit') ? { Ulimits: list('ulimit')!.map(ulimit) } : {}),
    ...(str('oomScoreAdj') !== undefined ? { OomScoreAdj: int('--oom-score-adj', str('oomScoreAdj')) } : {}),
    ...(str('cgroupParent') ? { CgroupParent: str('cgroupParent') } : {}),
    ...(str('memory') !== undefined ? { Memory: bytes('--memory', str('memory')) } : {}),
    ...(swap !== undefined ? { MemorySwap: swap } : {}),
    ...(str('memoryReservation') !== undefined ? { MemoryReservation: bytes('--memory-reservation', str('memoryReservation')) } : {}),
    ...(str('memorySwappiness') !== undefined ? { MemorySwappiness: int('--memory-swappiness', str('memorySwappiness')) } : {}),
    ...(cpus !== undefined ? { NanoCpus: cpus } : {}),
    ...(str('cpuShares') !== undefined ? { CpuShares: int('--cpu-shares', str('cpuShares')) } : {}),
    ...(str('cpuPeriod') !== undefined ? { CpuPeriod: int('--cpu-period', str('cpuPeriod')) } : {}),
    ...(str('cpuQuota') !== undefined ? { CpuQuota: int('--cpu-quota', str('cpuQuota')) } : {}),
    ...(str('cpusetCpus') !== undefined ? { CpusetCpus: str('cpusetCpus') } : {}),
    ...(str('cpusetMems') !== undefined ? { CpusetMems: str('cpusetMems') } : {}),
    ...(str('pidsLimit') !== undefined ? { PidsLimit: int('--pids-limit', str('pidsLimit')) } : {}),
    ...(blkio !== undefined ? { BlkioWeight: blkio } : {}),
    OomKillDisable: flag('oomKillDisable'),
    ...throttles('deviceReadBps', '--device-read-bps', 'BlkioDeviceReadBps'),
    ...throttles('deviceWriteBps', '--device-write-bps', 'BlkioDeviceWriteBps'),
    ...throttles('deviceReadIops', '--device-read-iops', 'BlkioDeviceReadIOps'),
    ...throttles('deviceWriteIops', '--device-write-iops', 'BlkioDeviceWriteIOps'),
    ...(deviceCgroupRules ? { DeviceCgroupRules: deviceCgroupRules } : {}),
    ...(cgroupns ? { CgroupnsMode: cgroupns as HostConfig['CgroupnsMode'] } : {}),
    ...(userns ? { UsernsMode: userns } : {}),
    ...(str('runtime') !== undefined ? { Runtime: str('runtime') } : {}),
    ...(str('cidfile') !== undefined ? { ContainerIDFile: str('cidfile') } : {}),
    ...(str('logDriver') || logOpts ? { LogConfig: { Type: str('logDriver') ?? 'k8s-file', Config: logOpts ?? {} } } : {}),
  };

  const network = str('network') ?? str('net');
  const aliases = list('networkAlias') ?? [];
  const [ip, ip6] = [str('ip'), str('ip6')];
  if ((aliases.length || ip || ip6) && !network) {
    throw new InvalidArgumentError('invalid_flag', '--network-alias, --ip and --ip6 need --network with a user-defined network');
  }
  const endpoint = aliases.length || ip || ip6 ? { Aliases: aliases, IPAMConfig: { ...(ip ? { IPv4Address: ip } : {}), ...(ip6 ? { IPv6Address: ip6 } : {}) } } : undefined;

  const body: ContainerCreateBody = {
    Image: image,
    ...(endpoint && network ? { NetworkingConfig: { EndpointsConfig: { [network]: endpoint } } } : {}),
    ...(command.length ? { Cmd: command } : {}),
    ...(entrypoint !== undefined ? { Entrypoint: [entrypoint] } : {}),
    ...(env.length ? { Env: env } : {}),
    ...(str('workdir') !== undefined ? { WorkingDir: str('workdir') } : {}),
    ...(str('user') !== undefined ? { User: str('user') } : {}),
    ...(str('hostname') !== undefined ? { Hostname: str('hostname') } : {}),
    ...(str('domainname') !== undefined ? { Domainname: str('domainname') } : {}),
    ...(mac ? { MacAddress: mac } : {}),
    Labels: labels,
    Tty: flag('tty'),
    OpenStdin: interactive,
    StdinOnce: interactive && attachStdin,
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ...(str('stopSignal') !== undefined ? { StopSignal: str('stopSignal') } : {}),
    ...(str('stopTimeout') !== undefined ? { StopTimeout: int('--stop-timeout', str('stopTimeout')) } : {}),
    ...(health ? { Healthcheck: health } : {}),
    ...(exposed || published ? { ExposedPorts: { ...exposed, ...published?.ExposedPorts } } : {}),
    ...(anonymousVolumes.length ? { Volumes: Object.fromEntries(anonymousVolumes.map((v) => [v, {}])) } : {}),
    HostConfig: hostConfig,
  };
  const detachKeys = str('detachKeys');
  // Checked before anything is created, as the attach that uses them comes after the create.
  if (detachKeys !== undefined) parseDetachKeys(detachKeys);
  return {
    body,
    ...(str('name') !== undefined ? { name: str('name') } : {}),
    ...(str('platform') !== undefined ? { platform: str('platform') } : {}),
    pull,
    quiet: o.quiet === true,
    detach,
    sigProxy: o.sigProxy !== false,
    ...(detachKeys !== undefined ? { detachKeys } : {}),
    ...(str('cidfile') ? { cidfile: str('cidfile') } : {}),
  };
}

// `update` flags: run's own, for the limits and the restart policy that docker's update changes.
const UPDATE_NAMES = new Set(['blkio-weight', 'cpu-period', 'cpu-quota', 'cpu-shares', 'cpus', 'cpuset-cpus', 'cpuset-mems', 'memory', 'memory-reservation', 'memory-swap', 'pids-limit', 'restart']);
const longName = (f: FlagDef) => /--([\w-]+)/.exec(f.flags)![1];
export const UPDATE_FLAGS: readonly FlagDef[] = RUN_FLAGS.filter((f) => UPDATE_NAMES.has(longName(f)));

export function addUpdateFlags(cmd: Command): Command {
  for (const f of UPDATE_FLAGS) cmd.option(f.flags, f.help);
  return cmd;
}

/** The update request for `update` flags; docker refuses an update that changes nothing. */
export function buildUpdateBody(o: RunFlagValues): ContainerUpdateBody {
  const str = (k: string) => o[k] as string | undefined;
  if (!UPDATE_FLAGS.some((f) => str(camel(longName(f))) !== undefined)) {
    throw new InvalidArgumentError('invalid_flag', 'you must provide one or more flags when using this command');
  }
  const cpus = nanoCpus(str('cpus'));
  const swap = memorySwap(str('memorySwap'));
  const blkio = blkioWeight(str('blkioWeight'));
  return {
    ...(blkio !== undefined ? { BlkioWeight: blkio } : {}),
    ...(str('cpuPeriod') !== undefined ? { CpuPeriod: int('--cpu-period', str('cpuPeriod')) } : {}),
    ...(str('cpuQuota') !== undefined ? { CpuQuota: int('--cpu-quota', str('cpuQuota')) } : {}),
    ...(str('cpuShares') !== undefined ? { CpuShares: int('--cpu-shares', str('cpuShares')) } : {}),
    ...(cpus !== undefined ? { NanoCpus: cpus } : {}),
    ...(str('cpusetCpus') !== undefined ? { CpusetCpus: str('cpusetCpus') } : {}),
    ...(str('cpusetMems') !== undefined ? { CpusetMems: str('cpusetMems') } : {}),
    ...(str('memory') !== undefined ? { Memory: bytes('--memory', str('memory')) } : {}),
    ...(str('memoryReservation') !== undefined ? { MemoryReservation: bytes('--memory-reservation', str('memoryReservation')) } : {}),
    ...(swap !== undefined ? { MemorySwap: swap } : {}),
    ...(str('pidsLimit') !== undefined ? { PidsLimit: int('--pids-limit', str('pidsLimit')) } : {}),
    ...(str('restart') !== undefined ? { RestartPolicy: restartPolicy(str('restart')!) } : {}),
  };
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
