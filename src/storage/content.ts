// Content-addressed blob store. A blob becomes visible under its digest only after its bytes
// have been hashed to that digest: it is written to a temp file, fsynced, then renamed.
// Downloads write to content/ingest/<hex> instead, a partial blob that outlives the process (a
// killed pull) so that the next download of that digest continues where it stopped.
import type { Hash } from 'node:crypto';
import { lazy } from '../builtins.js';
import { randomBytes } from '../sys/random.js';
import { createReadStream, createWriteStream, mkdirSync, promises as fsp, readFileSync, type ReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, NotFoundError, errnoCode } from '../errors.js';
import { tryLock, type FileLock } from '../sys/lock.js';
import { startWritebackInBackground } from '../sys/libc.js';

const digestPattern = /^sha256:[a-f0-9]{64}$/;

export function checkDigest(digest: string): void {
  if (!digestPattern.test(digest)) {
    throw new InvalidArgumentError('invalid_digest', `invalid digest "${digest}": expected sha256: followed by 64 lowercase hex digits`);
  }
}

export function sha256Digest(data: Buffer | string): string {
  return 'sha256:' + lazy.crypto.createHash('sha256').update(data).digest('hex');
}

/** A pass-through stream that hashes what flows through it. */
export class DigestStream extends Transform {
  private readonly hash = lazy.crypto.createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.push(chunk);
    cb();
  }
  digest(): string {
    return 'sha256:' + this.hash.digest('hex');
  }
}

/** Bytes read at a time when a partial blob's bytes are hashed again. */
const rehashChunk = 1 << 20;

export class ContentStore {
  readonly dir: string;
  private readonly tmpDir: string;
  private readonly ingestDir: string;
  private readonly gzipDir: string;

  constructor(root: string) {
    this.dir = join(root, 'content', 'blobs', 'sha256');
    this.tmpDir = join(root, 'content', 'tmp');
    this.ingestDir = join(root, 'content', 'ingest');
    this.gzipDir = join(root, 'content', 'gzip-of');
  }

  /** Synchronous: every berth command opens the store, and three thread-pool round trips cost more than the mkdirs. */
  init(): void {
    for (const d of [this.dir, this.tmpDir, this.ingestDir]) mkdirSync(d, { recursive: true });
  }

