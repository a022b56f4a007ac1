// The engine's image operations in Docker API shapes, on top of the image store.
import type { Readable, Writable } from 'node:stream';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { familiarString, formatReference, fullName, parseReference, withDefaultTag } from '../image/reference.js';
import type { ImageRecord, ImageStore } from '../image/store.js';
import type { ImageConfig } from '../image/types.js';
import type { EventLog } from '../events/log.js';
import type { ContentStore } from '../storage/content.js';
import type { LayerStore } from '../storage/layers.js';
import type { Filters, HistoryItem, ImageDeleteItem, ImageInspect, ImageSummary, PruneReport } from './engine.js';
import { boolFilter, checkFilterKeys, globMatch, labelsExcluded, labelsMatch, parseTimestamp } from './filters.js';

export interface ImageStores {
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
}

/**
 * Docker's image events: the actor is an image ID (or, for pull and push, the reference as
 * given), the attributes the image's labels while it exists, and `name`.
 */
export class ImageEvents {
  constructor(
    private readonly log: EventLog,
    private readonly images: ImageStore,
  ) {}

  async record(action: string, actorId: string, name: string): Promise<void> {
    // As Docker's daemon, which looks the actor up as an image: a deleted image has no labels.
    let labels: Record<string, string> | undefined;
    try {
      const img = this.images.lookup(actorId);
      if (img) labels = (await this.images.config(img.id)).config?.Labels ?? undefined;
    } catch {
      // not an image berth can look up: no labels, as Docker's daemon
    }
    this.log.record('image', action, actorId, { ...labels, name });
  }
}

/** Whether containers use an image; the containers part of the engine answers this. */
export type ImageUsers = (imageId: string) => string[];

const noUsers: ImageUsers = () => [];

export class ImageService {
  constructor(
    private readonly stores: ImageStores,
    private readonly events: ImageEvents,
    private readonly usersOf: ImageUsers = noUsers,
  ) {}

  async list(opts: { all?: boolean; filters?: Filters }): Promise<ImageSummary[]> {
    const filters = opts.filters ?? {};
    checkFilterKeys(filters, ['dangling', 'reference', 'label', 'before', 'since', 'until']);
    const dangling = boolFilter(filters, 'dangling');
    const before = filters.before?.map((r) => this.stores.images.resolve(r).created);
    const since = filters.since?.map((r) => this.stores.images.resolve(r).created);
    const until = filters.until?.map((t) => parseTimestamp(t));
    const out: ImageSummary[] = [];
    for (const img of this.stores.images.list()) {
      // As Docker: dangling=true lists the images without a tag, dangling=false those with a
      // name of any kind (a digest-only image is in both).
      if (dangling === true && img.tags.length > 0) continue;
      if (dangling === false && img.tags.length === 0 && img.repoDigests.length === 0) continue;
      if (before && !before.every((b) => img.created < b)) continue;
      if (since && !since.every((s) => img.created > s)) continue;
      if (until && !until.every((u) => img.created < u)) continue;
      const config = await this.stores.images.config(img.id);
      const labels = config.config?.Labels ?? null;
      if (!labelsMatch(labels, filters.label)) continue;
      let tags = img.tags.map(familiarTag);
      let digests = img.repoDigests.map(familiarTag);
      // Docker matches tags and digest references alike, and lists only the names that match.
      if (filters.reference) {
        const matches = (name: string): boolean => filters.reference.some((p) => referenceMatches(p, name));
        tags = tags.filter(matches);
        digests = digests.filter(matches);
        if (tags.length === 0 && digests.length === 0) continue;
      }
      out.push(summary(img, tags, digests, labels));
    }
    return out;
  }

