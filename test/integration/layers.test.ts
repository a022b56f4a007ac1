// The layer store on the real filesystem, as root: records and short links, deduplication,
// deep overlay stacks, reference-aware release and crash repair.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { chainIds } from '../../src/storage/chain.js';
import { sha256Digest } from '../../src/storage/content.js';
import { openDb, type Db } from '../../src/storage/db.js';
import { LayerStore } from '../../src/storage/layers.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = !isRoot && 'needs root';

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const [name, data] of Object.entries(files)) {
    await new Promise<void>((resolve, reject) => pack.entry({ name }, data, (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

function streamOf(buf: Buffer): Readable {
  return Readable.from([buf], { objectMode: false });
}

interface Fixture {
  base: string;
  db: Db;
  store: LayerStore;
  /** store.mount, undone when the test ends even if an assertion failed first. */
  mount(top: string, target: string, upper: string | null, work: string | null): Promise<void>;
}

async function withStore(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const { dir: base, cleanup } = tempDir('berth-layers-');
  const db = openDb(join(base, 'berth.db'));
  const store = new LayerStore(join(base, 'root'), db);
  const mounts: string[] = [];
  try {
    store.init();
    const mount = async (top: string, target: string, upper: string | null, work: string | null): Promise<void> => {
      await store.mount(top, target, upper, work);
      mounts.push(target);
    };
    await fn({ base, db, store, mount });
  } finally {
    for (const m of mounts.reverse()) await store.unmount(m);
    db.close();
    cleanup();
  }
}

function layerDirs(store: LayerStore): string[] {
  return readdirSync(store.dir).filter((n) => n !== 'l').sort();
}

function insertImage(db: Db, id: string, chains: string[]): void {
  db.prepare('INSERT INTO images (id, top_layer, size, created, loaded) VALUES (?, ?, 0, 0, 0)').run(id, chains[chains.length - 1] ?? null);
  chains.forEach((c, i) => db.prepare('INSERT INTO image_layers (image_id, idx, chain_id) VALUES (?, ?, ?)').run(id, i, c));
}

test('apply records a ready layer with its diff id, chain id, size and short link', { skip }, async () => {
  await withStore(async (f) => {
    const t0 = await tarOf({ 'etc/os-release': 'ID=berth\n' });
    const t1 = await tarOf({ 'bin/sh': 'shell' });
    const [c0, c1] = chainIds([sha256Digest(t0), sha256Digest(t1)]);
    const base = await f.store.apply(streamOf(gzipSync(t0)), null, sha256Digest(t0));
    const top = await f.store.apply(streamOf(t1), base.chainId);
    assert.equal(base.chainId, c0);
    assert.equal(top.chainId, c1);
    assert.equal(top.diffId, sha256Digest(t1));
    assert.equal(top.parent, c0);
    assert.equal(top.size, 'shell'.length);
    assert.deepEqual(f.store.get(c1), top);
    assert.equal(f.store.get(sha256Digest('nothing')), undefined);
    assert.deepEqual(f.store.stack(c1).map((l) => l.chainId), [c1, c0]);
    assert.equal(f.store.totalSize(), 'ID=berth\n'.length + 'shell'.length);
    assert.match(top.link, /^[A-Z2-7]{12}$/);
    assert.equal(readlinkSync(join(f.store.dir, 'l', top.link)), `../${c1.slice(7)}/diff`);
    assert.equal(readFileSync(join(f.store.dir, 'l', top.link, 'bin/sh'), 'utf8'), 'shell');
    assert.deepEqual(layerDirs(f.store), [c0.slice(7), c1.slice(7)].sort());
    await assert.rejects(f.store.apply(streamOf(t1), sha256Digest('no such parent')), { code: 'layer_not_found' });
    assert.throws(() => f.store.stack(sha256Digest('no such layer')), { code: 'layer_not_found' });
    assert.deepEqual(layerDirs(f.store), [c0.slice(7), c1.slice(7)].sort(), 'a failed apply leaves nothing');
  });
});

test('a chain that already exists is not unpacked twice, even by concurrent applies', { skip }, async () => {
  await withStore(async (f) => {
    const t = await tarOf({ a: 'a' });
    const first = await f.store.apply(streamOf(t), null);
    const again = await f.store.apply(streamOf(gzipSync(t)), null);
    assert.deepEqual(again, first);
    const t2 = await tarOf({ b: 'b' });
    const both = await Promise.all([f.store.apply(streamOf(t2), null), f.store.apply(streamOf(t2), null)]);
    assert.deepEqual(both[0], both[1]);
    assert.deepEqual(layerDirs(f.store), [first.chainId.slice(7), both[0].chainId.slice(7)].sort());
    assert.equal(readdirSync(join(f.store.dir, 'l')).length, 2);
    assert.deepEqual(f.db.prepare(`SELECT state FROM layers`).all(), [{ state: 'ready' }, { state: 'ready' }]);
  });
});

test('layers persisted together take one filesystem sync; a layer applied alone takes its own', { skip }, async () => {
  await withStore(async (f) => {
    // A `sync` first on PATH that only counts its calls: syncFilesystem() runs coreutils' sync.
    const bin = join(f.base, 'bin');
    const calls = join(f.base, 'sync-calls');
    mkdirSync(bin);
    writeFileSync(join(bin, 'sync'), `#!/bin/sh\necho "$*" >> '${calls}'\n`, { mode: 0o755 });
    const syncs = (): number => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').length : 0);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const prepared = [];
      for (const name of ['one', 'two', 'three']) prepared.push(await f.store.prepare(streamOf(await tarOf({ [name]: name }))));
      assert.equal(syncs(), 0, 'unpacking syncs nothing');
      await f.store.persist(prepared);
      assert.equal(syncs(), 1, 'one sync for the three layers');
      let parent: string | null = null;
      for (const layer of prepared) parent = (await f.store.commit(layer, parent)).chainId;
      assert.equal(syncs(), 1, 'their commits sync no more');
      await f.store.apply(streamOf(await tarOf({ four: 'four' })), parent);
      assert.equal(syncs(), 2, 'a layer committed without persist() is synced at its commit');
    } finally {
      process.env.PATH = path;
    }
    assert.deepEqual(f.db.prepare(`SELECT state FROM layers`).all(), Array(4).fill({ state: 'ready' }));
  });
});

test('a leftover directory where a new layer belongs (crash before commit) is replaced', { skip }, async () => {
  await withStore(async (f) => {
    const t = await tarOf({ fresh: 'yes' });
    const stale = join(f.store.dir, sha256Digest(t).slice(7));
    mkdirSync(join(stale, 'diff'), { recursive: true });
    writeFileSync(join(stale, 'diff', 'stale'), 'old');
    const rec = await f.store.apply(streamOf(t), null);
    assert.deepEqual(readdirSync(f.store.diffDir(rec.chainId)), ['fresh']);
    assert.deepEqual(layerDirs(f.store), [rec.chainId.slice(7)]);
  });
});

test('a 120-layer stack mounts as one overlay through short links, read-only and read-write', { skip }, async () => {
  await withStore(async (f) => {
    let parent: string | null = null;
    for (let i = 0; i < 120; i++) {
      const rec: { chainId: string } = await f.store.apply(streamOf(await tarOf({ [`f${i}`]: `layer ${i}` })), parent);
      parent = rec.chainId;
    }
    const top = parent as string;
    const stack = f.store.stack(top);
    assert.equal(stack.length, 120);
    assert.ok(stack.map((l) => f.store.diffDir(l.chainId)).join(':').length > 4096, 'full paths would not fit in a page');

    const cwd = process.cwd();
    const ro = join(f.base, 'ro');
    mkdirSync(ro);
    await f.mount(top, ro, null, null);
    const names = readdirSync(ro);
    assert.equal(names.length, 120);
    for (let i = 0; i < 120; i++) assert.equal(readFileSync(join(ro, `f${i}`), 'utf8'), `layer ${i}`);
    assert.throws(() => writeFileSync(join(ro, 'new'), 'x'), { code: 'EROFS' });

    const upper = join(f.base, 'upper');
    const work = join(f.base, 'work');
    const rw = join(f.base, 'rw');
    for (const d of [upper, work, rw]) mkdirSync(d);
    await f.mount(top, rw, upper, work);
    writeFileSync(join(rw, 'new'), 'written');
    assert.equal(readdirSync(rw).length, 121);
    assert.equal(readFileSync(join(upper, 'new'), 'utf8'), 'written');
    assert.equal(process.cwd(), cwd, 'the working directory is restored after mounting');
    assert.equal(existsSync(join(f.store.diffDir(top), 'new')), false, 'layers stay read-only');

    await f.store.unmount(rw);
    await f.store.unmount(ro);
    assert.equal(readdirSync(rw).length, 0);
    await f.store.unmount(rw); // not mounted: no error
  });
});

test('a single layer mounts read-only without an upper dir', { skip }, async () => {
  await withStore(async (f) => {
    const rec = await f.store.apply(streamOf(await tarOf({ only: 'one' })), null);
    const target = join(f.base, 'one');
    mkdirSync(target);
    const cwd = process.cwd();
    await f.mount(rec.chainId, target, null, null);
    assert.equal(process.cwd(), cwd);
    assert.equal(readFileSync(join(target, 'only'), 'utf8'), 'one');
    assert.throws(() => writeFileSync(join(target, 'only'), 'x'), { code: 'EROFS' });
    await assert.rejects(f.store.mount(rec.chainId, join(f.base, 'missing'), null, null), { code: 'layer_mount_failed' });
    await assert.rejects(f.store.mount(rec.chainId, target, join(f.base, 'u'), null), { code: 'invalid_mount' });
  });
});

test('a stack too deep for one page of mount options fails with a clear error', { skip }, async () => {
  await withStore(async (f) => {
    // Rows only: the option length is checked before anything is mounted.
    let parent: string | null = null;
    const insert = f.db.prepare(`INSERT INTO layers (chain_id, diff_id, parent, link, size, state, created) VALUES (?, ?, ?, ?, 0, 'ready', 0)`);
    for (let i = 0; i < 400; i++) {
      const id = sha256Digest(`layer ${i}`);
      insert.run(id, id, parent, `L${String(i).padStart(11, '0')}`);
      parent = id;
    }
    const target = join(f.base, 'deep');
    mkdirSync(target);
    await assert.rejects(f.store.mount(parent as string, target, null, null), { code: 'too_many_layers' });
  });
});

test('release removes unreferenced layers and their parents, and keeps referenced ones', { skip }, async () => {
  await withStore(async (f) => {
    const a = await f.store.apply(streamOf(await tarOf({ a: 'a' })), null);
    const b = await f.store.apply(streamOf(await tarOf({ b: 'b' })), a.chainId);
    const c = await f.store.apply(streamOf(await tarOf({ c: 'c' })), b.chainId);
    const other = await f.store.apply(streamOf(await tarOf({ o: 'o' })), null);
    const image = sha256Digest('image config');
    insertImage(f.db, image, [a.chainId, b.chainId]);

    await f.store.release([a.chainId]);
    assert.ok(f.store.get(a.chainId), 'a layer with a child and an image is kept');
    await f.store.release([c.chainId]);
    assert.equal(f.store.get(c.chainId), undefined);
    assert.equal(existsSync(join(f.store.dir, c.chainId.slice(7))), false);
    assert.equal(existsSync(join(f.store.dir, 'l', c.link)), false);
    assert.ok(f.store.get(b.chainId), 'the image still uses b');
    assert.ok(f.store.get(a.chainId));

    f.db.prepare('DELETE FROM images WHERE id = ?').run(image);
    await f.store.release([b.chainId, sha256Digest('unknown layer')]);
    assert.equal(f.store.get(b.chainId), undefined);
    assert.equal(f.store.get(a.chainId), undefined, 'parents go too once nothing uses them');
    assert.deepEqual(layerDirs(f.store), [other.chainId.slice(7)]);
    assert.deepEqual(readdirSync(join(f.store.dir, 'l')), [other.link]);
    assert.deepEqual(f.db.prepare('SELECT chain_id FROM layers').all(), [{ chain_id: other.chainId }]);
  });
});

test('reconcile repairs what a crash leaves: dead creators, orphan dirs, stray and lost links', { skip }, async () => {
  await withStore(async (f) => {
    const dead = 2 ** 22 - 1;
    assert.throws(() => process.kill(dead, 0), { code: 'ESRCH' }, 'the pid used as dead must not be alive');
    const kept = await f.store.apply(streamOf(await tarOf({ keep: 'me' })), null);
    const insert = f.db.prepare(
      `INSERT INTO layers (chain_id, diff_id, parent, link, size, state, creator_pid, created) VALUES (?, '', NULL, ?, 0, 'creating', ?, 0)`,
    );
    const deadTmp = `tmp-${dead}-0123456789abcdef`;
    insert.run(deadTmp, 'DEADLINK0000', dead);
    mkdirSync(join(f.store.dir, deadTmp, 'diff'), { recursive: true });
    writeFileSync(join(f.store.dir, deadTmp, 'diff', 'partial'), randomBytes(1000));
    const liveTmp = `tmp-${process.pid}-fedcba9876543210`;
    insert.run(liveTmp, 'LIVELINK0000', process.pid);
    mkdirSync(join(f.store.dir, liveTmp, 'diff'), { recursive: true });
    const rowless = `tmp-${dead}-1111111111111111`;
    mkdirSync(join(f.store.dir, rowless));
    const orphan = join(f.store.dir, sha256Digest('orphan').slice(7));
    mkdirSync(join(orphan, 'diff'), { recursive: true });
    const deadTrash = join(f.store.dir, `trash-${dead}-2222222222222222`);
    mkdirSync(deadTrash);
    const unknown = join(f.store.dir, 'not-ours');
    mkdirSync(unknown);
    const strayLink = join(f.store.dir, 'l', 'STRAYLINK000');
    writeFileSync(strayLink, '');
    const keptLink = join(f.store.dir, 'l', kept.link);
    unlinkSync(keptLink);

    await f.store.reconcile();

    const rows = f.db.prepare('SELECT chain_id, state FROM layers ORDER BY chain_id').all();
    assert.deepEqual(rows, [
      { chain_id: kept.chainId, state: 'ready' },
      { chain_id: liveTmp, state: 'creating' },
    ]);
    assert.deepEqual(layerDirs(f.store), [kept.chainId.slice(7), 'not-ours', liveTmp].sort());
    assert.equal(readlinkSync(keptLink), `../${kept.chainId.slice(7)}/diff`, 'a lost short link is restored');
    assert.deepEqual(readdirSync(join(f.store.dir, 'l')), [kept.link]);
    assert.equal(readFileSync(join(f.store.diffDir(kept.chainId), 'keep'), 'utf8'), 'me');
  });
});
