// Layer unpacking against the real filesystem, as root: entry types and metadata, compression,
// whiteouts under a real overlay mount, and every way a tar can try to reach outside its layer.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import tar from 'tar-stream';
import { sha256Digest } from '../../src/storage/content.js';
import { openDb, type Db } from '../../src/storage/db.js';
import { LayerStore } from '../../src/storage/layers.js';
import { unpackLayer } from '../../src/storage/unpack.js';
import { MNT_DETACH, lgetxattr, mount, startWriteback, startWritebackInBackground, umount2 } from '../../src/sys/libc.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = !isRoot && 'needs root';

type Entry = Partial<tar.Header> & { name: string; data?: string | Buffer };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const { data, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (data === undefined) pack.entry(header, done);
      else pack.entry(header, data, done);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** One ustar header block, for archives tar-stream's packer cannot produce. */
function ustarHeader(name: string, typeflag: string, size: number, mode = 0o644): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(mode.toString(8).padStart(7, '0'), 100);
  h.write('0000000', 108);
  h.write('0000000', 116);
  h.write(size.toString(8).padStart(11, '0'), 124);
  h.write('00000000000', 136);
  h.write(typeflag, 156);
  h.write('ustar\u000000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 'latin1');
  return h;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** A PAX record with a binary value: "<len> <key>=<value>\n", len counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** A byte stream in odd-sized chunks, as a download would deliver it. */
function streamOf(buf: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 7777) chunks.push(buf.subarray(i, i + 7777));
  return Readable.from(chunks, { objectMode: false });
}

interface Fixture {
  base: string;
  /** A sibling of the berth root holding one sentinel file that no layer may touch. */
  outside: string;
  secret: string;
  db: Db;
  store: LayerStore;
}

async function withStore(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const { dir: base, cleanup } = tempDir('berth-unpack-');
  const db = openDb(join(base, 'berth.db'));
  try {
    const outside = join(base, 'outside');
    mkdirSync(outside, { mode: 0o755 });
    const secret = join(outside, 'secret');
    writeFileSync(secret, 'sentinel', { mode: 0o644 });
    const store = new LayerStore(join(base, 'root'), db);
    store.init();
    await fn({ base, outside, secret, db, store });
  } finally {
    db.close();
    cleanup();
  }
}

function assertOutsideUntouched(f: Fixture): void {
  assert.deepEqual(readdirSync(f.outside), ['secret'], 'nothing created next to the sentinel');
  assert.equal(readFileSync(f.secret, 'utf8'), 'sentinel');
  assert.equal(statSync(f.outside).mode & 0o7777, 0o755, 'the outside directory keeps its mode');
  assert.equal(statSync(f.secret).mode & 0o7777, 0o644, 'the sentinel keeps its mode');
  assert.equal(lgetxattr(f.outside, 'trusted.overlay.opaque'), undefined, 'no opaque marker outside');
  assert.equal(statSync(f.secret).nlink, 1, 'the sentinel was not hard linked');
  const expected = new Set(['berth.db', 'berth.db-shm', 'berth.db-wal', 'outside', 'root', 'merged', 'small']);
  for (const name of readdirSync(f.base)) assert.ok(expected.has(name), `${name} appeared next to the berth root`);
}

function assertNothingLeftBehind(f: Fixture): void {
  assert.deepEqual(readdirSync(f.store.dir), ['l'], 'no layer or temp dir');
  assert.deepEqual(readdirSync(join(f.store.dir, 'l')), [], 'no short link');
  assert.deepEqual(f.db.prepare('SELECT chain_id FROM layers').all(), [], 'no layer row');
}

async function applyRejected(f: Fixture, entries: Entry[], code: string, message?: RegExp): Promise<void> {
  await assert.rejects(f.store.apply(streamOf(await tarOf(entries)), null), (err: Error & { code?: string }) => {
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
  assertNothingLeftBehind(f);
  assertOutsideUntouched(f);
}

test('regular files, directories, links, devices, ownership, modes, times and xattrs', { skip }, async () => {
  await withStore(async (f) => {
    const t1 = new Date('2001-02-03T04:05:06Z');
    const t2 = new Date('2010-01-01T00:00:00Z');
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const rec = await f.store.apply(
      streamOf(
        await tarOf([
          { name: './', type: 'directory', mode: 0o755, mtime: t1 },
          { name: 'dir/', type: 'directory', mode: 0o750, uid: 1234, gid: 5678, mtime: t1 },
          { name: 'dir/big', data: content, mode: 0o640, uid: 1000, gid: 1001, mtime: t2 },
          { name: 'dir/suid', data: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1000, mtime: t2 },
          { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: t1 },
          { name: 'dir/link', type: 'symlink', linkname: '/nowhere/at/all', uid: 7, gid: 8, mtime: t2 },
          { name: 'dir/hard', type: 'link', linkname: 'dir/big' },
          { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
          { name: 'dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660 },
          { name: 'pipe', type: 'fifo', mode: 0o600 },
          { name: 'implicit/parent/file', data: 'x' },
          {
            name: 'xattrs',
            data: 'x',
            pax: {
              'SCHILY.xattr.user.berth': 'hello',
              'SCHILY.xattr.trusted.overlay.redirect': '/elsewhere',
              mtime: '1000000000.5',
            },
          },
        ]),
      ),
      null,
    );
    const d = f.store.diffDir(rec.chainId);
    assert.equal(rec.size, content.length + '#!/bin/sh\n'.length + '/nowhere/at/all'.length + 2);

    const big = statSync(join(d, 'dir/big'));
    assert.deepEqual(readFileSync(join(d, 'dir/big')), content);
    assert.equal(big.mode & 0o7777, 0o640);
    assert.equal(big.uid, 1000);
    assert.equal(big.gid, 1001);
    assert.equal(big.mtimeMs, t2.getTime());
    assert.equal(big.nlink, 2);
    assert.equal(statSync(join(d, 'dir/hard')).ino, big.ino);

    const suid = statSync(join(d, 'dir/suid'));
    assert.equal(suid.mode & 0o7777, 0o4755, 'setuid survives the chown');
    assert.equal(suid.uid, 1000);

    const dir = statSync(join(d, 'dir'));
    assert.equal(dir.mode & 0o7777, 0o750);
    assert.equal(dir.uid, 1234);
    assert.equal(dir.mtimeMs, t1.getTime(), 'directory mtime is set after its contents are written');
    assert.equal(statSync(d).mtimeMs, t1.getTime());
    assert.equal(statSync(join(d, 'tmp')).mode & 0o7777, 0o1777);

    const link = lstatSync(join(d, 'dir/link'));
    assert.ok(link.isSymbolicLink());
    assert.equal(readlinkSync(join(d, 'dir/link')), '/nowhere/at/all');
    assert.equal(link.uid, 7);
    assert.equal(link.mtimeMs, t2.getTime());

    const nul = lstatSync(join(d, 'dev/null'));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.rdev, (1 << 8) | 3);
    assert.equal(nul.mode & 0o7777, 0o666);
    const loop = lstatSync(join(d, 'dev/loop0'));
    assert.ok(loop.isBlockDevice());
    assert.equal(loop.rdev, 7 << 8);
    assert.ok(lstatSync(join(d, 'pipe')).isFIFO());
    assert.equal(readFileSync(join(d, 'implicit/parent/file'), 'utf8'), 'x');
    assert.equal(statSync(join(d, 'implicit')).mode & 0o7777, 0o755);

    assert.equal(lgetxattr(join(d, 'xattrs'), 'user.berth')?.toString(), 'hello');
    assert.equal(lgetxattr(join(d, 'xattrs'), 'trusted.overlay.redirect'), undefined, 'overlay xattrs are never taken from a layer');
    assert.equal(statSync(join(d, 'xattrs')).mtimeMs, 1000000000500, 'PAX sub-second mtime');
  });
});

test('binary xattr values (file capabilities) are applied byte for byte', { skip }, async () => {
  await withStore(async (f) => {
    // VFS_CAP_REVISION_2 with cap_setuid (bit 7) effective and permitted: not valid UTF-8.
    const capability = Buffer.from([0x01, 0, 0, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80]);
    const records = Buffer.concat([
      paxRecord('SCHILY.xattr.security.capability', capability),
      paxRecord('SCHILY.xattr.user.binary', binary),
      paxRecord('SCHILY.xattr.user.text', Buffer.from('plain')),
    ]);
    const data = Buffer.from('#!/bin/sh\n');
    const archive = Buffer.concat([
      ustarHeader('plain-first', '0', 3),
      padded(Buffer.from('abc')),
      ustarHeader('PaxHeaders/newuidmap', 'x', records.length),
      padded(records),
      ustarHeader('usr/bin/newuidmap', '0', data.length, 0o755),
      padded(data),
      ustarHeader('after', '0', 0),
      Buffer.alloc(1024),
    ]);
    const rec = await f.store.apply(streamOf(archive), null, sha256Digest(archive));
    const file = join(f.store.diffDir(rec.chainId), 'usr/bin/newuidmap');
    assert.equal(readFileSync(file, 'utf8'), '#!/bin/sh\n');
    assert.deepEqual(lgetxattr(file, 'security.capability'), capability, 'capability kept (and set after the chown that would clear it)');
    assert.deepEqual(lgetxattr(file, 'user.binary'), binary);
    assert.equal(lgetxattr(file, 'user.text')?.toString(), 'plain');
    assert.equal(lgetxattr(join(f.store.diffDir(rec.chainId), 'after'), 'user.binary'), undefined, 'records apply to one entry only');
  });
});

test('later entries replace earlier ones: file over symlink, dir over file, file over dir; dirs merge', { skip }, async () => {
  await withStore(async (f) => {
    const rec = await f.store.apply(
      streamOf(
        await tarOf([
          { name: 'a', type: 'symlink', linkname: f.secret },
          { name: 'a', data: 'replaced' },
          { name: 'b', data: 'file' },
          { name: 'b/', type: 'directory' },
          { name: 'b/inner', data: 'inner' },
          { name: 'c/x/y', data: 'deep' },
          { name: 'c', data: 'now a file' },
          { name: 'm/one', data: '1' },
          { name: 'm/', type: 'directory', mode: 0o700 },
          { name: 'm/two', data: '2' },
          { name: 'c/', type: 'directory' },
          { name: 'c/z', data: 'z' },
        ]),
      ),
      null,
    );
    const d = f.store.diffDir(rec.chainId);
    assert.ok(lstatSync(join(d, 'a')).isFile());
    assert.equal(readFileSync(join(d, 'a'), 'utf8'), 'replaced');
    assert.equal(readFileSync(join(d, 'b/inner'), 'utf8'), 'inner');
    assert.deepEqual(readdirSync(join(d, 'm')).sort(), ['one', 'two']);
    assert.equal(statSync(join(d, 'm')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(d, 'c')), ['z'], 'the old c/x tree is gone from the directory cache too');
    assertOutsideUntouched(f);
  });
});

test('gzip, zstd and plain layers unpack alike and share the diff id of the plain tar', { skip }, async () => {
  await withStore(async (f) => {
    const plain = await tarOf([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/hostname', data: 'berth\n' },
      { name: 'bin/random', data: randomBytes(200_000) },
    ]);
    const diffId = sha256Digest(plain);
    const zstd = execFileSync('zstd', ['-q', '-c'], { input: plain });
    const gzip = gzipSync(plain);
    assert.notDeepEqual(zstd.subarray(0, 4), plain.subarray(0, 4));

    const fromPlain = await f.store.apply(streamOf(plain), null, diffId);
    assert.equal(fromPlain.diffId, diffId);
    assert.equal(fromPlain.chainId, diffId);
    const d = f.store.diffDir(diffId);
    const expected = readFileSync(join(d, 'bin/random'));

    // Each on top of the previous one: a new chain every time, so each unpacks for real.
    let parent = fromPlain.chainId;
    for (const [what, bytes] of [['gzip', gzip], ['zstd', zstd]] as const) {
      const rec = await f.store.apply(streamOf(bytes), parent, diffId);
      assert.equal(rec.diffId, diffId, what);
      assert.equal(rec.chainId, sha256Digest(`${parent} ${diffId}`), what);
      const dd = f.store.diffDir(rec.chainId);
      assert.equal(readFileSync(join(dd, 'etc/hostname'), 'utf8'), 'berth\n', what);
      assert.deepEqual(readFileSync(join(dd, 'bin/random')), expected, what);
      parent = rec.chainId;
    }
  });
});

test('diff id mismatch: rejected, no dir and no row left', { skip }, async () => {
  await withStore(async (f) => {
    const plain = await tarOf([{ name: 'f', data: 'x' }]);
    const wrong = sha256Digest('something else');
    await assert.rejects(f.store.apply(streamOf(gzipSync(plain)), null, wrong), { code: 'diff_id_mismatch' });
    assertNothingLeftBehind(f);
  });
});

test('truncated or corrupt archives fail cleanly with layer_corrupt', { skip }, async () => {
  await withStore(async (f) => {
    const plain = await tarOf([
      { name: 'a', data: randomBytes(100_000) },
      { name: 'b', data: randomBytes(100_000) },
    ]);
    const gzip = gzipSync(plain);
    const zstd = execFileSync('zstd', ['-q', '-c'], { input: plain });
    const corruptGzip = Buffer.from(gzip);
    corruptGzip.fill(0x55, 100, 400);
    const cases: [string, Buffer, RegExp][] = [
      ['truncated gzip', gzip.subarray(0, Math.floor(gzip.length / 2)), /gzip/],
      ['corrupt gzip', corruptGzip, /gzip/],
      ['truncated zstd', zstd.subarray(0, Math.floor(zstd.length / 2)), /zstd/],
      ['truncated tar', plain.subarray(0, 150_000), /tar/],
      ['garbage tar header', Buffer.concat([plain.subarray(0, 512 + 100_352), Buffer.alloc(512, 0x41)]), /tar/],
    ];
    for (const [what, bytes, message] of cases) {
      await assert.rejects(f.store.apply(streamOf(bytes), null), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'layer_corrupt', `${what}: ${err.message}`);
        assert.match(err.message, message, what);
        return true;
      });
      assertNothingLeftBehind(f);
    }
  });
});

test('the source stream failing mid-way fails the layer with that error and leaves nothing', { skip }, async () => {
  await withStore(async (f) => {
    const plain = await tarOf([{ name: 'a', data: randomBytes(100_000) }]);
    const source = Readable.from(
      (async function* () {
        yield plain.subarray(0, 30_000);
        throw new Error('connection reset by registry');
      })(),
      { objectMode: false },
    );
    await assert.rejects(f.store.apply(source, null), /connection reset by registry/);
    assertNothingLeftBehind(f);
  });
});

test('no space left on device: SystemError naming ENOSPC, temp dir removed', { skip }, async () => {
  await withStore(async (f) => {
    const small = join(f.base, 'small');
    mkdirSync(small);
    mount('tmpfs', small, 'tmpfs', 0, 'size=1m');
    try {
      const store = new LayerStore(small, f.db);
      store.init();
      const plain = await tarOf([{ name: 'huge', data: randomBytes(2 * 1024 * 1024) }]);
      await assert.rejects(store.apply(streamOf(plain), null), (err: Error & { code?: string; kind?: string }) => {
        assert.equal(err.kind, 'System', err.stack);
        assert.match(err.message, /ENOSPC/);
        return true;
      });
      assert.deepEqual(readdirSync(store.dir), ['l']);
      assert.deepEqual(f.db.prepare('SELECT chain_id FROM layers').all(), []);
    } finally {
      umount2(small, MNT_DETACH);
    }
  });
});

test('escape: "../" entries are rejected', { skip }, async () => {
  await withStore(async (f) => {
    await applyRejected(f, [{ name: '../../../../outside/x', data: 'evil' }], 'layer_path_escape', /outside\/x/);
    await applyRejected(f, [{ name: 'ok', data: 'fine' }, { name: 'a/../../x', data: 'evil' }], 'layer_path_escape', /a\/\.\.\/\.\.\/x/);
    await applyRejected(f, [{ name: '/../outside/x', data: 'evil' }], 'layer_path_escape');
    await applyRejected(f, [{ name: 'd/', type: 'directory' }, { name: 'd/.wh...', data: '' }], 'layer_corrupt');
  });
});

test('escape: absolute entry names land inside the layer', { skip }, async () => {
  await withStore(async (f) => {
    const hostEtc = `/etc/berth-test-evil-${randomBytes(6).toString('hex')}`;
    const rec = await f.store.apply(
      streamOf(
        await tarOf([
          { name: hostEtc, data: 'evil' },
          { name: join(f.outside, 'evil'), data: 'evil' },
        ]),
      ),
      null,
    );
    const d = f.store.diffDir(rec.chainId);
    assert.equal(existsSync(hostEtc), false);
    assert.equal(readFileSync(join(d, hostEtc), 'utf8'), 'evil');
    assert.equal(readFileSync(join(d, f.outside, 'evil'), 'utf8'), 'evil');
    assertOutsideUntouched(f);
  });
});

test('escape: writing through a symlink to outside stays inside (absolute, relative and chained targets)', { skip }, async () => {
  await withStore(async (f) => {
    const climb = '../'.repeat(f.base.split('/').length + 6);
    const rec = await f.store.apply(
      streamOf(
        await tarOf([
          { name: 'abs', type: 'symlink', linkname: f.outside },
          { name: 'abs/pwned-abs', data: 'evil' },
          { name: 'rel', type: 'symlink', linkname: `../../../../outside` },
          { name: 'rel/pwned-rel', data: 'evil' },
          { name: 'deep', type: 'symlink', linkname: climb + f.outside.slice(1) },
          { name: 'deep/pwned-deep', data: 'evil' },
          { name: 'chain-a', type: 'symlink', linkname: 'chain-b' },
          { name: 'chain-b', type: 'symlink', linkname: f.outside },
          { name: 'chain-a/pwned-chain', data: 'evil' },
          { name: 'chain-a/sub/dir/', type: 'directory' },
          { name: 'abs/newdir/', type: 'directory' },
          { name: 'sym-secret', type: 'symlink', linkname: f.secret },
          { name: 'sym-secret', data: 'evil' },
        ]),
      ),
      null,
    );
    assertOutsideUntouched(f);
    const d = f.store.diffDir(rec.chainId);
    // Symlinks resolve with the layer root as "/": the same place the container will see.
    const inside = join(d, f.outside);
    assert.deepEqual(readdirSync(inside).sort(), ['newdir', 'pwned-abs', 'pwned-chain', 'pwned-deep', 'sub']);
    assert.equal(readFileSync(join(d, 'outside/pwned-rel'), 'utf8'), 'evil');
    assert.ok(lstatSync(join(d, 'abs')).isSymbolicLink(), 'the symlinks themselves are kept as data');
    assert.ok(lstatSync(join(d, 'sym-secret')).isFile(), 'a file entry replaces a symlink, never writes through it');
  });
});

test('escape: whiteouts, opaque markers and directory entries never act through a symlink', { skip }, async () => {
  await withStore(async (f) => {
    const rec = await f.store.apply(
      streamOf(
        await tarOf([
          { name: 'out', type: 'symlink', linkname: f.outside },
          { name: 'out/.wh.secret', data: '' },
          { name: 'out/.wh..wh..opq', data: '' },
          { name: 'rel', type: 'symlink', linkname: '../../../../outside' },
          { name: 'rel/.wh.secret', data: '' },
          { name: 'dir', type: 'symlink', linkname: f.outside },
          { name: 'dir/', type: 'directory', mode: 0o777 },
          { name: 'file', type: 'symlink', linkname: f.secret },
          { name: 'file', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
        ]),
      ),
      null,
    );
    assertOutsideUntouched(f);
    const d = f.store.diffDir(rec.chainId);
    assert.ok(lstatSync(join(d, f.outside, 'secret')).isCharacterDevice(), 'the whiteout lands inside');
    assert.equal(lgetxattr(join(d, f.outside), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.ok(lstatSync(join(d, 'outside/secret')).isCharacterDevice());
    assert.ok(lstatSync(join(d, 'dir')).isDirectory(), 'the directory entry replaced the symlink');
    assert.equal(statSync(join(d, 'dir')).mode & 0o7777, 0o777);
  });
});

test('escape: hard links to files outside are rejected and the target is untouched', { skip }, async () => {
  await withStore(async (f) => {
    await applyRejected(f, [{ name: 'h', type: 'link', linkname: '../../../../outside/secret' }], 'layer_path_escape');
    await applyRejected(f, [{ name: 'h', type: 'link', linkname: f.secret }], 'layer_corrupt', /not a file in the layer/);
    await applyRejected(
      f,
      [
        { name: 'out', type: 'symlink', linkname: f.outside },
        { name: 'h', type: 'link', linkname: 'out/secret' },
      ],
      'layer_corrupt',
      /not a file in the layer/,
    );
    await applyRejected(
      f,
      [
        { name: 'a', type: 'symlink', linkname: 'b' },
        { name: 'b', type: 'symlink', linkname: '../../../../outside' },
        { name: 'h', type: 'link', linkname: 'a/secret' },
      ],
      'layer_corrupt',
    );
    // A hard link to a symlink that points outside links the symlink, not what it points to.
    const rec = await f.store.apply(
      streamOf(
        await tarOf([
          { name: 's', type: 'symlink', linkname: f.secret },
          { name: 'h', type: 'link', linkname: 's' },
        ]),
      ),
      null,
    );
    const d = f.store.diffDir(rec.chainId);
    assert.ok(lstatSync(join(d, 'h')).isSymbolicLink());
    assert.equal(lstatSync(join(d, 'h')).ino, lstatSync(join(d, 's')).ino);
    assertOutsideUntouched(f);
  });
});

test('whiteouts and opaque directories become overlayfs whiteouts, and a real overlay hides what they delete', { skip }, async () => {
  await withStore(async (f) => {
    const lower = await f.store.apply(
      streamOf(
        await tarOf([
          { name: 'keep', data: 'keep' },
          { name: 'gone', data: 'gone' },
          { name: 'gonedir/a', data: 'a' },
          { name: 'opq/old', data: 'old' },
        ]),
      ),
      null,
    );
    const upper = await f.store.apply(
      streamOf(
        await tarOf([
          { name: 'gonedir/', type: 'directory' },
          { name: 'gonedir/b', data: 'b' },
          { name: '.wh.gone', data: '' },
          { name: '.wh.gonedir', data: '' },
          { name: 'opq/', type: 'directory' },
          { name: 'opq/.wh..wh..opq', data: '' },
          { name: 'opq/new', data: 'new' },
          { name: 'made/.wh..wh..opq', data: '' },
          { name: '.wh..wh.plnk/', type: 'directory' },
          { name: '.wh..wh.aufs', data: '' },
        ]),
      ),
      lower.chainId,
    );
    const d = f.store.diffDir(upper.chainId);
    for (const name of ['gone', 'gonedir']) {
      const st = lstatSync(join(d, name));
      assert.ok(st.isCharacterDevice(), `${name} is a whiteout`);
      assert.equal(st.rdev, 0);
    }
    assert.equal(lgetxattr(join(d, 'opq'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.equal(lgetxattr(join(d, 'made'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.deepEqual(readdirSync(join(d, 'opq')), ['new'], 'the opaque marker keeps this layer\'s own entries');
    assert.equal(existsSync(join(d, '.wh..wh.plnk')), false);
    assert.equal(existsSync(join(d, '.wh..wh.aufs')), false);

    const merged = join(f.base, 'merged');
    mkdirSync(merged);
    await f.store.mount(upper.chainId, merged, null, null);
    try {
      assert.deepEqual(readdirSync(merged).sort(), ['keep', 'made', 'opq']);
      assert.deepEqual(readdirSync(join(merged, 'opq')), ['new']);
      assert.equal(readFileSync(join(merged, 'keep'), 'utf8'), 'keep');
    } finally {
      await f.store.unmount(merged);
    }
  });
});

test('a layer file reports how much of it has been read while it unpacks, up to its size', { skip }, async () => {
  const { dir, cleanup } = tempDir('berth-unpack-progress-');
  try {
    const file = join(dir, 'layer.tar.gz');
    writeFileSync(file, gzipSync(await tarOf([{ name: 'big', data: randomBytes(8 << 20) }]), { level: 1 }));
    const size = statSync(file).size;
    const dest = join(dir, 'dest');
    mkdirSync(dest);
    const reads: number[] = [];
    await unpackLayer({ file }, dest, undefined, (n) => reads.push(n), 1);
    assert.ok(reads.some((n) => n > 0), `progress was reported: ${reads.join(' ')}`);
    assert.ok(
      reads.every((n, i) => n <= size && (i === 0 || n >= reads[i - 1])),
      `progress grows and stays within the file's ${size} bytes: ${reads.join(' ')}`,
    );
  } finally {
    cleanup();
  }
});

test('a written file can be started on its way to disk (the early writeback of big layer files); a bad descriptor is an error', async () => {
  const { dir, cleanup } = tempDir('berth-writeback-');
  try {
    const fd = openSync(join(dir, 'big'), 'w');
    writeSync(fd, Buffer.alloc(1024 * 1024, 1));
    startWriteback(fd);
    // The background variant (a whole blob's) settles either way: a failure is left to the fsync.
    await startWritebackInBackground(fd);
    closeSync(fd);
    // -1: a descriptor number nothing can reuse meanwhile.
    assert.throws(() => startWriteback(-1), (err: NodeJS.ErrnoException) => err.code === 'EBADF' && err.syscall === 'sync_file_range');
    await startWritebackInBackground(-1);
  } finally {
    cleanup();
  }
});