  path(digest: string): string {
    checkDigest(digest);
    return join(this.dir, digest.slice('sha256:'.length));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await fsp.access(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  async size(digest: string): Promise<number> {
    return (await fsp.stat(this.path(digest))).size;
  }

  async stat(digest: string): Promise<{ size: number; mtimeMs: number } | undefined> {
    return fsp.stat(this.path(digest)).catch(() => undefined);
  }

  /**
   * A document blob (a config, a manifest: a few KiB). Read at once: fs.promises would take
   * four thread-pool round trips and, at the first use in a process, about 1 ms to load.
   */
  async read(digest: string): Promise<Buffer> {
    try {
      return readFileSync(this.path(digest));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new NotFoundError('blob_not_found', `blob ${digest} not found in the content store`);
      throw err;
    }
  }

  open(digest: string): ReadStream {
    return createReadStream(this.path(digest));
  }

  /** Stores bytes already in memory; `expected` (when given) must match. */
  async put(data: Buffer, expected?: string): Promise<string> {
    if (expected !== undefined) checkDigest(expected);
    const digest = sha256Digest(data);
    if (expected !== undefined && expected !== digest) {
      throw new InvalidArgumentError('digest_mismatch', `content digest mismatch: expected ${expected}, got ${digest}`);
    }
    if (await this.has(digest)) return digest;
    const tmp = this.tmpPath();
    try {
      const fh = await fsp.open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, this.path(digest));
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    return digest;
  }

  /**
   * Streams a blob in. The digest is checked on the fly; on mismatch the temp file is removed
   * and nothing is stored.
   */
  async ingest(source: Readable, expected?: string): Promise<{ digest: string; size: number }> {
    if (expected !== undefined) checkDigest(expected);
    const tmp = this.tmpPath();
    const hasher = new DigestStream();
    try {
      await pipeline(source, hasher, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
      const digest = hasher.digest();
      if (expected !== undefined && expected !== digest) {
        throw new InvalidArgumentError('digest_mismatch', `content digest mismatch: expected ${expected}, got ${digest}`);
      }
      const fh = await fsp.open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, this.path(digest));
      return { digest, size: hasher.size };
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  /** A blob to be written in pieces, e.g. a download that resumes after a cut connection. */
  async writer(): Promise<BlobWriter> {
    const tmp = this.tmpPath();
    return new BlobWriter(this, tmp, await fsp.open(tmp, 'ax', 0o644));
  }

  /**
   * A writer for the blob `digest` whose bytes survive this process: it continues the partial
   * blob an earlier download left (its bytes hashed again first, `size` saying how many there
   * are), and keeps what it wrote when aborted, so that the next download resumes from there.
   * Partials longer than `maxSize` (the descriptor's size) start over. While one process writes
   * a partial (a lock held on it), another gets a private temp file instead.
   */
  async resumableWriter(digest: string, maxSize: number): Promise<BlobWriter> {
    const path = this.ingestPath(digest);
    const lock = tryLock(path);
    if (!lock) return this.writer();
    try {
      const fh = await fsp.open(path, 'r+');
      try {
        let { size } = await fh.stat();
        if (size > maxSize) {
          await fh.truncate(0);
          size = 0;
        }
        const hash = lazy.crypto.createHash('sha256');
        const buf = Buffer.allocUnsafe(Math.min(rehashChunk, Math.max(size, 1)));
        for (let pos = 0; pos < size; ) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
          if (bytesRead === 0) break;
          hash.update(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
        return new BlobWriter(this, path, fh, { lock, size, hash });
      } catch (err) {
        await fh.close();
        throw err;
      }
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** The gzip blob made from the uncompressed blob `digest` for a push, if it is still stored. */
  async gzipOf(digest: string): Promise<string | undefined> {
    checkDigest(digest);
    const known = await fsp.readFile(join(this.gzipDir, digest.slice('sha256:'.length)), 'utf8').catch(() => undefined);
    if (known === undefined || !digestPattern.test(known) || !(await this.has(known))) return undefined;
    return known;
  }

  /** Remembers that `gzip` is the compressed form of the uncompressed blob `digest`. */
  async rememberGzip(digest: string, gzip: string): Promise<void> {
    checkDigest(digest);
    checkDigest(gzip);
    await fsp.mkdir(this.gzipDir, { recursive: true });
    const tmp = this.tmpPath();
    await fsp.writeFile(tmp, gzip, { mode: 0o644 });
    await fsp.rename(tmp, join(this.gzipDir, digest.slice('sha256:'.length)));
  }

  async delete(digest: string): Promise<void> {
    await fsp.rm(this.path(digest), { force: true });
  }

  async list(): Promise<string[]> {
    const names = await fsp.readdir(this.dir);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => 'sha256:' + n);
  }

  /**
   * Removes temp files left by a crashed writer and partial downloads nobody resumed, both only
   * when older than `olderThanMs` (a partial being written is also locked, and kept), and
   * gzip records whose blobs are gone.
   */
  async cleanTemp(olderThanMs: number): Promise<void> {
    const now = Date.now();
    const old = async (p: string): Promise<boolean> => {
      const st = await fsp.stat(p).catch(() => undefined);
      return st !== undefined && now - st.mtimeMs > olderThanMs;
    };
    for (const name of await fsp.readdir(this.tmpDir)) {
      if (await old(join(this.tmpDir, name))) await fsp.rm(join(this.tmpDir, name), { force: true });
    }
    for (const name of await readdirIfAny(this.ingestDir)) {
      const p = join(this.ingestDir, name);
      if (!(await old(p))) continue;
      const lock = tryLock(p);
      if (!lock) continue;
      try {
        await fsp.rm(p, { force: true });
      } finally {
        lock.release();
      }
    }
    for (const name of await readdirIfAny(this.gzipDir)) {
      if (/^[a-f0-9]{64}$/.test(name) && !(await this.has('sha256:' + name))) await fsp.rm(join(this.gzipDir, name), { force: true });
    }
  }

  private ingestPath(digest: string): string {
    checkDigest(digest);
    return join(this.ingestDir, digest.slice('sha256:'.length));
  }

  private tmpPath(): string {
    return join(this.tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  }
}

async function readdirIfAny(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/**
 * A blob written in pieces, possibly over several connections (or processes, for a partial in
 * content/ingest/): every byte is hashed as it is appended, and the blob appears under its
 * digest only once verify() has found the whole matches and publish() that it is on disk.
 */
export class BlobWriter {
  size: number;
  private hash: Hash;
  private closed = false;
  /** The last write issued: a piece abandoned mid-way may still have one in flight. */
  private lastWrite: Promise<unknown> = Promise.resolve();
  private readonly lock?: FileLock;
  /** The digest verify() found the bytes hash to. */
  private verified: string | undefined;

  constructor(
    private readonly content: ContentStore,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    /** For a resumable partial: its lock and the bytes already in it, hashed. */
    partial?: { lock: FileLock; size: number; hash: Hash },
  ) {
    this.lock = partial?.lock;
    this.size = partial?.size ?? 0;
    this.hash = partial?.hash ?? lazy.crypto.createHash('sha256');
  }

  /** Whether the bytes survive abort() for a later writer of the same digest. */
  get resumable(): boolean {
    return this.lock !== undefined;
  }

  /** A stream appending to the blob; one per piece, ended without ending the blob. */
  sink(): Writable {
    return new Writable({
      highWaterMark: 1 << 20,
      writev: (chunks, cb) => {
        const buffers = chunks.map((c) => c.chunk as Buffer);
        // Positioned: a resumed partial is open for reading too, not in append mode.
        const position = this.size;
        for (const b of buffers) {
          this.hash.update(b);
          this.size += b.length;
        }
        this.lastWrite = this.fh.writev(buffers, position).then(() => cb(), cb);
      },
    });
  }

  /** Waits for the writes of abandoned pieces, so that the next piece lands after them. */
  async settled(): Promise<void> {
    await this.lastWrite;
  }

  /** Starts over from nothing (a server that ignored a range request sends everything again). */
  async reset(): Promise<void> {
    await this.settled();
    await this.fh.truncate(0);
    this.hash = lazy.crypto.createHash('sha256');
    this.size = 0;
  }

  /** Where the blob's bytes are until publish() puts them under their digest. */
  get path(): string {
    return this.tmp;
  }

  /**
   * Checks the whole blob against `expected` (removing it on a mismatch) and starts writing it
   * out to disk. Its bytes may be read at `path` from then on: a pull unpacks a layer from
   * there. publish() makes it visible.
   */
  async verify(expected: string): Promise<void> {
    checkDigest(expected);
    try {
      const digest = 'sha256:' + this.hash.digest('hex');
      if (digest !== expected) {
        throw new InvalidArgumentError('digest_mismatch', `content digest mismatch: expected ${expected}, got ${digest}`);
      }
      await this.settled();
      // Not a flush: an fsync in the middle of a pull waited for all the layer files being
      // written out too, and held up their writes meanwhile. publish() flushes.
      await startWritebackInBackground(this.fh.fd);
    } catch (err) {
      await this.discard();
      throw err;
    }
    this.verified = expected;
  }

  /**
   * Makes a verified blob visible under its digest once its bytes are on disk (a blob is never
   * visible before: after a crash it could be there with bytes missing); removes it if they
   * cannot be written. Its flush has nothing left to do when the caller has synced the whole
   * filesystem since verify().
   */
  async publish(): Promise<void> {
    if (this.verified === undefined) throw new Error('publish() of a blob that was not verified');
    try {
      await this.fh.sync();
      await fsp.rename(this.tmp, this.content.path(this.verified));
      await this.close();
    } catch (err) {
      await this.discard();
      throw err;
    }
  }

  /** Stops writing: a resumable partial keeps its bytes for the next download, a temp file goes. */
  async abort(): Promise<void> {
    if (!this.resumable || this.size === 0) return this.discard();
    await this.close();
  }

  /** Stops writing and removes what was written. */
  async discard(): Promise<void> {
    // Removed before the lock goes, so that no other writer picks up the bytes meanwhile.
    await this.settled().catch(() => undefined);
    await fsp.rm(this.tmp, { force: true });
    await this.close();
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.settled();
      await this.fh.close();
    } finally {
      this.lock?.release();
    }
  }
}
