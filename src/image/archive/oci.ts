// The OCI image layout (image-spec "image-layout"): oci-layout, index.json and blobs/sha256/.
// Also home of what both archive formats need about manifests: building one for layers as
// stored, and checking a layer file against the diff ID its config promises.
import { promises as fsp } from 'node:fs';
import { SystemError, type InvalidArgumentError } from '../../errors.js';
import { sha256Digest, type ContentStore } from '../../storage/content.js';
import { detectCompression, type Compression } from '../../sys/decompress.js';
import { formatReference, parseReference, withDefaultTag, type Reference } from '../reference.js';
import { parseConfig, type ImageLayerInput, type ImageStore } from '../store.js';
import { hostPlatform, mediaTypes, type Descriptor, type Manifest } from '../types.js';
import { invalidArchive, type ArchiveFile, type ArchiveWriter, type LoadPlan, type LoadSession, type SaveImage } from './index.js';

const containerdNameAnnotation = 'io.containerd.image.name';
const refNameAnnotation = 'org.opencontainers.image.ref.name';
const maxIndexDepth = 8;
const digestRe = /^sha256:[a-f0-9]{64}$/;

type Flavour = 'docker' | 'oci';

/** Docker's v2 schema 2 has no zstd layer type, so zstd layers need an OCI manifest. */
export function manifestFlavour(compressions: Compression[]): Flavour {
  return compressions.includes('zstd') ? 'oci' : 'docker';
}

function layerMediaType(compression: Compression, flavour: Flavour): string {
  if (flavour === 'docker' && compression !== 'zstd') return compression === 'gzip' ? mediaTypes.dockerLayerGzip : mediaTypes.dockerLayer;
  return compression === 'gzip' ? mediaTypes.ociLayerGzip : compression === 'zstd' ? mediaTypes.ociLayerZstd : mediaTypes.ociLayer;
}

/** A manifest for a config and layer blobs exactly as they are stored. */
export function buildManifest(
  config: { digest: string; size: number },
  layers: { digest: string; size: number; compression: Compression }[],
  flavour: Flavour,
): { bytes: Buffer; mediaType: string; layers: Descriptor[] } {
  const mediaType = flavour === 'docker' ? mediaTypes.dockerManifest : mediaTypes.ociManifest;
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: flavour === 'docker' ? mediaTypes.dockerConfig : mediaTypes.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: layerMediaType(l.compression, flavour), digest: l.digest, size: l.size })),
  };
  return { bytes: Buffer.from(JSON.stringify(manifest)), mediaType, layers: manifest.layers };
}

/** A layer file must unpack to the diff ID the image config lists for it. */
export function checkLayerDiffId(file: ArchiveFile, where: string, diffId: string): void {
  if (!digestRe.test(diffId)) throw invalidArchive(`the image config lists an invalid diff ID "${diffId}" for ${where}`);
  if (file.diffIdError !== undefined) {
    throw invalidArchive(`${where} looks ${file.compression}-compressed but cannot be decompressed: ${file.diffIdError}`);
  }
  const actual = file.diffId ?? file.digest;
  if (actual !== diffId) {
    const what = file.compression === 'none' ? 'content' : 'uncompressed content';
    throw invalidArchive(`${where} does not match the image config: its ${what} hashes to ${actual}, but the config's diff ID is ${diffId}`);
  }
}

