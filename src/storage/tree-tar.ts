// Trees as tar streams and back, for trees a container controls (its root filesystem, its
// overlay upper directory, a volume) and for destinations whose names the archive chooses.
// Reading walks open directory descriptors and never follows a symlink; writing resolves every
// parent inside a RootDir (src/storage/in-root.ts). The layer unpacker (unpack.ts) stays the
// fast path for berth's own fresh layer directories; this module shares its header rules.
import fs from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { BerthError, ConflictError, InvalidArgumentError, SystemError, errnoCode } from '../errors.js';
import { decompressor, detectCompression } from '../sys/decompress.js';
import { O_PATH, S_IFBLK, S_IFCHR, S_IFIFO, lgetxattr, llistxattr, lsetxattr, makedev, mknod } from '../sys/libc.js';
import { fdPath, type RootDir } from './in-root.js';
import { peek } from './peek.js';
import { encodeTarHeader, tarPadding, TAR_END } from './tar-header.js';
import { mode, owner, RawXattrTap, times, writeBody, type TarHeader } from './unpack.js';

const read = promisify(fs.read);
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;
const CHUNK = 256 * 1024;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** overlayfs's own attributes describe the upper directory, never the files. */
const isOverlayXattr = (name: string) => name.startsWith('trusted.overlay.');

export interface PackOptions {
  /**
   * The archive name of the packed entry itself ("etc", ".", "/"); what is below a directory is
   * named under it. '' leaves the entry out and names its contents from the top (export, layers).
   */
  name: string;
  /** The tree is an overlay upper directory: its whiteouts become OCI ones (.wh.<name>, .wh..wh..opq). */
  whiteouts?: boolean;
  /** Leaves the entry `name` of the directory `dirFd` out, with all below it; `rel` is its path below the packed entry. */
  skip?: (dirFd: number, name: string, rel: string, st: fs.Stats) => boolean;
}

/**
 * A tar stream of `name` in the directory `dirFd` ('' for that directory itself). Its type is
 * read now (a missing entry throws ENOENT here, not in the stream); the stream holds its own
 * descriptors, so the caller may close `dirFd` once this returns.
 */
export function packTree(dirFd: number, name: string, opts: PackOptions): Readable {
  const path = fdPath(dirFd, name);
  // The magic link of the descriptor itself is followed on purpose: it is the directory.
  const st = name === '' ? fs.statSync(path) : fs.lstatSync(path);
  // The stream's own descriptor: of the directory itself, or of the one holding the entry.
  const ownFd = st.isDirectory()
    ? fs.openSync(path, O_RDONLY | O_DIRECTORY | (name === '' ? 0 : O_NOFOLLOW))
    : fs.openSync(fdPath(dirFd), O_PATH | O_DIRECTORY);
  const packer = new Packer(opts);
  async function* generate(): AsyncGenerator<Buffer> {
    try {
      if (st.isDirectory()) {
        if (opts.name !== '') yield* packer.header(fdPath(ownFd, '.'), opts.name, st);
        yield* packer.directory(ownFd, opts.name, '');
      } else {
        yield* packer.entry(ownFd, name, opts.name, st, '');
      }
      yield TAR_END;
    } finally {
      fs.closeSync(ownFd);
    }
  }
  return Readable.from(generate(), { objectMode: false });
}

function childName(parent: string, child: string): string {
  return parent === '' ? child : parent.endsWith('/') ? parent + child : `${parent}/${child}`;
}

class Packer {
  /** Archive names of files already packed, by device and inode: later names become hard links. */
  private readonly links = new Map<string, string>();

  constructor(private readonly opts: PackOptions) {}

  /** The entries below the open directory `fd`, in name order. */
  async *directory(fd: number, archiveName: string, rel: string): AsyncGenerator<Buffer> {
    const names = fs.readdirSync(fdPath(fd)).sort();
    for (const child of names) {
      const st = fs.lstatSync(fdPath(fd, child), { throwIfNoEntry: false });
      // Gone since the listing: a running container changes its files as they are read.
      if (!st) continue;
      const childRel = rel === '' ? child : `${rel}/${child}`;
      if (this.opts.skip?.(fd, child, childRel, st)) continue;
      yield* this.entry(fd, child, childName(archiveName, child), st, childRel);
    }
  }

