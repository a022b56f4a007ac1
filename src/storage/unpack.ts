// Secure layer unpacking: a layer tar (gzip, zstd or plain) streamed into a directory that
// becomes an overlay lowerdir. This is a security boundary: whatever the archive says, nothing
// outside the destination is created, changed or read.
//
// How paths stay inside: every entry name is normalized lexically (leading "/" dropped, so
// absolute names land inside, as docker and GNU tar do); a ".." that would climb above the root
// rejects the whole layer. Parent directories are then resolved component by component inside
// the root, following symlinks the archive created with the root as "/" (securejoin semantics):
// `link -> /etc` followed by `link/passwd` writes <root>/etc/passwd, never /etc/passwd. The
// final component is never followed: whatever is there is removed and the entry is created with
// O_CREAT|O_EXCL (or mkdir/symlink/link/mknod, which do not follow either). Hard link targets
// are resolved the same way and must already exist inside the root.
//
// Resolving in user space and then using paths is race-free here because the destination is a
// fresh private directory that only this extraction writes to, one entry at a time: the only
// symlinks in it are the ones it created and checked. Directories this extraction created or
// checked are cached so that deep trees do not cost an lstat per component per entry; removing
// a directory drops it and everything below it from the cache.
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BerthError, InvalidArgumentError, SystemError, errnoCode } from '../errors.js';
import { decompressor, detectCompression, type Compression } from '../sys/decompress.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, lsetxattr, makedev, mknod } from '../sys/libc.js';
import { DigestStream } from './content.js';

export interface UnpackResult {
  /** sha256 of the uncompressed tar stream. */
  diffId: string;
  /** Bytes of file contents and symlink targets written. */
  size: number;
  compression: Compression;
}

type TarHeader = tar.Headers & { pax?: Record<string, string> | null };

const whiteoutPrefix = '.wh.';
const whiteoutMetaPrefix = '.wh..wh.';
const opaqueWhiteout = '.wh..wh..opq';
const maxSymlinkFollows = 40; // Linux's own limit (ELOOP)
const writeBatchBytes = 1 << 20;

/**
 * Unpacks `source` into `dest`, an existing empty directory. Throws InvalidArgumentError
 * 'layer_path_escape' for entries that climb out of the root, 'layer_corrupt' for archives that
 * cannot be read, and SystemError 'layer_unpack_failed' for filesystem failures (ENOSPC, ...).
 * On failure `dest` is left partly written; the caller removes it.
 */
export async function unpackLayer(source: Readable, dest: string): Promise<UnpackResult> {
  const { head, stream: input } = await peek(source, 4);
  const compression = detectCompression(head);
  const hasher = new DigestStream();
  const extract = tar.extract();
  const extractor = new Extractor(dest);

  // Which stream raised an error first: pipeline() re-raises the same error object from every
  // stream it destroys, and only the originator says whether the archive itself is bad.
  const origin = new WeakMap<object, string>();
  const label = (stream: NodeJS.EventEmitter, name: string): void => {
    stream.on('error', (err: unknown) => {
      if (typeof err === 'object' && err !== null && !origin.has(err)) origin.set(err, name);
    });
  };
  label(input, 'source');
  label(extract, 'tar');
  const stages: NodeJS.ReadWriteStream[] = [];
  if (compression !== 'none') {
    const d = decompressor(compression);
    label(d, compression);
    stages.push(d);
  }

  let failure: unknown;
  const fail = (err: unknown): void => {
    failure ??= err;
  };
  const feed = pipeline(input, ...stages, hasher, extract).catch(fail);
  const consume = (async () => {
    for await (const entry of extract) await extractor.entry(entry.header as TarHeader, entry);
    await extractor.finish();
  })().catch((err: unknown) => {
    fail(err);
    input.destroy();
  });
  await Promise.all([feed, consume]);

  if (failure !== undefined) throw classify(failure, origin.get(failure as object), compression);
  return { diffId: hasher.digest(), size: extractor.size, compression };
}

function classify(err: unknown, origin: string | undefined, compression: Compression): unknown {
  if (err instanceof BerthError || origin === 'source') return err;
  const message = err instanceof Error ? err.message : String(err);
  if (origin === 'gzip' || origin === 'zstd') {
    return new InvalidArgumentError('layer_corrupt', `layer ${origin} stream is corrupt: ${message}`, { cause: err });
  }
  if (origin === 'tar') {
    const what = compression === 'none' ? 'tar stream' : `tar stream (inside ${compression})`;
    return new InvalidArgumentError('layer_corrupt', `layer ${what} is corrupt: ${message}`, { cause: err });
  }
  if (errnoCode(err)?.startsWith('E')) {
    return new SystemError('layer_unpack_failed', `unpacking layer failed: ${message}`, { cause: err });
  }
  return err;
}

