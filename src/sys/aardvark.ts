// aardvark-dns, the DNS server of user-defined networks (Podman's, from Debian's aardvark-dns
// package): the only place berth starts, signals or stops it. It runs detached, like conmon,
// and outlives the berth process that started it; berth knows it by the pid and start time it
// records, never by its name.
//
// aardvark-dns 1.4 reads a directory with one file per network (see src/network/dns.ts) when it
// starts and again on each SIGHUP, and serves each network's gateway addresses on port 53. Its
// `run` forks the server and exits once the child has written its pid file, which in 1.4 is
// before the configuration is read and the sockets are bound: so whether it serves a gateway is
// learned from the kernel's socket table.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SystemError } from '../errors.js';
import type { BackgroundProcess } from './background.js';
import { processAlive, processStartTime } from './pids.js';

const AARDVARK = '/usr/lib/podman/aardvark-dns';
const DNS_PORT = 53;

export function dnsServerInstalled(): boolean {
  return existsSync(AARDVARK);
}

/** Starts the server on `configDir` and returns its process once it has written its pid. */
export async function startDnsServer(configDir: string): Promise<BackgroundProcess> {
  const code = await new Promise<number | null>((resolve, reject) => {
    // Its own session, no stdio: nothing of this berth (terminal, pipes) stays with the server.
    const child = spawn(AARDVARK, ['--config', configDir, '-p', String(DNS_PORT), 'run'], { detached: true, stdio: 'ignore', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  const pid = Number(readFileOr(join(configDir, 'aardvark.pid')));
  const start = processStartTime(pid);
  if (code !== 0 || start === null) throw new SystemError('dns_server', `aardvark-dns did not start (exit ${code})`);
  return { pid, start };
}

/** Tells a running server to read its configuration again; false when it is gone. */
export function reloadDnsServer(p: BackgroundProcess): boolean {
  if (!processAlive(p.pid, p.start)) return false;
  try {
    process.kill(p.pid, 'SIGHUP');
    return true;
  } catch {
    return false;
  }
}

/** Ends the server and waits (a second at most, then SIGKILL) until it has exited. */
export async function stopDnsServer(p: BackgroundProcess): Promise<void> {
  for (const [signal, waitMs] of [['SIGTERM', 1000], ['SIGKILL', 1000]] as const) {
    if (!processAlive(p.pid, p.start)) return;
    try {
      process.kill(p.pid, signal);
    } catch {
      return;
    }
    for (const deadline = Date.now() + waitMs; Date.now() < deadline; await sleep(10)) {
      if (!processAlive(p.pid, p.start)) return;
    }
  }
}

/**
 * The UDP sockets on port 53 of the host's network namespace, by IPv4 address, each with its
 * inode: aardvark-dns 1.4 closes and binds again every socket on each reload, so a new inode on
 * a gateway is the sign that the server reads its new configuration. /proc/net/udp prints an
 * address in the host's (little-endian) byte order.
 */
export function dnsSockets(): Map<string, string> {
  const out = new Map<string, string>();
  const port = `:${DNS_PORT.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileOr('/proc/net/udp').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!f[1]?.endsWith(port)) continue;
    const hex = f[1].slice(0, 8);
    out.set([6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.'), f[9]);
  }
  return out;
}

/** Waits until each of `ips` has a DNS socket other than the one it had in `before`; false on timeout. */
export async function dnsServedAgain(ips: readonly string[], before: ReadonlyMap<string, string>, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(10)) {
    const now = dnsSockets();
    if (ips.every((ip) => now.has(ip) && now.get(ip) !== before.get(ip))) return true;
    if (Date.now() >= deadline) return false;
  }
}

function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
