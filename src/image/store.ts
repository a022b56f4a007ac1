// The image store: which images exist, their names and their layers. Image bytes (configs,
// manifests, compressed layers) live in the content store; unpacked layers in the layer
// store; this module keeps the three consistent through the state database.
import type { Db } from '../storage/db.js';
import type { ContentStore } from '../storage/content.js';
import type { LayerStore } from '../storage/layers.js';
import { chainIds } from '../storage/chain.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { ImageConfig } from './types.js';
import { formatReference, isImageIdLike, parseReference, withDefaultTag } from './reference.js';

export interface ImageLayerInput {
  /** Digest of the layer blob (compressed or not) in the content store. */
  blob: string;
  mediaType: string;
  diffId: string;
}

export interface ImageRecord {
  id: string;
  topLayer: string | null;
  manifest: string | null;
  size: number;
  created: number;
  loaded: number;
  tags: string[];
  repoDigests: string[];
}

export interface ImageLayerRecord {
  chainId: string;
  diffId: string;
  blob: string | null;
  mediaType: string | null;
}

interface ImageRow {
  id: string;
  top_layer: string | null;
  manifest: string | null;
  size: number;
  created: number;
  loaded: number;
}

export class ImageStore {
  constructor(
    private readonly db: Db,
    private readonly content: ContentStore,
    private readonly layers: LayerStore,
  ) {}