/** Reads the first `n` bytes of a stream without consuming them for later readers. */
async function peek(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < n && !ended) {
    const chunk = source.read() as Buffer | string | null;
    if (chunk !== null) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(buf);
      length += buf.length;
      continue;
    }
    ended = await new Promise<boolean>((resolve, reject) => {
      const done = (result: boolean, err?: unknown): void => {
        source.off('readable', onReadable);
        source.off('end', onEnd);
        source.off('error', onError);
        if (err !== undefined) reject(err);
        else resolve(result);
      };
      const onReadable = (): void => done(false);
      const onEnd = (): void => done(true);
      const onError = (err: unknown): void => done(false, err);
      source.on('readable', onReadable);
      source.on('end', onEnd);
      source.on('error', onError);
    });
  }
  const head = Buffer.concat(chunks);
  if (ended) return { head, stream: Readable.from(head.length > 0 ? [head] : []) };
  if (head.length > 0) source.unshift(head);
  return { head, stream: source };
}

/**
 * Splits an entry name into normal components relative to the root. Absolute names count
 * from the root; a ".." that would leave the root rejects the layer.
 */
function entryComponents(name: string, what: string): string[] {
  if (name.includes('\0')) throw new InvalidArgumentError('layer_corrupt', `layer ${what} "${name}" contains a NUL byte`);
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.pop() === undefined) {
        throw new InvalidArgumentError('layer_path_escape', `layer ${what} "${name}" points outside the layer`);
      }
      continue;
    }
    out.push(part);
  }
  return out;
}

class Extractor {
  size = 0;
  /** Keys ("a/b", "" for the root) of paths known to be real directories, not symlinks. */
  private readonly dirs = new Set<string>(['']);
  /** Directory times, applied at the end because writing into a directory changes its mtime. */
  private readonly dirTimes = new Map<string, [number, number]>();

  constructor(private readonly root: string) {}

  async entry(h: TarHeader, data: Readable): Promise<void> {
    try {
      await this.apply(h, data);
    } catch (err) {
      if (err instanceof BerthError || !errnoCode(err)?.startsWith('E')) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new SystemError('layer_unpack_failed', `unpacking layer entry "${h.name}" failed: ${message}`, { cause: err });
    }
    // Entries whose data this extraction does not use still have to be read past.
    for await (const chunk of data) void chunk;
  }

  async finish(): Promise<void> {
    for (const [key, [atime, mtime]] of this.dirTimes) await fsp.lutimes(this.abs(key), atime, mtime);
  }

  private async apply(h: TarHeader, data: Readable): Promise<void> {
    const parts = entryComponents(h.name, 'entry');
    for (const key of Object.keys(h.pax ?? {})) {
      if (key.startsWith('GNU.sparse.')) {
        throw new InvalidArgumentError('layer_unsupported', `layer entry "${h.name}" is a GNU sparse file, which berth cannot unpack`);
      }
    }
    const base = parts[parts.length - 1];
    if (base?.startsWith(whiteoutPrefix)) return this.whiteout(h, parts, base);
    if (parts.length === 0 && h.type !== 'directory') {
      throw new InvalidArgumentError('layer_corrupt', `layer entry "${h.name}" (${h.type}) would replace the layer root`);
    }
    switch (h.type) {
      case 'directory':
        return this.directory(h, parts);
      case 'file':
      case 'contiguous-file':
        return this.file(h, parts, data);
      case 'symlink':
        return this.symlink(h, parts);
      case 'link':
        return this.hardlink(h, parts);
      case 'character-device':
      case 'block-device':
      case 'fifo':
        return this.special(h, parts);
      default:
        throw new InvalidArgumentError('layer_unsupported', `layer entry "${h.name}" has an unsupported tar type`);
    }
  }

  private async directory(h: TarHeader, parts: string[]): Promise<void> {
    let key = '';
    if (parts.length > 0) {
      const placed = await this.place(h.name, parts);
      key = placed.key;
      await this.create(key, true, () => fsp.mkdir(placed.path, 0o700));
    }
    this.dirs.add(key);
    const path = this.abs(key);
    await fsp.lchown(path, ...owner(h));
    await fsp.chmod(path, mode(h));
    this.xattrs(h, path);
    this.dirTimes.set(key, times(h));
  }

