// Image archives: `docker save` tarballs and OCI image layouts, in and out. This module reads
// and writes the tar stream and owns the load transaction (ingest everything, plan, commit,
// clean up); docker.ts and oci.ts understand the two formats' metadata.
import { posix } from 'node:path';
import { Readable, Transform, type Duplex, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BerthError, InvalidArgumentError } from '../../errors.js';
import { DigestStream, sha256Digest, type ContentStore } from '../../storage/content.js';
import { decompressor, detectCompression, type Compression } from '../../sys/decompress.js';
import { peek } from '../../storage/peek.js';
import { familiarString, formatReference, fullName, parseReference, withDefaultTag, type Reference } from '../reference.js';
import type { ImageLayerInput, ImageStore } from '../store.js';
import { planDockerLoad, writeDockerArchive } from './docker.js';
import { planOciLoad, writeOciArchive } from './oci.js';

/** A regular file of the archive, stored in the content store under `digest`. */
export interface ArchiveFile {
  digest: string;
  size: number;
  compression: Compression;
  /** sha256 of the decompressed bytes (the diff ID, if it is a layer); the digest when not compressed. */
  diffId?: string;
  /** Why decompressing failed, when the file looked compressed but was not readable. */
  diffIdError?: string;
}

type TarEntry = AsyncIterable<Buffer> & { header: tar.Header };
type TarHeader = Partial<tar.Header> & { name: string };

/** Small top-level files that describe the archive; kept in memory, never in the content store. */
const metadataFiles = new Set(['manifest.json', 'index.json', 'oci-layout', 'repositories']);
const maxMetadataBytes = 32 << 20;
const maxLinkHops = 16;

export function invalidArchive(message: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError('invalid_archive', `invalid image archive: ${message}`, { cause });
}

/** What a load read from the archive, and the content store it put the files into. */
export class LoadSession {
  readonly files = new Map<string, ArchiveFile>();
  readonly links = new Map<string, string>();
  readonly metadata = new Map<string, Buffer>();
  /** Digests of blobs this load brought into the store (not there before): removed unless an image keeps them. */
  readonly added = new Set<string>();

  constructor(readonly content: ContentStore) {}

  /** The file at `path`, following links inside the archive. */
  file(path: string): ArchiveFile | undefined {
    let name = normalizeName(path);
    for (let hops = 0; hops <= maxLinkHops; hops++) {
      const f = this.files.get(name);
      if (f) return f;
      const target = this.links.get(name);
      if (target === undefined) return undefined;
      name = target;
    }
    return undefined;
  }

  /** A blob the archive itself ships (one merely present in the store does not count). */
  blob(digest: string): ArchiveFile | undefined {
    return /^sha256:[a-f0-9]{64}$/.test(digest) ? this.file(`blobs/sha256/${digest.slice(7)}`) : undefined;
  }

  json(name: string): unknown {
    const bytes = this.metadata.get(name);
    if (bytes === undefined) return undefined;
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw invalidArchive(`${name} is not valid JSON: ${(err as Error).message}`);
    }
  }

  async blobJson(digest: string, what: string): Promise<unknown> {
    try {
      return JSON.parse((await this.content.read(digest)).toString('utf8'));
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw invalidArchive(`${what} ${digest} is not valid JSON: ${(err as Error).message}`);
    }
  }

  /** Stores bytes this load creates (a synthesized manifest), cleaned up like ingested files. */
  async put(data: Buffer): Promise<string> {
    const existed = await this.content.has(sha256Digest(data));
    const digest = await this.content.put(data);
    if (!existed) this.added.add(digest);
    return digest;
  }
}

/** One image to register, as a format planned it from the archive. */
export interface LoadPlan {
  config: string;
  layers: ImageLayerInput[];
  manifest: string;
  /** Normalized names (docker.io/library/busybox:latest). */
  tags: string[];
}

/** An image chosen for saving, with the names it is saved under (normalized). */
export interface SaveImage {
  id: string;
  names: string[];
}

export interface ArchiveWriter {
  dir(name: string, mtime: Date): Promise<void>;
  file(name: string, data: Buffer, mtime: Date): Promise<void>;
  stream(name: string, size: number, source: Readable, mtime: Date): Promise<void>;
  symlink(name: string, target: string, mtime: Date): Promise<void>;
}

