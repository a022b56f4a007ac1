// Facts about the host that `berth info` and the runtime need.
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { release as osRelease, type as osType } from 'node:os';

export function operatingSystem(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text);
    if (m) return m[1];
  } catch {
    // fall through to the kernel's own name
  }
  return osType();
}

/** '2' on a unified hierarchy, '1' on legacy or hybrid hosts (v1 controllers mounted). */
export function cgroupVersion(): '1' | '2' {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1';
}

export function kernelVersion(): string {
  return osRelease();
}

export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Names the filesystem under `path` as `docker info` does (from statfs's magic number). */
export function backingFilesystem(path: string): string {
  const names: Record<number, string> = {
    0xef53: 'extfs',
    0x58465342: 'xfs',
    0x9123683e: 'btrfs',
    0x01021994: 'tmpfs',
    0x794c7630: 'overlayfs',
    0x2fc12fc1: 'zfs',
    0x6969: 'nfs',
    0xf2f52010: 'f2fs',
  };
  try {
    return names[statfsSync(path).type] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
