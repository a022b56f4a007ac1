// Reading and preparing paths inside a container's root filesystem from the host. The image
// decides what its symlinks point at, so every component is resolved relative to the rootfs
// (as chroot would): /etc/passwd -> /host/secret must not reach outside it.
import { lstatSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

const MAX_SYMLINKS = 255;

/** The host path of `path` inside `root`, with symlinks followed as if `root` were `/`. */
export function resolveInRoot(root: string, path: string): string {
  const done: string[] = [];
  let pending = path.split('/').filter((p) => p !== '' && p !== '.');
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = join(root, ...done, part);
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch {
      // Missing: the rest cannot hold links either.
      done.push(part, ...pending.filter((p) => p !== '..'));
      break;
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new InvalidArgumentError('symlink_loop', `too many levels of symbolic links in ${path}`);
    const target = readlinkSync(candidate);
    if (target.startsWith('/')) done.length = 0;
    pending = [...target.split('/').filter((p) => p !== '' && p !== '.'), ...pending];
  }
  return join(root, ...done);
}

/** A file of the container's, or null when it does not exist. */
export function readFileInRoot(root: string, path: string): string | null {
  try {
    return readFileSync(resolveInRoot(root, path), 'utf8');
  } catch {
    return null;
  }
}

/** Creates a directory in the rootfs (the working directory Docker creates when missing). */
export function mkdirInRoot(root: string, path: string): void {
  mkdirSync(resolveInRoot(root, path), { recursive: true, mode: 0o755 });
}
