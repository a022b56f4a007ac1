// A container's resource usage as the kernel accounts it: its cgroup's files (one directory per
// controller on cgroup v1 and hybrid hosts, one unified directory on v2), the host's CPU time
// from /proc/stat, and the network counters of the container's network namespace.
import { closeSync, existsSync, openSync, readFileSync, write } from 'node:fs';
import { availableParallelism as osAvailableParallelism, totalmem as osTotalmem } from 'node:os';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';
/** USER_HZ: the unit of /proc/stat and cpuacct.stat, fixed at 100 by the kernel's ABI. */
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

/**
 * 'v2': the unified hierarchy alone; 'hybrid': v1 controllers with a v2 hierarchy mounted
 * beside them (at /sys/fs/cgroup/unified); 'v1': controllers only.
 */
export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export function cgroupMode(): CgroupMode {
  if (existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))) return 'v2';
  return existsSync(join(CGROUP_ROOT, 'unified', 'cgroup.controllers')) ? 'hybrid' : 'v1';
}

/** Keeps the cgroup migration lock warm; stop() once the runtime has placed its process. */
export interface MigrationWarmer {
  stop(): void;
}

/** How often the warmer moves berth into its own cgroup: well inside one RCU grace period. */
const WARM_INTERVAL_MS = 2;

/**
 * Moving a process into a cgroup takes the kernel's cgroup thread-group lock for writing, and
 * the first writer after a quiet spell waits a whole RCU grace period for it (5 to 15 ms on a
 * small VM); a writer that comes within a grace period of the last one does not wait. runc
 * moves a new container's first process into its cgroups in the middle of `runc create`, so
 * berth moves itself into the cgroup it is already in (which changes nothing) every couple of
 * milliseconds from before conmon starts until runc is done: runc's move then finds the lock
 * warm. Best effort: where berth may not write its cgroup, nothing is warmed and nothing fails.
 */
export function warmCgroupMigration(): MigrationWarmer {
  const procs = ownCgroupProcs();
  let fd = -1;
  try {
    if (procs) fd = openSync(procs, 'w');
  } catch {
    fd = -1;
  }
  if (fd < 0) return { stop() {} };
  const pid = Buffer.from(String(process.pid));
  let stopped = false;
  const move = (): void => {
    write(fd, pid, (err) => {
      if (stopped || err) {
        stopped = true;
        closeSync(fd);
        return;
      }
      setTimeout(move, WARM_INTERVAL_MS).unref();
    });
  };
  move();
  return {
    stop() {
      stopped = true;
    },
  };
}

/** The cgroup.procs file of berth's own cgroup: the unified hierarchy's if mounted, else a v1 controller's. */
export function ownCgroupProcs(): string | null {
  const mode = cgroupMode();
  const dirs: string[] = [];
  for (const line of read('/proc/self/cgroup')?.trim().split('\n') ?? []) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers !== '') dirs.push(join(CGROUP_ROOT, controllers.replace(/^name=/, ''), path));
    else if (mode !== 'v1') dirs.unshift(join(mode === 'v2' ? CGROUP_ROOT : join(CGROUP_ROOT, 'unified'), path));
  }
  return dirs.map((d) => join(d, 'cgroup.procs')).find((f) => existsSync(f)) ?? null;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** One reading of a cgroup's counters, in the units Docker's stats use (ns, bytes). */
export interface CgroupSample {
  cpu: {
    total: number;
    /** Per CPU; cgroup v2 does not account per CPU. */
    percpu: number[] | null;
    user: number;
    system: number;
    periods: number;
    throttledPeriods: number;
    throttledTime: number;
  };
  memory: {
    usage: number;
    maxUsage: number;
    /** Infinity when unlimited. */
    limit: number;
    failcnt: number;
    /** memory.stat as it is (v1: cache, rss, total_inactive_file…; v2: anon, file, inactive_file…). */
    stats: Record<string, number>;
  };
  blkio: { serviceBytes: BlkioEntry[]; serviced: BlkioEntry[] };
  pids: { current: number; limit: number };
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function num(text: string | null): number {
  if (text === null) return 0;
  const t = text.trim();
  if (t === 'max') return Infinity;
  const n = Number(t);
  return Number.isFinite(n) ? n : 0;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events). */
function keyValues(text: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

function relative(cgroupPath: string): string {
  return cgroupPath.replace(/^\/+/, '');
}

/** v1 blkio files: "MAJ:MIN Op value" lines and a final "Total N", which is not per device. */
function blkioV1(text: string | null): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\S+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return out;
}

/** v2 io.stat: "MAJ:MIN rbytes=… wbytes=… rios=… wios=…", shaped as Docker shapes it (op "read"/"write"). */
function ioStatV2(text: string | null): { serviceBytes: BlkioEntry[]; serviced: BlkioEntry[] } {
  const serviceBytes: BlkioEntry[] = [];
  const serviced: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...fields] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const kv = Object.fromEntries(fields.map((f) => f.split('=')).map(([k, v]) => [k, Number(v)]));
    const major = Number(m[1]);
    const minor = Number(m[2]);
    serviceBytes.push({ major, minor, op: 'read', value: kv.rbytes ?? 0 }, { major, minor, op: 'write', value: kv.wbytes ?? 0 });
    serviced.push({ major, minor, op: 'read', value: kv.rios ?? 0 }, { major, minor, op: 'write', value: kv.wios ?? 0 });
  }
  return { serviceBytes, serviced };
}