  private async file(h: TarHeader, parts: string[], data: Readable): Promise<void> {
    const { key, path } = await this.place(h.name, parts);
    let fh: FileHandle | undefined;
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
    await this.create(key, false, async () => {
      fh = await fsp.open(path, flags, 0o600);
    });
    const file = fh as FileHandle;
    try {
      let batch: Buffer[] = [];
      let batched = 0;
      for await (const chunk of data) {
        batch.push(chunk as Buffer);
        batched += (chunk as Buffer).length;
        if (batched >= writeBatchBytes) {
          await writeFully(file, batch, batched);
          this.size += batched;
          batch = [];
          batched = 0;
        }
      }
      await writeFully(file, batch, batched);
      this.size += batched;
      // chown clears setuid/setgid and file capabilities, so mode and xattrs come after it.
      await file.chown(...owner(h));
      await file.chmod(mode(h));
      this.xattrs(h, path);
      await file.utimes(...times(h));
    } finally {
      await file.close();
    }
  }

  private async symlink(h: TarHeader, parts: string[]): Promise<void> {
    const target = h.linkname ?? '';
    if (target === '' || target.includes('\0')) {
      throw new InvalidArgumentError('layer_corrupt', `layer symlink "${h.name}" has an invalid target`);
    }
    const { key, path } = await this.place(h.name, parts);
    await this.create(key, false, () => fsp.symlink(target, path));
    this.size += Buffer.byteLength(target);
    await fsp.lchown(path, ...owner(h));
    this.xattrs(h, path);
    await fsp.lutimes(path, ...times(h));
  }

  /**
   * The link shares the target's inode, which already carries its owner, mode and times from
   * its own entry, so the link entry's metadata is not applied.
   */
  private async hardlink(h: TarHeader, parts: string[]): Promise<void> {
    const targetParts = entryComponents(h.linkname ?? '', `hard link target of "${h.name}":`);
    const targetName = targetParts[targetParts.length - 1];
    const missing = (): InvalidArgumentError =>
      new InvalidArgumentError('layer_corrupt', `layer hard link "${h.name}" points to "${h.linkname}", which is not a file in the layer`);
    if (targetName === undefined) throw missing();
    const targetDir = await this.resolveDir(h.name, targetParts.slice(0, -1), false);
    const targetKey = join(...targetDir, targetName);
    const st = await fsp.lstat(this.abs(targetKey)).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
      throw err;
    });
    if (st === undefined || st.isDirectory()) throw missing();
    const { key, path } = await this.place(h.name, parts);
    if (key === targetKey) return;
    await this.create(key, false, () => fsp.link(this.abs(targetKey), path));
  }

  private async special(h: TarHeader, parts: string[]): Promise<void> {
    const type = h.type === 'fifo' ? S_IFIFO : h.type === 'character-device' ? S_IFCHR : S_IFBLK;
    const { key, path } = await this.place(h.name, parts);
    await this.create(key, false, async () => mknod(path, type | 0o600, makedev(h.devmajor ?? 0, h.devminor ?? 0)));
    await fsp.lchown(path, ...owner(h));
    await fsp.chmod(path, mode(h));
    this.xattrs(h, path);
    await fsp.lutimes(path, ...times(h));
  }

  /**
   * OCI whiteouts become overlayfs ones: `.wh.name` a 0:0 character device at `name`,
   * `.wh..wh..opq` the opaque xattr on its directory. Other `.wh..wh.` names are aufs
   * bookkeeping with no meaning here.
   */
  private async whiteout(h: TarHeader, parts: string[], base: string): Promise<void> {
    const dirParts = parts.slice(0, -1);
    if (base === opaqueWhiteout) {
      const dir = await this.resolveDir(h.name, dirParts, true);
      lsetxattr(this.abs(join('', ...dir)), 'trusted.overlay.opaque', Buffer.from('y'));
      return;
    }
    if (base.startsWith(whiteoutMetaPrefix)) return;
    const name = base.slice(whiteoutPrefix.length);
    if (name === '' || name === '.' || name === '..') {
      throw new InvalidArgumentError('layer_corrupt', `layer entry "${h.name}" is not a valid whiteout`);
    }
    const { key, path } = await this.place(h.name, [...dirParts, name]);
    await this.create(key, false, async () => mknod(path, S_IFCHR, makedev(0, 0)));
    await fsp.lchown(path, ...owner(h));
  }

  /** Applies SCHILY.xattr.* records. overlayfs's own trusted.overlay.* are never taken from a layer. */
  private xattrs(h: TarHeader, path: string): void {
    for (const [key, value] of Object.entries(h.pax ?? {})) {
      if (!key.startsWith('SCHILY.xattr.')) continue;
      const name = key.slice('SCHILY.xattr.'.length);
      if (name.startsWith('trusted.overlay.')) continue;
      try {
        lsetxattr(path, name, Buffer.from(value, 'utf8'));
      } catch (err) {
        // As docker does: filesystems without xattrs, and xattr namespaces a file type cannot
        // carry (user.* on a symlink), are not a reason to refuse the image.
        const code = errnoCode(err);
        if (code !== 'EOPNOTSUPP' && code !== 'ENOTSUP' && code !== 'EPERM') throw err;
      }
    }
  }

  /** Resolves an entry's parent inside the root (creating missing directories); the final component is not looked at. */
  private async place(entryName: string, parts: string[]): Promise<{ key: string; path: string }> {
    const dir = await this.resolveDir(entryName, parts.slice(0, -1), true);
    const key = join('', ...dir, parts[parts.length - 1]);
    return { key, path: this.abs(key) };
  }

  /**
   * Resolves directory components inside the root, following symlinks with the root as "/"
   * and ".." in their targets clamped at the root. Missing directories are created (0755,
   * as docker does) when `create`, otherwise rejected as a broken hard link target.
   */
  private async resolveDir(entryName: string, parts: string[], create: boolean): Promise<string[]> {
    let resolved: string[] = [];
    const pending = [...parts];
    let follows = 0;
    while (pending.length > 0) {
      const part = pending.shift() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const candidate = [...resolved, part];
      const key = candidate.join('/');
      if (this.dirs.has(key)) {
        resolved = candidate;
        continue;
      }
      const path = this.abs(key);
      const st = await fsp.lstat(path).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT') return undefined;
        throw err;
      });
      if (st === undefined) {
        if (!create) {
          throw new InvalidArgumentError('layer_corrupt', `layer entry "${entryName}": "${key}" does not exist in the layer`);
        }
        await fsp.mkdir(path, 0o755);
      } else if (st.isSymbolicLink()) {
        if (++follows > maxSymlinkFollows) {
          throw new InvalidArgumentError('layer_corrupt', `layer entry "${entryName}": too many levels of symbolic links`);
        }
        const target = await fsp.readlink(path);
        if (target.startsWith('/')) resolved = [];
        pending.unshift(...target.split('/'));
        continue;
      } else if (!st.isDirectory()) {
        throw new InvalidArgumentError('layer_corrupt', `layer entry "${entryName}": "${key}" is not a directory`);
      }
      this.dirs.add(key);
      resolved = candidate;
    }
    return resolved;
  }

  /**
   * Runs `make`, which creates the path without following a symlink there. If something is
   * already at the path it is removed first, except that an existing directory is kept for a
   * directory entry (tar merges directories).
   */
  private async create(key: string, isDir: boolean, make: () => Promise<unknown>): Promise<void> {
    try {
      await make();
      return;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    const path = this.abs(key);
    const st = await fsp.lstat(path);
    if (st.isDirectory()) {
      if (isDir) return;
      await fsp.rm(path, { recursive: true, force: true });
      this.forget(key);
    } else {
      await fsp.unlink(path);
    }
    await make();
  }

  private forget(key: string): void {
    const prefix = key + '/';
    for (const k of this.dirs) if (k === key || k.startsWith(prefix)) this.dirs.delete(k);
    for (const k of this.dirTimes.keys()) if (k === key || k.startsWith(prefix)) this.dirTimes.delete(k);
  }

  private abs(key: string): string {
    return key === '' ? this.root : this.root + '/' + key;
  }
}