/**
 * `docker load`: reads a Docker archive or an OCI image layout (plain, gzip or zstd) and
 * registers its images. All or nothing: on any error no image, tag, layer or blob that this
 * load created is left behind.
 */
export async function loadArchive(
  source: Readable,
  stores: { content: ContentStore; images: ImageStore },
): Promise<{ loaded: { id: string; tags: string[] }[] }> {
  const { content, images } = stores;
  const session = new LoadSession(content);
  try {
    await readArchive(source, session);
    let plans: LoadPlan[];
    if (session.metadata.has('manifest.json')) plans = await planDockerLoad(session);
    else if (session.metadata.has('index.json')) plans = await planOciLoad(session);
    else throw invalidArchive('it has neither manifest.json (docker save) nor index.json (OCI image layout)');
    return { loaded: await commitPlans(mergePlans(plans), images) };
  } finally {
    for (const digest of session.added) {
      if (!images.blobReferenced(digest)) await content.delete(digest);
    }
  }
}

/** `docker save`: the images named by `refs` into one archive, in Docker's or the OCI format. */
export async function saveArchive(
  refs: string[],
  out: Writable,
  stores: { content: ContentStore; images: ImageStore },
  opts: { format: 'docker' | 'oci' },
): Promise<void> {
  if (opts.format !== 'docker' && opts.format !== 'oci') {
    throw new InvalidArgumentError('invalid_format', `invalid archive format "${String(opts.format)}": use docker or oci`);
  }
  if (refs.length === 0) throw new InvalidArgumentError('no_images', 'no image to save: give at least one image name or ID');
  const selection = selectImages(refs, stores.images);
  const pack = tar.pack();
  const writing = pipeline(pack, out);
  // Keeps an early failure of `out` from going unhandled while entries are still being produced.
  writing.catch(() => undefined);
  try {
    const writer = packWriter(pack);
    if (opts.format === 'docker') await writeDockerArchive(selection, writer, stores);
    else await writeOciArchive(selection, writer, stores);
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    throw err;
  }
  await writing;
}

/**
 * The images `refs` name, as Docker's save picks them: a name without tag takes every tag of
 * that repository, a tagged name that tag, an ID (or digest reference) the image without a name.
 */
function selectImages(refs: string[], images: ImageStore): SaveImage[] {
  const byId = new Map<string, string[]>();
  const add = (id: string, name?: string): void => {
    const names = byId.get(id) ?? [];
    if (name !== undefined && !names.includes(name)) names.push(name);
    byId.set(id, names);
  };
  for (const ref of refs) {
    let parsed: Reference | undefined;
    try {
      parsed = parseReference(ref);
    } catch {
      // Not a name: an image ID, which resolve() understands.
    }
    if (parsed && parsed.tag === undefined && parsed.digest === undefined) {
      const repo = fullName(parsed);
      const tagged = images.list().flatMap((img) => img.tags.filter((t) => fullName(parseReference(t)) === repo).map((t) => [img.id, t] as const));
      if (tagged.length > 0) {
        for (const [id, t] of tagged) add(id, t);
        continue;
      }
    }
    const img = images.resolve(ref);
    add(img.id, parsed?.tag !== undefined && parsed.digest === undefined ? formatReference(parsed) : undefined);
  }
  return [...byId].map(([id, names]) => ({ id, names }));
}

function mergePlans(plans: LoadPlan[]): LoadPlan[] {
  const byConfig = new Map<string, LoadPlan>();
  for (const p of plans) {
    const seen = byConfig.get(p.config);
    if (seen) seen.tags.push(...p.tags.filter((t) => !seen.tags.includes(t)));
    else byConfig.set(p.config, { ...p, tags: [...p.tags] });
  }
  return [...byConfig.values()];
}

/**
 * Registers every image first and names them only once all are in, so that a failure part way
 * can be undone by deleting the images this load created, without having moved any tag.
 */
async function commitPlans(plans: LoadPlan[], images: ImageStore): Promise<{ id: string; tags: string[] }[]> {
  const created: string[] = [];
  try {
    for (const plan of plans) {
      const existing = images.get(plan.config);
      // An image already here keeps its manifest: it may be the one a registry serves.
      await images.commitImage({ config: plan.config, layers: plan.layers, manifest: existing?.manifest ? undefined : plan.manifest });
      if (!existing) created.push(plan.config);
    }
  } catch (err) {
    for (const id of created.reverse()) await images.delete(id);
    throw err;
  }
  for (const plan of plans) for (const t of plan.tags) images.tag(t, plan.config);
  return plans.map((p) => ({ id: p.config, tags: p.tags.map((t) => familiarString(parseReference(t))) }));
}

