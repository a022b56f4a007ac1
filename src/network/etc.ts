// The /etc/hosts and /etc/resolv.conf of a container on a bridge network, and the checks of
// the flags that shape them (--add-host, --dns, --dns-search, --dns-option, --mac-address).
//
// Name resolution is by hosts file, not by a DNS server: each container's hosts file lists every
// other endpoint of its user-defined networks (name, aliases, short id), and all of them are
// rewritten when an endpoint joins or leaves, or its container is renamed. No process runs for
// it (berth has no daemon to host aardvark-dns or Docker's embedded resolver); the price is that
// names are only known to programs that read /etc/hosts (all libc resolvers do; `nslookup`/`dig`
// query DNS and will not see them), and there is no round-robin over aliases shared by several
// containers.
import { lazy } from '../builtins.js';
import { LOCALHOST_ENTRIES } from '../container/etc-files.js';

export interface HostEntry {
  ip: string;
  names: string[];
}

/** `--add-host`'s special address: the host, as the container reaches it. */
export const HOST_GATEWAY = 'host-gateway';

export function hostsLine(e: HostEntry): string {
  return `${e.ip}\t${[...new Set(e.names)].join(' ')}`;
}

/**
 * As Docker orders them: localhost, the --add-host entries, the container itself, its peers.
 * The container's own entries name its host name, which Docker writes as the FQDN followed by
 * the bare host name when it has a domain (`-h foo.bar.com`, or `-h foo --domainname bar.com`).
 */
export function renderHosts(self: HostEntry[], peers: HostEntry[], extra: HostEntry[] = []): string {
  const own = self.map((e) => ({ ip: e.ip, names: e.names.flatMap((n) => [n, n.split('.')[0]]) }));
  return [...LOCALHOST_ENTRIES, ...[...extra, ...own, ...peers].map(hostsLine)].join('\n') + '\n';
}

/**
 * One --add-host value, `host:ip` or `host=ip` (an IPv6 address may be in brackets), as
 * Docker's CLI normalizes it for HostConfig.ExtraHosts: `host:ip`. Throws Docker's message.
 */
export function parseExtraHost(value: string): string {
  const eq = value.indexOf('=');
  const sep = eq >= 0 ? eq : value.indexOf(':');
  const host = sep >= 0 ? value.slice(0, sep) : '';
  let ip = sep >= 0 ? value.slice(sep + 1) : '';
  // A colon cannot be in a host name, and would make the stored `host:ip` ambiguous.
  if (sep < 0 || host === '' || host.includes(':')) throw new Error(`bad format for add-host: "${value}"`);
  if (ip !== HOST_GATEWAY) {
    if (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    if (!lazy.net.isIP(ip.trim())) throw new Error(`invalid IP address in add-host: "${ip}"`);
  }
  return `${host}:${ip}`;
}

/** HostConfig.ExtraHosts as hosts entries, `host-gateway` replaced by `gateway`. */
export function extraHostEntries(extraHosts: readonly string[] | null | undefined, gateway: string | undefined): HostEntry[] {
  return (extraHosts ?? []).flatMap((h) => {
    const sep = h.indexOf(':');
    const ip = h.slice(sep + 1);
    if (ip !== HOST_GATEWAY) return [{ ip, names: [h.slice(0, sep)] }];
    return gateway ? [{ ip: gateway, names: [h.slice(0, sep)] }] : [];
  });
}

/** A --dns value: an IPv4 or IPv6 address. Throws Docker's message. */
export function checkDnsServer(value: string): string {
  if (!lazy.net.isIP(value.trim())) throw new Error(`IP address is not correctly formatted: ${value}`);
  return value.trim();
}

const DOMAIN = /^((?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*)\.?\s*$/;

/** A --dns-search value: a domain starting with a letter, or `.` for no search list (Docker's rule). */
export function checkDnsSearch(value: string): string {
  const v = value.replace(/^ +| +$/g, '');
  if (v === '.') return v;
  const m = DOMAIN.exec(v);
  if (!/^[a-zA-Z]/.test(v) || !m || m[1].length >= 255) throw new Error(`${v} is not a valid domain`);
  return m[1];
}

/**
 * A --mac-address value as the kernel will take it for an Ethernet interface: six bytes, `:`
 * or `-` between them, and a unicast address (the kernel refuses a multicast one).
 */
export function checkMacAddress(value: string): string {
  const m = /^([0-9a-fA-F]{2})([:-])[0-9a-fA-F]{2}(\2[0-9a-fA-F]{2}){4}$/.exec(value);
  if (!m || (parseInt(m[1], 16) & 1) === 1) throw new Error(`${value} is not a valid mac address`);
  return value.toLowerCase().replace(/-/g, ':');
}

export interface DnsSettings {
  servers: readonly string[];
  search: readonly string[];
  options: readonly string[];
}

export function dnsSettings(hc: { Dns?: string[] | null; DnsSearch?: string[] | null; DnsOptions?: string[] | null }): DnsSettings {
  return { servers: hc.Dns ?? [], search: hc.DnsSearch ?? [], options: hc.DnsOptions ?? [] };
}

const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/**
 * The container's resolv.conf from the host's. Without --dns flags: the host's without loopback
 * nameservers (a stub resolver such as systemd-resolved's 127.0.0.53 is unreachable from the
 * container's namespace), Google's public resolvers when none is left, as Docker does. With
 * them, Docker's rebuilt file: each of --dns, --dns-search, --dns-option replaces the host's
 * nameservers, search list or options (`--dns-search .` means none).
 */
export function containerResolvConf(host: string, dns: DnsSettings = { servers: [], search: [], options: [] }): string {
  const lines = host.split('\n');
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  const isLoopback = (l: string) => /^\s*nameserver\s+(127\.|::1\s*$)/.test(l);
  const kept = lines.filter((l) => !isLoopback(l));
  if (!kept.some((l) => /^\s*nameserver\s/.test(l))) kept.push(...FALLBACK_NAMESERVERS.map((ns) => `nameserver ${ns}`));
  if (!dns.servers.length && !dns.search.length && !dns.options.length) return kept.join('\n') + '\n';
  const fields = (key: string) => kept.filter((l) => new RegExp(`^\\s*${key}\\s`).test(l)).map((l) => l.trim().split(/\s+/).slice(1));
  const servers = dns.servers.length ? dns.servers : fields('nameserver').map((f) => f[0]);
  const search = dns.search.length ? dns.search : (fields('search').pop() ?? []);
  const options = dns.options.length ? dns.options : (fields('options').pop() ?? []);
  const out: string[] = [];
  if (search.length && search.join(' ').trim() !== '.') out.push(`search ${search.join(' ')}`);
  out.push(...servers.map((s) => `nameserver ${s}`));
  if (options.length) out.push(`options ${options.join(' ')}`);
  return out.join('\n') + '\n';
}