  /**
   * Registers an image whose config and layer blobs are already in the content store (a layer
   * already unpacked may lack its own blob: see storedBlobOf). An image already present keeps
   * its manifest and layer blobs: a registry may serve them.
   * Layers not yet unpacked are unpacked from their blobs; the image becomes visible in one
   * transaction at the end, so a failure leaves no half-registered image, and layers this
   * call unpacked are released again.
   */
  async commitImage(opts: {
    config: string;
    layers: ImageLayerInput[];
    manifest?: string;
    tags?: string[];
    repoDigests?: string[];
  }): Promise<string> {
    const config = parseConfig(await this.content.read(opts.config), opts.config);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== opts.layers.length) {
      throw new InvalidArgumentError(
        'layer_count_mismatch',
        `image config ${opts.config} lists ${diffIds.length} layers but the manifest has ${opts.layers.length}`,
      );
    }
    opts.layers.forEach((l, i) => {
      if (l.diffId !== diffIds[i]) {
        throw new InvalidArgumentError('diff_id_mismatch', `layer ${i} has diff ID ${l.diffId} but the image config says ${diffIds[i]}`);
      }
    });
    const chains = chainIds(diffIds);
    const created: string[] = [];
    try {
      let parent: string | null = null;
      for (let i = 0; i < chains.length; i++) {
        if (!this.layers.get(chains[i])) {
          if (!(await this.content.has(opts.layers[i].blob))) {
            throw new NotFoundError('blob_not_found', `layer blob ${opts.layers[i].blob} is missing`);
          }
          const rec = await this.layers.apply(this.content.open(opts.layers[i].blob), parent, diffIds[i]);
          created.push(rec.chainId);
        }
        parent = chains[i];
      }
      const recorded = await Promise.all(opts.layers.map((l) => this.storedBlobOf(l)));
      const size = chains.reduce((sum, c) => sum + (this.layers.get(c)?.size ?? 0), 0);
      const createdAt = config.created ? Math.floor(Date.parse(config.created) / 1000) || 0 : 0;
      const id = opts.config;
      this.db.transaction(() => {
        this.db
          .prepare(
            `INSERT INTO images (id, top_layer, manifest, size, created, loaded) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET manifest = coalesce(images.manifest, excluded.manifest)`,
          )
          .run(id, chains.at(-1) ?? null, opts.manifest ?? null, size, createdAt, Math.floor(Date.now() / 1000));
        const insertLayer = this.db.prepare(
          `INSERT INTO image_layers (image_id, idx, chain_id, blob, media_type) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(image_id, idx) DO NOTHING`,
        );
        chains.forEach((c, i) => insertLayer.run(id, i, c, recorded[i].blob, recorded[i].mediaType));
        for (const t of opts.tags ?? []) this.setTag(t, id);
        const insertDigest = this.db.prepare(`INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?, ?)`);
        for (const d of opts.repoDigests ?? []) insertDigest.run(d, id);
      }).immediate();
      return id;
    } catch (err) {
      await this.layers.release(created);
      throw err;
    }
  }

  /**
   * The blob to record for a layer: its own, or when that is not stored, a stored blob of the
   * same diff ID. A pull fetches no blob for a layer already unpacked ("Already exists"), and
   * the image that brought the layer may have had it in another compression (zstd and gzip,
   * or two tools' gzip); recording the stored one gives push and save a blob for the layer,
   * and keeps that blob while this image uses it.
   */
  private async storedBlobOf(layer: ImageLayerInput): Promise<{ blob: string; mediaType: string | null }> {
    if (await this.content.has(layer.blob)) return layer;
    return (await this.storedLayerBlob(layer.diffId)) ?? layer;
  }

  /** A blob in the content store that some image records for a layer with this diff ID. */
  async storedLayerBlob(diffId: string): Promise<{ blob: string; mediaType: string | null } | undefined> {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT il.blob, il.media_type FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id
         WHERE l.diff_id = ? AND il.blob IS NOT NULL`,
      )
      .all(diffId) as { blob: string; media_type: string | null }[];
    for (const r of rows) {
      if (await this.content.has(r.blob)) return { blob: r.blob, mediaType: r.media_type };
    }
    return undefined;
  }

  /** Records `blob` (stored) as the blob of layer `idx` of image `id`, in place of one the store lacks. */
  setLayerBlob(id: string, idx: number, blob: string, mediaType: string | null): void {
    this.db.prepare(`UPDATE image_layers SET blob = ?, media_type = ? WHERE image_id = ? AND idx = ?`).run(blob, mediaType, id, idx);
  }

  list(): ImageRecord[] {
    const rows = this.db.prepare(`SELECT * FROM images ORDER BY created DESC, loaded DESC`).all() as ImageRow[];
    return rows.map((r) => this.record(r));
  }

  get(id: string): ImageRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM images WHERE id = ?`).get(id) as ImageRow | undefined;
    return row && this.record(row);
  }

  /**
   * Finds an image as Docker does: a full ID, then a name (tag or digest), then an ID prefix.
   */
  resolve(refOrId: string): ImageRecord {
    const found = this.lookup(refOrId);
    if (!found) throw new NotFoundError('image_not_found', `No such image: ${refOrId}`);
    return found;
  }

  lookup(refOrId: string): ImageRecord | undefined {
    if (/^sha256:[a-f0-9]{64}$/.test(refOrId)) return this.get(refOrId);
    let byName: string | undefined;
    let nameError: unknown;
    try {
      byName = this.imageIdForName(formatReference(withDefaultTag(parseReference(refOrId))));
    } catch (err) {
      nameError = err;
    }
    if (byName) return this.get(byName);
    if (isImageIdLike(refOrId)) {
      const hex = refOrId.replace(/^sha256:/, '');
      const rows = this.db.prepare(`SELECT id FROM images WHERE id LIKE ?`).all(`sha256:${hex}%`) as { id: string }[];
      if (rows.length > 1) {
        throw new ConflictError('ambiguous_image_id', `ambiguous image ID ${refOrId}: it matches ${rows.length} images; give more characters`);
      }
      if (rows.length === 1) return this.get(rows[0].id);
      return undefined;
    }
    if (nameError) throw nameError;
    return undefined;
  }

  config(id: string): Promise<ImageConfig> {
    return this.content.read(id).then((b) => parseConfig(b, id));
  }

  imageLayers(id: string): ImageLayerRecord[] {
    const rows = this.db
      .prepare(
        `SELECT il.chain_id, l.diff_id, il.blob, il.media_type FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id
         WHERE il.image_id = ? ORDER BY il.idx`,
      )
      .all(id) as { chain_id: string; diff_id: string; blob: string | null; media_type: string | null }[];
    return rows.map((r) => ({ chainId: r.chain_id, diffId: r.diff_id, blob: r.blob, mediaType: r.media_type }));
  }

  /** Points `name` (a normalized reference) at image `id`, taking it from any other image. */
  tag(name: string, id: string): void {
    this.db.transaction(() => this.setTag(name, id)).immediate();
  }

  /** Removes a name; returns the image it pointed at. */
  untag(name: string): string | undefined {
    return this.db.transaction(() => {
      const row = this.db.prepare(`SELECT image_id FROM tags WHERE name = ?`).get(name) as { image_id: string } | undefined;
      if (row) {
        this.db.prepare(`DELETE FROM tags WHERE name = ?`).run(name);
        return row.image_id;
      }
      const dig = this.db.prepare(`SELECT image_id FROM repo_digests WHERE name = ?`).get(name) as { image_id: string } | undefined;
      if (dig) this.db.prepare(`DELETE FROM repo_digests WHERE name = ?`).run(name);
      return dig?.image_id;
    }).immediate();
  }

  /**
   * Deletes an image with its names, then frees what only it used: its layers (through the
   * layer store's references) and its blobs in the content store.
   */
  async delete(id: string): Promise<void> {
    const image = this.get(id);
    if (!image) throw new NotFoundError('image_not_found', `No such image: ${id}`);
    const layers = this.imageLayers(id);
    const blobs = [id, ...(image.manifest ? [image.manifest] : []), ...layers.flatMap((l) => (l.blob ? [l.blob] : []))];
    this.db.prepare(`DELETE FROM images WHERE id = ?`).run(id);
    await this.layers.release(layers.map((l) => l.chainId).reverse());
    for (const b of blobs) {
      if (!this.blobReferenced(b)) await this.content.delete(b);
    }
  }

  /**
   * Records that a registry serves image `id` as `name` (repo@digest, after a push), and the
   * manifest it was pushed with when the image had none.
   */
  addRepoDigest(name: string, id: string, manifest?: string): void {
    this.db.transaction(() => {
      this.db.prepare(`INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?, ?)`).run(name, id);
      if (manifest) this.db.prepare(`UPDATE images SET manifest = coalesce(manifest, ?) WHERE id = ?`).run(manifest, id);
    }).immediate();
  }

  /**
   * Whether anything in the database still refers to a blob. A repo digest refers to the
   * manifest or index it names: the index of a multi-platform pull is kept that way.
   */
  blobReferenced(digest: string): boolean {
    const row = this.db
      .prepare(
        `SELECT 1 FROM images WHERE id = @d OR manifest = @d
         UNION ALL SELECT 1 FROM image_layers WHERE blob = @d
         UNION ALL SELECT 1 FROM repo_digests WHERE substr(name, instr(name, '@') + 1) = @d LIMIT 1`,
      )
      .get({ d: digest });
    return row !== undefined;
  }

  private imageIdForName(name: string): string | undefined {
    const row = (this.db.prepare(`SELECT image_id FROM tags WHERE name = ?`).get(name) ??
      this.db.prepare(`SELECT image_id FROM repo_digests WHERE name = ?`).get(name)) as { image_id: string } | undefined;
    return row?.image_id;
  }

  private setTag(name: string, id: string): void {
    this.db
      .prepare(`INSERT INTO tags (name, image_id, created) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id`)
      .run(name, id, Math.floor(Date.now() / 1000));
  }

  private record(r: ImageRow): ImageRecord {
    const tags = (this.db.prepare(`SELECT name FROM tags WHERE image_id = ? ORDER BY created, name`).all(r.id) as { name: string }[]).map((t) => t.name);
    const repoDigests = (this.db.prepare(`SELECT name FROM repo_digests WHERE image_id = ? ORDER BY name`).all(r.id) as { name: string }[]).map((t) => t.name);
    return { id: r.id, topLayer: r.top_layer, manifest: r.manifest, size: r.size, created: r.created, loaded: r.loaded, tags, repoDigests };
  }
}

export function parseConfig(bytes: Buffer, digest: string): ImageConfig {
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (err) {
    throw new InvalidArgumentError('invalid_config', `image config ${digest} is not valid JSON: ${(err as Error).message}`);
  }
  if (!config || typeof config !== 'object' || !config.rootfs || !Array.isArray(config.rootfs.diff_ids)) {
    throw new InvalidArgumentError('invalid_config', `image config ${digest} has no rootfs.diff_ids`);
  }
  return config;
}
