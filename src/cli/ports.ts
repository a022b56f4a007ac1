// `-p/--publish [ip:][hostPort:]containerPort[/proto]` into Docker's PortBindings and the
// ExposedPorts it implies (port ranges map one to one: 8000-8001:80-81; a host range for one
// container port is a choice: 8000-8010:80), and published ports back into text as `ps` and
// `port` print them.
import { InvalidArgumentError } from '../errors.js';

export interface Published {
  PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
  ExposedPorts: Record<string, object>;
}

function range(text: string, spec: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const bad = () => new InvalidArgumentError('invalid_flag', `invalid argument "${spec}" for "-p, --publish" flag: invalid port "${text}"`);
  if (!m) throw bad();
  const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
  if (a < 1 || b > 65535 || b < a) throw bad();
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

export function parsePublish(specs: string[]): Published {
  const out: Published = { PortBindings: {}, ExposedPorts: {} };
  for (const spec of specs) {
    const slash = spec.lastIndexOf('/');
    const [body, proto] = slash > spec.lastIndexOf(']') && slash >= 0 ? [spec.slice(0, slash), spec.slice(slash + 1)] : [spec, 'tcp'];
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new InvalidArgumentError('invalid_flag', `invalid argument "${spec}" for "-p, --publish" flag: invalid proto "${proto}"`);
    const m = /^(?:(\[[^\]]+\]|[^:]*):)?(?:([^:]*):)?([^:]+)$/.exec(body);
    if (!m) throw new InvalidArgumentError('invalid_flag', `invalid argument "${spec}" for "-p, --publish" flag`);
    // One colon is hostPort:containerPort; two are ip:hostPort:containerPort.
    const [ip, hostPart] = m[2] === undefined ? ['', m[1] ?? ''] : [m[1] ?? '', m[2]];
    const containerPorts = range(m[3], spec);
    const hostPorts = hostPart ? range(hostPart, spec) : [];
    // A host range for one container port is where to take a free host port from (Docker keeps
    // it as HostPort "8000-8010"); other ranges map one to one.
    const pick = containerPorts.length === 1 && hostPorts.length > 1;
    if (hostPorts.length && hostPorts.length !== containerPorts.length && !pick) {
      throw new InvalidArgumentError('invalid_flag', `invalid ranges specified for container and host Ports: ${m[3]} and ${hostPart}`);
    }
    containerPorts.forEach((c, i) => {
      const key = `${c}/${proto}`;
      out.ExposedPorts[key] = {};
      const hostPort = pick ? hostPart : hostPorts.length ? String(hostPorts[i]) : '';
      (out.PortBindings[key] ??= []).push({ HostIp: ip.replace(/^\[|\]$/g, ''), HostPort: hostPort });
    });
  }
  return out;
}

export interface DisplayPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

const hostPort = (ip: string, port: number | string) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/**
 * The PORTS column of `ps`, as the docker CLI writes it: exposed ports first (runs of
 * consecutive ports as ranges: 8000-8002/tcp), then each binding as ip:public->private/proto.
 */
export function displayPorts(ports: DisplayPort[]): string {
  const sorted = [...ports].sort(
    (a, b) => a.PrivatePort - b.PrivatePort || (a.IP ?? '').localeCompare(b.IP ?? '') || (a.PublicPort ?? 0) - (b.PublicPort ?? 0) || a.Type.localeCompare(b.Type),
  );
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const mappings: string[] = [];
  const form = (key: string, g: { first: number; last: number }) => {
    const slash = key.lastIndexOf('/');
    const [ip, type] = slash < 0 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)];
    let group = g.first === g.last ? String(g.first) : `${g.first}-${g.last}`;
    if (ip) group = `${hostPort(ip, group)}->${group}`;
    return `${group}/${type}`;
  };
  for (const p of sorted) {
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== p.PrivatePort) {
        mappings.push(`${hostPort(p.IP, p.PublicPort ?? 0)}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
    else if (p.PrivatePort === g.last + 1) g.last = p.PrivatePort;
    else {
      result.push(form(key, g));
      groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
    }
  }
  for (const [key, g] of groups) result.push(form(key, g));
  return [...result, ...mappings].join(', ');
}

/** `port` output lines: "80/tcp -> 0.0.0.0:8080" for every binding, or only the host side for one port. */
export function portLines(view: Record<string, { HostIp: string; HostPort: string }[] | null>, only?: string): string[] | null {
  const keys = Object.keys(view).sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b));
  if (only !== undefined) {
    const key = only.includes('/') ? only : `${only}/tcp`;
    const list = view[key];
    return list?.length ? list.map((b) => hostPort(b.HostIp, b.HostPort)) : null;
  }
  return keys.flatMap((k) => (view[k] ?? []).map((b) => `${k} -> ${hostPort(b.HostIp, b.HostPort)}`));
}
