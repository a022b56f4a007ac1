// Content-addressed blob store. A blob becomes visible under its digest only after its bytes
// have been hashed to that digest: it is written to a temp file, fsynced, then renamed.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp, type ReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, NotFoundError, errnoCode } from '../errors.js';

const digestPattern = /^sha256:[a-f0-9]{64}$/;

export function checkDigest(digest: string): void {
  if (!digestPattern.test(digest)) {
    throw new InvalidArgumentError('invalid_digest', `invalid digest "${digest}": expected sha256: followed by 64 lowercase hex digits`);
  }
}

export function sha256Digest(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** A pass-through stream that hashes what flows through it. */
export class DigestStream extends Transform {
  private readonly hash = createHash('sha256');
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

export class ContentStore {
  readonly dir: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.dir = join(root, 'content', 'blobs', 'sha256');
    this.tmpDir = join(root, 'content', 'tmp');
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    await fsp.mkdir(this.tmpDir, { recursive: true });
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

  async read(digest: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.path(digest));
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

  async delete(digest: string): Promise<void> {
    await fsp.rm(this.path(digest), { force: true });
  }

  async list(): Promise<string[]> {
    const names = await fsp.readdir(this.dir);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => 'sha256:' + n);
  }

  /** Removes temp files left by a crashed writer. Only files older than `olderThanMs`. */
  async cleanTemp(olderThanMs: number): Promise<void> {
    const now = Date.now();
    for (const name of await fsp.readdir(this.tmpDir)) {
      const p = join(this.tmpDir, name);
      const st = await fsp.stat(p).catch(() => undefined);
      if (st && now - st.mtimeMs > olderThanMs) await fsp.rm(p, { force: true });
    }
  }

  private tmpPath(): string {
    return join(this.tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  }
}

/**
 * A blob written in pieces, possibly over several connections: every byte is hashed as it is
 * appended, and the blob appears under its digest only when commit() finds the whole matches.
 */
export class BlobWriter {
  size = 0;
  private hash = createHash('sha256');
  private closed = false;
  /** The last write issued: a piece abandoned mid-way may still have one in flight. */
  private lastWrite: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly content: ContentStore,
    private readonly tmp: string,
    private readonly fh: FileHandle,
  ) {}

  /** A stream appending to the blob; one per piece, ended without ending the blob. */
  sink(): Writable {
    return new Writable({
      highWaterMark: 1 << 20,
      writev: (chunks, cb) => {
        const buffers = chunks.map((c) => c.chunk as Buffer);
        for (const b of buffers) {
          this.hash.update(b);
          this.size += b.length;
        }
        this.lastWrite = this.fh.writev(buffers).then(() => cb(), cb);
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
    this.hash = createHash('sha256');
    this.size = 0;
  }

  /** Checks the whole blob against `expected`, flushes it and makes it visible; removes it on mismatch. */
  async commit(expected: string): Promise<void> {
    checkDigest(expected);
    try {
      const digest = 'sha256:' + this.hash.digest('hex');
      if (digest !== expected) {
        throw new InvalidArgumentError('digest_mismatch', `content digest mismatch: expected ${expected}, got ${digest}`);
      }
      await this.fh.sync();
      await this.close();
      await fsp.rename(this.tmp, this.content.path(expected));
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  async abort(): Promise<void> {
    await this.close();
    await fsp.rm(this.tmp, { force: true });
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.settled();
    await this.fh.close();
  }
}
