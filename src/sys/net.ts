// Network plumbing on the host with iproute2, iptables and util-linux, and the two bridge
// ioctls berth makes itself: the only place berth runs them. Every function is idempotent
// (adding what exists or removing what is gone is not an error), so a crashed setup or teardown
// is finished by running it again.
//
// A container's interface costs one process: berth makes the namespace itself (unshare and a
// bind mount on its main thread, which then returns to the host's namespace), and one
// `ip -batch`, started while the main thread is in the new namespace, makes the veth pair there
// with its host end created directly in the host's namespace; the host end then joins the
// bridge by ioctl. Moving a link between namespaces
// (or deleting one) waits for an RCU grace period, tens of milliseconds, so berth never moves
// links, and a stopped container's veth goes with its namespace: the kernel deletes both once
// the namespace's bind mount is gone and its last process has exited.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KoffiFunction } from 'koffi';
import { SystemError } from '../errors.js';
import { MNT_DETACH, MS_BIND, mount, SyscallError, umount2 } from './libc.js';
import { koffi } from './native.js';
import { runTool, type RunResult } from './process.js';

const IP = '/usr/sbin/ip';

async function run(file: string, args: string[], what: string, input?: string): Promise<string> {
  const r = await runTool(file, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new SystemError('network_setup', `${what}: ${r.stderr.toString().trim() || `exit ${r.code}`}`);
  return r.stdout.toString();
}

/** The host's IPv4 and IPv6 routes (destination CIDR and device), the default routes left out. */
export async function hostRoutes(): Promise<{ dst: string; dev: string }[]> {
  const out: { dst: string; dev: string }[] = [];
  for (const family of ['-4', '-6']) {
    const routes = JSON.parse((await run(IP, ['-j', family, 'route', 'show', 'table', 'all'], 'ip route')) || '[]') as { dst: string; dev?: string; type?: string }[];
    for (const r of routes) {
      if (r.dst === 'default' || (r.type && r.type !== 'unicast')) continue;
      out.push({ dst: r.dst.includes('/') ? r.dst : `${r.dst}/${family === '-4' ? 32 : 128}`, dev: r.dev ?? '' });
    }
  }
  return out;
}

/** The destinations of the host's routes, as CIDRs. */
export async function hostRouteCidrs(): Promise<string[]> {
  return (await hostRoutes()).map((r) => r.dst);
}

/**
 * Duplicate address detection would keep a new IPv6 address unusable for a second or two;
 * berth's IPAM already guarantees that the address is unique on the bridge.
 */
const nodad = (cidr: string) => (cidr.includes(':') ? ' nodad' : '');

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** A bridge with the gateway addresses, up, and the host forwarding between interfaces. */
/**
 * Makes the bridge `name` with `addresses` and brings it up. `owner` goes into the link's alias
 * (ifalias): which berth state made it, so that one whose state is gone can be found later.
 */
export async function ensureBridge(name: string, addresses: string[], owner: BridgeOwner): Promise<void> {
  if (!linkExists(name)) {
    const r = await runTool(IP, ['link', 'add', name, 'type', 'bridge']);
    if (r.code !== 0 && !linkExists(name)) throw new SystemError('network_setup', `ip link add ${name}: ${r.stderr.toString().trim()}`);
  }
  writeFileSync(`/sys/class/net/${name}/ifalias`, `${OWNER_TAG} ${owner.networkId} ${owner.root}`);
  const cmds = addresses.map((a) => `address replace ${a} dev ${name}${nodad(a)}`);
  await run(IP, ['-batch', '-'], `configure bridge ${name}`, [...cmds, `link set ${name} up`].join('\n') + '\n');
  // Lets the nat OUTPUT rules of published ports send 127.0.0.1 traffic to the containers; it
  // lives and dies with the bridge.
  writeFileSync(`/proc/sys/net/ipv4/conf/${name}/route_localnet`, '1');
  // As Docker does: without forwarding nothing leaves a bridge network. Host-wide, and left on.
  writeIfNot('/proc/sys/net/ipv4/ip_forward', '1');
  if (addresses.some((a) => a.includes(':'))) writeIfNot('/proc/sys/net/ipv6/conf/all/forwarding', '1');
}

const OWNER_TAG = 'berth-network';

export interface BridgeOwner {
  /** The network's full id. */
  networkId: string;
  /** The state root whose network it is. */
  root: string;
}

/** The bridges berth made (by their alias), with their owners and whether any port is attached. */
export function berthBridges(): { name: string; owner: BridgeOwner; ports: number }[] {
  const out: { name: string; owner: BridgeOwner; ports: number }[] = [];
  let links: string[];
  try {
    links = readdirSync('/sys/class/net');
  } catch {
    return out;
  }
  for (const name of links) {
    let alias: string;
    let ports: number;
    try {
      alias = readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim();
      ports = readdirSync(`/sys/class/net/${name}/brif`).length;
    } catch {
      continue;
    }
    const m = new RegExp(`^${OWNER_TAG} ([0-9a-f]{64}) (/.*)$`).exec(alias);
    if (m) out.push({ name, owner: { networkId: m[1], root: m[2] }, ports });
  }
  return out;
}

function writeIfNot(path: string, value: string): void {
  if (readFileSync(path, 'utf8').trim() !== value) writeFileSync(path, value);
}

/** Deletes a link (a bridge, or a running container's veth on disconnect). */
export async function removeLink(name: string): Promise<void> {
  const r = await runTool(IP, ['link', 'del', name]);
  if (r.code !== 0 && linkExists(name)) throw new SystemError('network_teardown', `ip link del ${name}: ${r.stderr.toString().trim()}`);
}

/**
 * Releases a container's network namespace. Its interfaces go with it once nothing runs in it
 * any more (the kernel deletes veth pairs with their namespace).
 */
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

function interfaceBatch(i: Interface, hostNetns: string, withLoopback: boolean): string {
  const lines = [
    // The peer is created in the host's namespace; berth sets it up there.
    `link add ${i.name} address ${i.mac} type veth peer name ${i.hostVeth} netns ${hostNetns}`,
    ...i.addresses.map((a) => `address add ${a} dev ${i.name}${nodad(a)}`),
    ...(withLoopback ? ['link set lo up'] : []),
    `link set ${i.name} up`,
    ...i.gateways.map((g) => `route add default via ${g} dev ${i.name}`),
  ];
  return lines.join('\n') + '\n';
}

const CLONE_NEWNET = 0x40000000;
let nsCalls: { unshare: KoffiFunction; setns: KoffiFunction } | undefined;

function namespaceCalls(): { unshare: KoffiFunction; setns: KoffiFunction } {
  if (!nsCalls) {
    const libc = koffi.load('libc.so.6');
    nsCalls = { unshare: libc.func('int unshare(int flags)'), setns: libc.func('int setns(int fd, int nstype)') };
  }
  return nsCalls;
}

/**
 * Runs `fn` with the main thread in another network namespace and brings it back to `host`'s
 * (a descriptor of the host's namespace). Namespaces are per thread: all of it is one
 * synchronous stretch, so no other JavaScript runs in there, and libuv's worker threads never
 * leave the host's namespace.
 */
function inNamespace<T>(enter: () => void, host: number, fn: () => T): T {
  enter();
  try {
    return fn();
  } finally {
    if ((namespaceCalls().setns(host, CLONE_NEWNET) as number) < 0) {
      // Over any error of fn's: a main thread stuck in the container's namespace is worse.
      throw new SystemError('network_setup', `cannot return to the host's network namespace: ${new SyscallError('setns', koffi.errno()).message}`);
    }
  }
}

/**
 * A new, empty network namespace kept alive by a bind mount on `path`. Made apart from its
 * interfaces (addInterface) so that a container's runtime can be on its way, the namespace
 * being all it needs, while `ip` makes them.
 */
export function makeNetns(path: string): void {
  removeNetns(path);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  const ns = namespaceCalls();
  const host = openSync('/proc/thread-self/ns/net', 'r');
  try {
    const unshare = () => {
      if ((ns.unshare(CLONE_NEWNET) as number) < 0) throw new SyscallError('unshare', koffi.errno(), path);
    };
    inNamespace(unshare, host, () => mount('/proc/thread-self/ns/net', path, null, MS_BIND, null));
  } finally {
    closeSync(host);
  }
}

/**
 * The interface `i` in the namespace at `path` (and loopback up, in a fresh one), joined to its
 * bridge: one process, for each network a container joins. `ip` is spawned from the main thread
 * while it is inside the namespace (the child is forked from this thread, so it starts inside),
 * and names the host's namespace through the descriptor berth keeps open until it is done,
 * since /proc/<pid>/ns/net may still be the container's when it looks.
 */
export async function addInterface(path: string, i: Interface, opts: { loopback: boolean }): Promise<void> {
  const ns = namespaceCalls();
  const host = openSync('/proc/thread-self/ns/net', 'r');
  try {
    const target = openSync(path, 'r');
    let child: Promise<RunResult>;
    try {
      const enter = () => {
        if ((ns.setns(target, CLONE_NEWNET) as number) < 0) throw new SyscallError('setns', koffi.errno(), path);
      };
      child = inNamespace(enter, host, () => runTool(IP, ['-batch', '-'], { input: interfaceBatch(i, `/proc/${process.pid}/fd/${host}`, opts.loopback) }));
    } finally {
      closeSync(target);
    }
    const r = await child;
    if (r.code !== 0) throw new SystemError('network_setup', `configure ${i.name} in ${path}: ${r.stderr.toString().trim() || `exit ${r.code}`}`);
  } finally {
    closeSync(host);
  }
  joinBridge(i.hostVeth, i.bridge);
}

const AF_UNIX = 1;
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCBRADDIF = 0x89a2;
const IFF_UP = 0x1;
const IFNAMSIZ = 16;

let socketCalls:
  | { socket: KoffiFunction; ioctl: KoffiFunction; setsockopt: KoffiFunction; bind: KoffiFunction; close: KoffiFunction; strerror: KoffiFunction }
  | undefined;

function sockets(): NonNullable<typeof socketCalls> {
  if (!socketCalls) {
    const libc = koffi.load('libc.so.6');
    socketCalls = {
      socket: libc.func('int socket(int domain, int type, int protocol)'),
      ioctl: libc.func('int ioctl(int fd, unsigned long request, ...)'),
      setsockopt: libc.func('int setsockopt(int fd, int level, int name, const uint8_t *value, uint32_t len)'),
      bind: libc.func('int bind(int fd, const uint8_t *addr, uint32_t len)'),
      close: libc.func('int close(int fd)'),
      strerror: libc.func('const char *strerror(int errnum)'),
    };
  }
  return socketCalls;
}

/**
 * Whether a process could listen on the IPv4 `ip` ('' for every address) and `port`: a test
 * bind, synchronous (it runs inside the transaction that allocates host ports) and released at
 * once. Undefined when it could; otherwise the bind's errno code and its text as Go writes it
 * (Docker's messages quote Go's): "address already in use", "cannot assign requested address".
 * TCP binds with SO_REUSEADDR as Go's listeners do, so that a listener holds the port and the
 * leftovers of past connections (TIME_WAIT) do not.
 */
export function portBindRefusal(proto: 'tcp' | 'udp', ip: string, port: number): { code: string; text: string } | undefined {
  const io = sockets();
  const fd = io.socket(AF_INET, (proto === 'tcp' ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw new SyscallError('socket', koffi.errno());
  try {
    const one = Buffer.alloc(4);
    one.writeInt32LE(1);
    if (proto === 'tcp' && (io.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) as number) < 0) throw new SyscallError('setsockopt', koffi.errno());
    // struct sockaddr_in: family, port and address in network byte order, padding.
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(AF_INET, 0);
    addr.writeUInt16BE(port, 2);
    (ip || '0.0.0.0').split('.').forEach((octet, i) => addr.writeUInt8(Number(octet), 4 + i));
    if ((io.bind(fd, addr, addr.length) as number) === 0) return undefined;
    const errno = koffi.errno();
    const text = io.strerror(errno) as string;
    return { code: new SyscallError('bind', errno).code, text: text.charAt(0).toLowerCase() + text.slice(1) };
  } finally {
    io.close(fd);
  }
}

/**
 * Enslaves `port` to `bridge` with SIOCBRADDIF (what brctl addif does), sets it up, and lets it
 * hairpin: a container may reach its own published port through the host's address.
 */
function joinBridge(port: string, bridge: string): void {
  const ifindex = Number(readFileSync(`/sys/class/net/${port}/ifindex`, 'utf8'));
  const io = sockets();
  const fd = io.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw new SyscallError('socket', koffi.errno());
  // struct ifreq: a name, then a union (ifr_ifindex, ifr_flags…) at the same offset.
  const ifreq = (name: string) => {
    const b = Buffer.alloc(40);
    b.write(name, 0, IFNAMSIZ - 1);
    return b;
  };
  const ioctl = (request: number, req: Buffer, what: string) => {
    if ((io.ioctl(fd, request, 'uint8_t *', req) as number) < 0) {
      throw new SystemError('network_setup', `${what}: ${new SyscallError('ioctl', koffi.errno(), port).message}`);
    }
  };
  try {
    const add = ifreq(bridge);
    add.writeInt32LE(ifindex, IFNAMSIZ);
    ioctl(SIOCBRADDIF, add, `attach ${port} to ${bridge}`);
    const flags = ifreq(port);
    ioctl(SIOCGIFFLAGS, flags, `read the flags of ${port}`);
    flags.writeUInt16LE(flags.readUInt16LE(IFNAMSIZ) | IFF_UP, IFNAMSIZ);
    ioctl(SIOCSIFFLAGS, flags, `set ${port} up`);
  } finally {
    io.close(fd);
  }
  writeFileSync(`/sys/class/net/${port}/brport/hairpin_mode`, '1');
}

const iptablesTool = (family: 4 | 6, tool: 'save' | 'restore') => `/usr/sbin/${family === 4 ? 'iptables' : 'ip6tables'}-${tool}`;

/** The family's current rules, as `iptables-save` prints them. */
export async function iptablesSave(family: 4 | 6): Promise<string> {
  return run(iptablesTool(family, 'save'), [], `${family === 4 ? 'iptables' : 'ip6tables'}-save`);
}

/**
 * Applies iptables-restore input without touching anything it does not name: all of it or
 * nothing. Resolves false when a rule to delete was not there; other failures throw.
 */
export async function iptablesRestore(family: 4 | 6, input: string): Promise<boolean> {
  if (!input) return true;
  const r = await runTool(iptablesTool(family, 'restore'), ['-w', '--noflush'], { input });
  if (r.code === 0) return true;
  const err = r.stderr.toString().trim();
  if (/does a matching rule exist/.test(err)) return false;
  throw new SystemError('network_setup', `${family === 4 ? 'iptables' : 'ip6tables'}-restore: ${err || `exit ${r.code}`}\n${input}`);
}
