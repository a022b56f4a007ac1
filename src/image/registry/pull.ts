// Pulling an image: resolve the reference (through mirrors first), pick the platform from an
// index, fetch the config, then fetch the layers a few at a time, each unpacked from its
// downloaded blob as soon as it is in (while the next ones download), and once all are
// unpacked, write them to disk with one sync and place them bottom up. Blobs are verified as
// they stream to disk; a connection cut mid-blob resumes with a Range request from the bytes
// already written, and so does the next pull after this one failed or was killed (the partial
// blob stays in the content store's ingest area). Nothing becomes visible (image, tag, layer)
// unless the whole image verified; blobs that did are kept, so that a failed pull's next
// attempt skips them.
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, InvalidArgumentError, NotFoundError, SystemError } from '../../errors.js';
import type { BlobWriter, ContentStore } from '../../storage/content.js';
import { chainIds } from '../../storage/chain.js';
import type { LayerStore, PreparedLayer } from '../../storage/layers.js';
import { warmUnpackThread } from '../../storage/unpack-thread.js';
import { familiarName, familiarString, formatReference, fullName, type Reference } from '../reference.js';
import { parseConfig, type ImageStore } from '../store.js';
import { hostPlatform, type Descriptor, type Manifest } from '../types.js';
import { backoffMs, isAbort, Repository, sleep, type RegistryHost, type RegistryPool } from './client.js';
import { responseError } from './errors.js';
import { limiter } from './limiter.js';
import { fetchManifest, isIndex, parseImageManifest, parseIndex, type FetchedManifest } from './manifest.js';
import { availablePlatforms, formatPlatform, normalizePlatform, parsePlatform, platformRank, selectPlatformManifest, type Platform } from './platform.js';
import { isTransientNetworkError, readBody } from './transport.js';

/** A progress message in the Docker API's JSONMessage shape. */
export interface ProgressMessage {
  id?: string;
  status: string;
  progressDetail?: { current?: number; total?: number };
  aux?: Record<string, unknown>;
}

export type Progress = (message: ProgressMessage) => void;

export interface PullStores {
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
}

export interface PullOptions {
  platform?: string;
  maxConcurrentDownloads?: number;
  signal?: AbortSignal;
}

export interface PullResult {
  id: string;
  /** The digest of what the reference pointed at (an index for multi-platform images). */
  digest: string;
  /** Whether the name now points at a different image than before. */
  updated: boolean;
}

/** How often a layer's progress is reported: often enough to look live, rarely enough to cost nothing. */
const progressIntervalMs = 100;
/** Fresh connections tried for one blob after cuts that made no progress. */
const maxStalledResumes = 5;
const maxConfigBytes = 8 << 20;

/** A layer's status line; the empty progressDetail marks it as one, as Docker's daemon does. */
export function layerStatus(id: string, status: string): ProgressMessage {
  return { id, status, progressDetail: {} };
}

export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Reports a byte count at most every progressIntervalMs, and always the last one. */
export function throttled(emit: (current: number) => void): { update: (current: number) => void; flush: () => void } {
  let last = 0;
  let pending: number | undefined;
  return {
    update(current) {
      pending = current;
      const now = Date.now();
      if (now - last >= progressIntervalMs) {
        last = now;
        emit(current);
        pending = undefined;
      }
    },
    flush() {
      if (pending !== undefined) emit(pending);
      pending = undefined;
    },
  };
}

/** A pass-through that reports how many bytes have gone through it. */
export function byteCounter(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes((total += chunk.length));
      cb(null, chunk);
    },
  });
}

/** The registries to ask for `ref`, in order: its mirrors, then the registry itself. */
export function sourcesFor(ref: Reference, pool: RegistryPool): RegistryHost[] {
  return [...pool.mirrors(ref.domain), pool.host(ref.domain)];
}

/**
 * The manifest a reference names, from the first source that has it. A mirror's failure falls
 * through to the next source; the registry's own failure is the one reported.
 */
export async function resolveReference(
  ref: Reference,
  sources: RegistryHost[],
  signal?: AbortSignal,
): Promise<{ repo: Repository; manifest: FetchedManifest }> {
  const reference = ref.digest ?? ref.tag ?? 'latest';
  for (const [i, host] of sources.entries()) {
    const repo = new Repository(host, ref.path, 'pull');
    try {
      return { repo, manifest: await fetchManifest(repo, reference, signal) };
    } catch (err) {
      if (i === sources.length - 1 || isAbort(err)) throw err;
    }
  }
  throw new Error('unreachable: no source to pull from');
}