export async function blobCompression(content: ContentStore, blob: string): Promise<Compression> {
  const fh = await fsp.open(content.path(blob), 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export async function planOciLoad(session: LoadSession): Promise<LoadPlan[]> {
  const layout = session.json('oci-layout') as { imageLayoutVersion?: unknown } | undefined;
  if (layout !== undefined && typeof layout?.imageLayoutVersion !== 'string') {
    throw invalidArchive('oci-layout has no imageLayoutVersion');
  }
  const index = session.json('index.json');
  const manifests = descriptorList(index, 'index.json');
  const plans: LoadPlan[] = [];
  for (const desc of forHost(manifests, 'index.json')) {
    const manifest = await imageManifest(session, desc, 'index.json', 0);
    plans.push({ ...(await planManifest(session, manifest)), tags: ociNames(desc.annotations) });
  }
  if (plans.length === 0) throw invalidArchive('index.json lists no image');
  return plans;
}

function descriptorList(index: unknown, where: string): Descriptor[] {
  const list = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(list)) throw invalidArchive(`${where} has no manifests list`);
  return list.map((d, i) => checkDescriptor(d, `${where} manifests[${i}]`));
}

function checkDescriptor(raw: unknown, where: string): Descriptor {
  const d = raw as Partial<Descriptor> | null;
  if (!d || typeof d !== 'object') throw invalidArchive(`${where} is not a descriptor`);
  if (typeof d.digest !== 'string') throw invalidArchive(`${where} has no digest`);
  if (!digestRe.test(d.digest)) throw invalidArchive(`${where} has the unsupported digest "${d.digest}" (only sha256 is supported)`);
  if (d.size !== undefined && typeof d.size !== 'number') throw invalidArchive(`${where} has a size that is not a number`);
  return d as Descriptor;
}

/** The archive's own copy of a blob, which must match its descriptor. */
function archiveBlob(session: LoadSession, desc: Descriptor, where: string): ArchiveFile {
  const file = session.blob(desc.digest);
  if (!file) throw invalidArchive(`${where} names the blob ${desc.digest}, which is not in the archive`);
  if (typeof desc.size === 'number' && desc.size !== file.size) {
    throw invalidArchive(`the blob ${desc.digest} is ${file.size} bytes but ${where} says ${desc.size}`);
  }
  return file;
}

function platformMatches(p: Descriptor['platform']): boolean {
  const host = hostPlatform();
  if (!p) return true;
  return p.os === host.os && p.architecture === host.architecture && (!p.variant || !host.variant || p.variant === host.variant);
}

/** Of descriptors for several platforms, those for this host (and those that name none). */
function forHost(descs: Descriptor[], where: string): Descriptor[] {
  const platforms = new Set(descs.filter((d) => d.platform).map((d) => `${d.platform!.os}/${d.platform!.architecture}/${d.platform!.variant ?? ''}`));
  if (platforms.size <= 1) return descs;
  const kept = descs.filter((d) => platformMatches(d.platform));
  if (kept.length === 0) throw noPlatform(descs, where);
  return kept;
}

function noPlatform(descs: Descriptor[], where: string): InvalidArgumentError {
  const host = hostPlatform();
  const have = descs.filter((d) => d.platform).map((d) => `${d.platform!.os}/${d.platform!.architecture}${d.platform!.variant ? '/' + d.platform!.variant : ''}`);
  return invalidArchive(`${where} has no image for ${host.os}/${host.architecture} (it has ${have.join(', ') || 'none'})`);
}

/** Follows nested indexes down to one image manifest, picking the host's platform on the way. */
async function imageManifest(session: LoadSession, desc: Descriptor, where: string, depth: number): Promise<Descriptor> {
  archiveBlob(session, desc, where);
  let mediaType = desc.mediaType;
  let parsed: unknown;
  if (!mediaType) {
    parsed = await session.blobJson(desc.digest, 'manifest');
    const p = parsed as { mediaType?: unknown; manifests?: unknown; config?: unknown } | null;
    mediaType = typeof p?.mediaType === 'string' ? p.mediaType : Array.isArray(p?.manifests) ? mediaTypes.ociIndex : mediaTypes.ociManifest;
  }
  if (mediaType === mediaTypes.ociManifest || mediaType === mediaTypes.dockerManifest) return { ...desc, mediaType };
  if (mediaType !== mediaTypes.ociIndex && mediaType !== mediaTypes.dockerManifestList) {
    throw invalidArchive(`${where} names ${desc.digest} of media type ${mediaType}, which is not an image`);
  }
  if (depth >= maxIndexDepth) throw invalidArchive(`indexes nested more than ${maxIndexDepth} deep at ${desc.digest}`);
  const children = descriptorList(parsed ?? (await session.blobJson(desc.digest, 'index')), `index ${desc.digest}`);
  // Attestations and other artifacts sit in the same index under the platform unknown/unknown.
  const images = children.filter((d) => d.platform?.os !== 'unknown');
  const matching = images.filter((d) => platformMatches(d.platform));
  const host = hostPlatform();
  const chosen = matching.find((d) => d.platform?.variant === host.variant) ?? matching[0] ?? (images.length === 1 ? images[0] : undefined);
  if (!chosen) throw noPlatform(images, `index ${desc.digest}`);
  return imageManifest(session, chosen, `index ${desc.digest}`, depth + 1);
}

async function planManifest(session: LoadSession, desc: Descriptor): Promise<Omit<LoadPlan, 'tags'>> {
  const where = `manifest ${desc.digest}`;
  const m = (await session.blobJson(desc.digest, 'manifest')) as Partial<Manifest> | null;
  if (!m || typeof m !== 'object' || !m.config || !Array.isArray(m.layers)) throw invalidArchive(`${where} has no config or no layers`);
  const configDesc = checkDescriptor(m.config, `${where} config`);
  if (configDesc.mediaType && configDesc.mediaType !== mediaTypes.ociConfig && configDesc.mediaType !== mediaTypes.dockerConfig) {
    throw invalidArchive(`${where} is not a container image: its config has media type ${configDesc.mediaType}`);
  }
  archiveBlob(session, configDesc, where);
  const config = parseConfig(await session.content.read(configDesc.digest), configDesc.digest);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== m.layers.length) {
    throw invalidArchive(`the image config ${configDesc.digest} lists ${diffIds.length} layers (rootfs.diff_ids) but ${where} lists ${m.layers.length}`);
  }
  const layers: ImageLayerInput[] = m.layers.map((raw, i) => {
    const l = checkDescriptor(raw, `${where} layers[${i}]`);
    if (typeof l.mediaType !== 'string' || !/tar/.test(l.mediaType)) {
      throw invalidArchive(`${where} layers[${i}] has the unsupported media type ${String(l.mediaType)}`);
    }
    const file = archiveBlob(session, l, where);
    checkLayerDiffId(file, `the layer ${l.digest}`, diffIds[i]);
    return { blob: l.digest, mediaType: l.mediaType, diffId: diffIds[i] };
  });
  return { config: configDesc.digest, layers, manifest: desc.digest };
}

