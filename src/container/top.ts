// `top`: the processes of a container, found through its cgroup and read from /proc, in the
// columns of `ps -ef` (what `docker top` shows by default). Custom ps options run the host's
// ps and keep the container's rows, as Docker does.
import { readFileSync } from 'node:fs';
import type { ContainerTop } from '../engine/engine.js';
import { InvalidArgumentError } from '../errors.js';
import { processInfo, uptimeSeconds, type ProcessInfo } from '../sys/pids.js';

const CLK_TCK = 100;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && !names.has(Number(f[2]))) names.set(Number(f[2]), f[0]);
    }
  } catch {
    // numeric ids then
  }
  return names;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** ps's STIME: the time of day when started today, else month and day, else the year. */
function startColumn(start: Date, now: Date): string {
  if (start.toDateString() === now.toDateString()) return `${pad2(start.getHours())}:${pad2(start.getMinutes())}`;
  if (start.getFullYear() === now.getFullYear()) return `${MONTHS[start.getMonth()]}${pad2(start.getDate())}`;
  return String(start.getFullYear());
}

/** ps's TIME: cumulative CPU time as [DD-]HH:MM:SS. */
function cpuColumn(ticks: number): string {
  let s = Math.floor(ticks / CLK_TCK);
  const days = Math.floor(s / 86400);
  s %= 86400;
  const hms = `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  return days > 0 ? `${days}-${hms}` : hms;
}

function ttyColumn(ttyNr: number): string {
  if (ttyNr === 0) return '?';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${minor + (major - 136) * 256}`;
  if (major === 4) return `tty${minor}`;
  return '?';
}

export function psEf(pids: readonly number[]): ContainerTop {
  const names = userNames();
  const uptime = uptimeSeconds();
  const now = new Date();
  const bootMs = now.getTime() - uptime * 1000;
  const rows = pids.map((p) => processInfo(p)).filter((p): p is ProcessInfo => p !== null);
  return {
    Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
    Processes: rows.map((p) => {
      const elapsed = uptime - p.startTicks / CLK_TCK;
      const c = elapsed > 0 ? Math.floor((p.cpuTicks / CLK_TCK / elapsed) * 100) : 0;
      return [
        names.get(p.uid) ?? String(p.uid),
        String(p.pid),
        String(p.ppid),
        String(Math.min(c, 99)),
        startColumn(new Date(bootMs + (p.startTicks / CLK_TCK) * 1000), now),
        ttyColumn(p.ttyNr),
        cpuColumn(p.cpuTicks),
        p.cmd,
      ];
    }),
  };
}

/** Keeps the rows of `ps` output whose PID column names one of `pids` (Docker's parsePSOutput). */
export function filterPsOutput(output: string, pids: readonly number[]): ContainerTop {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return { Titles: [], Processes: [] };
  const titles = lines[0].trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new InvalidArgumentError('ps_no_pid', `Couldn't find PID field in ps output`);
  const wanted = new Set(pids);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!wanted.has(Number(fields[pidIndex]))) continue;
    // The last column may contain spaces (the command).
    processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]);
  }
  return { Titles: titles, Processes: processes };
}