/** Down an index to the image manifest for `want`, saying which platforms there were when none fits. */
async function chooseManifest(repo: Repository, top: FetchedManifest, want: Platform, what: string, signal?: AbortSignal): Promise<{ manifest: FetchedManifest; chain: FetchedManifest[] }> {
  const chain: FetchedManifest[] = [];
  let current = top;
  // Indexes may nest (an index of indexes); a few levels are plenty.
  for (let depth = 0; isIndex(current); depth++) {
    if (depth >= 4) throw new InvalidArgumentError('invalid_manifest', `${what}: indexes nested more than 4 deep`);
    chain.push(current);
    const entries = parseIndex(current, what);
    const chosen = selectPlatformManifest(entries, want);
    if (!chosen) {
      const have = availablePlatforms(entries);
      throw new NotFoundError('no_matching_platform', `no matching manifest for ${formatPlatform(want)} in the manifest list entries of ${what} (available: ${have.join(', ') || 'none'})`);
    }
    current = await fetchManifest(repo, chosen.digest, signal);
  }
  return { manifest: current, chain };
}

/**
 * Downloads a blob, continuing a partial one an earlier download left, and verifies it. The
 * digest is computed over every byte, across resumed connections and processes; a mismatch
 * stores nothing and drops the partial. The verified blob is on its way to disk: the caller
 * publishes it into the content store (or aborts it, which keeps it for the next download).
 */
