// Published ports: Docker's PortBindings turned into concrete bindings (a host port chosen for
// "-p 80"); the DNAT rules they need are in firewall.ts.
import { InvalidArgumentError } from '../errors.js';

export interface PortBinding {
  proto: 'tcp' | 'udp' | 'sctp';
  /** '' for every address of the host. */
  hostIp: string;
  /** 0 until allocated: then a free port from the ephemeral range. */
  hostPort: number;
  containerPort: number;
}

/** Docker's PortBindings: {"80/tcp": [{HostIp: "", HostPort: "8080"}]}. */
export type PortBindings = Record<string, { HostIp?: string; HostPort?: string }[] | null>;

function port(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new InvalidArgumentError('invalid_port', `invalid ${what} port: ${text}`);
  return n;
}

export function bindingsOf(pb: PortBindings | undefined | null): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [key, list] of Object.entries(pb ?? {})) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
    if (!m) throw new InvalidArgumentError('invalid_port', `invalid port specification: "${key}"`);
    for (const b of list?.length ? list : [{}]) {
      const hostIp = b.HostIp === '0.0.0.0' ? '' : (b.HostIp ?? '');
      if (hostIp.includes(':')) throw new InvalidArgumentError('invalid_port', `publishing on IPv6 host addresses is not supported yet: ${hostIp}`);
      out.push({
        proto: (m[2] ?? 'tcp') as PortBinding['proto'],
        hostIp,
        hostPort: b.HostPort ? port(b.HostPort, 'host') : 0,
        containerPort: port(m[1], 'container'),
      });
    }
  }
  return out;
}

/** Docker's ephemeral range for "-p 80". */
export const EPHEMERAL = { first: 49153, last: 65535 };

/** Gives every binding without a host port the lowest free one. */
export function allocatePorts(wanted: PortBinding[], taken: PortBinding[]): PortBinding[] {
  const busy = new Set(taken.map((t) => `${t.proto}/${t.hostPort}`));
  const out: PortBinding[] = [];
  for (const w of wanted) {
    if (w.hostPort !== 0) {
      const clash = taken.find((t) => t.proto === w.proto && t.hostPort === w.hostPort && (!t.hostIp || !w.hostIp || t.hostIp === w.hostIp));
      if (clash) throw new InvalidArgumentError('port_allocated', `Bind for ${w.hostIp || '0.0.0.0'}:${w.hostPort} failed: port is already allocated`);
      out.push(w);
    } else {
      let p = EPHEMERAL.first;
      while (busy.has(`${w.proto}/${p}`)) p++;
      if (p > EPHEMERAL.last) throw new InvalidArgumentError('port_allocated', 'no free host port in the ephemeral range');
      out.push({ ...w, hostPort: p });
    }
    busy.add(`${w.proto}/${out[out.length - 1].hostPort}`);
    taken = [...taken, out[out.length - 1]];
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
