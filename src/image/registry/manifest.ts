// Manifests on the wire: fetched by tag or digest with every media type berth understands,
// checked against the digest they were asked by, and validated before anything trusts them.
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import { sha256Digest } from '../../storage/content.js';
import { mediaTypes, type Descriptor, type Manifest } from '../types.js';
import type { Repository } from './client.js';
import { responseError } from './errors.js';
import { readBody } from './transport.js';

export const manifestMediaTypes: string[] = [mediaTypes.ociManifest, mediaTypes.dockerManifest];
export const indexMediaTypes: string[] = [mediaTypes.ociIndex, mediaTypes.dockerManifestList];
const acceptHeader = [...manifestMediaTypes, ...indexMediaTypes].join(', ');
/** containerd's limit: a manifest is metadata, never this large. */
const maxManifestBytes = 4 << 20;
const digestRe = /^sha256:[a-f0-9]{64}$/;

export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

function invalid(what: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_manifest', `${what}: ${message}`);
}

/** The media type: the header's, else the document's own field, else what its shape says. */
function mediaTypeOf(bytes: Buffer, header: string | undefined, what: string): string {
  const fromHeader = header?.split(';')[0].trim();
  let doc: { mediaType?: unknown; manifests?: unknown; config?: unknown; schemaVersion?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch (err) {
    throw invalid(what, `not valid JSON: ${(err as Error).message}`);
  }
  if (doc?.schemaVersion === 1) throw invalid(what, 'Docker image manifest schema 1 is not supported (the image must be pushed again with a current client)');
  if (fromHeader && [...manifestMediaTypes, ...indexMediaTypes].includes(fromHeader)) return fromHeader;
  if (typeof doc?.mediaType === 'string') return doc.mediaType;
  return Array.isArray(doc?.manifests) ? mediaTypes.ociIndex : mediaTypes.ociManifest;
}

/** `reference` is a tag or a digest; a digest is checked against the bytes received. */
export async function fetchManifest(repo: Repository, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
  const what = `manifest for ${repo.name}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
  const res = await repo.request({ method: 'GET', path: repo.url(`manifests/${reference}`), headers: { accept: acceptHeader }, retry: true, signal });
  const status = res.statusCode ?? 0;
  if (status === 404) {
    const err = await responseError(res, `${what} not found`, 'manifest_not_found');
    throw new NotFoundError('manifest_not_found', err.message);
  }
  if (status === 401 || status === 403) {
    throw await responseError(res, `pull access denied for ${repo.name}, repository does not exist or may require 'berth login'`, 'pull_denied');
  }
  if (status !== 200) throw await responseError(res, `fetching the ${what}`);
  const bytes = await readBody(res, maxManifestBytes);
  const digest = sha256Digest(bytes);
  if (reference.startsWith('sha256:') && reference !== digest) {
    throw invalid(what, `the registry sent content that hashes to ${digest}`);
  }
  const header = res.headers['docker-content-digest'];
  if (typeof header === 'string' && header.startsWith('sha256:') && header !== digest) {
    throw invalid(what, `the registry says its digest is ${header} but the content hashes to ${digest}`);
  }
  const contentType = res.headers['content-type'];
  return { bytes, digest, mediaType: mediaTypeOf(bytes, contentType, what) };
}

export function isIndex(m: FetchedManifest): boolean {
  return indexMediaTypes.includes(m.mediaType);
}

function checkDescriptor(raw: unknown, where: string, what: string): Descriptor {
  const d = raw as Partial<Descriptor> | null;
  if (!d || typeof d !== 'object') throw invalid(what, `${where} is not a descriptor`);
  if (typeof d.digest !== 'string' || !digestRe.test(d.digest)) throw invalid(what, `${where} has an invalid or unsupported digest "${String(d.digest)}"`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(what, `${where} has no valid size`);
  return d as Descriptor;
}

export function parseIndex(m: FetchedManifest, what: string): Descriptor[] {
  const doc = JSON.parse(m.bytes.toString('utf8')) as { manifests?: unknown };
  if (!Array.isArray(doc.manifests)) throw invalid(what, 'the index has no manifests list');
  return doc.manifests.map((d, i) => checkDescriptor(d, `manifests[${i}]`, what));
}

export function parseImageManifest(m: FetchedManifest, what: string): Manifest {
  if (!manifestMediaTypes.includes(m.mediaType)) throw invalid(what, `the media type ${m.mediaType} is not an image manifest`);
  const doc = JSON.parse(m.bytes.toString('utf8')) as Partial<Manifest>;
  if (!doc.config || !Array.isArray(doc.layers)) throw invalid(what, 'it has no config or no layers');
  const config = checkDescriptor(doc.config, 'config', what);
  if (config.mediaType && config.mediaType !== mediaTypes.ociConfig && config.mediaType !== mediaTypes.dockerConfig) {
    throw invalid(what, `it is not a container image: its config has the media type ${config.mediaType}`);
  }
  const layers = doc.layers.map((l, i) => {
    const desc = checkDescriptor(l, `layers[${i}]`, what);
    if (typeof desc.mediaType !== 'string' || !/tar/.test(desc.mediaType)) throw invalid(what, `layers[${i}] has the unsupported media type ${String(desc.mediaType)}`);
    if (/foreign|nondistributable/.test(desc.mediaType)) throw invalid(what, `layers[${i}] is a foreign (non-distributable) layer, which berth cannot fetch`);
    return desc;
  });
  return { schemaVersion: 2, mediaType: m.mediaType, config, layers };
}
