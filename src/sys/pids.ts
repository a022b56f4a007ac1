// Processes and cgroups as the kernel shows them in /proc and /sys/fs/cgroup: whether a
// recorded process still lives (a pid plus its start time, so a reused pid is not mistaken
// for it), which processes a container's cgroup holds, and removing a cgroup left behind.
import { existsSync, readdirSync, readFileSync, rmdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces and parens. */
function statFields(pid: number): string[] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** Clock ticks after boot at which the process started (stat field 22), or null when it is gone. */
export function processStartTime(pid: number): number | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const f = statFields(pid);
  return f ? Number(f[19]) : null;
}

/** Whether `pid` is alive and, when `startTime` is given, still the process that had it then. */
export function processAlive(pid: number, startTime?: number): boolean {
  const t = processStartTime(pid);
  if (t === null) return false;
  // A zombie has exited; only its parent's wait is missing.
  if (statFields(pid)?.[0] === 'Z') return false;
  return startTime === undefined || startTime === 0 || t === startTime;
}

export function processName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Every directory this cgroup path has: one per v1 controller hierarchy, and the unified one. */
export function cgroupDirs(cgroupPath: string): string[] {
  const rel = cgroupPath.replace(/^\/+/, '');
  const out: string[] = [];
  if (existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))) {
    const dir = join(CGROUP_ROOT, rel);
    return existsSync(dir) ? [dir] : [];
  }
  let hierarchies: Dirent[];
  try {
    hierarchies = readdirSync(CGROUP_ROOT, { withFileTypes: true });
  } catch {
    return out;
  }
  // Symbolic links (cpu -> cpu,cpuacct on some hosts) name a hierarchy listed already.
  for (const h of hierarchies) {
    if (!h.isDirectory()) continue;
    const dir = join(CGROUP_ROOT, h.name, rel);
    if (existsSync(dir)) out.push(dir);
  }
  return out;
}

/** The processes in a cgroup (from whichever hierarchy has it), deduplicated and sorted. */
export function cgroupPids(cgroupPath: string): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupDirs(cgroupPath)) {
    let text: string;
    try {
      text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) if (line.trim()) pids.add(Number(line));
  }
  return [...pids].sort((a, b) => a - b);
}

/**
 * Removes a cgroup's directories, killing what is left in it first if need be; used when the
 * runtime has lost its record of a container (after a reboot, or a wiped runtime directory)
 * or when its init has exited and the runtime is not run at all. An exited container's cgroup
 * is usually empty already, so the directories are removed first and the processes read only
 * when one is still busy.
 */
export async function removeCgroup(cgroupPath: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let busy = false;
    // Children before parents: a v1 hierarchy may hold nested groups.
    for (const dir of cgroupDirs(cgroupPath).sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') busy = true;
      }
    }
    if (!busy || attempt === 50) return;
    for (const pid of cgroupPids(cgroupPath)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await sleep(20);
  }
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  uid: number;
  /** Clock ticks after boot. */
  startTicks: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Controlling terminal (tty_nr), 0 for none. */
  ttyNr: number;
  /** The command line, or [comm] for kernel threads and zombies. */
  cmd: string;
}

export function processInfo(pid: number): ProcessInfo | null {
  const f = statFields(pid);
  if (!f) return null;
  let uid = 0;
  let cmd = '';
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').split('\0').join(' ');
  } catch {
    return null;
  }
  if (!cmd) cmd = `[${processName(pid) ?? '?'}]`;
  return {
    pid,
    ppid: Number(f[1]),
    ttyNr: Number(f[4]),
    cpuTicks: Number(f[11]) + Number(f[12]),
    startTicks: Number(f[19]),
    uid,
    cmd,
  };
}

/** Seconds since boot. */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}