/** Normalizes a name from an archive (`busybox:latest`, `docker.io/library/busybox`). */
export function archiveTag(name: string, where: string): string {
  let ref: Reference;
  try {
    ref = parseReference(name);
  } catch (err) {
    throw invalidArchive(`${where} has an invalid image name "${name}": ${(err as Error).message}`);
  }
  if (ref.digest !== undefined) throw invalidArchive(`${where} names an image by digest ("${name}"); only tags can be loaded`);
  return formatReference(withDefaultTag(ref));
}

/**
 * Streams the tar (decompressing it if needed) into the session: metadata files into memory,
 * every other regular file into the content store. Anything wrong with the input itself
 * (truncated, not a tar, corrupt compression) becomes an InvalidArgumentError.
 */
async function readArchive(source: Readable, session: LoadSession): Promise<void> {
  let inputError: Error | undefined;
  const noteInputError = (err: Error): void => {
    inputError ??= err;
  };
  source.on('error', noteInputError);
  let peeked: { head: Buffer; stream: Readable };
  try {
    peeked = await peek(source, 4);
  } catch (err) {
    throw describeInputError(err as Error, 'none');
  }
  const { head, stream } = peeked;
  const compression = detectCompression(head);
  const extract = tar.extract();
  extract.on('error', noteInputError);
  const stages: (Readable | Duplex | tar.Extract)[] = [stream];
  if (compression !== 'none') {
    const d = decompressor(compression);
    d.on('error', noteInputError);
    stages.push(d);
  }
  stages.push(extract);
  // Taken before the tar flows: tar-stream drops entries that arrive with nobody iterating.
  const before = new Set(await session.content.list());
  const feeding = (pipeline as (...s: unknown[]) => Promise<void>)(...stages).catch(noteInputError);
  try {
    for await (const entry of extract) await readEntry(entry as unknown as TarEntry, session, before);
  } catch (err) {
    // An input error already seen is the cause; what the abort below raises is not.
    const cause = inputError;
    extract.destroy();
    await feeding;
    if (cause) throw describeInputError(cause, compression);
    throw err;
  }
  await feeding;
  if (inputError) throw describeInputError(inputError, compression);
}

function describeInputError(err: Error, compression: Compression): InvalidArgumentError {
  if (err instanceof BerthError) return invalidArchive(err.message, err);
  const what = compression === 'none' ? 'the tar stream' : `the ${compression} stream`;
  return invalidArchive(`${what} is truncated or corrupt: ${err.message}`, err);
}

async function readEntry(entry: TarEntry, session: LoadSession, before: Set<string>): Promise<void> {
  const header = entry.header;
  const name = normalizeName(header.name);
  if (header.type === 'symlink' || header.type === 'link') {
    const target = header.linkname ?? '';
    // Symlink targets are relative to the link's directory; hard link names to the archive root.
    session.links.set(name, normalizeName(header.type === 'symlink' && !target.startsWith('/') ? posix.join(posix.dirname(name), target) : target));
    await drain(entry);
    return;
  }
  if ((header.type !== 'file' && header.type !== 'contiguous-file') || name === '') {
    await drain(entry);
    return;
  }
  if (metadataFiles.has(name)) {
    session.metadata.set(name, await collect(entry, maxMetadataBytes, name));
    return;
  }
  // Docker's per-layer legacy files say nothing manifest.json does not.
  if (/^[^/]+\/(VERSION|json)$/.test(name)) {
    await drain(entry);
    return;
  }
  const blobName = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
  const expected = blobName ? `sha256:${blobName[1]}` : undefined;
  const existed = expected !== undefined && (before.has(expected) || (await session.content.has(expected)));
  let file: ArchiveFile;
  try {
    file = await ingestWithDiffId(session.content, entry as unknown as Readable, expected);
  } catch (err) {
    if (err instanceof BerthError && err.code === 'digest_mismatch') throw invalidArchive(`${name} does not match its name (${err.message})`, err);
    throw err;
  }
  if (!existed && !before.has(file.digest)) session.added.add(file.digest);
  session.files.set(name, file);
}

