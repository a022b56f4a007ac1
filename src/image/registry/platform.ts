// Platforms (os/architecture/variant) as `--platform` spells them and as image indexes list
// them, normalized the way containerd does so that "linux/aarch64" and "linux/arm64/v8" are
// the same platform, and matched with the compatibility a CPU really has (an arm/v7 host runs
// arm/v6 images).
import { InvalidArgumentError } from '../../errors.js';
import { hostPlatform, type Descriptor } from '../types.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const knownOs = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'illumos', 'ios', 'js', 'linux', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows']);

export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  let arch = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() ?? '';
  switch (arch) {
    case 'i386':
      arch = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8') variant = '';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '') variant = 'v7';
      else if (/^[5-8]$/.test(variant)) variant = 'v' + variant;
      break;
  }
  return variant ? { os, architecture: arch, variant } : { os, architecture: arch };
}

/**
 * `--platform` values: "os/arch[/variant]", or one component that is an OS (the host's
 * architecture then) or an architecture (Linux then).
 */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p)) || parts.length > 3) {
    throw new InvalidArgumentError('invalid_platform', `invalid platform "${s}": expected os/arch[/variant], e.g. linux/amd64 or linux/arm/v7`);
  }
  if (parts.length === 1) {
    const host = hostPlatform();
    if (knownOs.has(parts[0].toLowerCase())) return normalizePlatform({ os: parts[0], architecture: host.architecture, variant: host.variant });
    return normalizePlatform({ os: 'linux', architecture: parts[0] });
  }
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/');
}

/** Variants a `want` platform can run, best first (an arm/v7 CPU runs v6 and v5 code). */
function acceptedVariants(want: Platform): string[] {
  if (want.architecture === 'arm' && want.variant) {
    const level = Number(want.variant.slice(1));
    const out: string[] = [];
    for (let v = level; v >= 5; v--) out.push('v' + v);
    return out;
  }
  return [want.variant ?? ''];
}

/** How well `have` suits `want`: 0 best, higher worse, undefined not at all. */
export function platformRank(want: Platform, have: Platform): number | undefined {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return undefined;
  const rank = acceptedVariants(w).indexOf(h.variant ?? '');
  return rank >= 0 ? rank : undefined;
}

/**
 * The entry of an index to pull for `want`: the best platform match, else (as containerd does)
 * an entry that names no platform. Artifacts such as attestations (os "unknown") never match.
 */
export function selectPlatformManifest(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const unnamedRank = Number.MAX_SAFE_INTEGER;
  let best: { desc: Descriptor; rank: number } | undefined;
  for (const desc of manifests) {
    const rank = desc.platform ? platformRank(want, desc.platform) : unnamedRank;
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { desc, rank };
  }
  return best?.desc;
}

/** The platforms an index offers, for an error that says what could have been asked for. */
export function availablePlatforms(manifests: Descriptor[]): string[] {
  const out = manifests.filter((d) => d.platform && d.platform.os !== 'unknown').map((d) => formatPlatform(d.platform!));
  return [...new Set(out)];
}
