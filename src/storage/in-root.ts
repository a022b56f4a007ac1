// A directory tree that something else controls (a container's root filesystem, possibly
// while the container runs; a volume; a destination the archive chooses names in), read and
// written from the host without ever leaving it. Every lookup goes through openat2(2) with
// RESOLVE_IN_ROOT from a descriptor of the tree's root: the kernel follows symlinks and ".." as
// if the root were "/", atomically, so a container that swaps a directory for a symlink while
// berth works cannot redirect berth to the host. Once a directory is open, its entries are
// reached as /proc/self/fd/<fd>/<name> with calls that never follow that last component
// (lstat, O_NOFOLLOW, mkdir, symlink, unlink, rmdir, l*xattr), so nothing is looked up twice.
import fs from 'node:fs';
import { posix } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { O_PATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2 } from '../sys/libc.js';

const MAX_SYMLINKS = 40;

/** How a descriptor's directory, or `name` in it, is reached without a new lookup of its path. */
export function fdPath(fd: number, name?: string): string {
  return name === undefined || name === '' ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** A path's components inside a root, "." dropped ("..", clamped at the root by the kernel, kept). */
function components(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

export class RootDir {
  private constructor(
    readonly fd: number,
    /** The host path the root was opened at (for messages). */
    readonly path: string,
  ) {}

  /** Opens the directory at `path` (host path, symlinks followed as the host sees them) as a root. */
  static open(path: string): RootDir {
    return new RootDir(fs.openSync(path, O_PATH | fs.constants.O_DIRECTORY), path);
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /**
   * Opens `path` inside the root with open(2) `flags`, symlinks followed inside the root (the
   * last component too, unless `flags` has O_NOFOLLOW). Throws the system error (ENOENT...).
   */
  open(path: string, flags: number): number {
    const parts = components(path);
    return openat2(this.fd, parts.length ? parts.join('/') : '.', flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  }

  /** Opens the directory at `path` for lookups of its entries (fdPath). */
  openDir(path: string): number {
    return this.open(path, O_PATH | fs.constants.O_DIRECTORY);
  }

  /**
   * Creates the missing directories of `path` (mode 0755, as docker does) and opens the last
   * one; a non-directory on the way is an error (ENOTDIR).
   */
  mkdirAll(path: string): number {
    try {
      return this.openDir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let fd = this.openDir('/');
    const done: string[] = [];
    try {
      for (const part of components(path)) {
        done.push(part);
        if (part !== '..') {
          try {
            fs.mkdirSync(fdPath(fd, part), 0o755);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          }
        }
        const next = this.openDir(done.join('/'));
        fs.closeSync(fd);
        fd = next;
      }
      return fd;
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /**
   * The path as the root sees it with every symlink on the way resolved (Docker's
   * FollowSymlinkInScope); what does not exist is kept as written.
   */
  realpath(path: string): string {
    const done: string[] = [];
    let pending = components(path);
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '..') {
        done.pop();
        continue;
      }
      const dirFd = this.openDir(done.join('/'));
      try {
        const entry = fdPath(dirFd, part);
        const st = fs.lstatSync(entry, { throwIfNoEntry: false });
        if (!st?.isSymbolicLink()) {
          done.push(part);
          if (!st) return posix.join('/', ...done, ...pending);
          continue;
        }
        if (++links > MAX_SYMLINKS) throw new InvalidArgumentError('symlink_loop', `too many levels of symbolic links in ${path}`);
        const target = fs.readlinkSync(entry);
        if (target.startsWith('/')) done.length = 0;
        pending = [...components(target), ...pending];
      } finally {
        fs.closeSync(dirFd);
      }
    }
    return '/' + done.join('/');
  }
}