async function writeFully(file: FileHandle, buffers: Buffer[], total: number): Promise<void> {
  if (total === 0) return;
  let written = (await file.writev(buffers)).bytesWritten;
  if (written === total) return;
  const rest = Buffer.concat(buffers).subarray(written);
  written = 0;
  while (written < rest.length) written += (await file.write(rest, written)).bytesWritten;
}

function owner(h: TarHeader): [number, number] {
  const id = (paxValue: string | undefined, headerValue: number | undefined, what: string): number => {
    const v = paxValue !== undefined ? Number(paxValue) : headerValue ?? 0;
    if (!Number.isSafeInteger(v) || v < 0 || v > 0xfffffffe) {
      throw new InvalidArgumentError('layer_corrupt', `layer entry "${h.name}" has an invalid ${what}`);
    }
    return v;
  };
  return [id(h.pax?.uid, h.uid, 'uid'), id(h.pax?.gid, h.gid, 'gid')];
}

function mode(h: TarHeader): number {
  return (h.mode ?? 0o644) & 0o7777;
}

/** [atime, mtime] in seconds; PAX records carry sub-second precision the ustar header lacks. */
function times(h: TarHeader): [number, number] {
  const seconds = (v: string | undefined): number | undefined => {
    const n = v === undefined ? NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const mtime = seconds(h.pax?.mtime) ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
  return [seconds(h.pax?.atime) ?? mtime, mtime];
}
