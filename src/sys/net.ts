// Network plumbing on the host with iproute2, iptables and util-linux: the only place berth
// runs them. Every function is idempotent (adding what exists or removing what is gone is not
// an error), so a crashed setup or teardown is finished by running it again.
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SystemError } from '../errors.js';
import { MNT_DETACH, umount2 } from './libc.js';
import { runTool } from './process.js';

const IP = '/usr/sbin/ip';
const UNSHARE = '/usr/bin/unshare';
const NSENTER = '/usr/bin/nsenter';

async function run(file: string, args: string[], what: string, input?: string): Promise<string> {
  const r = await runTool(file, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new SystemError('network_setup', `${what}: ${r.stderr.toString().trim() || `exit ${r.code}`}`);
  return r.stdout.toString();
}

/** The destinations of the host's IPv4 and IPv6 routes, as CIDRs (the default routes left out). */
export async function hostRouteCidrs(): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['-4', '-6']) {
    const routes = JSON.parse((await run(IP, ['-j', family, 'route', 'show', 'table', 'all'], 'ip route')) || '[]') as { dst: string; type?: string }[];
    for (const r of routes) {
      if (r.dst === 'default' || (r.type && r.type !== 'unicast')) continue;
      out.push(r.dst.includes('/') ? r.dst : `${r.dst}/${family === '-4' ? 32 : 128}`);
    }
  }
  return out;
}

/**
 * Duplicate address detection would keep a new IPv6 address unusable for a second or two;
 * berth's IPAM already guarantees that the address is unique on the bridge.
 */
const nodad = (cidr: string) => (cidr.includes(':') ? ' nodad' : '');

async function linkExists(name: string): Promise<boolean> {
  return (await runTool(IP, ['link', 'show', 'dev', name])).code === 0;
}

/** A bridge with the gateway addresses, up. */
export async function ensureBridge(name: string, addresses: string[]): Promise<void> {
  if (!(await linkExists(name))) {
    const r = await runTool(IP, ['link', 'add', name, 'type', 'bridge']);
    if (r.code !== 0 && !(await linkExists(name))) throw new SystemError('network_setup', `ip link add ${name}: ${r.stderr.toString().trim()}`);
  }
  const cmds = addresses.map((a) => `address replace ${a} dev ${name}${nodad(a)}`);
  await run(IP, ['-batch', '-'], `configure bridge ${name}`, [...cmds, `link set ${name} up`].join('\n') + '\n');
  // Lets the nat OUTPUT rules of published ports send 127.0.0.1 traffic to the containers; it
  // lives and dies with the bridge.
  writeFileSync(`/proc/sys/net/ipv4/conf/${name}/route_localnet`, '1');
}

export async function removeLink(name: string): Promise<void> {
  const r = await runTool(IP, ['link', 'del', name]);
  if (r.code !== 0 && (await linkExists(name))) throw new SystemError('network_teardown', `ip link del ${name}: ${r.stderr.toString().trim()}`);
}

/** A new network namespace kept alive by a bind mount on `path` (what `ip netns add` does). */
export async function createNetns(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  await run(UNSHARE, [`--net=${path}`, 'true'], `create network namespace ${path}`);
}

export function removeNetns(path: string): void {
  try {
    umount2(path, MNT_DETACH);
  } catch {
    // not mounted: a setup that failed early, or a second teardown
  }
  rmSync(path, { force: true });
}

export interface Interface {
  /** The host side of the veth, enslaved to `bridge`. */
  hostVeth: string;
  bridge: string;
  name: string;
  mac: string;
  /** CIDR forms: 10.88.0.2/16. */
  addresses: string[];
  gateways: string[];
}

/**
 * A veth pair between the namespace and the bridge, addressed and routed; loopback up. The
 * pair is created from inside the namespace with its peer sent to PID 1's namespace (the
 * host's), so no name is ever visible in the wrong place.
 */
export async function addInterface(netns: string, i: Interface): Promise<void> {
  const inside = [
    `link add ${i.name} address ${i.mac} type veth peer name ${i.hostVeth} netns 1`,
    ...i.addresses.map((a) => `address add ${a} dev ${i.name}${nodad(a)}`),
    `link set lo up`,
    `link set ${i.name} up`,
    ...i.gateways.map((g) => `route add default via ${g} dev ${i.name}`),
  ];
  await run(NSENTER, [`--net=${netns}`, IP, '-batch', '-'], `configure ${i.name} in ${netns}`, inside.join('\n') + '\n');
  await run(IP, ['link', 'set', i.hostVeth, 'master', i.bridge, 'up'], `attach ${i.hostVeth} to ${i.bridge}`);
}

export interface IptablesRule {
  family: 4 | 6;
  table: 'filter' | 'nat';
  chain: string;
  /** Insert at the top of the chain (before Docker's rules) rather than append. */
  first?: boolean;
  spec: string[];
}

const iptablesBin = (family: 4 | 6) => (family === 4 ? '/usr/sbin/iptables' : '/usr/sbin/ip6tables');

async function ruleExists(r: IptablesRule): Promise<boolean> {
  return (await runTool(iptablesBin(r.family), ['-w', '-t', r.table, '-C', r.chain, ...r.spec])).code === 0;
}

export async function ensureRule(r: IptablesRule): Promise<void> {
  if (await ruleExists(r)) return;
  await run(iptablesBin(r.family), ['-w', '-t', r.table, r.first ? '-I' : '-A', r.chain, ...r.spec], `iptables ${r.chain} ${r.spec.join(' ')}`);
}

/** Deletes every copy of the rule: `-D` until iptables finds none left (exit status 1). */
export async function removeRule(r: IptablesRule): Promise<void> {
  for (;;) {
    const res = await runTool(iptablesBin(r.family), ['-w', '-t', r.table, '-D', r.chain, ...r.spec]);
    if (res.code === 1) return;
    if (res.code !== 0) throw new SystemError('network_teardown', `iptables -D ${r.chain} ${r.spec.join(' ')}: ${res.stderr.toString().trim()}`);
  }
}
