// The /etc/hosts and /etc/resolv.conf of a container on a bridge network.
//
// Name resolution is by hosts file, not by a DNS server: each container's hosts file lists every
// other endpoint of its user-defined networks (name, aliases, short id), and all of them are
// rewritten when an endpoint joins or leaves. No process runs for it (berth has no daemon to
// host aardvark-dns or Docker's embedded resolver); the price is that names are only known to
// programs that read /etc/hosts (all libc resolvers do; `nslookup`/`dig` query DNS and will
// not see them), and there is no round-robin over aliases shared by several containers.
import { LOCALHOST_ENTRIES } from '../container/etc-files.js';

export interface HostEntry {
  ip: string;
  names: string[];
}

export function renderHosts(self: HostEntry[], peers: HostEntry[]): string {
  const line = (e: HostEntry) => `${e.ip}\t${[...new Set(e.names)].join(' ')}`;
  return [...LOCALHOST_ENTRIES, ...self.map(line), ...peers.map(line)].join('\n') + '\n';
}

const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/**
 * The host's resolv.conf without loopback nameservers (a stub resolver such as
 * systemd-resolved's 127.0.0.53 is unreachable from the container's namespace); Google's
 * public resolvers when none is left, as Docker does.
 */
export function containerResolvConf(host: string): string {
  const lines = host.split('\n');
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  const isLoopback = (l: string) => /^\s*nameserver\s+(127\.|::1\s*$)/.test(l);
  const kept = lines.filter((l) => !isLoopback(l));
  if (!kept.some((l) => /^\s*nameserver\s/.test(l))) kept.push(...FALLBACK_NAMESERVERS.map((ns) => `nameserver ${ns}`));
  return kept.join('\n') + '\n';
}
