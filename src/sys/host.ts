// Facts about the host that `berth info` and the runtime need.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

export function operatingSystem(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text);
    if (m) return m[1];
  } catch {
    // fall through to the kernel's own name
  }
  return os.type();
}

/** '2' on a unified hierarchy, '1' on legacy or hybrid hosts (v1 controllers mounted). */
export function cgroupVersion(): '1' | '2' {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1';
}

export function kernelVersion(): string {
  return os.release();
}

export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}
