// Linux capabilities: names by bit number, Docker's default set, and --cap-add/--cap-drop
// resolution with Docker's semantics and error wording.
import { InvalidArgumentError } from '../errors.js';

/** Capability names indexed by their bit number (linux/capability.h). */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** Docker's default capability set, in Docker's order (it shows up in `docker inspect`). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Names of the capabilities set in a mask such as /proc/<pid>/status CapBnd, lowest bit first. */
export function capabilitiesFromMask(mask: bigint): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) names.push(CAPABILITIES[bit] ?? `CAP_${bit}`);
  }
  return names;
}

export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = CAPABILITIES.indexOf(name);
    if (bit >= 0) mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** Upper-cases and CAP_-prefixes a list; "ALL" stays as is. Unknown names fail as Docker words it. */
export function normalizeCapabilities(caps: readonly string[]): string[] {
  return caps.map((raw) => {
    let c = raw.trim().toUpperCase();
    if (c === 'ALL') return c;
    if (!c.startsWith('CAP_')) c = 'CAP_' + c;
    if (!CAPABILITIES.includes(c)) {
      throw new InvalidArgumentError('unknown_capability', `unknown capability: "${c}"`);
    }
    return c;
  });
}

/**
 * The container's capability set. `hostBounding` is what the host can hand out at all: a
 * capability outside it cannot be granted (runc would fail with EPERM later and less clearly),
 * so "ALL" and --privileged mean "all the host has", and naming a missing one is an error.
 */
export function resolveCapabilities(opts: {
  capAdd?: readonly string[];
  capDrop?: readonly string[];
  privileged?: boolean;
  hostBounding: readonly string[];
}): string[] {
  const host = opts.hostBounding;
  if (opts.privileged) return CAPABILITIES.filter((c) => host.includes(c));
  const adds = normalizeCapabilities(opts.capAdd ?? []);
  const drops = normalizeCapabilities(opts.capDrop ?? []);
  for (const c of adds) {
    if (c !== 'ALL' && !host.includes(c)) {
      throw new InvalidArgumentError(
        'capability_unavailable',
        `capability ${c} cannot be added: the host's capability bounding set does not include it`,
      );
    }
  }
  let caps: string[];
  if (adds.includes('ALL')) {
    caps = CAPABILITIES.filter((c) => host.includes(c) && !drops.includes(c));
  } else if (drops.includes('ALL')) {
    caps = [...adds];
  } else {
    caps = DEFAULT_CAPABILITIES.filter((c) => host.includes(c) && !drops.includes(c));
    caps.push(...adds);
  }
  return [...new Set(caps)];
}
