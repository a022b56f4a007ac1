// Pushing an image: each layer blob is checked for (HEAD), mounted from another repository of
// the same registry that has it, or uploaded (one PUT, or PATCH chunks then PUT), up to N at a
// time; then the config, then the manifest under the tag with its own media type. A layer
// stored uncompressed (commit, import) goes up gzip-compressed, as Docker pushes it: the gzip
// blob is kept in the content store and remembered, so a second push finds it (HEAD) without
// compressing again. A layer whose own blob the store lacks (a pull that found the layer
// unpacked already fetched none) goes up as a stored blob of the same diff ID, or else as its
// files packed into a tar again, gzip-compressed, when that tar is the layer's (same diff ID).
// Transient failures (connection resets, 5xx) retry with backoff, a failed chunk from the
// offset the registry reports; 4xx answers are not retried.
import { createReadStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, InvalidArgumentError, NotFoundError, SystemError } from '../../errors.js';
import { DigestStream, sha256Digest, type ContentStore } from '../../storage/content.js';
import type { LayerStore } from '../../storage/layers.js';
import { gzipCompressor } from '../../sys/decompress.js';
import { blobCompression, buildManifest, manifestFlavour } from '../archive/oci.js';
import { formatReference, fullName, parseReference, type Reference } from '../reference.js';
import type { ImageLayerRecord, ImageStore } from '../store.js';
import { mediaTypes, type Manifest } from '../types.js';
import { backoffMs, isAbort, Repository, repositoryScope, sleep, type RegistryPool } from './client.js';
import { responseError } from './errors.js';
import { limiter } from './limiter.js';
import { manifestMediaTypes } from './manifest.js';
import { byteCounter, layerStatus, shortDigest, throttled, type Progress } from './pull.js';
import { drain } from './transport.js';

export interface PushStores {
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
}

export interface PushOptions {
  maxConcurrentUploads?: number;
  /** Blobs larger than this go up in PATCH chunks of this size; 0 sends each in one PUT. */
  uploadChunkSize?: number;
  signal?: AbortSignal;
}

export interface PushResult {
  tag: string;
  digest: string;
  size: number;
}

const maxUploadAttempts = 5;
/** Docker tries this many repositories for a cross-repository mount before uploading. */
const maxMountCandidates = 3;

/** Failures worth another try: the registry or the network, not the request. */
function retryable(err: unknown): boolean {
  return err instanceof BerthError && err.kind === 'Unavailable';
}

/** The gzip form of an uncompressed layer blob: made once, then found again. */
async function gzipBlob(content: ContentStore, digest: string): Promise<string> {
  const known = await content.gzipOf(digest);
  if (known) return known;
  const gzip = gzipCompressor();
  const [, stored] = await Promise.all([pipeline(content.open(digest), gzip), content.ingest(gzip)]);
  await content.rememberGzip(digest, stored.digest);
  return stored.digest;
}

/**
 * The image's layers, each with a blob in the content store. A layer whose recorded blob is not
 * stored takes a stored blob of the same diff ID, or else is packed again from its unpacked
 * files and gzip-compressed, as Docker compresses a layer from its diff; the blob found or
 * made is recorded on the image, so that it stays stored and the next push or save has it.
 */
async function pushableLayers(stores: PushStores, id: string): Promise<ImageLayerRecord[]> {
  const out: ImageLayerRecord[] = [];
  for (const [idx, l] of stores.images.imageLayers(id).entries()) {
    if (l.blob && (await stores.content.has(l.blob))) {
      out.push(l);
      continue;
    }
    const found = (await stores.images.storedLayerBlob(l.diffId)) ?? (await packLayer(stores, id, l));
    stores.images.setLayerBlob(id, idx, found.blob, found.mediaType);
    out.push({ ...l, ...found });
  }
  return out;
}

/**
 * A layer's tar made again from its unpacked files, gzip-compressed into the content store and
 * remembered as the gzip form of the tar its diff ID names (so a second push finds it). Only a
 * tar that hashes to the diff ID will do: one packed differently (another tool's header
 * encoding or entry order) would not be the layer the image config lists.
 */
