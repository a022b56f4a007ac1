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
import fs from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BerthError, InvalidArgumentError, SystemError, errnoCode } from '../errors.js';
import { decompressor, detectCompression, fileDecompressor, type Compression } from '../sys/decompress.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, lsetxattr, makedev, mknod, startWriteback } from '../sys/libc.js';
import { fileOffset } from '../sys/proc.js';
import { DigestStream } from './content.js';
import { peek } from './peek.js';

export interface UnpackResult {
  /** sha256 of the uncompressed tar stream. */
  diffId: string;
  /** Bytes of file contents and symlink targets written. */
  size: number;
  compression: Compression;
}

// tar-stream fills `pax` with the entry's PAX records (and linkname may be null at run time).
export type TarHeader = Omit<tar.Header, 'pax' | 'linkname'> & {
  linkname: string | null;
  pax?: Record<string, string> | null;
  /** Byte-exact SCHILY.xattr.* values, from RawXattrTap. */
  rawXattrs?: Map<string, Buffer>;
};

const xattrPrefix = 'SCHILY.xattr.';
const whiteoutPrefix = '.wh.';
const whiteoutMetaPrefix = '.wh..wh.';
const opaqueWhiteout = '.wh..wh..opq';
const maxSymlinkFollows = 40; // Linux's own limit (ELOOP)
const writeBatchBytes = 256 * 1024;
/**
 * Files at least this big start going to disk as soon as they are written (see
 * Extractor.file); smaller ones are left to the sync that makes the layer durable, which writes
 * many of them together.
 */
const earlyWritebackBytes = 256 * 1024;
/** How often a file's unpacking reports its progress: as often as a pull redraws its bars. */
const defaultProgressIntervalMs = 100;
/** tar-stream's own limit on a PAX header. */
const maxPaxBytes = 4 * 1024 * 1024;

/**
 * A layer to unpack: a stream, or a file, which igzip or zstd then read themselves (the bytes
 * do not pass through this process on their way in).
 */
export type LayerSource = Readable | { file: string };

/**
 * Unpacks `source` into `dest`, an existing empty directory. Throws InvalidArgumentError
 * 'layer_path_escape' for entries that climb out of the root, 'layer_corrupt' for archives that
 * cannot be read, and SystemError 'layer_unpack_failed' for filesystem failures (ENOSPC, ...);
 * `signal`'s reason when it aborts. On failure `dest` is left partly written; the caller
 * removes it. A file's unpacking reports how many of its bytes have been read to `onProgress`,
 * every `progressIntervalMs`.
 */
