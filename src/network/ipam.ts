// berth's IP address management, pure: subnets are parsed into integers (BigInt, so IPv4 and
// IPv6 share one code path) and allocation is "lowest free address", the same order Docker's
// default IPAM hands addresses out in. The database makes it race-free (see store.ts); this
// module only decides.
import { lazy } from '../builtins.js';
import { InvalidArgumentError } from '../errors.js';

export interface Cidr {
  family: 4 | 6;
  /** The network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

const bits = (family: 4 | 6) => (family === 4 ? 32 : 128);

export function parseIp(text: string): { family: 4 | 6; value: bigint } {
  const family = lazy.net.isIP(text);
  if (family === 4) {
    const value = text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { family, value };
  }
  if (family === 6) {
    if (text.includes('.')) throw new InvalidArgumentError('invalid_ip', `IPv4-mapped IPv6 addresses are not supported: ${text}`);
    const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    return { family, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  throw new InvalidArgumentError('invalid_ip', `invalid IP address: ${text}`);
}

export function formatIp(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt((7 - i) * 16)) & 0xffffn));
  // RFC 5952: the longest run (of at least two) of zero groups becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) throw new InvalidArgumentError('invalid_subnet', `invalid CIDR address: ${text}`);
  const { family, value } = parseIp(m[1]);
  const prefix = Number(m[2]);
  if (prefix > bits(family)) throw new InvalidArgumentError('invalid_subnet', `invalid CIDR address: ${text}`);
  return { family, base: value & mask(family, prefix), prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.base)}/${c.prefix}`;
}

function mask(family: 4 | 6, prefix: number): bigint {
  const all = (1n << BigInt(bits(family))) - 1n;
  return all ^ ((1n << BigInt(bits(family) - prefix)) - 1n);
}

function last(c: Cidr): bigint {
  return c.base + (1n << BigInt(bits(c.family) - c.prefix)) - 1n;
}

export function contains(c: Cidr, family: 4 | 6, value: bigint): boolean {
  return c.family === family && value >= c.base && value <= last(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base <= last(b) && b.base <= last(a);
}

/** Docker's default gateway: the first usable address of the subnet. */
export function defaultGateway(subnet: Cidr): string {
  return formatIp(subnet.family, subnet.base + 1n);
}

export interface Pool {
  subnet: Cidr;
  /** Where dynamic addresses come from (--ip-range); the whole subnet when absent. */
  range?: Cidr;
  gateway: string;
}

/**
 * The lowest address of the pool's range that is not the network address, the broadcast
 * address (IPv4), the gateway, or already used. Null when the range is full.
 */
export function nextFree(pool: Pool, used: Iterable<string>): string | null {
  const { subnet } = pool;
  const taken = new Set<bigint>();
  for (const ip of used) taken.add(parseIp(ip).value);
  taken.add(parseIp(pool.gateway).value);
  taken.add(subnet.base);
  if (subnet.family === 4) taken.add(last(subnet));
  const range = pool.range ?? subnet;
  for (let v = range.base, end = last(range); v <= end; v++) {
    if (!taken.has(v)) return formatIp(subnet.family, v);
  }
  return null;
}

/** Checks a user-chosen address (--ip) against the pool; returns it normalized. */
export function checkStatic(pool: Pool, ip: string, used: Iterable<string>): string {
  const { family, value } = parseIp(ip);
  const s = pool.subnet;
  if (!contains(s, family, value)) {
    throw new InvalidArgumentError('invalid_ip', `the address ${ip} is not in the network's subnet ${formatCidr(s)}`);
  }
  if (value === s.base || (family === 4 && value === last(s)) || value === parseIp(pool.gateway).value) {
    throw new InvalidArgumentError('invalid_ip', `the address ${ip} is reserved in the subnet ${formatCidr(s)}`);
  }
  const text = formatIp(family, value);
  for (const u of used) if (parseIp(u).value === value) throw new InvalidArgumentError('ip_in_use', `Address already in use: ${text}`);
  return text;
}

/**
 * Candidate IPv4 subnets for networks made without --subnet: 10.88.0.0/16 (podman's default)
 * first, then Docker's own pools (172.17–31/16, then 192.168.x.0/20); the first that overlaps
 * neither a host route nor another berth network wins, so docker0's 172.17/16 is skipped.
 */
export function defaultPools(): string[] {
  const out = ['10.88.0.0/16'];
  for (let b = 17; b <= 31; b++) out.push(`172.${b}.0.0/16`);
  for (let c = 0; c < 256; c += 16) out.push(`192.168.${c}.0/20`);
  return out;
}

export function chooseSubnet(candidates: string[], taken: string[]): string | null {
  const busy = taken.map(parseCidr);
  for (const c of candidates) {
    const cidr = parseCidr(c);
    if (!busy.some((b) => overlaps(b, cidr))) return c;
  }
  return null;
}

/** A locally administered MAC derived from the IPv4 address (Docker's pre-v26 scheme): unique per network for free. */
export function macFor(ip: string): string {
  const v = parseIp(ip).value;
  const bytes = [0x02, 0x42, ...[24n, 16n, 8n, 0n].map((s) => Number((v >> s) & 255n))];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
