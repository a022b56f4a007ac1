// `docker import`: a root filesystem tarball becomes a one-layer image. The tarball is kept as
// the layer blob exactly as given (compressed or not); its diff ID is the hash of the
// uncompressed tar, computed on the way in.
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';
import type { ContentStore } from '../storage/content.js';
import { ingestWithDiffId } from './archive/index.js';
import { peek } from '../storage/peek.js';
import { buildManifest } from './archive/oci.js';
import { applyChanges } from './change.js';
import { formatReference, parseReference, withDefaultTag } from './reference.js';
import type { ImageStore } from './store.js';
import { hostPlatform, type ImageConfig } from './types.js';

export interface ImportOptions {
  /** Name for the image (REPOSITORY[:TAG]). */
  ref?: string;
  /** Dockerfile instructions applied to the config (`--change`). */
  changes?: string[];
  /** The history comment; Docker's default names the source, `-` for a stream. */
  message?: string;
  /** os[/arch[/variant]]; the host's by default. */
  platform?: string;
}

/** Returns the new image's ID. On failure nothing this import stored is left behind. */
export async function importRootfs(
  source: Readable,
  stores: { content: ContentStore; images: ImageStore },
  opts: ImportOptions = {},
): Promise<string> {
  const { content, images } = stores;
  // Everything that can be wrong with the options is found before a byte is stored.
  const tag = opts.ref !== undefined ? importTag(opts.ref) : undefined;
  const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  const containerConfig = applyChanges({}, opts.changes ?? []);
  const comment = opts.message || 'Imported from -';

  const { head, stream } = await peek(source, 6);
  checkFormat(head);
  const existing = new Set(await content.list());
  const added: string[] = [];
  try {
    const layer = await ingestWithDiffId(content, stream);
    if (!existing.has(layer.digest)) added.push(layer.digest);
    if (layer.diffIdError !== undefined || layer.diffId === undefined) {
      throw new InvalidArgumentError('invalid_archive', `the ${layer.compression} stream is truncated or corrupt: ${layer.diffIdError ?? 'no data'}`);
    }
    const created = new Date().toISOString();
    const config: ImageConfig = {
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      created,
      comment,
      config: containerConfig,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created, created_by: '', comment }],
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = await content.put(configBytes);
    if (!existing.has(configDigest)) added.push(configDigest);
    const manifest = buildManifest({ digest: configDigest, size: configBytes.length }, [layer], 'oci');
    const manifestDigest = await content.put(manifest.bytes);
    if (!existing.has(manifestDigest)) added.push(manifestDigest);
    return await images.commitImage({
      config: configDigest,
      layers: [{ blob: layer.digest, mediaType: manifest.layers[0].mediaType, diffId: layer.diffId }],
      manifest: manifestDigest,
      tags: tag !== undefined ? [tag] : [],
    });
  } catch (err) {
    for (const digest of added) {
      if (!images.blobReferenced(digest)) await content.delete(digest);
    }
    throw err;
  }
}

function importTag(ref: string): string {
  const parsed = parseReference(ref);
  if (parsed.digest !== undefined) throw new InvalidArgumentError('invalid_reference', `cannot import digest reference ${ref}`);
  return formatReference(withDefaultTag(parsed));
}

const archAliases: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386', i686: '386' };

function parsePlatform(spec: string): { os: string; architecture: string; variant?: string } {
  const [os, arch, variant, ...extra] = spec.toLowerCase().split('/');
  if (extra.length > 0 || !os) throw new InvalidArgumentError('invalid_platform', `invalid platform "${spec}": expected os[/arch[/variant]]`);
  if (os !== 'linux') throw new InvalidArgumentError('invalid_platform', `unsupported platform "${spec}": only linux images can be imported`);
  if (!arch) return { ...hostPlatform(), os };
  const architecture = archAliases[arch] ?? arch;
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** Docker import also takes bzip2 and xz, which berth cannot decompress: say so plainly. */
function checkFormat(head: Buffer): void {
  if (head.subarray(0, 3).toString('latin1') === 'BZh') {
    throw new InvalidArgumentError('unsupported_compression', 'bzip2-compressed tarballs are not supported: decompress it or recompress with gzip or zstd');
  }
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
    throw new InvalidArgumentError('unsupported_compression', 'xz-compressed tarballs are not supported: decompress it or recompress with gzip or zstd');
  }
}
