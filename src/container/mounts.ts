// A container's binds and volumes as Docker keeps them (its MountPoints): worked out once at
// create from -v, --mount, --volumes-from and the image's VOLUME paths, then stored with the
// container. inspect shows them, the spec mounts them, `volume rm` asks them whether a volume
// is in use, and --volumes-from copies them. Pure: creating the volumes is the caller's job.
import { posix } from 'node:path';
import type { HostConfig, MountSpec } from '../engine/engine.js';
import { InvalidArgumentError } from '../errors.js';
import type { MountInput, MountPropagation } from '../runtime/spec.js';

export interface ContainerMount {
  type: 'bind' | 'volume';
  /** A bind's host path, or a volume's name ('' for an anonymous volume not created yet). */
  source: string;
  destination: string;
  rw: boolean;
  /** Docker's Mode: the -v options as given ('ro', 'ro,nocopy'), 'z' for a named volume given without any. */
  mode: string;
  /** Binds only. */
  propagation?: MountPropagation;
  nonRecursive?: boolean;
  /** Volumes only: the image's files at the destination are still to be copied in (first start, empty volume). */
  copyData?: boolean;
  /** Volumes only (--mount's volume-driver, volume-opt, volume-label): how to create it if it does not exist. */
  create?: { driver?: string; options?: Record<string, string>; labels?: Record<string, string> };
}

export interface ParsedBind {
  type: 'bind' | 'volume';
  /** A host path, a volume name, or '' for an anonymous volume. */
  source: string;
  destination: string;
  options: string[];
}

function invalid(message: string, code = 'invalid_volume'): never {
  throw new InvalidArgumentError(code, message);
}

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
/** Docker's -v option kinds; at most one of each. */
const MODE_KINDS: string[][] = [['rw', 'ro'], ['z', 'Z'], PROPAGATIONS, ['nocopy'], ['consistent', 'cached', 'delegated']];

function validMode(mode: string): boolean {
  const opts = mode.split(',');
  return opts.every((o) => MODE_KINDS.some((k) => k.includes(o))) && MODE_KINDS.every((k) => opts.filter((o) => k.includes(o)).length <= 1);
}

/** Docker's destination key: cleaned, without a trailing slash. */
function cleanDestination(path: string): string {
  return posix.normalize(path).replace(/(.)\/+$/, '$1');
}

/**
 * Docker's Linux `-v` syntax: `/dest` (an anonymous volume), `source:/dest[:options]` where a
 * source starting with "/" is a host path and anything else a volume name.
 */
export function parseBind(bind: string): ParsedBind {
  const parts = bind.split(':');
  if (parts.length > 3 || parts.some((p, i) => p === '' && i < 2)) invalid(`invalid volume specification: '${bind}'`);
  let source = '';
  let destination: string;
  let mode = '';
  if (parts.length === 1) destination = parts[0];
  else if (parts.length === 2) {
    // "/dest:ro" is a destination with a mode, which only a source may have.
    if (validMode(parts[1])) invalid(`invalid volume specification: '${bind}'`);
    [source, destination] = parts;
  } else [source, destination, mode] = parts;
  if (mode !== '' && !validMode(mode)) invalid(`invalid mode: ${mode}`);
  const type = source.startsWith('/') ? 'bind' : 'volume';
  const options = mode === '' ? [] : mode.split(',');
  const spec = `invalid volume specification: '${bind}': invalid mount config for type "${type}"`;
  if (!destination.startsWith('/')) invalid(`${spec}: invalid mount path: '${destination}' mount path must be absolute`);
  if (cleanDestination(destination) === '/') invalid(`${spec}: invalid specification: destination can't be '/'`);
  if (type === 'volume' && options.some((o) => PROPAGATIONS.includes(o))) invalid(`${spec}: field BindOptions must not be specified`);
  if (type === 'bind' && options.includes('nocopy')) invalid(`${spec}: field VolumeOptions must not be specified`);
  return { type, source, destination, options };
}

function fromBind(bind: string): ContainerMount {
  const b = parseBind(bind);
  const destination = cleanDestination(b.destination);
  const rw = !b.options.includes('ro');
  const mode = b.options.join(',');
  if (b.type === 'bind') {
    const propagation = (b.options.find((o) => PROPAGATIONS.includes(o)) ?? 'rprivate') as MountPropagation;
    return { type: 'bind', source: b.source, destination, rw, mode, propagation };
  }
  return {
    type: 'volume',
    source: b.source,
    destination,
    rw,
    mode: b.source !== '' && mode === '' ? 'z' : mode,
    copyData: !b.options.includes('nocopy'),
  };
}

