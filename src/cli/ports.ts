// `-p/--publish [ip:][hostPort:]containerPort[/proto]` into Docker's PortBindings and the
// ExposedPorts it implies; port ranges map one to one (8000-8001:80-81).
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
    if (hostPorts.length && hostPorts.length !== containerPorts.length) {
      throw new InvalidArgumentError('invalid_flag', `invalid argument "${spec}" for "-p, --publish" flag: port ranges don't match`);
    }
    containerPorts.forEach((c, i) => {
      const key = `${c}/${proto}`;
      out.ExposedPorts[key] = {};
      (out.PortBindings[key] ??= []).push({ HostIp: ip.replace(/^\[|\]$/g, ''), HostPort: hostPorts.length ? String(hostPorts[i]) : '' });
    });
  }
  return out;
}
