// A minimal root filesystem for runtime tests: the host's statically linked busybox with a
// symlink per applet, plus the few files a container expects to find.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HOST_BUSYBOX = '/bin/busybox';

export function busyboxAvailable(): boolean {
  return existsSync(HOST_BUSYBOX);
}

/** Fills `dir` (created if needed) with a busybox root filesystem and returns it. */
export function buildBusyboxRootfs(dir: string): string {
  for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'mnt', 'root', 'usr/bin', 'usr/sbin', 'var']) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(HOST_BUSYBOX, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(HOST_BUSYBOX, ['--list-full'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const applet of applets) {
    const target = join(dir, applet);
    if (applet === 'bin/busybox' || existsSync(target)) continue;
    mkdirSync(join(target, '..'), { recursive: true });
    symlinkSync('/bin/busybox', target);
  }
  writeFileSync(
    join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
  );
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  return dir;
}
