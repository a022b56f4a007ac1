// The layer store: unpacked layers under <root>/layers/<chain hex>/diff, used as overlay
// lowerdirs, with short names under <root>/layers/l/ so that mount options for deep stacks stay
// under the kernel's one-page limit.
//
// Crash safety. A layer is unpacked into layers/tmp-<pid>-<nonce>/, announced beforehand by a
// row in state 'creating' whose chain_id is that same temp name (the real chain id is only
// known once the tar has been hashed). Moving the directory into place and marking the row
// 'ready' happen together inside one SQLite write transaction, and reconcile() inspects the
// directory inside one too, so it never mistakes a layer being committed for an orphan.
// Directories to delete are first renamed to trash-<pid>-<nonce>/ inside the transaction and
// removed after it, so no database lock is held during a long recursive delete.
import { randomBytes } from '../sys/random.js';
import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, promises as fsp, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, NotFoundError, SystemError, errnoCode } from '../errors.js';
import { MNT_DETACH, MS_BIND, MS_RDONLY, MS_REMOUNT, mount, mountIn, umount2 } from '../sys/libc.js';
import { kernelVersion } from '../sys/host.js';
import { syncFilesystem } from '../sys/syncfs.js';
import { checkDigest, sha256Digest } from './content.js';
import type { Db } from './db.js';
import type { LayerSource } from './unpack.js';

export interface LayerRecord {
  chainId: string;
  diffId: string;
  parent: string | null;
  /** Short name: <root>/layers/l/<link> -> ../<chain hex>/diff. */
  link: string;
  /** Bytes of file contents and symlink targets in the unpacked layer. */
  size: number;
}

/** A layer unpacked into its temp directory, not yet in the store (LayerStore.prepare). */
export interface PreparedLayer {
  readonly tmpName: string;
  readonly link: string;
  readonly diffId: string;
  readonly size: number;
  /** Written to disk already (persist()): its commit need not sync. */
  synced?: boolean;
}

interface LayerRow {
  chain_id: string;
  diff_id: string;
  parent: string | null;
  link: string;
  size: number;
  state: 'creating' | 'ready';
  creator_pid: number | null;
}

/** mount(2) takes at most one page of options. */
const maxMountData = 4095;
/** 12 base32 characters (60 random bits; the link column is UNIQUE) keep a 200-layer stack's options under a page. */
const linkLength = 12;
const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const overlayIndexParam = '/sys/module/overlay/parameters/index';

/** overlayfs's `volatile` option came in Linux 5.10. */
function volatileSupported(): boolean {
  const [major, minor] = kernelVersion().split('.').map(Number);
  return major > 5 || (major === 5 && minor >= 10);
}

export class LayerStore {
  /** <root>/layers */
  readonly dir: string;
  private readonly linkDir: string;

  constructor(root: string, private readonly db: Db) {
    // Absolute: mount() resolves link names relative to this directory.
    this.dir = join(resolve(root), 'layers');
    this.linkDir = join(this.dir, 'l');
  }