export async function unpackLayer(
  source: LayerSource,
  dest: string,
  signal?: AbortSignal,
  onProgress?: (read: number) => void,
  progressIntervalMs = defaultProgressIntervalMs,
): Promise<UnpackResult> {
  if (source instanceof Readable) {
    const { head, stream } = await peek(source, 4);
    return unpackStream(stream, detectCompression(head), dest, signal);
  }
  const fd = fs.openSync(source.file, 'r');
  try {
    const head = Buffer.alloc(4);
    const compression = detectCompression(head.subarray(0, fs.readSync(fd, head, 0, 4, 0)));
    const tool = compression === 'none' ? undefined : fileDecompressor(compression, fd);
    // Without a tool for it (zlib's gzip fallback), the file is read here like any stream.
    const input = tool ?? fs.createReadStream(source.file, { fd, autoClose: false, start: 0 });
    // The tool reads through a descriptor it shares with this process, so their file offset is
    // its progress; the stream reads at positions of its own, leaving the offset alone.
    const read = tool ? () => fileOffset(fd) : () => (input as fs.ReadStream).bytesRead;
    const timer = onProgress && setInterval(() => onProgress(read()), progressIntervalMs);
    try {
      return await unpackStream(input, compression, dest, signal, tool !== undefined);
    } finally {
      clearInterval(timer);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** `decompressed`: `input` is already the output of the decompressing tool. */
async function unpackStream(input: Readable, compression: Compression, dest: string, signal?: AbortSignal, decompressed = false): Promise<UnpackResult> {
  signal?.throwIfAborted();
  const hasher = new DigestStream();
  const tap = new RawXattrTap();
  const extract = tar.extract();
  const extractor = new Extractor(dest, tap);

  // Which stream raised an error first: pipeline() re-raises the same error object from every
  // stream it destroys, and only the originator says whether the archive itself is bad.
  const origin = new WeakMap<object, string>();
  const label = (stream: NodeJS.EventEmitter, name: string): void => {
    stream.on('error', (err: unknown) => {
      if (typeof err === 'object' && err !== null && !origin.has(err)) origin.set(err, name);
    });
  };
  label(input, decompressed ? compression : 'source');
  label(extract, 'tar');
  const stages: NodeJS.ReadWriteStream[] = [];
  if (compression !== 'none' && !decompressed) {
    const d = decompressor(compression);
    label(d, compression);
    stages.push(d);
  }

  let feedError: unknown;
  let consumeError: unknown;
  // tar-stream's streamx Writable works with pipeline() but is not typed as a Node stream.
  const feed = pipeline([input, ...stages, hasher, tap, extract as unknown as NodeJS.WritableStream]).catch((err: unknown) => {
    feedError = err;
  });
  const consume = (async () => {
    // streamx streams are async iterables at run time; their typings omit it.
    for await (const entry of extract) await extractor.entry(entry.header as TarHeader, entry as unknown as AsyncIterable<Buffer>);
    extractor.finish();
  })().catch((err: unknown) => {
    consumeError = err;
    input.destroy();
  });
  const onAbort = (): void => {
    input.destroy(signal?.reason as Error);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all([feed, consume]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  signal?.throwIfAborted();

  // An error of the extraction itself (an escape, ENOSPC: always a BerthError) is the cause
  // even when the pipeline, torn down because of it, reports its premature close first.
  // Otherwise a stream failed, the consumer only saw the consequence, and the first stream to
  // raise the error names it.
  if (consumeError instanceof BerthError) throw consumeError;
  // A bug in the extraction code itself shows up in the pipeline only as a premature close.
  if (consumeError !== undefined && errnoCode(feedError) === 'ERR_STREAM_PREMATURE_CLOSE') throw consumeError;
  const failure = feedError ?? consumeError;
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
  return err;
}

/** Errors from a system call (Node's fs or src/sys) name it; zlib's carry an errno but no syscall. */
function isSyscallError(err: unknown): err is Error {
  return err instanceof Error && typeof (err as { syscall?: unknown }).syscall === 'string';
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

/**
 * File system calls here are synchronous: most take a few microseconds, less than the
 * thread-pool round trip of an async call, and a layer has tens of thousands of them. The event
 * loop still turns between entries, while the archive streams in.
 */
class Extractor {
  size = 0;
  /** Keys ("a/b", "" for the root) of paths known to be real directories, not symlinks. */
  private readonly dirs = new Set<string>(['']);
  /** Directory times, applied at the end because writing into a directory changes its mtime. */
  private readonly dirTimes = new Map<string, [number, number]>();

  constructor(
    private readonly root: string,
    private readonly tap: RawXattrTap,
  ) {}

  async entry(h: TarHeader, data: AsyncIterable<Buffer>): Promise<void> {
    try {
      await this.apply(h, data);
    } catch (err) {
      if (!isSyscallError(err)) throw err;
      throw new SystemError('layer_unpack_failed', `unpacking layer entry "${h.name}" failed: ${err.message}`, { cause: err });
    }
    // Entries whose data this extraction does not use still have to be read past.
    for await (const chunk of data) void chunk;
  }

  finish(): void {
    try {
      for (const [key, [atime, mtime]] of this.dirTimes) fs.lutimesSync(this.abs(key), atime, mtime);
    } catch (err) {
      if (!isSyscallError(err)) throw err;
      throw new SystemError('layer_unpack_failed', `setting directory times failed: ${err.message}`, { cause: err });
    }
  }

  private async apply(h: TarHeader, data: AsyncIterable<Buffer>): Promise<void> {
    this.tap.attach(h);
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

  private directory(h: TarHeader, parts: string[]): void {
    let key = '';
    if (parts.length > 0) {
      const placed = this.place(h.name, parts);
      key = placed.key;
      this.create(key, true, () => fs.mkdirSync(placed.path, 0o700));
    }
    this.dirs.add(key);
    const path = this.abs(key);
    fs.lchownSync(path, ...owner(h));
    fs.chmodSync(path, mode(h));
    this.xattrs(h, path);
    this.dirTimes.set(key, times(h));
  }

  private async file(h: TarHeader, parts: string[], data: AsyncIterable<Buffer>): Promise<void> {
    const { key, path } = this.place(h.name, parts);
    const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
    let fd = -1;
    this.create(key, false, () => {
      fd = fs.openSync(path, flags, 0o600);
    });
    try {
      const written = await writeBody(fd, data, writeBatchBytes);
      this.size += written;
      // A layer counts only once it is on disk (the layer store syncs its filesystem before it
      // commits the layer). Started now, the big files' writeback overlaps the rest of the pull
      // and that sync has little left to write; left to it, the whole layer was written while
      // the pull waited.
      if (written >= earlyWritebackBytes) startWriteback(fd);
      // chown clears setuid/setgid and file capabilities, so mode and xattrs come after it.
      fs.fchownSync(fd, ...owner(h));
      fs.fchmodSync(fd, mode(h));
      this.xattrs(h, path);
      fs.futimesSync(fd, ...times(h));
    } finally {
      fs.closeSync(fd);
    }
  }

  private symlink(h: TarHeader, parts: string[]): void {
    const target = h.linkname ?? '';
    if (target === '' || target.includes('\0')) {
      throw new InvalidArgumentError('layer_corrupt', `layer symlink "${h.name}" has an invalid target`);
    }
    const { key, path } = this.place(h.name, parts);
    this.create(key, false, () => fs.symlinkSync(target, path));
    this.size += Buffer.byteLength(target);
    fs.lchownSync(path, ...owner(h));
    this.xattrs(h, path);
    fs.lutimesSync(path, ...times(h));
  }

  /**
   * The link shares the target's inode, which already carries its owner, mode and times from
   * its own entry, so the link entry's metadata is not applied.
   */
  private hardlink(h: TarHeader, parts: string[]): void {
    const targetParts = entryComponents(h.linkname ?? '', `hard link target of "${h.name}":`);
    const targetName = targetParts[targetParts.length - 1];
    const missing = (): InvalidArgumentError =>
      new InvalidArgumentError('layer_corrupt', `layer hard link "${h.name}" points to "${h.linkname}", which is not a file in the layer`);
    if (targetName === undefined) throw missing();
    const targetDir = this.resolveDir(h.name, targetParts.slice(0, -1), false);
    if (targetDir === undefined) throw missing();
    const targetKey = [...targetDir, targetName].join('/');
    const st = fs.lstatSync(this.abs(targetKey), { throwIfNoEntry: false });
    if (st === undefined || st.isDirectory()) throw missing();
    const { key, path } = this.place(h.name, parts);
    if (key === targetKey) return;
    this.create(key, false, () => fs.linkSync(this.abs(targetKey), path));
  }

  private special(h: TarHeader, parts: string[]): void {
    const type = h.type === 'fifo' ? S_IFIFO : h.type === 'character-device' ? S_IFCHR : S_IFBLK;
    const { key, path } = this.place(h.name, parts);
    this.create(key, false, () => mknod(path, type | 0o600, makedev(h.devmajor ?? 0, h.devminor ?? 0)));
    fs.lchownSync(path, ...owner(h));
    fs.chmodSync(path, mode(h));
    this.xattrs(h, path);
    fs.lutimesSync(path, ...times(h));
  }

  /**
   * OCI whiteouts become overlayfs ones: `.wh.name` a 0:0 character device at `name`,
   * `.wh..wh..opq` the opaque xattr on its directory. Other `.wh..wh.` names are aufs
   * bookkeeping with no meaning here.
   */
  private whiteout(h: TarHeader, parts: string[], base: string): void {
    const dirParts = parts.slice(0, -1);
    if (base === opaqueWhiteout) {
      const dir = this.resolveDir(h.name, dirParts, true) as string[];
      lsetxattr(this.abs(dir.join('/')), 'trusted.overlay.opaque', Buffer.from('y'));
      return;
    }
    if (base.startsWith(whiteoutMetaPrefix)) return;
    const name = base.slice(whiteoutPrefix.length);
    if (name === '' || name === '.' || name === '..') {
      throw new InvalidArgumentError('layer_corrupt', `layer entry "${h.name}" is not a valid whiteout`);
    }
    const { key, path } = this.place(h.name, [...dirParts, name]);
    this.create(key, false, () => mknod(path, S_IFCHR, makedev(0, 0)));
    fs.lchownSync(path, ...owner(h));
  }

  /** Applies SCHILY.xattr.* records. overlayfs's own trusted.overlay.* are never taken from a layer. */
  private xattrs(h: TarHeader, path: string): void {
    for (const [key, value] of Object.entries(h.pax ?? {})) {
      if (!key.startsWith(xattrPrefix)) continue;
      const name = key.slice(xattrPrefix.length);
      if (name.startsWith('trusted.overlay.')) continue;
      try {
        lsetxattr(path, name, h.rawXattrs?.get(key) ?? Buffer.from(value, 'utf8'));
      } catch (err) {
        // As docker does: filesystems without xattrs, and xattr namespaces a file type cannot
        // carry (user.* on a symlink), are not a reason to refuse the image.
        const code = errnoCode(err);
        if (code !== 'EOPNOTSUPP' && code !== 'ENOTSUP' && code !== 'EPERM') throw err;
      }
    }
  }

  /** Resolves an entry's parent inside the root (creating missing directories); the final component is not looked at. */
  private place(entryName: string, parts: string[]): { key: string; path: string } {
    const dir = this.resolveDir(entryName, parts.slice(0, -1), true) as string[];
    const key = [...dir, parts[parts.length - 1]].join('/');
    return { key, path: this.abs(key) };
  }

  /**
   * Resolves directory components inside the root, following symlinks with the root as "/"
   * and ".." in their targets clamped at the root. Missing directories are created (0755,
   * as docker does) when `create`; otherwise a missing one makes the result undefined.
   */
  private resolveDir(entryName: string, parts: string[], create: boolean): string[] | undefined {
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
      const st = fs.lstatSync(path, { throwIfNoEntry: false });
      if (st === undefined) {
        if (!create) return undefined;
        fs.mkdirSync(path, 0o755);
      } else if (st.isSymbolicLink()) {
        if (++follows > maxSymlinkFollows) {
          throw new InvalidArgumentError('layer_corrupt', `layer entry "${entryName}": too many levels of symbolic links`);
        }
        const target = fs.readlinkSync(path);
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
  private create(key: string, isDir: boolean, make: () => void): void {
    try {
      make();
      return;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    const path = this.abs(key);
    if (fs.lstatSync(path).isDirectory()) {
      if (isDir) return;
      fs.rmSync(path, { recursive: true, force: true });
      this.forget(key);
    } else {
      fs.unlinkSync(path);
    }
    make();
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

/**
 * Writes a tar entry's body to `fd`, gathering chunks into one writev per `batchBytes`:
 * a syscall per 512-byte tar chunk would dominate unpacking. Returns the bytes written.
 */
export async function writeBody(fd: number, data: AsyncIterable<Buffer>, batchBytes: number): Promise<number> {
  let total = 0;
  let batch: Buffer[] = [];
  let batched = 0;
  for await (const chunk of data) {
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= batchBytes) {
      writeFully(fd, batch, batched);
      total += batched;
      batch = [];
      batched = 0;
    }
  }
  writeFully(fd, batch, batched);
  return total + batched;
}

export function writeFully(fd: number, buffers: Buffer[], total: number): void {
  if (total === 0) return;
  let written = fs.writevSync(fd, buffers);
  if (written === total) return;
  const rest = Buffer.concat(buffers).subarray(written);
  written = 0;
  while (written < rest.length) written += fs.writeSync(fd, rest, written);
}

export function owner(h: TarHeader): [number, number] {
  const id = (paxValue: string | undefined, headerValue: number | undefined, what: string): number => {
    const v = paxValue !== undefined ? Number(paxValue) : headerValue ?? 0;
    if (!Number.isSafeInteger(v) || v < 0 || v > 0xfffffffe) {
      throw new InvalidArgumentError('layer_corrupt', `layer entry "${h.name}" has an invalid ${what}`);
    }
    return v;
  };
  return [id(h.pax?.uid, h.uid, 'uid'), id(h.pax?.gid, h.gid, 'gid')];
}

export function mode(h: TarHeader): number {
  return (h.mode ?? 0o644) & 0o7777;
}

/** [atime, mtime] in seconds; PAX records carry sub-second precision the ustar header lacks. */
export function times(h: TarHeader): [number, number] {
  const seconds = (v: string | undefined): number | undefined => {
    const n = v === undefined ? NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const mtime = seconds(h.pax?.mtime) ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
  return [seconds(h.pax?.atime) ?? mtime, mtime];
}

/**
 * tar-stream decodes PAX records as UTF-8 text, which corrupts binary xattr values such as
 * security.capability. This pass-through, placed just before tar-stream, follows the same tar
 * framing (mirroring tar-stream's quirks) and queues each entry's raw SCHILY.xattr.* values.
 * attach() hands them to the matching entry only after checking that they decode to exactly the
 * strings tar-stream produced; on any disagreement the tap stops being used and the decoded
 * strings are applied as they are.
 */
export class RawXattrTap extends Transform {
  private readonly queue: { size: number; xattrs: Map<string, Buffer> }[] = [];
  private lost = false;
  private readonly header = Buffer.alloc(512);
  private headerFill = 0;
  private skipLeft = 0;
  private capture: { global: boolean; size: number; chunks: Buffer[]; left: number } | undefined;
  private pax: Map<string, Buffer> | undefined;
  private globalPax: Map<string, Buffer> | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.lost) this.scan(chunk);
    cb(null, chunk);
  }

  /** Sets h.rawXattrs for the entry tar-stream has just emitted. */
  attach(h: TarHeader): void {
    const next = this.queue.shift();
    if (this.lost || next === undefined || next.size !== h.size) {
      this.lost = true;
      return;
    }
    const decoded = Object.keys(h.pax ?? {}).filter((k) => k.startsWith(xattrPrefix));
    const matches =
      decoded.length === next.xattrs.size && decoded.every((k) => next.xattrs.get(k)?.toString('utf8') === h.pax?.[k]);
    if (!matches) {
      this.lost = true;
      return;
    }
    if (next.xattrs.size > 0) h.rawXattrs = next.xattrs;
  }

  private scan(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.lost) {
      const available = chunk.length - off;
      if (this.capture !== undefined) {
        const n = Math.min(this.capture.left, available);
        this.capture.chunks.push(Buffer.from(chunk.subarray(off, off + n)));
        this.capture.left -= n;
        off += n;
        if (this.capture.left === 0) this.captured(this.capture);
      } else if (this.skipLeft > 0) {
        const n = Math.min(this.skipLeft, available);
        this.skipLeft -= n;
        off += n;
      } else {
        const n = Math.min(512 - this.headerFill, available);
        chunk.copy(this.header, this.headerFill, off, off + n);
        this.headerFill += n;
        off += n;
        if (this.headerFill === 512) {
          this.headerFill = 0;
          this.onHeader(this.header);
        }
      }
    }
  }

  private onHeader(h: Buffer): void {
    let sum = 8 * 32;
    for (let i = 0; i < 148; i++) sum += h[i];
    for (let i = 156; i < 512; i++) sum += h[i];
    if (sum === 8 * 32) return; // an all-zero block: end of archive
    const size = headerSize(h);
    if (!Number.isSafeInteger(size) || size < 0) {
      this.lost = true;
      return;
    }
    switch (h[156]) {
      case 0x78: // 'x': PAX records for the next entry
      case 0x67: // 'g': global PAX records
        if (size > maxPaxBytes) {
          this.lost = true; // tar-stream refuses it too
          return;
        }
        this.capture = { global: h[156] === 0x67, size, chunks: [], left: size };
        if (size === 0) this.captured(this.capture);
        return;
      case 0x4b: // 'K', 'L', 'N': GNU long names
      case 0x4c:
      case 0x4e:
        this.skipLeft = size + padding(size);
        return;
    }
    const pax = this.pax;
    this.pax = undefined;
    let dataSize = size;
    const paxSize = pax?.get('size');
    if (paxSize !== undefined && paxSize.length > 0) dataSize = parseInt(paxSize.toString('utf8'), 10);
    if (!Number.isSafeInteger(dataSize) || dataSize < 0) {
      this.lost = true;
      return;
    }
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of pax ?? []) if (k.startsWith(xattrPrefix)) xattrs.set(k, v);
    this.queue.push({ size: dataSize, xattrs });
    // tar-stream reads no data after a directory header, whatever its size field says.
    const nameEnd = h.subarray(0, 100).indexOf(0);
    const slashName = h[(nameEnd === -1 ? 100 : nameEnd) - 1] === 0x2f;
    const isDir = h[156] === 0x35 || ((h[156] === 0 || h[156] === 0x30) && slashName);
    this.skipLeft = isDir ? 0 : dataSize + padding(dataSize);
  }

  private captured(capture: { global: boolean; size: number; chunks: Buffer[] }): void {
    this.capture = undefined;
    const records = parsePaxRecords(Buffer.concat(capture.chunks));
    if (capture.global) this.globalPax = records;
    else this.pax = this.globalPax === undefined ? records : new Map([...this.globalPax, ...records]);
    this.skipLeft = padding(capture.size);
  }
}

/** "<length> <key>=<value>\n" records, as tar-stream splits them, values kept as bytes. */
function parsePaxRecords(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  while (buf.length > 0) {
    let i = 0;
    while (i < buf.length && buf[i] !== 0x20) i++;
    const len = parseInt(buf.subarray(0, i).toString('utf8'), 10);
    if (!len) break;
    const record = buf.subarray(i + 1, len - 1);
    const eq = record.indexOf(0x3d);
    if (eq === -1) break;
    out.set(record.subarray(0, eq).toString('utf8'), Buffer.from(record.subarray(eq + 1)));
    buf = buf.subarray(len);
  }
  return out;
}

/** The size field: octal text, or base-256 when the high bit of its first byte is set. */
function headerSize(h: Buffer): number {
  const field = h.subarray(124, 136);
  if (field[0] & 0x80) {
    let n = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return n;
  }
  let start = 0;
  while (start < field.length && field[start] === 0x20) start++;
  let end = field.indexOf(0x20, start);
  if (end === -1) end = field.length;
  while (start < end && field[start] === 0) start++;
  return end === start ? 0 : parseInt(field.subarray(start, end).toString('latin1'), 8);
}

function padding(size: number): number {
  return (512 - (size % 512)) % 512;
}
