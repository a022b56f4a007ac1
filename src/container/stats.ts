// A container's resource usage in the Docker API's stats shape. The counters are cumulative, so
// a reading carries the one before it (precpu_stats) and clients compute rates from the two,
// as Docker's daemon and CLI split the work.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerStats, CpuStats } from '../engine/engine.js';
import { hostMemory, onlineCpus, readCgroupSample, readNetDev, systemCpuUsage, type CgroupSample, type NetDevCounters } from '../sys/cgroups.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';
const INTERVAL_MS = 1000;

export interface StatsTarget {
  id: string;
  /** Without the leading '/'. */
  name: string;
  cgroupPath: string;
  /** The container's init, 0 when it does not run. */
  pid: number;
  running: boolean;
  networkMode: string;
}

interface Reading {
  at: Date;
  cgroup: CgroupSample;
  system: number;
  cpus: number;
  networks: Record<string, NetDevCounters> | null;
}

function readNow(t: StatsTarget): Reading | null {
  const cgroup = readCgroupSample(t.cgroupPath);
  if (!cgroup) return null;
  return {
    at: new Date(),
    cgroup,
    system: systemCpuUsage(),
    cpus: onlineCpus(),
    // A host-network container has no interfaces of its own; Docker reports none.
    networks: t.networkMode === 'host' ? null : readNetDev(t.pid),
  };
}

function time(d: Date | undefined): string {
  return d ? d.toISOString().replace(/Z$/, '000000Z') : ZERO_TIME;
}

function cpuStats(r: Reading | null): CpuStats {
  if (!r) return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
  const c = r.cgroup.cpu;
  return {
    cpu_usage: {
      total_usage: c.total,
      ...(c.percpu ? { percpu_usage: c.percpu } : {}),
      usage_in_kernelmode: c.system,
      usage_in_usermode: c.user,
    },
    system_cpu_usage: r.system,
    online_cpus: r.cpus,
    throttling_data: { periods: c.periods, throttled_periods: c.throttledPeriods, throttled_time: c.throttledTime },
  };
}

/** One stats object: `cur` null for a container that does not run (Docker's zero stats). */
function toApiStats(t: StatsTarget, cur: Reading | null, prev: Reading | null): ContainerStats {
  const blkio = {
    io_service_bytes_recursive: cur ? cur.cgroup.blkio.serviceBytes : null,
    io_serviced_recursive: cur ? cur.cgroup.blkio.serviced : null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
  const out: ContainerStats = {
    read: time(cur?.at),
    preread: time(prev?.at),
    name: '/' + t.name,
    id: t.id,
    pids_stats: cur ? { current: cur.cgroup.pids.current, ...(Number.isFinite(cur.cgroup.pids.limit) ? { limit: cur.cgroup.pids.limit } : {}) } : {},
    blkio_stats: blkio,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(cur),
    precpu_stats: cpuStats(prev),
    memory_stats: {},
  };
  if (cur) {
    const m = cur.cgroup.memory;
    // An unlimited container is limited by the host's memory, which is what Docker reports.
    const host = hostMemory();
    out.memory_stats = { usage: m.usage, max_usage: m.maxUsage, stats: m.stats, failcnt: m.failcnt, limit: m.limit > host ? host : m.limit };
    if (cur.networks && Object.keys(cur.networks).length) out.networks = cur.networks;
  }
  return out;
}

/**
 * Stats of one container. `target` looks the container up afresh each time (null once it is
 * gone). Without `stream`, one object over a second of activity, as Docker's daemon gives it;
 * with it, one now (precpu_stats empty, as Docker's first) and one every second after.
 */
export async function* statsStream(target: () => Promise<StatsTarget | null>, stream: boolean): AsyncGenerator<ContainerStats> {
  let prev: Reading | null = null;
  let first = true;
  for (;;) {
    const t = await target();
    if (!t) return;
    const cur = t.running ? readNow(t) : null;
    if (!stream && first && cur) {
      first = false;
      prev = cur;
      await sleep(INTERVAL_MS);
      continue;
    }
    yield toApiStats(t, cur, cur ? prev : null);
    if (!stream) return;
    first = false;
    prev = cur;
    await sleep(INTERVAL_MS);
  }
}