  async inspect(ref: string): Promise<ImageInspect> {
    const img = this.stores.images.resolve(ref);
    const config = await this.stores.images.config(img.id);
    const lowers = (img.topLayer ? this.stores.layers.stack(img.topLayer) : []).map((l) => this.stores.layers.diffDir(l.chainId));
    return {
      Id: img.id,
      RepoTags: img.tags.map(familiarTag),
      RepoDigests: img.repoDigests.map(familiarTag),
      Parent: '',
      Comment: config.history?.at(-1)?.comment ?? '',
      Created: config.created ?? new Date(0).toISOString(),
      Container: '',
      DockerVersion: '',
      Author: config.author ?? '',
      Config: dockerConfig(config),
      Architecture: config.architecture,
      ...(config.variant ? { Variant: config.variant } : {}),
      Os: config.os,
      Size: img.size,
      VirtualSize: img.size,
      // Shaped like Docker's overlay2: the top layer as UpperDir, the ones below as LowerDir.
      GraphDriver: {
        Name: 'overlay',
        Data: lowers.length ? { ...(lowers.length > 1 ? { LowerDir: lowers.slice(1).join(':') } : {}), UpperDir: lowers[0] } : null,
      },
      RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
      Metadata: { LastTagTime: new Date(img.loaded * 1000).toISOString() },
    };
  }

  async history(ref: string): Promise<HistoryItem[]> {
    const img = this.stores.images.resolve(ref);
    const config = await this.stores.images.config(img.id);
    const layers = this.stores.images.imageLayers(img.id);
    const sizes = layers.map((l) => this.stores.layers.get(l.chainId)?.size ?? 0);
    const history = config.history?.length
      ? config.history
      : config.rootfs.diff_ids.map(() => ({ created: config.created, created_by: '', comment: '' }));
    let layerIdx = 0;
    const items: HistoryItem[] = history.map((h) => {
      const empty = 'empty_layer' in h && h.empty_layer === true;
      const size = empty ? 0 : (sizes[layerIdx++] ?? 0);
      return {
        Id: '<missing>',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.created_by ?? '',
        Tags: null,
        Size: size,
        Comment: h.comment ?? '',
      };
    });
    items.reverse();
    if (items.length) {
      items[0].Id = img.id;
      items[0].Tags = img.tags.map(familiarTag);
    }
    return items;
  }

  async tag(source: string, target: string): Promise<void> {
    const img = this.stores.images.resolve(source);
    const ref = parseReference(target);
    if (ref.digest) {
      throw new InvalidArgumentError('invalid_tag', `refusing to create a tag with a digest reference: ${target}`);
    }
    const name = withDefaultTag(ref);
    this.stores.images.tag(formatReference(name), img.id);
    await this.events.record('tag', img.id, familiarString(name));
  }

  /**
   * Docker's rmi: a name is untagged (a repository's last tag takes that repository's digest
   * references with it), and the image deleted once no name is left; an ID deletes the image
   * with all its names, which needs force unless they are one repository's, with one tag at most.
   */
  async remove(ref: string, opts: { force?: boolean }): Promise<ImageDeleteItem[]> {
    const img = this.stores.images.resolve(ref);
    const name = nameOf(ref, img);
    const users = this.usersOf(img.id);
    const items: ImageDeleteItem[] = [];
    if (name) {
      if (users.length > 0 && !opts.force && isSingleReference(img)) {
        throw new ConflictError(
          'image_in_use',
          `conflict: unable to remove repository reference "${ref}" (must force) - container ${users[0].slice(0, 12)} is using its referenced image ${shortId(img.id)}`,
        );
      }
      let untag = [name];
      const repo = repositoryOf(name);
      if (img.tags.includes(name) && !img.tags.some((t) => t !== name && repositoryOf(t) === repo)) {
        untag = [name, ...img.repoDigests.filter((d) => repositoryOf(d) === repo)];
      }
      for (const n of untag) {
        this.stores.images.untag(n);
        items.push({ Untagged: familiarTag(n) });
        await this.events.record('untag', img.id, img.id);
      }
      // Forced, the last name goes; the image itself stays (dangling) while containers use its layers.
      const remaining = img.tags.length + img.repoDigests.length - untag.length;
      if (remaining > 0 || users.length > 0) return items;
      await this.deleteImage(img.id, items);
      return items;
    } else {
      if (!isSingleReference(img) && img.tags.length + img.repoDigests.length > 0 && !opts.force) {
        throw new ConflictError(
          'image_referenced',
          `conflict: unable to delete ${shortId(img.id)} (must be forced) - image is referenced in multiple repositories`,
        );
      }
      if (users.length > 0) {
        throw new ConflictError(
          'image_in_use',
          `conflict: unable to delete ${shortId(img.id)} (${opts.force ? 'cannot be forced' : 'must be forced'}) - image is being used by ${opts.force ? 'running ' : 'stopped '}container ${users[0].slice(0, 12)}`,
        );
      }
    }
    await this.untagAll(img, items);
    await this.deleteImage(img.id, items);
    return items;
  }

