// A container's files from the host: `cp` both ways (Docker's archive API: stat, get and put a
// tar at a path), `diff`, `export` and `commit`.
//
// Which filesystem. A container with processes is reached through /proc/<pid>/root, which
// shows its root with its volumes and binds as its processes see them; berth checks that this
// is the container's own root (the overlay mounted at merged/) before using it. A stopped
// container's rootfs is mounted at merged/ for the time of the operation, its volumes and binds
// on top, under the container's lock and recorded in its bookkeeping (book.mounted), so a berth
// that dies meanwhile leaves a mount that the next command unmounts.
//
// Safety. Paths are resolved inside the container's root by the kernel (RootDir, openat2 with
// RESOLVE_IN_ROOT), and trees are walked by descriptors (tree-tar.ts): a symlink in the
// container, even one a running container swaps in while berth works, never leads to the host.
import fs from 'node:fs';
import { posix } from 'node:path';
import { finished, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { containerChanges, isRuntimePlaceholder, LowerView } from '../container/changes.js';
import type { ContainerPaths } from '../container/paths.js';
import type { ContainerRecord, ContainerStore } from '../container/store.js';
import { ConflictError, InvalidArgumentError, NotFoundError, SystemError, errnoCode } from '../errors.js';
import { applyChanges } from '../image/change.js';
import { familiarString, formatReference, parseReference, withDefaultTag } from '../image/reference.js';
import type { ImageEvents } from './images.js';
import type { ImageStore } from '../image/store.js';
import { mediaTypes, type ContainerConfig as ImageRuntimeConfig, type ImageConfig } from '../image/types.js';
import type { ContentStore } from '../storage/content.js';
import { fdPath, RootDir } from '../storage/in-root.js';
import type { LayerStore } from '../storage/layers.js';
import { TAR_END } from '../storage/tar-header.js';
import { extractTree, packTree } from '../storage/tree-tar.js';
import { MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT, O_PATH, mount } from '../sys/libc.js';
import type { ContainerChange, ContainerCommitOptions, ContainerConfig, ContainerPathStat } from './engine.js';
import type { VolumeService } from './volumes.js';

export interface ContainerFilesDeps {
  store: ContainerStore;
  images: ImageStore;
  imageEvents: ImageEvents;
  layers: LayerStore;
  content: ContentStore;
  volumes: VolumeService;
  paths: (id: string) => ContainerPaths;
  /** A container by name or ID, brought up to date with the host. */
  get: (ref: string) => Promise<ContainerRecord>;
  /** Runs `fn` holding the container's lock, with its record repaired. */
  withLock: <T>(id: string, fn: (rec: ContainerRecord) => Promise<T>) => Promise<T>;
  pause: (id: string) => Promise<void>;
  unpause: (id: string) => Promise<void>;
}

/** A container's filesystem, open until released. */
interface Access {
  root: RootDir;
  rec: ContainerRecord;
  release: () => Promise<void>;
}

// Go's os.FileMode type bits, which the Docker API's path stat carries.
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;
const GO_MODE_DEVICE = 2 ** 26;
const GO_MODE_NAMED_PIPE = 2 ** 25;
const GO_MODE_SOCKET = 2 ** 24;
const GO_MODE_SETUID = 2 ** 23;
const GO_MODE_SETGID = 2 ** 22;
const GO_MODE_CHAR_DEVICE = 2 ** 21;
const GO_MODE_STICKY = 2 ** 20;

function goFileMode(st: fs.Stats): number {
  let mode = st.mode & 0o777;
  if (st.isDirectory()) mode += GO_MODE_DIR;
  else if (st.isSymbolicLink()) mode += GO_MODE_SYMLINK;
  else if (st.isCharacterDevice()) mode += GO_MODE_DEVICE + GO_MODE_CHAR_DEVICE;
  else if (st.isBlockDevice()) mode += GO_MODE_DEVICE;
  else if (st.isFIFO()) mode += GO_MODE_NAMED_PIPE;
  else if (st.isSocket()) mode += GO_MODE_SOCKET;
  if (st.mode & 0o4000) mode += GO_MODE_SETUID;
  if (st.mode & 0o2000) mode += GO_MODE_SETGID;
  if (st.mode & 0o1000) mode += GO_MODE_STICKY;
  return mode;
}

/** Go's filepath.Base: the last element, trailing slashes dropped; "/" for the root. */
function goBase(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/**
 * Docker's reading of a container path: absolute, cleaned, but with a trailing "/" or "/."
 * kept (they mean "the directory itself" and "its contents"); split into the directory,
 * whose symlinks are followed, and the last component, which is not.
 */
function splitPath(path: string): { abs: string; dir: string; base: string } {
  let abs = posix.join('/', path);
  if ((path === '.' || path.endsWith('/.')) && !abs.endsWith('/.')) abs = abs === '/' ? '/.' : abs + '/.';
  else if (path.endsWith('/') && !abs.endsWith('/')) abs += '/';
  const i = abs.lastIndexOf('/');
  return { abs, dir: abs.slice(0, i + 1), base: abs.slice(i + 1) };
}

/** The runtime part of an image config, from a container's config (what commit keeps). */
function imageRuntimeConfig(c: ContainerConfig): ImageRuntimeConfig {
  return {
    User: c.User,
    ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Env: c.Env,
    Cmd: c.Cmd,
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    ...(c.Volumes ? { Volumes: c.Volumes } : {}),
    WorkingDir: c.WorkingDir,
    Entrypoint: c.Entrypoint,
    OnBuild: c.OnBuild,
    Labels: c.Labels,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
  };
}

export class ContainerFiles {
  constructor(private readonly deps: ContainerFilesDeps) {}

  async statPath(ref: string, path: string): Promise<ContainerPathStat> {
    const access = await this.acquire(ref, true);
    try {
      return this.stat(access, ref, path).stat;
    } finally {
      await access.release();
    }
  }

  async archive(ref: string, path: string): Promise<{ stat: ContainerPathStat; content: Readable }> {
    const access = await this.acquire(ref, true);
    try {
      const { stat, dirFd, base } = this.stat(access, ref, path);
      let content: Readable;
      try {
        content = packTree(dirFd, base, { name: stat.name });
      } finally {
        fs.closeSync(dirFd);
      }
      // A stopped container stays mounted (and locked) until the archive has been read.
      finished(content, () => void access.release().catch(() => undefined));
      return { stat, content };
    } catch (err) {
      await access.release();
      throw err;
    }
  }

  async extract(ref: string, path: string, content: Readable, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean }): Promise<void> {
    const access = await this.acquire(ref, true);
    try {
      const abs = posix.join('/', path);
      let dirFd: number;
      try {
        dirFd = access.root.open(abs, O_PATH);
      } catch (err) {
        throw this.pathError(err, ref, path);
      }
      try {
        const st = fs.fstatSync(dirFd);
        if (!st.isDirectory()) throw new InvalidArgumentError('not_a_directory', 'extraction point is not a directory');
        if (access.rec.hostConfig.ReadonlyRootfs && st.dev === fs.fstatSync(access.root.fd).dev) {
          throw new ConflictError('read_only', 'container rootfs is marked read-only');
        }
        try {
          fs.accessSync(fdPath(dirFd), fs.constants.W_OK);
        } catch (err) {
          if (errnoCode(err) === 'EROFS') throw new ConflictError('read_only', 'mounted volume is marked read-only');
          throw err;
        }
      } finally {
        fs.closeSync(dirFd);
      }
      await extractTree(access.root, abs, content, {
        noOverwriteDirNonDir: opts.noOverwriteDirNonDir ?? true,
        ...(opts.copyUIDGID ? {} : { owner: [0, 0] as [number, number] }),
      });
    } finally {
      await access.release();
    }
  }

  async changes(ref: string): Promise<ContainerChange[]> {
    const rec = await this.deps.get(ref);
    const upper = RootDir.open(this.deps.paths(rec.id).upper);
    try {
      return containerChanges(upper.fd, this.lowerView(rec));
    } finally {
      upper.close();
    }
  }

  async export(ref: string, out: Writable): Promise<void> {
    const access = await this.acquire(ref, false);
    try {
      await pipeline(packTree(access.root.fd, '', { name: '' }), out);
    } finally {
      await access.release();
    }
  }

  async commit(ref: string, opts: ContainerCommitOptions): Promise<string> {
    const rec = await this.deps.get(ref);
    const tag = opts.reference ? commitTag(opts.reference) : undefined;
    const runtimeConfig = imageRuntimeConfig(rec.config);
    const newConfig = applyChanges(runtimeConfig, opts.changes ?? []);
    const base = await this.deps.images.config(rec.imageId);
    const baseLayers = this.deps.images.imageLayers(rec.imageId);
    const missing = baseLayers.find((l) => !l.blob || !l.mediaType);
    if (missing) throw new SystemError('layer_blob_missing', `image ${rec.imageId} has no stored blob for layer ${missing.diffId}`);

    const pause = (opts.pause ?? true) && rec.state.Status === 'running';
    if (pause) await this.deps.pause(rec.id);
    let layer: { digest: string; size: number };
    const existed = new Set(await this.deps.content.list());
    const upper = RootDir.open(this.deps.paths(rec.id).upper);
    try {
      const lower = this.lowerView(rec);
      const diff = packTree(upper.fd, '', {
        name: '',
        whiteouts: true,
        skip: (dirFd, name, rel, st) => isRuntimePlaceholder(dirFd, name, rel, st, lower),
      });
      layer = await this.deps.content.ingest(diff);
    } finally {
      upper.close();
      if (pause) await this.deps.unpause(rec.id);
    }
    const added = existed.has(layer.digest) ? [] : [layer.digest];
    try {
      const emptyLayer = layer.size === TAR_END.length;
      const created = new Date().toISOString();
      const config: ImageConfig = {
        architecture: base.architecture,
        ...(base.variant ? { variant: base.variant } : {}),
        os: base.os,
        created,
        ...(opts.author ? { author: opts.author } : {}),
        ...(opts.comment ? { comment: opts.comment } : {}),
        config: newConfig,
        container: rec.id,
        container_config: runtimeConfig,
        rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, ...(emptyLayer ? [] : [layer.digest])] },
        history: [
          ...(base.history ?? []),
          {
            created,
            // As Docker: the container's command, without its entrypoint.
            created_by: (rec.config.Cmd ?? []).join(' '),
            ...(opts.author ? { author: opts.author } : {}),
            ...(opts.comment ? { comment: opts.comment } : {}),
            ...(emptyLayer ? { empty_layer: true } : {}),
          },
        ],
      };
      const configDigest = await this.deps.content.put(Buffer.from(JSON.stringify(config)));
      if (!existed.has(configDigest)) added.push(configDigest);
      const id = await this.deps.images.commitImage({
        config: configDigest,
        layers: [
          ...baseLayers.map((l) => ({ blob: l.blob!, mediaType: l.mediaType!, diffId: l.diffId })),
          ...(emptyLayer ? [] : [{ blob: layer.digest, mediaType: mediaTypes.ociLayer, diffId: layer.digest }]),
        ],
        tags: tag ? [tag] : [],
      });
      if (emptyLayer) await this.removeUnreferenced([layer.digest]);
      const imageRef = tag ? familiarString(parseReference(tag)) : '';
      if (tag) await this.deps.imageEvents.record('tag', id, imageRef);
      this.deps.store.event('commit', rec, { comment: opts.comment ?? '', imageID: id, imageRef });
      return id;
    } catch (err) {
      await this.removeUnreferenced(added);
      throw err;
    }
  }

  private async removeUnreferenced(digests: string[]): Promise<void> {
    for (const d of digests) if (!this.deps.images.blobReferenced(d)) await this.deps.content.delete(d);
  }

  private lowerView(rec: ContainerRecord): LowerView {
    const top = this.deps.images.get(rec.imageId)?.topLayer;
    return new LowerView(top ? this.deps.layers.stack(top).map((l) => this.deps.layers.diffDir(l.chainId)) : []);
  }

  /** Docker's stat of a container path; also returns the open directory holding it and its name there. */
  private stat(access: Access, ref: string, path: string): { stat: ContainerPathStat; dirFd: number; base: string } {
    const { abs, dir, base } = splitPath(path);
    let dirFd: number;
    try {
      dirFd = access.root.open(dir, O_PATH | fs.constants.O_DIRECTORY);
    } catch (err) {
      throw this.pathError(err, ref, path, abs);
    }
    try {
      // "" (a trailing slash) is the directory itself, reached through its descriptor.
      const entry = fdPath(dirFd, base);
      const st = base === '' ? fs.statSync(entry) : fs.lstatSync(entry, { throwIfNoEntry: false });
      if (!st) throw new NotFoundError('path_not_found', `Could not find the file ${path} in container ${ref}`);
      const stat: ContainerPathStat = {
        name: goBase(abs),
        size: st.size,
        mode: goFileMode(st),
        mtime: st.mtime.toISOString(),
        linkTarget: st.isSymbolicLink() ? access.root.realpath(abs) : '',
      };
      return { stat, dirFd, base };
    } catch (err) {
      fs.closeSync(dirFd);
      throw err;
    }
  }

  private pathError(err: unknown, ref: string, path: string, abs = posix.join('/', path)): unknown {
    const code = errnoCode(err);
    if (code === 'ENOENT') return new NotFoundError('path_not_found', `Could not find the file ${path} in container ${ref}`);
    if (code === 'ENOTDIR') return new InvalidArgumentError('not_a_directory', `lstat ${abs}: not a directory`);
    if (code === 'ELOOP') return new InvalidArgumentError('symlink_loop', `lstat ${abs}: too many levels of symbolic links`);
    return err;
  }

  /**
   * Opens the container's filesystem: its processes' view when it has processes, otherwise
   * its rootfs mounted for the occasion. `mounts`: with its volumes and binds (cp); without,
   * the rootfs alone (export).
   */
  private async acquire(ref: string, mounts: boolean): Promise<Access> {
    const { id } = this.deps.store.resolve(ref);
    const p = this.deps.paths(id);
    let ready!: (access: Access) => void;
    let failed!: (err: unknown) => void;
    const opened = new Promise<Access>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let cleanupError: unknown;
    const held = this.deps
      .withLock(id, async (rec) => {
        if (rec.book.runtime && rec.state.Pid > 0) {
          const root = RootDir.open(mounts ? `/proc/${rec.state.Pid}/root` : p.merged);
          try {
            const seen = fs.fstatSync(root.fd);
            const merged = fs.statSync(p.merged);
            // A recycled pid would show another process's root.
            if (seen.dev !== merged.dev || seen.ino !== merged.ino) throw new ConflictError('container_not_running', `container ${rec.id} is not running`);
          } catch (err) {
            root.close();
            throw err;
          }
          // A live container is not kept locked: its own processes change its files anyway.
          ready({ root, rec, release: async () => root.close() });
          return;
        }
        await this.mountStopped(rec, p, mounts, ready, released);
      })
      .catch((err: unknown) => {
        // Before the filesystem opened, the caller gets the error; after, its release does.
        failed(err);
        cleanupError = err;
      });
    const access = await opened;
    return {
      ...access,
      release: async () => {
        await access.release();
        release();
        await held;
        if (cleanupError !== undefined) throw cleanupError;
      },
    };
  }

  private async mountStopped(rec: ContainerRecord, p: ContainerPaths, mounts: boolean, ready: (a: Access) => void, released: Promise<void>): Promise<void> {
    const image = this.deps.images.get(rec.imageId);
    if (!image?.topLayer) throw new NotFoundError('image_not_found', `No such image: ${rec.imageId}`);
    rec.book = { ...rec.book, mounted: true };
    this.deps.store.save(rec);
    let root: RootDir | undefined;
    try {
      await this.deps.layers.mount(image.topLayer, p.merged, p.upper, p.work);
      root = RootDir.open(p.merged);
      if (mounts) await this.mountVolumes(rec, root);
      ready({ root, rec, release: async () => undefined });
      await released;
    } finally {
      root?.close();
      await this.deps.layers.unmount(p.merged);
      if (mounts) await this.deps.volumes.release(rec.mounts.filter((m) => m.type === 'volume').map((m) => m.source), rec.id);
      rec.book = { ...rec.book, mounted: false };
      this.deps.store.save(rec);
    }
  }

  /** The container's volumes and binds on its mounted rootfs, as runc would mount them. */
  private async mountVolumes(rec: ContainerRecord, root: RootDir): Promise<void> {
    const ordered = [...rec.mounts].sort((a, b) => a.destination.split('/').length - b.destination.split('/').length);
    for (const m of ordered) {
      const source = m.type === 'volume' ? (await this.deps.volumes.mountFor(m.source)).mountpoint : m.source;
      const st = fs.statSync(source, { throwIfNoEntry: false });
      if (!st) continue;
      let target: number;
      if (st.isDirectory()) target = root.mkdirAll(m.destination);
      else {
        const dir = root.mkdirAll(posix.dirname(m.destination));
        try {
          fs.closeSync(fs.openSync(fdPath(dir, posix.basename(m.destination)), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644));
        } finally {
          fs.closeSync(dir);
        }
        target = root.open(m.destination, O_PATH | fs.constants.O_NOFOLLOW);
      }
      try {
        mount(source, fdPath(target), null, MS_BIND | (m.nonRecursive ? 0 : MS_REC), null);
      } finally {
        fs.closeSync(target);
      }
      if (!m.rw) {
        // Reopened: the descriptor taken before the mount is below it, not on it.
        const mounted = root.open(m.destination, O_PATH | fs.constants.O_NOFOLLOW);
        try {
          mount(null, fdPath(mounted), null, MS_REMOUNT | MS_BIND | MS_RDONLY, null);
        } finally {
          fs.closeSync(mounted);
        }
      }
    }
  }
}

function commitTag(ref: string): string {
  const parsed = parseReference(ref);
  if (parsed.digest !== undefined) throw new InvalidArgumentError('invalid_reference', 'refusing to create a tag with a digest reference');
  return formatReference(withDefaultTag(parsed));
}