async function packLayer(stores: PushStores, id: string, layer: ImageLayerRecord): Promise<{ blob: string; mediaType: string }> {
  const { content, layers, images } = stores;
  const mediaType = mediaTypes.dockerLayerGzip;
  const known = await content.gzipOf(layer.diffId);
  if (known) return { blob: known, mediaType };
  const missing = `image ${id}: the blob of layer ${layer.diffId} is not in the content store`;
  let tar: Readable;
  try {
    tar = await layers.pack(layer.chainId);
  } catch (err) {
    throw new SystemError('layer_blob_missing', `${missing}, nor are its files (${(err as Error).message}), so it cannot be pushed`, { cause: err });
  }
  const hasher = new DigestStream();
  const gzip = gzipCompressor();
  const [, stored] = await Promise.all([pipeline(tar, hasher, gzip), content.ingest(gzip)]);
  const packed = hasher.digest();
  if (packed !== layer.diffId) {
    if (!images.blobReferenced(stored.digest)) await content.delete(stored.digest);
    throw new SystemError('layer_blob_missing', `${missing}, and its files pack to a different tar (${packed}), so it cannot be pushed`);
  }
  await content.rememberGzip(layer.diffId, stored.digest);
  return { blob: stored.digest, mediaType };
}

/**
 * The manifest to push: the image's own when it still describes it (its digest is what others
 * may already refer to), unless it lists an uncompressed layer and no registry has it yet (an
 * import's); else one built for the blobs as stored, uncompressed layers replaced by their gzip
 * form (Docker's v2 schema 2, or OCI when a layer is zstd, which schema 2 cannot express).
 */
async function manifestForPush(stores: PushStores, id: string, layers: ImageLayerRecord[]): Promise<{ bytes: Buffer; digest: string; mediaType: string; manifest: Manifest }> {
  const { content, images } = stores;
  const compressions = await Promise.all(layers.map((l) => blobCompression(content, l.blob!)));
  const image = images.get(id);
  const stored = image?.manifest;
  const fromRegistry = stored !== undefined && stored !== null && (image?.repoDigests ?? []).some((r) => r.endsWith(`@${stored}`));
  if (stored && (fromRegistry || !compressions.includes('none')) && (await content.has(stored))) {
    const bytes = await content.read(stored);
    const m = JSON.parse(bytes.toString('utf8')) as Manifest;
    const same = m.config?.digest === id && m.layers?.length === layers.length && m.layers.every((d, i) => d.digest === layers[i].blob);
    if (same && m.mediaType && manifestMediaTypes.includes(m.mediaType)) return { bytes, digest: stored, mediaType: m.mediaType, manifest: m };
  }
  const blobs = await Promise.all(
    layers.map(async (l, i) => {
      const compression = compressions[i] === 'none' ? 'gzip' : compressions[i];
      const digest = compressions[i] === 'none' ? await gzipBlob(content, l.blob!) : l.blob!;
      return { digest, size: await content.size(digest), compression };
    }),
  );
  const built = buildManifest({ digest: id, size: await content.size(id) }, blobs, manifestFlavour(blobs.map((b) => b.compression)));
  const manifest = JSON.parse(built.bytes.toString('utf8')) as Manifest;
  return { bytes: built.bytes, digest: sha256Digest(built.bytes), mediaType: built.mediaType, manifest };
}

/** Other repositories of the same registry known to hold each blob (from local tags and repo digests). */
function mountSources(images: ImageStore, target: Reference): Map<string, string[]> {
  const sources = new Map<string, string[]>();
  for (const img of images.list()) {
    const repos = new Set<string>();
    for (const name of [...img.repoDigests, ...img.tags]) {
      const r = parseReference(name);
      if (r.domain === target.domain && r.path !== target.path) repos.add(r.path);
    }
    if (repos.size === 0) continue;
    for (const l of images.imageLayers(img.id)) {
      if (!l.blob) continue;
      const list = sources.get(l.blob) ?? [];
      for (const r of repos) if (!list.includes(r)) list.push(r);
      sources.set(l.blob, list);
    }
  }
  return sources;
}

type BlobOutcome = 'exists' | 'mounted' | 'pushed';

class BlobUploader {
  constructor(
    private readonly repo: Repository,
    private readonly content: ContentStore,
    private readonly opts: PushOptions,
  ) {}