/** The name an index entry gives its image: containerd's full name, or a ref.name that is a full reference. */
function ociNames(annotations: Record<string, string> | undefined): string[] {
  const containerd = annotations?.[containerdNameAnnotation];
  const refName = annotations?.[refNameAnnotation];
  // A bare ref.name ("latest", "1.0") is only a tag, naming no repository.
  const name = containerd ?? (refName !== undefined && /[/:@]/.test(refName) ? refName : undefined);
  if (name === undefined) return [];
  let ref: Reference;
  try {
    ref = parseReference(name);
  } catch (err) {
    throw invalidArchive(`index.json has an invalid image name "${name}": ${(err as Error).message}`);
  }
  return ref.digest !== undefined ? [] : [formatReference(withDefaultTag(ref))];
}

/**
 * Writes an OCI image layout: blobs as stored (compressed layers stay compressed), each
 * image's manifest, and index.json naming each image as Docker 25 and containerd do.
 */
export async function writeOciArchive(
  selection: SaveImage[],
  writer: ArchiveWriter,
  stores: { content: ContentStore; images: ImageStore },
): Promise<void> {
  const { content, images } = stores;
  const epoch = new Date(0);
  const entries = new Map<string, () => Promise<void>>();
  const blob = (digest: string, bytes?: Buffer): void => {
    const name = `blobs/sha256/${digest.slice('sha256:'.length)}`;
    if (entries.has(name)) return;
    entries.set(name, async () => (bytes ? writer.file(name, bytes, epoch) : writer.stream(name, await content.size(digest), content.open(digest), epoch)));
  };
  const descriptors: Descriptor[] = [];
  for (const img of selection) {
    const manifest = await manifestForSave(content, images, img.id);
    blob(img.id);
    for (const l of manifest.layers) blob(l.digest);
    blob(manifest.digest, manifest.bytes);
    const base: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    if (img.names.length === 0) descriptors.push(base);
    for (const n of img.names) {
      const ref = parseReference(n);
      descriptors.push({ ...base, annotations: { [containerdNameAnnotation]: n, ...(ref.tag ? { [refNameAnnotation]: ref.tag } : {}) } });
    }
  }
  entries.set('blobs/', () => writer.dir('blobs/', epoch));
  entries.set('blobs/sha256/', () => writer.dir('blobs/sha256/', epoch));
  const index = { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: descriptors };
  entries.set('index.json', () => writer.file('index.json', Buffer.from(JSON.stringify(index) + '\n'), epoch));
  entries.set('oci-layout', () => writer.file('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'), epoch));
  for (const name of [...entries.keys()].sort()) await entries.get(name)!();
}

/**
 * The image's stored manifest when it still describes the image (so its digest, which a
 * registry or signature may refer to, is kept), else one built for the blobs as stored.
 */
async function manifestForSave(
  content: ContentStore,
  images: ImageStore,
  id: string,
): Promise<{ bytes: Buffer; digest: string; mediaType: string; layers: Descriptor[] }> {
  const layers = images.imageLayers(id);
  for (const l of layers) {
    if (!l.blob || !(await content.has(l.blob))) {
      throw new SystemError('layer_blob_missing', `image ${id}: the blob of layer ${l.diffId} is not in the content store; it cannot be saved`);
    }
  }
  const stored = images.get(id)?.manifest;
  if (stored && (await content.has(stored))) {
    const bytes = await content.read(stored);
    const m = JSON.parse(bytes.toString('utf8')) as Manifest;
    const same = m.config?.digest === id && m.layers?.length === layers.length && m.layers.every((d, i) => d.digest === layers[i].blob);
    if (same) return { bytes, digest: stored, mediaType: m.mediaType ?? mediaTypes.ociManifest, layers: m.layers };
  }
  const blobs = await Promise.all(
    layers.map(async (l) => ({ digest: l.blob!, size: await content.size(l.blob!), compression: await blobCompression(content, l.blob!) })),
  );
  const built = buildManifest({ digest: id, size: await content.size(id) }, blobs, 'oci');
  return { ...built, digest: sha256Digest(built.bytes) };
}
