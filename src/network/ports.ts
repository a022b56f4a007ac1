// Published ports: Docker's PortBindings turned into concrete bindings (a host port chosen for
// "-p 80" and "-p 8000-8010:80", one that neither another endpoint nor a host process has); the
// DNAT rules they need are in firewall.ts.
import { lazy } from '../builtins.js';
import { InvalidArgumentError, SystemError } from '../errors.js';

export interface PortBinding {
  proto: 'tcp' | 'udp' | 'sctp';
  /** '' for every address of the host. */
  hostIp: string;
  /** 0 until allocated: then a free port from the ephemeral range, or from hostPort..hostPortEnd. */
  hostPort: number;
  /** The last port of a host range (-p 8000-8010:80) to take the first free one of; gone once allocated. */
  hostPortEnd?: number;
  containerPort: number;
}

/** Docker's PortBindings: {"80/tcp": [{HostIp: "", HostPort: "8080"}]}. */
export type PortBindings = Record<string, { HostIp?: string; HostPort?: string }[] | null>;

function port(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new InvalidArgumentError('invalid_port', `invalid ${what} port: ${text}`);
  return n;
}

/** A HostPort: one port, or a range (8000-8010) as Docker's CLI stores it for a single container port. */
function hostPorts(text: string): Pick<PortBinding, 'hostPort' | 'hostPortEnd'> {
  const dash = text.indexOf('-');
  if (dash < 0) return { hostPort: port(text, 'host') };
  const [first, last] = [port(text.slice(0, dash), 'host'), port(text.slice(dash + 1), 'host')];
  if (last < first) throw new InvalidArgumentError('invalid_port', `invalid hostPort: ${text}`);
  return first === last ? { hostPort: first } : { hostPort: first, hostPortEnd: last };
}

export function bindingsOf(pb: PortBindings | undefined | null): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [key, list] of Object.entries(pb ?? {})) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
    if (!m) throw new InvalidArgumentError('invalid_port', `invalid port specification: "${key}"`);
    for (const b of list?.length ? list : [{}]) {
      const hostIp = b.HostIp === '0.0.0.0' ? '' : (b.HostIp ?? '');
      if (hostIp.includes(':')) throw new InvalidArgumentError('invalid_port', `publishing on IPv6 host addresses is not supported yet: ${hostIp}`);
      if (hostIp && !lazy.net.isIPv4(hostIp)) throw new InvalidArgumentError('invalid_port', `invalid IP address: ${hostIp}`);
      out.push({
        proto: (m[2] ?? 'tcp') as PortBinding['proto'],
        hostIp,
        ...(b.HostPort ? hostPorts(b.HostPort) : { hostPort: 0 }),
        containerPort: port(m[1], 'container'),
      });
    }
  }
  return out;
}

/** Docker's ephemeral range for "-p 80". */
export const EPHEMERAL = { first: 49153, last: 65535 };

/**
 * Why the host would not let a process listen on `port` (a test bind: another process has it,
 * or `ip` is none of the host's addresses), or undefined when it would. `ip` '' is every address.
 */
export type HostPortProbe = (proto: 'tcp' | 'udp', ip: string, port: number) => { code: string; text: string } | undefined;

/**
 * Gives every binding a host port that no other endpoint (`taken`) and no host process holds:
 * the one asked for, the first free one of its range, or the lowest free one of the ephemeral
 * range. `endpoint` ("name (id)") is for Docker's error messages. berth publishes with DNAT
 * and holds no socket, so the host check is what keeps it from taking a host service's
 * port; a process that binds the port later is not noticed.
 */
export function allocatePorts(wanted: PortBinding[], taken: PortBinding[], probe: HostPortProbe = () => undefined, endpoint = ''): PortBinding[] {
  // Docker's words, its userland proxy included, which berth has not: what reads them finds them.
  const failed = (why: string) => new SystemError('port_allocated', `driver failed programming external connectivity on endpoint ${endpoint}: ${why}`);
  const out: PortBinding[] = [];
  for (const w of wanted) {
    const [first, last] = w.hostPort === 0 ? [EPHEMERAL.first, EPHEMERAL.last] : [w.hostPort, w.hostPortEnd ?? w.hostPort];
    const fixed = first === last;
    let chosen: PortBinding | undefined;
    let refused: string | undefined;
    for (let p = first; p <= last && !chosen; p++) {
      const b: PortBinding = { proto: w.proto, hostIp: w.hostIp, hostPort: p, containerPort: w.containerPort };
      if (taken.some((t) => t.proto === b.proto && t.hostPort === p && (!t.hostIp || !b.hostIp || t.hostIp === b.hostIp))) {
        if (fixed) throw failed(`Bind for ${b.hostIp || '0.0.0.0'}:${p} failed: port is already allocated`);
        continue;
      }
      const refusal = b.proto === 'sctp' ? undefined : probe(b.proto, b.hostIp, p);
      if (!refusal) chosen = b;
      else {
        refused = `Error starting userland proxy: listen ${b.proto}4 ${b.hostIp || '0.0.0.0'}:${p}: bind: ${refusal.text}`;
        // Another port of the range may be free; an address the host does not have is not.
        if (fixed || refusal.code !== 'EADDRINUSE') throw failed(refused);
      }
    }
    if (!chosen) throw failed(refused ?? 'all ports are allocated');
    out.push(chosen);
    taken = [...taken, chosen];
  }
  return out;
}

/**
 * -P: every exposed port without a binding of its own gets one on a random host port, as
 * Docker does at start.
 */
export function withPublishAll(pb: PortBindings | undefined | null, exposed: Record<string, object> | undefined): PortBindings {
  const out: PortBindings = { ...(pb ?? {}) };
  for (const key of Object.keys(exposed ?? {})) {
    const k = key.includes('/') ? key : `${key}/tcp`;
    if (!out[k]?.length) out[k] = [{ HostIp: '', HostPort: '' }];
  }
  return out;
}

/** NetworkSettings.Ports of a running container: its bindings, and its other exposed ports as null. */
export function portsView(bindings: PortBinding[], exposed: Record<string, object> = {}): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const key of Object.keys(exposed)) out[key.includes('/') ? key : `${key}/tcp`] = null;
  for (const b of bindings) (out[`${b.containerPort}/${b.proto}`] ??= []).push({ HostIp: b.hostIp || '0.0.0.0', HostPort: String(b.hostPort) });
  return out;
}

/** Docker's Ports of a container summary (`ps`): one entry per binding, and one per exposed port without. */
export interface SummaryPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export function summaryPorts(view: Record<string, { HostIp: string; HostPort: string }[] | null>): SummaryPort[] {
  const out: SummaryPort[] = [];
  for (const [key, list] of Object.entries(view)) {
    const [port, type] = key.split('/');
    if (!list?.length) out.push({ PrivatePort: Number(port), Type: type });
    else for (const b of list) out.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
  }
  return out;
}
