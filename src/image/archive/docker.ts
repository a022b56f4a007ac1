// The `docker save` archive: manifest.json listing each image's config file, tags and layer
// tars. Loading accepts both layouts Docker has written (`<v1 id>/layer.tar` up to 24, and
// `blobs/sha256/<hex>` since 25); saving writes what Docker 20.10 writes, byte for byte in
// its metadata, so that tools which compare or cache such archives see no difference.
import { lazy } from '../../builtins.js';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SystemError } from '../../errors.js';
import { chainIds } from '../../storage/chain.js';
import type { ContentStore } from '../../storage/content.js';
import { decompressor } from '../../sys/decompress.js';
import { familiarName, familiarString, parseReference } from '../reference.js';
import { parseConfig, type ImageLayerRecord, type ImageStore } from '../store.js';
import { archiveTag, invalidArchive, type ArchiveWriter, type LoadPlan, type LoadSession, type SaveImage } from './index.js';
import { blobCompression, buildManifest, checkLayerDiffId, manifestFlavour } from './oci.js';

interface ManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

export async function planDockerLoad(session: LoadSession): Promise<LoadPlan[]> {
  const entries = session.json('manifest.json');
  if (!Array.isArray(entries)) throw invalidArchive('manifest.json is not a list of images');
  if (entries.length === 0) throw invalidArchive('manifest.json lists no image');
  const plans: LoadPlan[] = [];
  for (const [i, raw] of entries.entries()) {
    const entry = checkEntry(raw, i);
    const configFile = session.file(entry.Config);
    if (!configFile) throw invalidArchive(`manifest.json names the image config ${entry.Config}, which is not in the archive`);
    const config = parseConfig(await session.content.read(configFile.digest), configFile.digest);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== entry.Layers.length) {
      throw invalidArchive(`the image config ${entry.Config} lists ${diffIds.length} layers (rootfs.diff_ids) but manifest.json lists ${entry.Layers.length}`);
    }
    const files = entry.Layers.map((path, j) => {
      const file = session.file(path);
      if (!file) throw invalidArchive(`manifest.json names the layer ${path}, which is not in the archive`);
      checkLayerDiffId(file, path, diffIds[j]);
      return file;
    });
    const flavour = manifestFlavour(files.map((f) => f.compression));
    const manifest = buildManifest({ digest: configFile.digest, size: configFile.size }, files, flavour);
    plans.push({
      config: configFile.digest,
      layers: manifest.layers.map((l, j) => ({ blob: l.digest, mediaType: l.mediaType, diffId: diffIds[j] })),
      manifest: await session.put(manifest.bytes),
      tags: entry.RepoTags.map((t) => archiveTag(t, 'manifest.json')),
    });
  }
  return plans;
}

function checkEntry(raw: unknown, i: number): ManifestEntry {
  const e = raw as Partial<Record<keyof ManifestEntry, unknown>> | null;
  const where = `manifest.json entry ${i}`;
  if (!e || typeof e !== 'object') throw invalidArchive(`${where} is not an object`);
  if (typeof e.Config !== 'string') throw invalidArchive(`${where} has no Config`);
  if (!Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) throw invalidArchive(`${where} has no Layers list`);
  const tags = e.RepoTags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw invalidArchive(`${where} has a RepoTags that is not a list of names`);
  return { Config: e.Config, Layers: e.Layers as string[], RepoTags: tags as string[] };
}