  async push(digest: string, mountFrom: string[], onBytes?: (sent: number) => void): Promise<{ outcome: BlobOutcome; from?: string }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.pushOnce(digest, mountFrom, onBytes);
      } catch (err) {
        if (!retryable(err) || attempt + 1 >= maxUploadAttempts || isAbort(err)) throw err;
        await sleep(backoffMs(attempt), this.opts.signal);
      }
    }
  }

  private async pushOnce(digest: string, mountFrom: string[], onBytes?: (sent: number) => void): Promise<{ outcome: BlobOutcome; from?: string }> {
    const { repo, opts } = this;
    const head = await repo.request({ method: 'HEAD', path: repo.url(`blobs/${digest}`), retry: true, signal: opts.signal });
    await drain(head);
    if (head.statusCode === 200) return { outcome: 'exists' };
    if (head.statusCode !== 404) throw await responseError(head, `checking for blob ${digest} in ${repo.name}`);

    let location: URL | undefined;
    for (const from of mountFrom.slice(0, maxMountCandidates)) {
      const res = await repo.request({
        method: 'POST',
        path: repo.url(`blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`),
        extraScopes: [repositoryScope(from, 'pull')],
        retry: true,
        signal: opts.signal,
      });
      if (res.statusCode === 201) {
        await drain(res);
        return { outcome: 'mounted', from };
      }
      // 202: the registry could not mount and opened an upload instead, which serves just as well.
      if (res.statusCode === 202) {
        location = await this.uploadLocation(res);
        break;
      }
      await drain(res);
    }
    if (!location) {
      const res = await repo.request({ method: 'POST', path: repo.url('blobs/uploads/'), retry: true, signal: opts.signal });
      if (res.statusCode !== 202) throw await responseError(res, `starting an upload to ${repo.name}`);
      location = await this.uploadLocation(res);
    }
    await this.upload(location, digest, onBytes);
    return { outcome: 'pushed' };
  }

  private async uploadLocation(res: IncomingMessage): Promise<URL> {
    await drain(res);
    const location = res.headers.location;
    if (!location) throw new SystemError('registry_error', `the registry ${this.repo.host.displayName} opened an upload without saying where (no Location header)`);
    return new URL(location, await this.repo.host.baseUrl());
  }

  /** Where an upload stands: GET on it answers 204 with the bytes taken as "Range: 0-<last>". */
  private async uploadStatus(location: URL, digest: string): Promise<{ url: URL; offset: number }> {
    const res = await this.repo.request({ method: 'GET', path: location, retry: true, signal: this.opts.signal });
    if (res.statusCode !== 204) throw await responseError(res, `checking the upload of ${digest} to ${this.repo.name}`);
    const range = /^0-(-?\d+)$/.exec(String(res.headers.range ?? ''));
    if (!range) {
      await drain(res);
      throw new SystemError('registry_error', `the registry ${this.repo.host.displayName} reported the upload of ${digest} without a valid Range header (${String(res.headers.range)})`);
    }
    const url = res.headers.location ? await this.uploadLocation(res) : (await drain(res), location);
    return { url, offset: Number(range[1]) + 1 };
  }

  private async upload(location: URL, digest: string, onBytes?: (sent: number) => void): Promise<void> {
    const { repo, content, opts } = this;
    const size = await content.size(digest);
    const path = content.path(digest);
    const chunk = opts.uploadChunkSize ?? 0;
    let sent = 0;
    // Bytes of earlier chunks count towards a later chunk's progress.
    const counted = (stream: Readable): Readable => {
      const base = sent;
      const counter = byteCounter((n) => onBytes?.((sent = base + n)));
      stream.on('error', (err) => counter.destroy(err));
      return stream.pipe(counter);
    };
    const octets = { 'content-type': 'application/octet-stream' };
    let url = location;
    if (chunk > 0 && size > chunk) {
      let failures = 0;
      for (let start = 0; start < size; ) {
        const end = Math.min(start + chunk, size) - 1;
        let failure: unknown;
        try {
          const res = await repo.request({
            method: 'PATCH',
            path: url,
            headers: { ...octets, 'content-length': String(end - start + 1), 'content-range': `${start}-${end}` },
            body: () => counted(createReadStream(path, { start, end })),
            signal: opts.signal,
          });
          if (res.statusCode === 202) {
            url = await this.uploadLocation(res);
            start = end + 1;
            failures = 0;
            continue;
          }
          failure = await responseError(res, `uploading bytes ${start}-${end} of ${digest} to ${repo.name}`);
        } catch (err) {
          failure = err;
        }
        // A chunk lost to the network or a server error goes again from where the registry says
        // the upload stands (it may have taken some of it); anything else fails the upload.
        if (!retryable(failure) || isAbort(failure) || ++failures >= maxUploadAttempts) throw failure;
        await sleep(backoffMs(failures - 1), opts.signal);
        ({ url, offset: start } = await this.uploadStatus(url, digest));
        sent = start;
        onBytes?.(sent);
      }
      const res = await repo.request({ method: 'PUT', path: withDigest(url, digest), headers: { 'content-length': '0' }, signal: opts.signal });
      if (res.statusCode !== 201) throw await responseError(res, `completing the upload of ${digest} to ${repo.name}`);
      await drain(res);
      return;
    }
    const res = await repo.request({
      method: 'PUT',
      path: withDigest(url, digest),
      headers: { ...octets, 'content-length': String(size) },
      body: () => counted(createReadStream(path)),
      signal: opts.signal,
    });
    if (res.statusCode !== 201) throw await responseError(res, `uploading ${digest} to ${repo.name}`);
    await drain(res);
  }
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url;
}

