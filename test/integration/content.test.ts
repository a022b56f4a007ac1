import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
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