/** Writes `selection` as Docker 20.10's save does, entries in the same (lexical) order. */
export async function writeDockerArchive(
  selection: SaveImage[],
  writer: ArchiveWriter,
  stores: { content: ContentStore; images: ImageStore },
): Promise<void> {
  const { content, images } = stores;
  const entries = new Map<string, () => Promise<void>>();
  const manifest: string[] = [];
  const repositories = new Map<string, Map<string, string>>();
  // As Docker does, a diff already written under another v1 ID becomes a symlink to it.
  const diffIdPaths = new Map<string, string>();
  for (const img of selection) {
    const configBytes = await content.read(img.id);
    const config = parseConfig(configBytes, img.id);
    const raw = JSON.parse(configBytes.toString('utf8')) as Record<string, unknown>;
    const diffIds = config.rootfs.diff_ids;
    const layers = images.imageLayers(img.id);
    if (layers.length !== diffIds.length) {
      throw new SystemError('image_corrupt', `image ${img.id} has ${layers.length} layers recorded but its config lists ${diffIds.length}`);
    }
    // Found before the first byte goes out, rather than half way through the archive.
    for (const l of layers) {
      if (!l.blob || !(await content.has(l.blob))) {
        throw new SystemError('layer_blob_missing', `image ${img.id}: the blob of layer ${l.diffId} is not in the content store; it cannot be saved`);
      }
    }
    const created = goTime(raw.created);
    const mtime = tarTime(created);
    const chains = chainIds(diffIds);
    const paths: string[] = [];
    let parent: string | undefined;
    for (let i = 0; i < chains.length; i++) {
      // Docker keeps the image's own metadata on the top layer only; the others get a stub.
      const v1 = i === chains.length - 1 ? v1Image(raw) : v1Image({ created: '1970-01-01T00:00:00Z' });
      const id = v1Id(v1, chains[i], parent);
      const json = v1Json(v1, id, parent, typeof raw.os === 'string' ? raw.os : '');
      parent = id;
      paths.push(`${id}/layer.tar`);
      if (entries.has(`${id}/`)) continue;
      const layer = layers[i];
      entries.set(`${id}/`, () => writer.dir(`${id}/`, mtime));
      entries.set(`${id}/VERSION`, () => writer.file(`${id}/VERSION`, Buffer.from('1.0'), mtime));
      entries.set(`${id}/json`, () => writer.file(`${id}/json`, Buffer.from(json), mtime));
      const written = diffIdPaths.get(layer.diffId);
      if (written !== undefined) {
        entries.set(`${id}/layer.tar`, () => writer.symlink(`${id}/layer.tar`, `../${written}`, mtime));
      } else {
        diffIdPaths.set(layer.diffId, `${id}/layer.tar`);
        entries.set(`${id}/layer.tar`, () => writeLayerTar(writer, `${id}/layer.tar`, content, img.id, layer, mtime));
      }
    }
    const configName = `${img.id.slice('sha256:'.length)}.json`;
    entries.set(configName, () => writer.file(configName, configBytes, mtime));
    const repoTags = img.names.map((n) => familiarString(parseReference(n)));
    manifest.push(`{"Config":${goString(configName)},"RepoTags":${repoTags.length ? goList(repoTags) : 'null'},"Layers":${goList(paths)}}`);
    for (const n of img.names) {
      const ref = parseReference(n);
      const repo = repositories.get(familiarName(ref)) ?? new Map<string, string>();
      repo.set(ref.tag ?? 'latest', parent ?? '');
      repositories.set(familiarName(ref), repo);
    }
  }
  const epoch = new Date(0);
  entries.set('manifest.json', () => writer.file('manifest.json', Buffer.from(`[${manifest.join(',')}]\n`), epoch));
  if (repositories.size > 0) {
    const json = goMap([...repositories].map(([name, tags]) => [name, goMap([...tags].map(([t, id]) => [t, goString(id)]))]));
    entries.set('repositories', () => writer.file('repositories', Buffer.from(json + '\n'), epoch));
  }
  for (const name of [...entries.keys()].sort()) await entries.get(name)!();
}

/**
 * layer.tar is the uncompressed layer, whose sha256 is its diff ID. A compressed blob is read
 * twice: once for the size the tar header needs up front (checking the diff ID on the way),
 * once to write it.
 */
async function writeLayerTar(writer: ArchiveWriter, name: string, content: ContentStore, imageId: string, layer: ImageLayerRecord, mtime: Date): Promise<void> {
  const blob = layer.blob!;
  const compression = await blobCompression(content, blob);
  if (compression === 'none') {
    if (blob !== layer.diffId) throw corruptLayer(imageId, layer, blob);
    await writer.stream(name, await content.size(blob), content.open(blob), mtime);
    return;
  }
  const hash = lazy.crypto.createHash('sha256');
  let size = 0;
  await pipeline(content.open(blob), decompressor(compression), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.length;
    }
  });
  const diffId = 'sha256:' + hash.digest('hex');
  if (diffId !== layer.diffId) throw corruptLayer(imageId, layer, diffId);
  await writer.stream(name, size, decompressed(content, blob, compression), mtime);
}

function corruptLayer(imageId: string, layer: ImageLayerRecord, got: string): SystemError {
  return new SystemError('layer_corrupt', `image ${imageId}: the blob ${layer.blob} of layer ${layer.diffId} decompresses to ${got}; the content store is damaged`);
}

function decompressed(content: ContentStore, blob: string, compression: 'gzip' | 'zstd'): Readable {
  const d = decompressor(compression);
  const source = content.open(blob);
  source.on('error', (err) => d.destroy(err));
  return source.pipe(d);
}

// ---- Docker's legacy v1 metadata, reproduced as Go's encoding/json writes it ----

/** Go's json.Marshal of a string (HTML-safe escaping, as Docker's encoder does by default). */
function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

function goList(items: string[]): string {
  return `[${items.map(goString).join(',')}]`;
}