/**
 * Pushes the image tagged `ref` (a tag, not a digest). Progress follows Docker's: one line per
 * layer, top layer first, named by its diff ID (Preparing / Waiting / Pushing / Pushed / Layer
 * already exists / Mounted from …), then "<tag>: digest: … size: …".
 */
export async function pushImage(ref: Reference, pool: RegistryPool, stores: PushStores, opts: PushOptions, progress: Progress): Promise<PushResult> {
  const tag = ref.tag ?? 'latest';
  const name = formatReference({ domain: ref.domain, path: ref.path, tag });
  const img = stores.images.lookup(name);
  if (!img) throw new NotFoundError('image_not_found', `An image does not exist locally with the tag: ${fullName(ref)}:${tag}`);
  const { content, images } = stores;
  const layers = await pushableLayers(stores, img.id);
  const manifest = await manifestForPush(stores, img.id, layers);
  const repo = new Repository(pool.host(ref.domain), ref.path, 'pull,push');
  const mounts = mountSources(images, ref);
  const limit = limiter(opts.maxConcurrentUploads ?? 5);

  // Docker lists layers top first; a layer pushed twice in one image (same blob) goes up once.
  const order = [...layers.keys()].reverse();
  const ids = layers.map((l) => shortDigest(l.diffId));
  for (const i of order) progress(layerStatus(ids[i], 'Preparing'));
  const seen = new Map<string, Promise<unknown>>();
  const abort = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
  const uploader = new BlobUploader(repo, content, { ...opts, signal });
  const tasks = order.map((i) => {
    // The blob the manifest lists: the stored one, or its gzip form.
    const blob = manifest.manifest.layers[i].digest;
    const existing = seen.get(blob);
    if (existing) return existing.then(() => progress(layerStatus(ids[i], 'Layer already exists')));
    const task = limit(
      async () => {
        const meter = throttled((current) => progress({ id: ids[i], status: 'Pushing', progressDetail: { current, total: manifest.manifest.layers[i]?.size } }));
        // Repositories known to hold this image's layer hold the blob as it was pushed.
        const r = await uploader.push(blob, mounts.get(blob) ?? mounts.get(layers[i].blob!) ?? [], meter.update);
        meter.flush();
        if (r.outcome === 'exists') progress(layerStatus(ids[i], 'Layer already exists'));
        else if (r.outcome === 'mounted') progress(layerStatus(ids[i], `Mounted from ${r.from}`));
        else progress(layerStatus(ids[i], 'Pushed'));
      },
      () => progress(layerStatus(ids[i], 'Waiting')),
    );
    seen.set(blob, task);
    return task;
  });
  try {
    await Promise.all(tasks);
    await uploader.push(img.id, []);
  } catch (err) {
    abort.abort();
    await Promise.allSettled(tasks);
    throw err;
  }

  const res = await repo.request({
    method: 'PUT',
    path: repo.url(`manifests/${tag}`),
    headers: { 'content-type': manifest.mediaType },
    body: () => manifest.bytes,
    retry: true,
    signal: opts.signal,
  });
  if (res.statusCode !== 201) throw await responseError(res, `pushing the manifest of ${name} to ${repo.name}`);
  await drain(res);
  const said = res.headers['docker-content-digest'];
  if (typeof said === 'string' && said.startsWith('sha256:') && said !== manifest.digest) {
    throw new InvalidArgumentError('digest_mismatch', `the registry stored the manifest of ${name} as ${said}, but it hashes to ${manifest.digest}`);
  }
  await content.put(manifest.bytes, manifest.digest);
  images.addRepoDigest(`${fullName(ref)}@${manifest.digest}`, img.id, manifest.digest);
  progress({ status: `${tag}: digest: ${manifest.digest} size: ${manifest.bytes.length}`, aux: { Tag: tag, Digest: manifest.digest, Size: manifest.bytes.length } });
  return { tag, digest: manifest.digest, size: manifest.bytes.length };
}
