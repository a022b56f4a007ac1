// The host's statically linked busybox (Debian's busybox-static) is the seed of berth's
// embedded default image.
import { lazy } from '../builtins.js';
import { existsSync } from 'node:fs';
import { NotFoundError } from '../errors.js';

const candidates = ['/bin/busybox', '/usr/bin/busybox'];

export function findBusybox(): string {
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    throw new NotFoundError('busybox_missing', 'busybox is not installed on this host: install the busybox-static package (apt-get install busybox-static)');
  }
  const file = lazy.childProcess.execFileSync(path, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (!/BusyBox/.test(file)) throw new NotFoundError('busybox_missing', `${path} is not busybox`);
  return path;
}

/** Applet names with their install directory, e.g. "bin/sh", "usr/sbin/httpd". */
export function busyboxApplets(path: string): string[] {
  const out = lazy.childProcess.execFileSync(path, ['--list-full'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
}