  async *entry(dirFd: number, name: string, archiveName: string, st: fs.Stats, rel: string): AsyncGenerator<Buffer> {
    const path = fdPath(dirFd, name);
    if (st.isDirectory()) {
      let fd: number;
      try {
        fd = fs.openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (err) {
        if (isVanished(err)) return;
        throw err;
      }
      try {
        yield* this.header(path, archiveName, st);
        yield* this.directory(fd, archiveName, rel);
      } finally {
        fs.closeSync(fd);
      }
      return;
    }
    if (this.opts.whiteouts && st.isCharacterDevice() && st.rdev === 0) {
      const dir = posix.dirname(archiveName);
      const whiteout = (dir === '.' ? '' : dir + '/') + WHITEOUT + posix.basename(archiveName);
      yield encodeTarHeader({ name: whiteout, type: 'file', mode: 0o600, uid: st.uid, gid: st.gid, size: 0, mtime: st.mtimeMs / 1000 });
      return;
    }
    if (st.isFile()) {
      yield* this.file(path, archiveName, st);
      return;
    }
    if (st.isSocket()) return; // tar has no sockets (docker skips them too)
    yield* this.header(path, archiveName, st);
  }

  /** The header of a directory, symlink or device entry (an opaque directory's whiteout after it). */
  async *header(path: string, archiveName: string, st: fs.Stats): AsyncGenerator<Buffer> {
    const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: 0, mtime: st.mtimeMs / 1000, xattrs: xattrsOf(path) };
    if (st.isDirectory()) {
      const name = archiveName.endsWith('/') ? archiveName : archiveName + '/';
      yield encodeTarHeader({ ...base, name, type: 'directory' });
      if (this.opts.whiteouts && lgetxattr(path, 'trusted.overlay.opaque')?.toString() === 'y') {
        yield encodeTarHeader({ ...base, name: name + OPAQUE, type: 'file', xattrs: undefined });
      }
    } else if (st.isSymbolicLink()) {
      yield encodeTarHeader({ ...base, name: archiveName, type: 'symlink', linkname: fs.readlinkSync(path) });
    } else {
      const type = st.isCharacterDevice() ? 'character-device' : st.isBlockDevice() ? 'block-device' : 'fifo';
      yield encodeTarHeader({ ...base, name: archiveName, type, devmajor: major(st.rdev), devminor: minor(st.rdev) });
    }
  }