  /** Removes every name of `img`, each with its untag event. */
  private async untagAll(img: ImageRecord, items: ImageDeleteItem[]): Promise<void> {
    for (const t of [...img.tags, ...img.repoDigests]) {
      this.stores.images.untag(t);
      items.push({ Untagged: familiarTag(t) });
      await this.events.record('untag', img.id, img.id);
    }
  }

  private async deleteImage(id: string, items: ImageDeleteItem[]): Promise<void> {
    await this.stores.images.delete(id);
    items.push({ Deleted: id });
    await this.events.record('delete', id, id);
  }

  /**
   * The images of GET /system/df: each with the containers that use it and, as SharedSize, the
   * bytes of its layers that other images have too; and the bytes of all layers, counted once.
   */
  async diskUsage(): Promise<{ LayersSize: number; Images: ImageSummary[] }> {
    const images = await this.list({});
    const chains = new Map(images.map((img) => [img.Id, new Set(this.stores.images.imageLayers(img.Id).map((l) => l.chainId))]));
    const imagesWith = new Map<string, number>();
    for (const set of chains.values()) for (const c of set) imagesWith.set(c, (imagesWith.get(c) ?? 0) + 1);
    for (const img of images) {
      const shared = [...chains.get(img.Id)!].filter((c) => imagesWith.get(c)! > 1);
      img.SharedSize = shared.reduce((sum, c) => sum + (this.stores.layers.get(c)?.size ?? 0), 0);
      img.Containers = this.usersOf(img.Id).length;
    }
    return { LayersSize: this.layerBytes(), Images: images };
  }

