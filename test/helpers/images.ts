// Helpers for image tests: real stores in a throwaway root, and image archives crafted byte
// by byte (Docker's `save` layout, OCI image layouts, rootfs tarballs), including broken ones.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { ImageStore } from '../../src/image/store.js';
import type { ImageConfig } from '../../src/image/types.js';
import { ContentStore } from '../../src/storage/content.js';
import { openDb, type Db } from '../../src/storage/db.js';
import { LayerStore } from '../../src/storage/layers.js';

export interface Stores {
  db: Db;
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
}

export async function openStores(root: string): Promise<Stores> {
  const db = openDb(join(root, 'berth.db'));
  const content = new ContentStore(root);
  content.init();
  const layers = new LayerStore(root, db);
  layers.init();
  return { db, content, layers, images: new ImageStore(db, content, layers) };
}

/** Everything a failed operation must leave as it found it. */
export async function storeState(s: Stores): Promise<unknown> {
  const rows = (sql: string): unknown[] => s.db.prepare(sql).all();
  return {
    blobs: (await s.content.list()).sort(),
    images: rows('SELECT id, top_layer, manifest FROM images ORDER BY id'),
    imageLayers: rows('SELECT * FROM image_layers ORDER BY image_id, idx'),
    tags: rows('SELECT name, image_id FROM tags ORDER BY name'),
    layers: rows('SELECT chain_id, diff_id, parent, state FROM layers ORDER BY chain_id'),
    layerDirs: readdirSync(s.layers.dir).filter((n) => n !== 'l').sort(),
  };
}

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export interface TarFile {
  name: string;
  data?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  mode?: number;
}

const fixedTime = new Date('2024-01-01T00:00:00Z');