/** A Go map: keys sorted; values already encoded. */
function goMap(pairs: [string, string][]): string {
  return `{${[...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${goString(k)}:${v}`).join(',')}}`;
}

function goStruct(fields: [string, string][]): string {
  return `{${fields.map(([k, v]) => `${goString(k)}:${v}`).join(',')}}`;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function strSlice(v: unknown): string[] | null {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.map(String) : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's time.Time text: RFC 3339 with trailing fractional zeros dropped and a zero offset as Z. */
function goTime(v: unknown): string {
  if (typeof v !== 'string') return '0001-01-01T00:00:00Z';
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(v);
  if (!m) return v;
  const fraction = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = m[3].toUpperCase() === 'Z' || /^[+-]00:00$/.test(m[3]) ? 'Z' : m[3];
  return `${m[1]}${fraction ? '.' + fraction : ''}${zone}`;
}

function tarTime(goCreated: string): Date {
  const t = Date.parse(goCreated);
  return Number.isFinite(t) && t > 0 ? new Date(Math.floor(t / 1000) * 1000) : new Date(0);
}

/** Docker's container.Config (API 1.41) as Go marshals it: fixed field order, omitempty where tagged. */
function goContainerConfig(v: unknown): string {
  const c = isObject(v) ? v : {};
  const fields: [string, string][] = [];
  const s = (k: string): void => void fields.push([k, goString(str(c[k]))]);
  const b = (k: string): void => void fields.push([k, c[k] === true ? 'true' : 'false']);
  const list = (k: string, omitEmpty = false): void => {
    const l = strSlice(c[k]);
    if (omitEmpty && (!l || l.length === 0)) return;
    fields.push([k, l ? goList(l) : 'null']);
  };
  const set = (k: string, omitEmpty = false): void => {
    const m = c[k];
    if (omitEmpty && (!isObject(m) || Object.keys(m).length === 0)) return;
    fields.push([k, isObject(m) ? goMap(Object.keys(m).map((key) => [key, '{}'])) : 'null']);
  };
  s('Hostname');
  s('Domainname');
  s('User');
  b('AttachStdin');
  b('AttachStdout');
  b('AttachStderr');
  set('ExposedPorts', true);
  b('Tty');
  b('OpenStdin');
  b('StdinOnce');
  list('Env');
  list('Cmd');
  if (isObject(c.Healthcheck)) fields.push(['Healthcheck', goHealthConfig(c.Healthcheck)]);
  if (c.ArgsEscaped === true) fields.push(['ArgsEscaped', 'true']);
  s('Image');
  set('Volumes');
  s('WorkingDir');
  list('Entrypoint');
  if (c.NetworkDisabled === true) fields.push(['NetworkDisabled', 'true']);
  if (str(c.MacAddress) !== '') fields.push(['MacAddress', goString(str(c.MacAddress))]);
  list('OnBuild');
  const labels = c.Labels;
  fields.push(['Labels', isObject(labels) ? goMap(Object.entries(labels).map(([k, val]) => [k, goString(str(val))])) : 'null']);
  if (str(c.StopSignal) !== '') fields.push(['StopSignal', goString(str(c.StopSignal))]);
  if (typeof c.StopTimeout === 'number') fields.push(['StopTimeout', String(Math.trunc(c.StopTimeout))]);
  list('Shell', true);
  return goStruct(fields);
}

function goHealthConfig(h: Record<string, unknown>): string {
  const fields: [string, string][] = [];
  const test = strSlice(h.Test);
  if (test && test.length > 0) fields.push(['Test', goList(test)]);
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'Retries']) {
    if (typeof h[k] === 'number' && h[k] !== 0) fields.push([k, String(Math.trunc(h[k] as number))]);
  }
  return goStruct(fields);
}

/** Docker's image.V1Image fields of a config, encoded, in struct order, omitempty applied. */
function v1Image(raw: Record<string, unknown>): Map<string, string> {
  const f = new Map<string, string>();
  const opt = (key: string): void => {
    if (str(raw[key]) !== '') f.set(key, goString(str(raw[key])));
  };
  opt('id');
  opt('parent');
  opt('comment');
  f.set('created', goString(goTime(raw.created)));
  opt('container');
  f.set('container_config', goContainerConfig(raw.container_config));
  opt('docker_version');
  opt('author');
  if (isObject(raw.config)) f.set('config', goContainerConfig(raw.config));
  opt('architecture');
  opt('variant');
  opt('os');
  if (typeof raw.Size === 'number' && raw.Size !== 0) f.set('Size', String(Math.trunc(raw.Size)));
  return f;
}

/** Docker's v1.CreateID: the V1Image without its ID, plus layer_id and parent, keys sorted. */
function v1Id(v1: Map<string, string>, chainId: string, parent: string | undefined): string {
  const fields = new Map(v1);
  fields.delete('id');
  fields.set('layer_id', goString(chainId));
  if (parent !== undefined) fields.set('parent', goString('sha256:' + parent));
  return lazy.crypto.createHash('sha256').update(goMap([...fields])).digest('hex');
}

/** The layer's `json` file: the V1Image with its ID, parent and the image's OS filled in. */
function v1Json(v1: Map<string, string>, id: string, parent: string | undefined, os: string): string {
  const fields = new Map<string, string>();
  fields.set('id', goString(id));
  if (parent !== undefined) fields.set('parent', goString(parent));
  else if (v1.has('parent')) fields.set('parent', v1.get('parent')!);
  for (const [k, v] of v1) if (k !== 'id' && k !== 'parent') fields.set(k, v);
  if (os !== '' && !fields.has('os')) {
    // os belongs after variant / architecture in struct order: rebuild in that order.
    const ordered = [...fields];
    const sizeAt = ordered.findIndex(([k]) => k === 'Size');
    ordered.splice(sizeAt < 0 ? ordered.length : sizeAt, 0, ['os', goString(os)]);
    return goStruct(ordered);
  }
  return goStruct([...fields]);
}
