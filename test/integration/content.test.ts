import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ContentStore, sha256Digest } from '../../src/storage/content.js';
import { tempDir } from '../helpers/root.js';

test('content store: put, ingest and read back by digest', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = new ContentStore(dir);
    store.init();
    const data = Buffer.from('hello berth');
    const d = await store.put(data);
    assert.equal(d, sha256Digest(data));
    assert.deepEqual(await store.read(d), data);
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const r = await store.ingest(Readable.from([big.subarray(0, 1000), big.subarray(1000)]), sha256Digest(big));
    assert.equal(r.size, big.length);
    assert.ok(await store.has(r.digest));
    assert.deepEqual((await store.list()).sort(), [d, r.digest].sort());
  } finally {
    cleanup();
  }
});

test('content store: a blob whose bytes do not match its digest is never stored', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = new ContentStore(dir);
    store.init();
    const wrong = sha256Digest('something else');
    await assert.rejects(store.put(Buffer.from('payload'), wrong), /digest mismatch/);
    await assert.rejects(store.ingest(Readable.from([Buffer.from('payload')]), wrong), /digest mismatch/);
    assert.equal(await store.has(wrong), false);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(readdirSync(join(dir, 'content', 'tmp')), [], 'no temp file left behind');
    await assert.rejects(store.put(Buffer.from('x'), 'sha256:zz'), /invalid digest/);
  } finally {
    cleanup();
  }
});

test('content store: a source that fails mid-stream leaves nothing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = new ContentStore(dir);
    store.init();
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
        this.destroy(new Error('connection reset'));
      },
    });
    await assert.rejects(store.ingest(failing), /connection reset/);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(readdirSync(join(dir, 'content', 'tmp')), []);
  } finally {
    cleanup();
  }
});

test('content store: a verified download is read where it was written and stored under its digest only once published', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = new ContentStore(dir);
    store.init();
    const ingest = join(dir, 'content', 'ingest');
    const data = Buffer.alloc(2 * 1024 * 1024, 5);
    const digest = sha256Digest(data);
    const first = await store.resumableWriter(digest, data.length);
    await pipeline(Readable.from([data.subarray(0, 4096), data.subarray(4096)]), first.sink());
    await first.verify(digest);
    assert.deepEqual(readFileSync(first.path), data, 'the verified bytes are readable before they are published');
    assert.equal(await store.has(digest), false, 'not under its digest before publish()');
    // Given up after verifying (a pull that failed or was killed): the next writer has it all.
    await first.abort();
    const again = await store.resumableWriter(digest, data.length);
    assert.equal(again.size, data.length);
    await again.verify(digest);
    await again.publish();
    assert.deepEqual(await store.read(digest), data);
    assert.deepEqual(readdirSync(ingest), [], 'the partial became the blob');

    const wrong = sha256Digest('something else');
    const bad = await store.resumableWriter(wrong, 100);
    await pipeline(Readable.from([Buffer.from('payload')]), bad.sink());
    await assert.rejects(bad.verify(wrong), /digest mismatch/);
    assert.equal(await store.has(wrong), false);
    assert.deepEqual(readdirSync(ingest), [], 'a mismatch keeps nothing');
  } finally {
    cleanup();
  }
});