/** A tar with fixed metadata, so the same files always give the same bytes (and diff ID). */
export async function tarBuffer(files: TarFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const f of files) {
    const type = f.type ?? 'file';
    const header = { name: f.name, type, mode: f.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: fixedTime, uid: 0, gid: 0, linkname: f.linkname };
    await new Promise<void>((resolve, reject) => {
      pack.entry(header, type === 'file' ? Buffer.from(f.data ?? '') : Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface CraftedImage {
  config: Buffer;
  configDigest: string;
  /** Layer blobs as they go into the archive (compressed when asked). */
  layers: Buffer[];
  diffIds: string[];
  repoTags: string[];
}

/** Two layers: some files, then a change on top with a whiteout. */
export const twoLayers: TarFile[][] = [
  [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hostname', data: 'one\n' },
    { name: 'etc/os-release', data: 'ID=crafted\n' },
    { name: 'bin/', type: 'directory' },
    { name: 'bin/tool', data: '#!/bin/sh\necho tool\n', mode: 0o755 },
    { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
  ],
  [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/motd', data: 'layer two\n' },
    { name: 'etc/.wh.hostname', data: '' },
  ],
];

export async function craftImage(opts: {
  layers: TarFile[][];
  repoTags?: string[];
  config?: Partial<ImageConfig>;
  compress?: 'gzip';
  /** Overrides the diff IDs the config lists (to craft a config that lies). */
  diffIds?: (real: string[]) => string[];
}): Promise<CraftedImage> {
  const tars = await Promise.all(opts.layers.map((files) => tarBuffer(files)));
  const realDiffIds = tars.map((t) => sha256(t));
  const diffIds = opts.diffIds ? opts.diffIds(realDiffIds) : realDiffIds;
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-02-03T04:05:06.123456789Z',
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/tool'], Labels: { crafted: 'yes' } },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map((_, i) => ({ created: '2024-02-03T04:05:06Z', created_by: `layer ${i}` })),
    ...opts.config,
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  return {
    config: configBytes,
    configDigest: sha256(configBytes),
    layers: opts.compress === 'gzip' ? tars.map((t) => gzipSync(t)) : tars,
    diffIds: realDiffIds,
    repoTags: opts.repoTags ?? [],
  };
}

export interface ArchiveOptions {
  /** 'legacy': `<n>/layer.tar` as Docker up to 24 writes; 'blobs': `blobs/sha256/<hex>` as Docker 25 does. */
  layout?: 'legacy' | 'blobs';
  /** Paths to leave out of the tar even though the metadata names them. */
  omit?: string[];
  /** Paths whose bytes are replaced. */
  replace?: Record<string, Buffer>;
  /** Leaves manifest.json out. */
  noManifest?: boolean;
  /** Puts manifest.json first instead of last, to check that order does not matter. */
  manifestFirst?: boolean;
}

/** A `docker save` archive of the crafted images. */
export async function dockerArchive(images: CraftedImage[], opts: ArchiveOptions = {}): Promise<Buffer> {
  const files: TarFile[] = [];
  const manifest = images.map((img, i) => {
    const configName = opts.layout === 'blobs' ? `blobs/sha256/${hex(img.configDigest)}` : `${hex(img.configDigest)}.json`;
    files.push({ name: configName, data: img.config });
    const layerPaths = img.layers.map((blob, j) => {
      const path = opts.layout === 'blobs' ? `blobs/sha256/${hex(sha256(blob))}` : `layer-${i}-${j}/layer.tar`;
      if (opts.layout !== 'blobs') {
        files.push({ name: `layer-${i}-${j}/VERSION`, data: '1.0' });
        files.push({ name: `layer-${i}-${j}/json`, data: '{}' });
      }
      files.push({ name: path, data: blob });
      return path;
    });
    return { Config: configName, RepoTags: img.repoTags.length ? img.repoTags : null, Layers: layerPaths };
  });
  const manifestFile = { name: 'manifest.json', data: JSON.stringify(manifest) };
  const all = opts.noManifest ? files : opts.manifestFirst ? [manifestFile, ...files] : [...files, manifestFile];
  return tarBuffer(withTampering(all, opts));
}

export interface OciOptions extends Pick<ArchiveOptions, 'omit' | 'replace'> {
  /** index.json names per image (full references go in io.containerd.image.name). */
  names?: string[][];
  /** Extra blobs to place in the layout (say, manifests for other platforms). */
  extraBlobs?: Buffer[];
  /** Replaces the generated index.json. */
  index?: (manifests: { digest: string; size: number }[]) => unknown;
}

/** An OCI image layout of the crafted images. */
export async function ociLayout(images: CraftedImage[], opts: OciOptions = {}): Promise<{ tar: Buffer; manifests: { digest: string; size: number }[] }> {
  const blobs = new Map<string, Buffer>();
  const add = (b: Buffer): string => {
    const d = sha256(b);
    blobs.set(d, b);
    return d;
  };
  const manifests = images.map((img) => {
    add(img.config);
    const m = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.configDigest, size: img.config.length },
      layers: img.layers.map((l) => ({
        mediaType: l[0] === 0x1f ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
        digest: add(l),
        size: l.length,
      })),
    };
    const bytes = Buffer.from(JSON.stringify(m));
    return { digest: add(bytes), size: bytes.length };
  });
  for (const b of opts.extraBlobs ?? []) add(b);
  const index = opts.index
    ? opts.index(manifests)
    : {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: manifests.flatMap((m, i) => {
          const names = opts.names?.[i] ?? [];
          const base = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m };
          if (names.length === 0) return [base];
          return names.map((n) => ({ ...base, annotations: { 'io.containerd.image.name': n, 'org.opencontainers.image.ref.name': n.split(':').pop() } }));
        }),
      };
  const files: TarFile[] = [
    { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...[...blobs].map(([d, b]) => ({ name: `blobs/sha256/${hex(d)}`, data: b })),
    { name: 'index.json', data: JSON.stringify(index) },
  ];
  return { tar: await tarBuffer(withTampering(files, opts)), manifests };
}

function withTampering(files: TarFile[], opts: Pick<ArchiveOptions, 'omit' | 'replace'>): TarFile[] {
  return files.filter((f) => !opts.omit?.includes(f.name)).map((f) => (opts.replace?.[f.name] ? { ...f, data: opts.replace[f.name] } : f));
}

export function hex(digest: string): string {
  return digest.replace(/^sha256:/, '');
}

/**
 * Members of a tar as name -> bytes for regular files and for symlinks to regular files in the
 * same tar (Docker's save links a layer.tar written twice), null for anything else.
 */
export async function readTar(data: Buffer): Promise<Map<string, Buffer | null>> {
  const extract = tar.extract();
  const out = new Map<string, Buffer | null>();
  const links = new Map<string, string>();
  const reading = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(Buffer.from(c as Uint8Array));
      const { name, type, linkname } = entry.header;
      out.set(name, type === 'file' ? Buffer.concat(chunks) : null);
      if (type === 'symlink') links.set(name, posix.join(posix.dirname(name), linkname));
    }
  })();
  extract.end(data);
  await reading;
  for (const [name, target] of links) out.set(name, out.get(target) ?? null);
  return out;
}

/** A rootfs with the host's static busybox as /bin/busybox (and /bin/sh), for real containers. */
export async function busyboxRootfs(): Promise<Buffer | undefined> {
  const path = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!path) return undefined;
  return tarBuffer([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', data: readFileSync(path), mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n' },
  ]);
}

/** Runs a command, feeding `input` to its stdin; resolves with its output whatever its exit status. */
export function run(file: string, args: string[], input?: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Whether the Docker daemon answers, so interop tests can skip cleanly when it does not. */
export async function dockerAvailable(): Promise<boolean> {
  return (await run('docker', ['info'])).code === 0;
}