  /** Synchronous, as the content store's: it runs at every berth command. */
  init(): void {
    for (const d of [this.dir, this.linkDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  }

  get(chainId: string): LayerRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM layers WHERE chain_id = ? AND state = 'ready'`).get(chainId) as LayerRow | undefined;
    return row && toRecord(row);
  }

  /** The unpacked tree of a layer. */
  diffDir(chainId: string): string {
    checkDigest(chainId);
    return join(this.dir, chainId.slice('sha256:'.length), 'diff');
  }

  /**
   * The layer's unpacked tree as a layer tar again (overlay whiteouts as `.wh.` entries). It
   * is the tar the layer came from only if that tar was packed the same way (berth's own).
   */
  async pack(chainId: string): Promise<Readable> {
    const { packTree } = await import('./tree-tar.js');
    const fd = openSync(this.diffDir(chainId), constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      return packTree(fd, '', { name: '', whiteouts: true });
    } finally {
      closeSync(fd);
    }
  }

  /** Bytes of all ready layers. */
  totalSize(): number {
    const row = this.db.prepare(`SELECT COALESCE(SUM(size), 0) AS total FROM layers WHERE state = 'ready'`).get() as { total: number };
    return row.total;
  }

  async apply(source: Readable, parent: string | null, expectedDiffId?: string): Promise<LayerRecord> {
    // Checked before the (long) unpack as well as at commit, where it is checked for good.
    if (parent !== null && !this.get(parent)) throw new NotFoundError('layer_not_found', `parent layer ${parent} not found`);
    return this.commit(await this.prepare(source, expectedDiffId), parent);
  }

  /**
   * Unpacks a layer without placing it: its parent need not exist yet, so that the layers of
   * an image can unpack side by side and be committed bottom up. The result must be passed to
   * commit() or discard(); a crash leaves it to reconcile().
   */
  async prepare(source: LayerSource, expectedDiffId?: string, signal?: AbortSignal, onProgress?: (read: number) => void): Promise<PreparedLayer> {
    if (expectedDiffId !== undefined) checkDigest(expectedDiffId);
    const tmpName = `tmp-${process.pid}-${randomBytes(8).toString('hex')}`;
    const tmpDir = join(this.dir, tmpName);
    const link = this.reserve(tmpName, expectedDiffId);
    try {
      await fsp.mkdir(tmpDir, { mode: 0o700 });
      await fsp.mkdir(join(tmpDir, 'diff'), { mode: 0o755 });
      // The unpacker (and tar parsing) loads only when a layer is actually unpacked; a file
      // unpacks on the unpacking thread, leaving this one to whatever else runs meanwhile.
      const dest = join(tmpDir, 'diff');
      const { diffId, size } =
        'file' in source
          ? await (await import('./unpack-thread.js')).unpackFileOffThread(source.file, dest, signal, onProgress)
          : await (await import('./unpack.js')).unpackLayer(source, dest, signal);
      if (expectedDiffId !== undefined && diffId !== expectedDiffId) {
        throw new InvalidArgumentError('diff_id_mismatch', `layer diff id mismatch: expected ${expectedDiffId}, the unpacked tar hashes to ${diffId}`);
      }
      return { tmpName, link, diffId, size };
    } catch (err) {
      await fsp.rm(tmpDir, { recursive: true, force: true });
      this.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(tmpName);
      throw err;
    }
  }

  /**
   * Writes prepared layers to disk with one sync of the layer store's filesystem: their commits
   * then need none of their own. It is as safe as a sync per layer: all their temp directories
   * are on that filesystem, and syncfs(2) returns only once everything written to it before the
   * call (the layers' files, directories and inodes) is on disk, so no row says 'ready' before
   * its files are. A pull unpacks all its layers first and waits for the disk once, at the end,
   * instead of once per layer (each sync serialized with the commits); the unpacker has started
   * the big files' writeback as it wrote them, so that one sync has little left to do.
   */
  async persist(layers: PreparedLayer[]): Promise<void> {
    if (layers.length === 0) return;
    await syncFilesystem(this.dir).catch((err: Error) => {
      throw new SystemError('layer_sync_failed', `writing ${layers.length === 1 ? 'a layer' : `${layers.length} layers`} to disk: ${err.message}`, { cause: err });
    });
    for (const layer of layers) layer.synced = true;
  }

  /** Places a prepared layer on top of `parent` (which must be ready by now). */
  async commit(layer: PreparedLayer, parent: string | null): Promise<LayerRecord> {
    const { tmpName, link, diffId, size } = layer;
    const tmpDir = join(this.dir, tmpName);
    let placed: string | undefined;
    let existing: LayerRecord | undefined;
    const chainId = parent === null ? diffId : sha256Digest(`${parent} ${diffId}`);
    const trash: string[] = [];
    try {
      if (parent !== null && !this.get(parent)) throw new NotFoundError('layer_not_found', `parent layer ${parent} not found`);
      // The row says 'ready' only once the files are on disk: a power loss must not leave a
      // ready layer with missing contents. (An unpack that turns out to be a duplicate is
      // thrown away, so it need not be flushed.)
      if (!layer.synced && !this.get(chainId)) {
        await syncFilesystem(tmpDir).catch((err: Error) => {
          throw new SystemError('layer_sync_failed', `writing layer ${chainId} to disk: ${err.message}`, { cause: err });
        });
      }

      const place = this.db.transaction((): LayerRecord | undefined => {
        if (parent !== null && !this.get(parent)) throw new NotFoundError('layer_not_found', `parent layer ${parent} not found`);
        const present = this.get(chainId);
        if (present) {
          this.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(tmpName);
          return present;
        }
        const final = join(this.dir, chainId.slice('sha256:'.length));
        // No ready row, and we hold the write lock: whatever is there is a crashed writer's leftover.
        if (existsSync(final)) trash.push(this.moveToTrash(final));
        renameSync(tmpDir, final);
        placed = final;
        const linkPath = join(this.linkDir, link);
        rmSync(linkPath, { force: true });
        symlinkSync(`../${chainId.slice('sha256:'.length)}/diff`, linkPath);
        this.db
          .prepare(`UPDATE layers SET chain_id = ?, diff_id = ?, parent = ?, size = ?, state = 'ready', creator_pid = NULL WHERE chain_id = ?`)
          .run(chainId, diffId, parent, size, tmpName);
        return undefined;
      });
      existing = place.immediate();
    } catch (err) {
      await fsp.rm(tmpDir, { recursive: true, force: true });
      if (placed !== undefined) {
        await fsp.rm(placed, { recursive: true, force: true });
        await fsp.rm(join(this.linkDir, link), { force: true });
      }
      this.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(tmpName);
      await removeAll(trash);
      throw err;
    }
    await removeAll(trash);
    if (existing) {
      await fsp.rm(tmpDir, { recursive: true, force: true });
      return existing;
    }
    return { chainId, diffId, parent, link, size };
  }

  /** Throws away a prepared layer that will not be committed. */
  async discard(layer: PreparedLayer): Promise<void> {
    await fsp.rm(join(this.dir, layer.tmpName), { recursive: true, force: true });
    this.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(layer.tmpName);
  }

  async release(chainIds: string[]): Promise<void> {
    const queue = [...chainIds];
    const isReferenced = this.db.prepare(`
      SELECT 1 FROM image_layers WHERE chain_id = @id
      UNION ALL SELECT 1 FROM images WHERE top_layer = @id
      UNION ALL SELECT 1 FROM layers WHERE parent = @id
      LIMIT 1`);
    const remove = this.db.transaction((chainId: string): { parent: string | null; trash: string } | undefined => {
      const row = this.db.prepare(`SELECT * FROM layers WHERE chain_id = ? AND state = 'ready'`).get(chainId) as LayerRow | undefined;
      if (!row || isReferenced.get({ id: chainId }) !== undefined) return undefined;
      try {
        this.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(chainId);
      } catch (err) {
        // A table this store does not know about still points at the layer.
        if (errnoCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY') return undefined;
        throw err;
      }
      rmSync(join(this.linkDir, row.link), { force: true });
      const trash = this.moveToTrash(join(this.dir, chainId.slice('sha256:'.length)));
      return { parent: row.parent, trash };
    });
    while (queue.length > 0) {
      const removed = remove.immediate(queue.shift() as string);
      if (!removed) continue;
      await removeAll([removed.trash]);
      if (removed.parent !== null) queue.push(removed.parent);
    }
  }

  stack(topChainId: string): LayerRecord[] {
    const out: LayerRecord[] = [];
    for (let id: string | null = topChainId; id !== null; ) {
      const layer = this.get(id);
      if (!layer) {
        throw new NotFoundError('layer_not_found', id === topChainId ? `layer ${id} not found` : `layer ${id}, below ${topChainId}, not found`);
      }
      out.push(layer);
      id = layer.parent;
    }
    return out;
  }

  /**
   * Mounts the layer stack at `target`, writable when `upper` and `work` are given. `volatile`
   * (for containers removed when they exit) tells overlayfs to skip every sync, above all the
   * sync of the upper filesystem when it is unmounted; after a crash such an upper directory
   * cannot be mounted again, which a container that is never started twice does not mind.
   */
  async mount(topChainId: string, target: string, upper: string | null, work: string | null, opts: { volatile?: boolean } = {}): Promise<void> {
    if ((upper === null) !== (work === null)) {
      throw new InvalidArgumentError('invalid_mount', 'an overlay needs both an upper and a work directory, or neither');
    }
    const layers = this.stack(topChainId);
    const targetPath = resolve(target);
    try {
      // overlayfs needs two lowerdirs when it has no upper; one read-only layer is a bind mount.
      if (upper === null && layers.length === 1) {
        mount(this.diffDir(layers[0].chainId), targetPath, null, MS_BIND, null);
        try {
          mount(null, targetPath, null, MS_REMOUNT | MS_BIND | MS_RDONLY, null);
        } catch (err) {
          umount2(targetPath, MNT_DETACH);
          throw err;
        }
        return;
      }
      let options = 'lowerdir=' + layers.map((l) => `l/${l.link}`).join(':');
      if (upper !== null && work !== null) {
        options += `,upperdir=${overlayPath(upper)},workdir=${overlayPath(work)}`;
        if (opts.volatile && volatileSupported()) options += ',volatile';
      }
      // As docker and containerd do: the inodes index is not wanted for layers shared by many mounts.
      if (existsSync(overlayIndexParam)) options += ',index=off';
      if (Buffer.byteLength(options) > maxMountData) {
        throw new InvalidArgumentError('too_many_layers', `cannot mount ${layers.length} layers: the overlay options exceed ${maxMountData} bytes`);
      }
      mountIn(this.dir, 'overlay', targetPath, 'overlay', 0, options);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw new SystemError('layer_mount_failed', `mounting layer ${topChainId} at ${targetPath}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Not being mounted (EINVAL) or the target being gone (ENOENT) count as success. */
  async unmount(target: string): Promise<void> {
    const targetPath = resolve(target);
    try {
      umount2(targetPath, 0);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EINVAL' || code === 'ENOENT') return;
      if (code !== 'EBUSY') throw new SystemError('layer_unmount_failed', `unmounting ${targetPath}: ${(err as Error).message}`, { cause: err });
      try {
        umount2(targetPath, MNT_DETACH);
      } catch (err2) {
        if (errnoCode(err2) === 'EINVAL') return;
        throw new SystemError('layer_unmount_failed', `unmounting ${targetPath}: ${(err2 as Error).message}`, { cause: err2 });
      }
    }
  }

  async reconcile(): Promise<void> {
    const trash: string[] = [];
    const repair = this.db.transaction(() => {
      const rows = this.db.prepare('SELECT * FROM layers').all() as LayerRow[];
      const live = new Set<string>();
      const links = new Set<string>();
      for (const row of rows) {
        if (row.state === 'creating' && !pidAlive(row.creator_pid)) {
          this.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(row.chain_id);
          continue;
        }
        links.add(row.link);
        if (row.state === 'creating') {
          live.add(row.chain_id);
          continue;
        }
        const hex = row.chain_id.slice('sha256:'.length);
        live.add(hex);
        // A lost short link is cheap to restore; a lost layer directory is not repairable here.
        const linkPath = join(this.linkDir, row.link);
        if (lstatSync(linkPath, { throwIfNoEntry: false }) === undefined && existsSync(join(this.dir, hex))) {
          symlinkSync(`../${hex}/diff`, linkPath);
        }
      }
      for (const name of readdirSync(this.dir)) {
        if (name === 'l' || live.has(name)) continue;
        const owner = /^(tmp|trash)-(\d+)-[0-9a-f]+$/.exec(name);
        if (owner) {
          if (pidAlive(Number(owner[2]))) continue;
          // Renamed even when already trash: the rename is what makes one reconciler its owner.
          trash.push(this.moveToTrash(join(this.dir, name)));
        } else if (/^[0-9a-f]{64}$/.test(name)) {
          trash.push(this.moveToTrash(join(this.dir, name)));
        }
      }
      for (const name of readdirSync(this.linkDir)) {
        if (!links.has(name)) unlinkSync(join(this.linkDir, name));
      }
    });
    repair.immediate();
    await removeAll(trash);
  }

  /** Inserts the 'creating' row that owns a temp dir; returns the reserved short link name. */
  private reserve(tmpName: string, expectedDiffId: string | undefined): string {
    const insert = this.db.transaction((link: string) => {
      this.db
        .prepare(`INSERT INTO layers (chain_id, diff_id, parent, link, size, state, creator_pid, created) VALUES (?, ?, NULL, ?, 0, 'creating', ?, ?)`)
        .run(tmpName, expectedDiffId ?? '', link, process.pid, Math.floor(Date.now() / 1000));
    });
    for (let attempt = 0; ; attempt++) {
      const link = randomLink();
      try {
        insert.immediate(link);
        return link;
      } catch (err) {
        if (errnoCode(err) !== 'SQLITE_CONSTRAINT_UNIQUE' || attempt >= 4) throw err;
      }
    }
  }

  private moveToTrash(path: string): string {
    const trash = join(this.dir, `trash-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      renameSync(path, trash);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    return trash;
  }
}

function toRecord(row: LayerRow): LayerRecord {
  return { chainId: row.chain_id, diffId: row.diff_id, parent: row.parent, link: row.link, size: row.size };
}

function randomLink(): string {
  const bytes = randomBytes(linkLength);
  let out = '';
  for (const b of bytes) out += base32[b & 31];
  return out;
}

/** overlayfs splits its options on "," and lowerdir on ":"; such paths cannot be expressed. */
function overlayPath(path: string): string {
  const abs = resolve(path);
  if (/[,:\\]/.test(abs)) throw new InvalidArgumentError('invalid_mount', `overlay directory ${abs} contains "," ":" or "\\"`);
  return abs;
}

function pidAlive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

async function removeAll(paths: string[]): Promise<void> {
  for (const p of paths) await fsp.rm(p, { recursive: true, force: true });
}