/**
 * Ingests `source` into the content store and, when it is gzip or zstd compressed, hashes its
 * decompressed bytes on the way (a layer's diff ID) so that nothing has to be read twice.
 */
export async function ingestWithDiffId(content: ContentStore, source: Readable, expected?: string): Promise<ArchiveFile> {
  const tap = new UncompressedDigest();
  const [ingest, piping] = await Promise.allSettled([content.ingest(tap, expected), pipeline(source, tap)]);
  if (ingest.status === 'rejected') throw ingest.reason;
  if (piping.status === 'rejected') throw piping.reason;
  const { digest, size } = ingest.value;
  const result = await tap.result();
  return { digest, size, compression: tap.compression, diffId: result.diffId ?? (tap.compression === 'none' ? digest : undefined), diffIdError: result.error };
}

/** A pass-through that also decompresses (when compressed) and hashes what flows through it. */
class UncompressedDigest extends Transform {
  compression: Compression = 'none';
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private decided = false;
  private sink?: Duplex;
  private failure?: string;
  private finished?: Promise<string | undefined>;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.decided) return this.forward(chunk, cb);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < 4) return cb();
    this.forward(this.decide(), cb);
  }

  override _flush(cb: (err?: Error | null) => void): void {
    const head = this.decided ? Buffer.alloc(0) : this.decide();
    this.forward(head, () => {
      this.sink?.end();
      cb();
    });
  }

  // A failed ingest must not leave a decompressor (a zstd process) waiting for more input.
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (err) this.sink?.destroy();
    cb(err);
  }

  async result(): Promise<{ diffId?: string; error?: string }> {
    if (!this.finished) return {};
    const diffId = await this.finished;
    return this.failure !== undefined ? { error: this.failure } : { diffId };
  }

  /** Picks the decompressor from the first bytes; returns those bytes, still to be forwarded. */
  private decide(): Buffer {
    const head = Buffer.concat(this.pending);
    this.pending = [];
    this.decided = true;
    this.compression = detectCompression(head);
    if (this.compression !== 'none') {
      const sink = decompressor(this.compression);
      const hasher = new DigestStream();
      this.sink = sink;
      this.finished = new Promise((resolve) => {
        sink.on('error', (err: Error) => {
          this.failure ??= err.message;
          resolve(undefined);
        });
        hasher.on('end', () => resolve(hasher.digest()));
      });
      sink.pipe(hasher).resume();
    }
    return head;
  }

  private forward(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (chunk.length > 0) this.push(chunk);
    const sink = this.sink;
    if (!sink || this.failure !== undefined || chunk.length === 0) return cb();
    if (sink.write(chunk)) return cb();
    const release = (): void => {
      sink.off('drain', release);
      sink.off('error', release);
      cb();
    };
    sink.on('drain', release);
    sink.on('error', release);
  }
}

function packWriter(pack: tar.Pack): ArchiveWriter {
  const header = (name: string, mtime: Date): TarHeader => ({ name, mtime, uid: 0, gid: 0, uname: 'root', gname: 'root', mode: 0o644 });
  const add = (h: TarHeader, data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      pack.entry(h, data, (err) => (err ? reject(err) : resolve()));
    });
  return {
    dir: (name, mtime) => add({ ...header(name, mtime), type: 'directory', mode: 0o755 }, Buffer.alloc(0)),
    file: (name, data, mtime) => add({ ...header(name, mtime), size: data.length }, data),
    symlink: (name, target, mtime) => add({ ...header(name, mtime), type: 'symlink', linkname: target, mode: 0o777 }, Buffer.alloc(0)),
    stream: (name, size, source, mtime) =>
      new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ ...header(name, mtime), size }, (err) => (err ? reject(err) : resolve()));
        pipeline(source, entry).catch(reject);
      }),
  };
}

/** Archive member names as keys: "./a//b/" and "a/b" are the same file. */
function normalizeName(name: string): string {
  const n = posix.normalize('/' + name).slice(1);
  return n.endsWith('/') ? n.slice(0, -1) : n;
}

async function drain(entry: TarEntry): Promise<void> {
  for await (const _ of entry) {
    // discarded
  }
}

async function collect(entry: TarEntry, limit: number, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    size += chunk.length;
    if (size > limit) throw invalidArchive(`${name} is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