/** Checks a --mount (HostConfig.Mounts entry) the way Docker's daemon does. */
export function checkMountSpec(m: MountSpec): void {
  const spec = `invalid mount config for type "${m.Type}"`;
  if (m.Type !== 'bind' && m.Type !== 'volume' && m.Type !== 'tmpfs') invalid(`invalid mount config: mount type unknown: "${m.Type as string}"`, 'invalid_mount');
  if (!m.Target?.startsWith('/')) invalid(`${spec}: invalid mount path: '${m.Target ?? ''}' mount path must be absolute`, 'invalid_mount');
  if (cleanDestination(m.Target) === '/') invalid(`${spec}: invalid specification: destination can't be '/'`, 'invalid_mount');
  if (m.Type === 'bind' && !m.Source) invalid(`${spec}: field Source must not be empty`, 'invalid_mount');
  if (m.Type !== 'bind' && m.BindOptions) invalid(`${spec}: field BindOptions must not be specified`, 'invalid_mount');
  if (m.Type !== 'volume' && m.VolumeOptions) invalid(`${spec}: field VolumeOptions must not be specified`, 'invalid_mount');
  const prop = m.BindOptions?.Propagation;
  if (prop && !PROPAGATIONS.includes(prop)) invalid(`invalid mount config: invalid propagation mode: ${prop}`, 'invalid_mount');
}

function fromMountSpec(m: MountSpec): ContainerMount {
  const destination = cleanDestination(m.Target);
  const rw = !m.ReadOnly;
  if (m.Type === 'bind') {
    return {
      type: 'bind',
      source: m.Source!,
      destination,
      rw,
      mode: '',
      propagation: (m.BindOptions?.Propagation ?? 'rprivate') as MountPropagation,
      ...(m.BindOptions?.NonRecursive ? { nonRecursive: true } : {}),
    };
  }
  const vo = m.VolumeOptions;
  const create = {
    ...(vo?.DriverConfig?.Name ? { driver: vo.DriverConfig.Name } : {}),
    ...(vo?.DriverConfig?.Options ? { options: vo.DriverConfig.Options } : {}),
    ...(vo?.Labels ? { labels: vo.Labels } : {}),
  };
  return { type: 'volume', source: m.Source ?? '', destination, rw, mode: 'z', copyData: vo?.NoCopy !== true, ...(Object.keys(create).length ? { create } : {}) };
}

/** `container[:ro|rw]` of --volumes-from. */
export function parseVolumesFrom(spec: string): { container: string; mode: 'ro' | 'rw' | '' } {
  const [container, mode = '', ...rest] = spec.split(':');
  if (!container || rest.length > 0 || (mode !== '' && mode !== 'ro' && mode !== 'rw')) {
    invalid(mode !== '' && rest.length === 0 ? `invalid mode: ${mode}` : `invalid volumes-from specification: '${spec}'`);
  }
  return { container, mode: mode as 'ro' | 'rw' | '' };
}

/** Another container's mounts as --volumes-from takes them: no copying, read-only on request. */
export function inheritedMounts(mounts: readonly ContainerMount[], mode: 'ro' | 'rw' | ''): ContainerMount[] {
  return mounts.map((m) => {
    const { copyData: _copyData, ...rest } = m;
    return { ...rest, rw: m.rw && mode !== 'ro', mode: '' };
  });
}

/**
 * Docker's precedence: --volumes-from first, replaced by -v and --mount at the same path (two
 * of those at one path are an error), then an anonymous volume for each VOLUME path nothing
 * else covers (tmpfs mounts included).
 */
export function resolveMounts(hc: HostConfig, volumes: Record<string, object> | null | undefined, inherited: readonly ContainerMount[]): ContainerMount[] {
  const byDestination = new Map<string, ContainerMount>(inherited.map((m) => [m.destination, m]));
  const given = new Set<string>();
  const claim = (destination: string) => {
    if (given.has(destination)) invalid(`Duplicate mount point: ${destination}`, 'duplicate_mount');
    given.add(destination);
  };
  for (const b of hc.Binds ?? []) {
    const m = fromBind(b);
    claim(m.destination);
    byDestination.set(m.destination, m);
  }
  for (const spec of hc.Mounts ?? []) {
    if (spec.Type === 'tmpfs') {
      claim(cleanDestination(spec.Target));
      continue;
    }
    const m = fromMountSpec(spec);
    claim(m.destination);
    byDestination.set(m.destination, m);
  }
  const tmpfs = Object.keys(hc.Tmpfs ?? {}).map(cleanDestination);
  for (const path of Object.keys(volumes ?? {})) {
    if (!path.startsWith('/')) invalid(`invalid mount config for type "volume": invalid mount path: '${path}' mount path must be absolute`);
    const destination = cleanDestination(path);
    if (byDestination.has(destination) || given.has(destination) || tmpfs.includes(destination)) continue;
    byDestination.set(destination, { type: 'volume', source: '', destination, rw: true, mode: '', copyData: true });
  }
  return [...byDestination.values()];
}

/** What the spec generator mounts for the container's binds and volumes. */
export function mountInputs(mounts: readonly ContainerMount[], volumeDir: (name: string) => string): MountInput[] {
  return mounts.map((m) =>
    m.type === 'bind'
      ? {
          type: 'bind',
          source: m.source,
          destination: m.destination,
          readonly: !m.rw,
          ...(m.propagation ? { propagation: m.propagation } : {}),
          ...(m.nonRecursive ? { nonRecursive: true } : {}),
        }
      : { type: 'volume', source: volumeDir(m.source), destination: m.destination, readonly: !m.rw },
  );
}