function sampleV1(rel: string): CgroupSample | null {
  const dir = (controller: string) => join(CGROUP_ROOT, controller, rel);
  if (!existsSync(dir('memory')) && !existsSync(dir('cpuacct'))) return null;
  const acct = dir('cpuacct');
  const cpuacctStat = keyValues(read(join(acct, 'cpuacct.stat')));
  const cpuStat = keyValues(read(join(dir('cpu'), 'cpu.stat')));
  const percpu = read(join(acct, 'cpuacct.usage_percpu'));
  const mem = dir('memory');
  const blkio = dir('blkio');
  // The throttle files count I/O under every scheduler; the recursive ones include child groups.
  const blk = (name: string) => read(join(blkio, `blkio.throttle.${name}_recursive`)) ?? read(join(blkio, `blkio.throttle.${name}`));
  return {
    cpu: {
      total: num(read(join(acct, 'cpuacct.usage'))),
      percpu: percpu === null ? null : percpu.trim().split(/\s+/).filter(Boolean).map(Number),
      user: (cpuacctStat.user ?? 0) * NS_PER_TICK,
      system: (cpuacctStat.system ?? 0) * NS_PER_TICK,
      periods: cpuStat.nr_periods ?? 0,
      throttledPeriods: cpuStat.nr_throttled ?? 0,
      throttledTime: cpuStat.throttled_time ?? 0,
    },
    memory: {
      usage: num(read(join(mem, 'memory.usage_in_bytes'))),
      maxUsage: num(read(join(mem, 'memory.max_usage_in_bytes'))),
      // "Unlimited" is the largest page-aligned long the kernel keeps, not a word.
      limit: ((l) => (l >= 2 ** 62 ? Infinity : l))(num(read(join(mem, 'memory.limit_in_bytes')))),
      failcnt: num(read(join(mem, 'memory.failcnt'))),
      stats: keyValues(read(join(mem, 'memory.stat'))),
    },
    blkio: { serviceBytes: blkioV1(blk('io_service_bytes')), serviced: blkioV1(blk('io_serviced')) },
    pids: { current: num(read(join(dir('pids'), 'pids.current'))), limit: num(read(join(dir('pids'), 'pids.max'))) },
  };
}

function sampleV2(rel: string): CgroupSample | null {
  const dir = join(CGROUP_ROOT, rel);
  if (!existsSync(dir)) return null;
  const f = (name: string) => read(join(dir, name));
  const cpuStat = keyValues(f('cpu.stat'));
  const events = keyValues(f('memory.events'));
  return {
    cpu: {
      total: (cpuStat.usage_usec ?? 0) * 1000,
      percpu: null,
      user: (cpuStat.user_usec ?? 0) * 1000,
      system: (cpuStat.system_usec ?? 0) * 1000,
      periods: cpuStat.nr_periods ?? 0,
      throttledPeriods: cpuStat.nr_throttled ?? 0,
      throttledTime: (cpuStat.throttled_usec ?? 0) * 1000,
    },
    memory: {
      usage: num(f('memory.current')),
      maxUsage: num(f('memory.peak')),
      limit: num(f('memory.max')),
      failcnt: events.max ?? 0,
      stats: keyValues(f('memory.stat')),
    },
    blkio: ioStatV2(f('io.stat')),
    pids: { current: num(f('pids.current')), limit: num(f('pids.max')) },
  };
}

/** The counters of a cgroup (e.g. "/berth/<id>"), or null when it does not exist. */
export function readCgroupSample(cgroupPath: string): CgroupSample | null {
  const rel = relative(cgroupPath);
  return cgroupMode() === 'v2' ? sampleV2(rel) : sampleV1(rel);
}

/**
 * How many processes the kernel's OOM killer killed in the cgroup: v1's memory.oom_control
 * (kernel 4.13 and later) or v2's memory.events. Read before the cgroup is removed.
 */
export function cgroupOomKills(cgroupPath: string): number {
  const rel = relative(cgroupPath);
  const file = cgroupMode() === 'v2' ? join(CGROUP_ROOT, rel, 'memory.events') : join(CGROUP_ROOT, 'memory', rel, 'memory.oom_control');
  return keyValues(read(file)).oom_kill ?? 0;
}

/**
 * The host's CPU time in nanoseconds as Docker counts it: the first seven fields of the "cpu"
 * line of /proc/stat (user to softirq), so a container's share is its CPU time over this.
 */
export function systemCpuUsage(): number {
  const line = (read('/proc/stat') ?? '').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((sum, v) => sum + Number(v), 0);
  return ticks * NS_PER_TICK;
}

export function onlineCpus(): number {
  return osAvailableParallelism();
}

export function hostMemory(): number {
  return osTotalmem();
}

export interface NetDevCounters {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** The interfaces of a process's network namespace (loopback left out, as Docker does) and their counters. */
export function readNetDev(pid: number): Record<string, NetDevCounters> {
  const out: Record<string, NetDevCounters> = {};
  const text = read(`/proc/${pid}/net/dev`);
  for (const line of (text ?? '').split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const v = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    out[name] = {
      rx_bytes: v[0],
      rx_packets: v[1],
      rx_errors: v[2],
      rx_dropped: v[3],
      tx_bytes: v[8],
      tx_packets: v[9],
      tx_errors: v[10],
      tx_dropped: v[11],
    };
  }
  return out;
}