export async function downloadBlob(
  repo: Repository,
  desc: Descriptor,
  content: ContentStore,
  opts: { signal?: AbortSignal; onBytes?: (received: number) => void },
): Promise<BlobWriter> {
  const writer = await content.resumableWriter(desc.digest, desc.size);
  try {
    let stalled = 0;
    while (writer.size < desc.size || desc.size === 0) {
      const offset = writer.size;
      const res = await repo.request({
        method: 'GET',
        path: repo.url(`blobs/${desc.digest}`),
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        retry: true,
        signal: opts.signal,
      });
      const status = res.statusCode ?? 0;
      if (status === 200 && offset > 0) {
        await writer.reset();
      } else if (status === 206) {
        const start = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
        if (!start || Number(start[1]) !== offset) {
          res.destroy();
          throw new SystemError('bad_range', `the registry answered a request for ${desc.digest} from byte ${offset} with the range ${String(res.headers['content-range'])}`);
        }
      } else if (status !== 200) {
        throw await responseError(res, `fetching blob ${desc.digest} from ${repo.name}`, status === 404 ? 'blob_not_found' : 'registry_error');
      }
      const before = writer.size;
      const counter = byteCounter((n) => {
        if (before + n > desc.size) counter.destroy(new SystemError('blob_too_large', `the blob ${desc.digest} from ${repo.name} is larger than the ${desc.size} bytes its descriptor says`));
        opts.onBytes?.(before + n);
      });
      try {
        await pipeline([res, counter, writer.sink()]);
      } catch (err) {
        if (err instanceof BerthError || isAbort(err) || !isTransientNetworkError(err)) throw err;
        await writer.settled();
        stalled = writer.size > before ? 0 : stalled + 1;
        if (stalled >= maxStalledResumes) throw new SystemError('download_failed', `downloading ${desc.digest} from ${repo.name}: ${(err as Error).message}`, { cause: err });
        await sleep(backoffMs(stalled), opts.signal);
        continue;
      }
      if (desc.size === 0 || writer.size === before) break;
    }
    if (writer.size !== desc.size) {
      throw new SystemError('blob_truncated', `the blob ${desc.digest} from ${repo.name} ended after ${writer.size} of ${desc.size} bytes`);
    }
    await writer.verify(desc.digest);
    return writer;
  } catch (err) {
    // Bytes past the descriptor's size are not the blob: the next attempt starts over.
    if (err instanceof BerthError && err.code === 'blob_too_large') await writer.discard();
    else await writer.abort();
    if (err instanceof BerthError && err.code === 'digest_mismatch') {
      throw new SystemError('blob_corrupt', `filesystem layer verification failed for digest ${desc.digest} (from ${repo.name}): ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** A small blob (a config) read whole into memory and checked. */
async function fetchSmallBlob(repo: Repository, desc: Descriptor, signal?: AbortSignal): Promise<Buffer> {
  if (desc.size > maxConfigBytes) throw new InvalidArgumentError('config_too_large', `the image config ${desc.digest} is ${desc.size} bytes, more than berth accepts (${maxConfigBytes})`);
  const res = await repo.request({ method: 'GET', path: repo.url(`blobs/${desc.digest}`), retry: true, signal });
  if (res.statusCode !== 200) throw await responseError(res, `fetching the image config ${desc.digest} from ${repo.name}`);
  return readBody(res, maxConfigBytes);
}

/**
 * Pulls one tag or digest. Progress messages follow Docker's: "Pulling from", one line per
 * layer (Already exists / Pulling fs layer / Waiting / Downloading / Verifying Checksum /
 * Download complete / Extracting / Pull complete), then "Digest:".
 */
export async function pullImage(ref: Reference, pool: RegistryPool, stores: PullStores, opts: PullOptions, progress: Progress): Promise<PullResult> {
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const { repo, manifest: top } = await resolveReference(ref, sourcesFor(ref, pool), opts.signal);
  // Once the registry has shown it has the name, as Docker says it: a missing tag or an
  // unreachable registry is an error alone.
  progress({ id: reference, status: `Pulling from ${ref.path}` });
  const what = `${familiarName(ref)}${ref.digest ? '@' : ':'}${reference}`;
  const want = opts.platform ? parsePlatform(opts.platform) : normalizePlatform(hostPlatform());
  const { manifest, chain } = await chooseManifest(repo, top, want, what, opts.signal);
  const image = parseImageManifest(manifest, `manifest ${manifest.digest} of ${what}`);

  const { content, images } = stores;
  if (!(await content.has(image.config.digest))) {
    await content.put(await fetchSmallBlob(repo, image.config, opts.signal), image.config.digest);
  }
  const config = parseConfig(await content.read(image.config.digest), image.config.digest);
  if (config.rootfs.diff_ids.length !== image.layers.length) {
    throw new InvalidArgumentError('invalid_manifest', `${what}: the manifest lists ${image.layers.length} layers but the image config ${image.config.digest} lists ${config.rootfs.diff_ids.length}`);
  }
  // Only an explicit --platform is enforced on a single-platform image, as Docker does.
  if (opts.platform && chain.length === 0 && platformRank(want, { os: config.os, architecture: config.architecture, variant: config.variant }) === undefined) {
    throw new NotFoundError('no_matching_platform', `${what} is an image for ${formatPlatform(normalizePlatform({ os: config.os, architecture: config.architecture, variant: config.variant }))}, not for the requested ${formatPlatform(want)}`);
  }

  const tag = ref.digest ? undefined : formatReference({ domain: ref.domain, path: ref.path, tag: reference });
  const previous = images.lookup(tag ?? formatReference(ref))?.id;
  const chains = chainIds(config.rootfs.diff_ids);
  // An image already here with all its layers needs no layer work (and shows none, as Docker).
  if (!images.get(image.config.digest) || !chains.every((c) => stores.layers.get(c))) {
    await pullLayers(repo, image, config.rootfs.diff_ids, stores, opts, progress);
  }

  for (const m of [manifest, ...chain]) await content.put(m.bytes, m.digest);
  const id = await images.commitImage({
    config: image.config.digest,
    layers: image.layers.map((l, i) => ({ blob: l.digest, mediaType: l.mediaType, diffId: config.rootfs.diff_ids[i] })),
    manifest: manifest.digest,
    tags: tag !== undefined ? [tag] : [],
    repoDigests: [`${fullName(ref)}@${top.digest}`],
  });
  progress({ status: `Digest: ${top.digest}` });
  return { id, digest: top.digest, updated: previous !== id };
}

/** Docker's last status line of a pull. */
export function pullStatus(ref: Reference, updated: boolean): ProgressMessage {
  return { status: `Status: ${updated ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarString(ref)}` };
}

/**
 * Fetches the layers the layer store lacks, downloading up to N at a time in layer order, each
 * unpacked on the unpacking thread as soon as its blob is in (two side by side); once all are
 * unpacked, writes them to disk with one sync and places them bottom up. The first real failure
 * aborts the rest; nothing this call unpacked is left behind.
 */
async function pullLayers(repo: Repository, image: Manifest, diffIds: string[], stores: PullStores, opts: PullOptions, progress: Progress): Promise<void> {
  const { content, layers } = stores;
  const chains = chainIds(diffIds);
  const ids = image.layers.map((l) => shortDigest(l.digest));
  const present = chains.map((c) => layers.get(c) !== undefined);
  image.layers.forEach((_, i) => progress(layerStatus(ids[i], present[i] ? 'Already exists' : 'Pulling fs layer')));

  // The thread that unpacks starts while the first blobs download, not when the first is in.
  if (present.includes(false)) warmUnpackThread();
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let firstError: unknown;
  const fail = (err: unknown): never => {
    if (firstError === undefined && !isAbort(err)) firstError = err;
    abort.abort();
    throw err;
  };
  /** Unpacked, not yet committed: discarded if the pull fails. */
  const prepared = new Map<number, PreparedLayer>();
  /** Downloaded and verified, not yet in the content store: published whether the pull succeeds or not. */
  const blobs: BlobWriter[] = [];

  /**
   * Downloads a layer's blob (unless stored already) and unpacks it from the file it was
   * downloaded to. Unpacking from the file, not from the download: igzip then reads the blob
   * itself (a pipe fed from this process cost as much main-thread time as the download), and
   * the download runs at the network's pace, so later layers are in sooner. A download's slot
   * is free again once its blob is in, not once it is unpacked: the downloads of the upper
   * layers then overlap the unpacking of the lower ones instead of waiting for it. The blob
   * enters the content store at the end, once on disk (the layers' sync writes it out too).
   */
  const downloads = limiter(opts.maxConcurrentDownloads ?? 3);
  // Two layers unpack side by side on the unpacking thread: while one waits for its igzip,
  // the other runs (one at a time left the thread idle; three were no faster).
  const unpacks = limiter(2);
  const fetchLayer = async (i: number): Promise<PreparedLayer> => {
    const desc = image.layers[i];
    const blob = await downloads(
      async () => {
        abort.signal.throwIfAborted();
        if (await content.has(desc.digest)) return undefined;
        const meter = throttled((current) => progress({ id: ids[i], status: 'Downloading', progressDetail: { current, total: desc.size } }));
        const writer = await downloadBlob(repo, desc, content, { signal: abort.signal, onBytes: meter.update });
        meter.flush();
        progress(layerStatus(ids[i], 'Verifying Checksum'));
        return writer;
      },
      () => progress(layerStatus(ids[i], 'Waiting')),
    );
    if (blob) blobs.push(blob);
    progress(layerStatus(ids[i], 'Download complete'));
    return unpacks(async () => {
      abort.signal.throwIfAborted();
      const extracting = (current: number): void => progress({ id: ids[i], status: 'Extracting', progressDetail: { current, total: desc.size } });
      extracting(0);
      const layer = await layers.prepare({ file: blob?.path ?? content.path(desc.digest) }, diffIds[i], abort.signal, extracting);
      extracting(desc.size);
      return layer;
    });
  };

  const tasks = image.layers.map((_, i) => {
    if (present[i]) return Promise.resolve(undefined);
    return fetchLayer(i)
      .then((layer) => {
        prepared.set(i, layer);
        return layer;
      })
      .catch(fail);
  });
  // A later layer may fail while an earlier one is awaited; the first failure is the one thrown.
  for (const t of tasks) t.catch(() => undefined);

  const created: string[] = [];
  try {
    const unpacked = await Promise.all(tasks);
    await layers.persist(unpacked.filter((l): l is PreparedLayer => l !== undefined));
    // Taken off the list first: one that fails to publish removes itself, the rest are kept below.
    for (let blob = blobs.shift(); blob; blob = blobs.shift()) await blob.publish();
    let parent: string | null = null;
    for (let i = 0; i < image.layers.length; i++) {
      const layer = unpacked[i];
      if (layer) {
        prepared.delete(i);
        created.push((await layers.commit(layer, parent)).chainId);
      }
      parent = chains[i];
      if (!present[i]) progress(layerStatus(ids[i], 'Pull complete'));
    }
  } catch (err) {
    abort.abort();
    await Promise.allSettled(tasks);
    // Blobs that verified are kept even when their layers are not, so that the next pull need
    // not download them again.
    for (const blob of blobs) await blob.publish().catch(() => undefined);
    for (const layer of prepared.values()) await layers.discard(layer);
    await layers.release(created.reverse());
    throw firstError ?? err;
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** All tags of a repository, following the registry's pagination. */
export async function listTags(repo: Repository, signal?: AbortSignal): Promise<string[]> {
  const tags: string[] = [];
  let path: string | URL = repo.url('tags/list');
  for (let page = 0; page < 1000; page++) {
    const res = await repo.request({ method: 'GET', path, retry: true, signal });
    if (res.statusCode !== 200) throw await responseError(res, `listing the tags of ${repo.name}`, res.statusCode === 404 ? 'repository_not_found' : 'registry_error');
    const link = String(res.headers.link ?? '');
    const body = JSON.parse((await readBody(res, 16 << 20)).toString('utf8')) as { tags?: string[] | null };
    tags.push(...(body.tags ?? []));
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
    if (!next) break;
    path = new URL(next[1], await repo.host.baseUrl());
  }
  return tags;
}