  async prune(opts: { all?: boolean; filters?: Filters }): Promise<PruneReport> {
    const filters = opts.filters ?? {};
    checkFilterKeys(filters, ['dangling', 'until', 'label', 'label!']);
    const all = opts.all || boolFilter(filters, 'dangling') === false;
    const until = filters.until?.map((t) => parseTimestamp(t));
    const deleted: ImageDeleteItem[] = [];
    let reclaimed = 0;
    for (const img of this.stores.images.list()) {
      if (!all && img.tags.length > 0) continue;
      if (this.usersOf(img.id).length > 0) continue;
      if (until && !until.every((u) => img.created < u)) continue;
      if (filters.label || filters['label!']) {
        const labels = (await this.stores.images.config(img.id)).config?.Labels;
        if (!labelsMatch(labels, filters.label) || labelsExcluded(labels, filters['label!'])) continue;
      }
      const before = this.layerBytes();
      await this.untagAll(img, deleted);
      await this.deleteImage(img.id, deleted);
      reclaimed += Math.max(0, before - this.layerBytes());
    }
    reclaimed += await this.sweepStore();
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /**
   * Frees what a crashed berth left behind: layers whose writer died mid-unpack, temp files,
   * and blobs nothing refers to. A blob younger than the grace period may belong to a load
   * still running in another berth process, so it is left for a later prune.
   */
  private async sweepStore(): Promise<number> {
    const grace = 60 * 60 * 1000;
    await this.stores.layers.reconcile();
    await this.stores.content.cleanTemp(grace);
    let freed = 0;
    for (const digest of await this.stores.content.list()) {
      if (this.stores.images.blobReferenced(digest)) continue;
      const st = await this.stores.content.stat(digest);
      if (st && Date.now() - st.mtimeMs > grace) {
        await this.stores.content.delete(digest);
        freed += st.size;
      }
    }
    return freed;
  }

  async load(source: Readable): Promise<{ loaded: { id: string; tags: string[] }[] }> {
    const { loadArchive } = await import('../image/archive/index.js');
    const result = await loadArchive(source, this.stores);
    // As Docker's: a load event per image, none for the names it gets.
    for (const { id } of result.loaded) await this.events.record('load', id, id);
    return result;
  }

  async save(refs: string[], out: Writable, opts: { format: 'docker' | 'oci' }): Promise<void> {
    const { saveArchive } = await import('../image/archive/index.js');
    await saveArchive(refs, out, this.stores, opts);
    for (const id of new Set(refs.map((r) => this.stores.images.resolve(r).id))) await this.events.record('save', id, id);
  }

  async import(source: Readable, opts: { ref?: string; changes?: string[]; message?: string }): Promise<string> {
    const { importRootfs } = await import('../image/import.js');
    const id = await importRootfs(source, this.stores, opts);
    if (opts.ref !== undefined) await this.events.record('tag', id, familiarString(withDefaultTag(parseReference(opts.ref))));
    await this.events.record('import', id, id);
    return id;
  }

  private layerBytes(): number {
    return this.stores.layers.totalSize();
  }
}

function summary(img: ImageRecord, tags: string[], digests: string[], labels: Record<string, string> | null): ImageSummary {
  return {
    Id: img.id,
    ParentId: '',
    RepoTags: tags,
    RepoDigests: digests,
    Created: img.created,
    Size: img.size,
    SharedSize: -1,
    VirtualSize: img.size,
    Labels: labels,
    Containers: -1,
  };
}

/** Docker's image inspect shows the config with every key present. */
function dockerConfig(config: ImageConfig): Record<string, unknown> {
  const c = config.config ?? {};
  return {
    Hostname: '',
    Domainname: '',
    User: c.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: c.Env ?? null,
    Cmd: c.Cmd ?? null,
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    Image: '',
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null,
    Labels: c.Labels ?? null,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
    ...(c.Shell ? { Shell: c.Shell } : {}),
  };
}

export function familiarTag(name: string): string {
  return familiarString(parseReference(name));
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Docker matches `reference=` against both `name` and `name:tag`. */
function referenceMatches(pattern: string, familiar: string): boolean {
  const ref = parseReference(familiar);
  const bare = familiar.replace(/[:@][^/]*$/, '');
  return globMatch(pattern, familiar) || globMatch(pattern, bare) || (ref.tag !== undefined && globMatch(pattern, `${bare}:${ref.tag}`));
}

/** The repository of a normalized name (tag or digest reference). */
function repositoryOf(name: string): string {
  return fullName(parseReference(name));
}

/** Docker's test for names that an ID may take away unforced: one repository's, with one tag at most. */
function isSingleReference(img: ImageRecord): boolean {
  const repos = new Set([...img.tags, ...img.repoDigests].map(repositoryOf));
  return img.tags.length <= 1 && repos.size === 1;
}

/** The normalized name `ref` refers to when it names the image rather than giving its ID. */
function nameOf(ref: string, img: ImageRecord): string | undefined {
  try {
    const name = formatReference(withDefaultTag(parseReference(ref)));
    if (img.tags.includes(name) || img.repoDigests.includes(name)) return name;
  } catch {
    // not a valid name: then it was an ID
  }
  return undefined;
}