  async *file(path: string, archiveName: string, st: fs.Stats): AsyncGenerator<Buffer> {
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? this.links.get(key) : undefined;
    const meta = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtimeMs / 1000 };
    if (first !== undefined) {
      yield encodeTarHeader({ ...meta, name: archiveName, type: 'link', size: 0, linkname: first });
      return;
    }
    let fd: number;
    try {
      // O_NONBLOCK: should the name have become a fifo meanwhile, opening it must not hang.
      fd = fs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      if (isVanished(err)) return;
      throw err;
    }
    try {
      const now = fs.fstatSync(fd);
      if (!now.isFile()) return;
      if (st.nlink > 1) this.links.set(key, archiveName);
      const size = now.size;
      yield encodeTarHeader({ ...meta, name: archiveName, type: 'file', size, xattrs: xattrsOf(path) });
      // The header promised `size` bytes: a file that shrinks meanwhile is padded, one that grows cut.
      let done = 0;
      while (done < size) {
        const buf = Buffer.alloc(Math.min(CHUNK, size - done));
        const { bytesRead } = await read(fd, buf, 0, buf.length, done);
        if (bytesRead === 0) break;
        done += bytesRead;
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
      if (done < size) yield Buffer.alloc(size - done);
      yield tarPadding(size);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function isVanished(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR';
}

function xattrsOf(path: string): Map<string, Buffer> | undefined {
  let names: string[];
  try {
    names = llistxattr(path).filter((n) => !isOverlayXattr(n));
  } catch (err) {
    if (isVanished(err)) return undefined;
    throw err;
  }
  if (names.length === 0) return undefined;
  const out = new Map<string, Buffer>();
  for (const n of names) {
    const value = lgetxattr(path, n);
    if (value !== undefined) out.set(n, Buffer.from(value));
  }
  return out;
}

/** glibc's gnu_dev_major/minor. */
function major(dev: number): number {
  return Number(((BigInt(dev) >> 32n) & 0xfffff000n) | ((BigInt(dev) >> 8n) & 0xfffn));
}

function minor(dev: number): number {
  return Number(((BigInt(dev) >> 12n) & 0xffffff00n) | (BigInt(dev) & 0xffn));
}

export interface ExtractOptions {
  /** The owner of everything written; the archive's own uids and gids when undefined. */
  owner?: [number, number];
  /** docker cp's rule: never replace a directory with a non-directory, nor the reverse. */
  noOverwriteDirNonDir?: boolean;
  /** Give the destination the owner, mode and times of the archive's top entry (a volume's first fill). */
  applyRoot?: boolean;
  /** Renames entries (and hard link targets) before they are placed: docker cp's rebasing. */
  rename?: (name: string) => string;
}

/**
 * Extracts a tar stream (plain, gzip or zstd) into the directory `dest` inside `root`. Entries
 * land below `dest`, their parents resolved inside the root; nothing is ever written outside
 * it, whatever the names and the symlinks (the archive's or the tree's) say.
 */
export async function extractTree(root: RootDir, dest: string, source: Readable, opts: ExtractOptions = {}): Promise<void> {
  const { head, stream: input } = await peek(source, 4);
  const compression = detectCompression(head);
  const tap = new RawXattrTap();
  const extract = tar.extract();
  const writer = new TreeWriter(root, dest, tap, opts);
  let consumeError: unknown;
  const feed = pipeline([input, ...(compression === 'none' ? [] : [decompressor(compression)]), tap, extract as unknown as NodeJS.WritableStream]);
  const consume = (async () => {
    for await (const entry of extract) await writer.entry(entry.header as TarHeader, entry as unknown as AsyncIterable<Buffer>);
    writer.finish();
  })().catch((err: unknown) => {
    consumeError = err;
    input.destroy();
  });
  let feedError: unknown;
  await Promise.all([feed.catch((err: unknown) => (feedError = err)), consume]);
  writer.close();
  // A failure of the extraction itself is the cause even when the torn-down pipeline reports too.
  if (consumeError instanceof BerthError || (consumeError !== undefined && feedError === undefined)) throw consumeError;
  if (feedError !== undefined) {
    if (feedError instanceof BerthError) throw feedError;
    throw new InvalidArgumentError('invalid_archive', `the archive cannot be read: ${(feedError as Error).message}`, { cause: feedError });
  }
}

class TreeWriter {
  /** Open parent directories by their path below the destination ('' is the destination). */
  private readonly dirs = new Map<string, number>();
  /** Directory times, applied last: writing into a directory changes its mtime. */
  private readonly dirTimes = new Map<string, [number, number]>();

  constructor(
    private readonly root: RootDir,
    private readonly dest: string,
    private readonly tap: RawXattrTap,
    private readonly opts: ExtractOptions,
  ) {}

  async entry(h: TarHeader, data: AsyncIterable<Buffer>): Promise<void> {
    this.tap.attach(h);
    if (this.opts.rename) {
      h.name = this.opts.rename(h.name);
      if (h.type === 'link' && h.linkname) h.linkname = this.opts.rename(h.linkname);
    }
    try {
      await this.apply(h, data);
    } catch (err) {
      if (err instanceof BerthError || typeof (err as { syscall?: unknown }).syscall !== 'string') throw err;
      if (errnoCode(err) === 'EROFS') throw new ConflictError('read_only', `extracting "${h.name}": the destination is read-only`, { cause: err });
      throw new SystemError('extract_failed', `extracting "${h.name}": ${(err as Error).message}`, { cause: err });
    }
    for await (const chunk of data) void chunk;
  }

  finish(): void {
    for (const [key, [atime, mtime]] of this.dirTimes) {
      let fd: number;
      try {
        fd = this.root.open(posix.join(this.dest, key), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (err) {
        if (isVanished(err)) continue;
        throw err;
      }
      try {
        fs.futimesSync(fd, atime, mtime);
      } finally {
        fs.closeSync(fd);
      }
    }
  }

  close(): void {
    for (const fd of this.dirs.values()) fs.closeSync(fd);
    this.dirs.clear();
  }

  private async apply(h: TarHeader, data: AsyncIterable<Buffer>): Promise<void> {
    const parts = archivePath(h.name);
    if (parts.length === 0) {
      if (h.type !== 'directory') throw new InvalidArgumentError('invalid_archive', `archive entry "${h.name}" would replace the destination`);
      if (this.opts.applyRoot) this.directoryMetadata(h, '', fdPath(this.parent([])));
      return;
    }
    const key = parts.join('/');
    const dirFd = this.parent(parts.slice(0, -1));
    const base = parts[parts.length - 1];
    const path = fdPath(dirFd, base);
    const isDir = h.type === 'directory';
    const existing = fs.lstatSync(path, { throwIfNoEntry: false });
    if (existing) {
      const shown = posix.join(this.dest, key);
      if (this.opts.noOverwriteDirNonDir && existing.isDirectory() && !isDir) {
        throw new ConflictError('cannot_overwrite', `cannot overwrite directory "${shown}" with non-directory "${h.name}"`);
      }
      if (this.opts.noOverwriteDirNonDir && !existing.isDirectory() && isDir) {
        throw new ConflictError('cannot_overwrite', `cannot overwrite non-directory "${shown}" with directory "${h.name}"`);
      }
      if (!(existing.isDirectory() && isDir)) {
        this.forget(key);
        removeEntry(dirFd, base);
      }
    }
    const [uid, gid] = this.opts.owner ?? owner(h);
    switch (h.type) {
      case 'directory': {
        if (!existing?.isDirectory()) fs.mkdirSync(path, 0o700);
        this.directoryMetadata(h, key, path);
        return;
      }
      case 'file':
      case 'contiguous-file': {
        const fd = fs.openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        try {
          await writeBody(fd, data, CHUNK);
          // chown clears setuid/setgid and file capabilities, so mode and xattrs come after it.
          fs.fchownSync(fd, uid, gid);
          fs.fchmodSync(fd, mode(h));
          this.xattrs(h, path);
          fs.futimesSync(fd, ...times(h));
        } finally {
          fs.closeSync(fd);
        }
        return;
      }
      case 'symlink': {
        const target = h.linkname ?? '';
        if (target === '' || target.includes('\0')) throw new InvalidArgumentError('invalid_archive', `archive symlink "${h.name}" has an invalid target`);
        fs.symlinkSync(target, path);
        fs.lchownSync(path, uid, gid);
        this.xattrs(h, path);
        fs.lutimesSync(path, ...times(h));
        return;
      }
      case 'link': {
        const targetParts = archivePath(h.linkname ?? '');
        if (targetParts.length === 0) throw new InvalidArgumentError('invalid_archive', `archive hard link "${h.name}" has an invalid target`);
        const targetDir = this.parent(targetParts.slice(0, -1));
        fs.linkSync(fdPath(targetDir, targetParts[targetParts.length - 1]), path);
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        const type = h.type === 'fifo' ? S_IFIFO : h.type === 'character-device' ? S_IFCHR : S_IFBLK;
        mknod(path, type | 0o600, makedev(h.devmajor ?? 0, h.devminor ?? 0));
        // Through a descriptor of the node itself: chmod and utimes follow a final symlink.
        const fd = fs.openSync(path, O_PATH | O_NOFOLLOW);
        try {
          fs.lchownSync(path, uid, gid);
          fs.chmodSync(fdPath(fd), mode(h));
          this.xattrs(h, path);
          fs.utimesSync(fdPath(fd), ...times(h));
        } finally {
          fs.closeSync(fd);
        }
        return;
      }
      default:
        throw new InvalidArgumentError('invalid_archive', `archive entry "${h.name}" has an unsupported type (${h.type})`);
    }
  }

  private directoryMetadata(h: TarHeader, key: string, path: string): void {
    const fd = fs.openSync(path, O_RDONLY | O_DIRECTORY | (key === '' ? 0 : O_NOFOLLOW));
    try {
      const [uid, gid] = this.opts.owner ?? owner(h);
      fs.fchownSync(fd, uid, gid);
      fs.fchmodSync(fd, mode(h));
      this.xattrs(h, fdPath(fd, '.'));
    } finally {
      fs.closeSync(fd);
    }
    this.dirTimes.set(key, times(h));
  }

  private xattrs(h: TarHeader, path: string): void {
    for (const [key, value] of Object.entries(h.pax ?? {})) {
      if (!key.startsWith('SCHILY.xattr.')) continue;
      const name = key.slice('SCHILY.xattr.'.length);
      if (isOverlayXattr(name)) continue;
      try {
        lsetxattr(path, name, h.rawXattrs?.get(key) ?? Buffer.from(value, 'utf8'));
      } catch (err) {
        // As docker: filesystems without xattrs, and namespaces a file type cannot carry, are no reason to fail.
        const code = errnoCode(err);
        if (code !== 'EOPNOTSUPP' && code !== 'ENOTSUP' && code !== 'EPERM') throw err;
      }
    }
  }

  /** The directory `parts` below the destination, opened (and created, 0755, when missing). */
  private parent(parts: string[]): number {
    const key = parts.join('/');
    const cached = this.dirs.get(key);
    if (cached !== undefined) return cached;
    const fd = this.root.mkdirAll(posix.join(this.dest, ...parts));
    this.dirs.set(key, fd);
    return fd;
  }

  /** Drops cached descriptors at and below `key`, which is about to be replaced. */
  private forget(key: string): void {
    for (const [k, fd] of this.dirs) {
      if (k === key || k.startsWith(key + '/')) {
        fs.closeSync(fd);
        this.dirs.delete(k);
      }
    }
    for (const k of this.dirTimes.keys()) if (k === key || k.startsWith(key + '/')) this.dirTimes.delete(k);
  }
}

/** An entry name's components below the destination; one that climbs out of it is refused. */
function archivePath(name: string): string[] {
  if (name.includes('\0')) throw new InvalidArgumentError('invalid_archive', `archive entry "${name}" contains a NUL byte`);
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.pop() === undefined) throw new InvalidArgumentError('invalid_archive', `archive entry "${name}" points outside the destination`);
      continue;
    }
    out.push(part);
  }
  return out;
}

/** Removes `name` in the directory `dirFd`, a directory with everything in it, descending by descriptors only. */
export function removeEntry(dirFd: number, name: string): void {
  const path = fdPath(dirFd, name);
  try {
    fs.unlinkSync(path);
    return;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return;
    if (code !== 'EISDIR' && code !== 'EPERM') throw err;
  }
  const fd = fs.openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    for (const child of fs.readdirSync(fdPath(fd))) removeEntry(fd, child);
  } finally {
    fs.closeSync(fd);
  }
  fs.rmdirSync(path);
}

/**
 * Copies the directory `path` of `from` into the root of `to`, with owners, modes, times,
 * xattrs and hard links, the top directory's own metadata included (docker's volume populate).
 */
export async function copyTree(from: RootDir, path: string, to: RootDir): Promise<void> {
  const fd = from.openDir(path);
  let archive: Readable;
  try {
    archive = packTree(fd, '', { name: '.' });
  } finally {
    fs.closeSync(fd);
  }
  await extractTree(to, '/', archive, { applyRoot: true });
}
