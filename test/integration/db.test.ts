import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb, schemaVersion } from '../../src/storage/db.js';
import { tempDir } from '../helpers/root.js';

const dbModule = fileURLToPath(new URL('../../src/storage/db.js', import.meta.url));

test('state database: migrations apply once, in WAL mode', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'berth.db');
    const db = openDb(file);
    assert.equal(db.pragma('user_version', { simple: true }), schemaVersion);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    const again = openDb(file);
    assert.equal(again.pragma('user_version', { simple: true }), schemaVersion);
    again.close();
  } finally {
    cleanup();
  }
});

test('state database: a newer schema than this berth knows is refused', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'berth.db');
    const db = openDb(file);
    db.pragma(`user_version = ${schemaVersion + 5}`);
    db.close();
    assert.throws(() => openDb(file), /newer than this berth understands/);
  } finally {
    cleanup();
  }
});

test('state database: eight processes migrating and writing at once all succeed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'berth.db');
    const script = `
      const { openDb } = await import(${JSON.stringify(dbModule)});
      const db = openDb(${JSON.stringify(file)});
      for (let i = 0; i < 50; i++) {
        db.transaction(() => {
          db.prepare("INSERT INTO layers (chain_id, diff_id, link, size, state, created) VALUES (?, ?, ?, 0, 'ready', 0)")
            .run('sha256:' + process.pid + '-' + i, 'x', process.pid + '-' + i);
        }).immediate();
      }
      db.close();`;
    const codes = await Promise.all(
      Array.from({ length: 8 }, () =>
        new Promise<number>((resolve) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
          child.on('exit', (code) => resolve(code ?? -1));
        }),
      ),
    );
    assert.deepEqual(codes, Array(8).fill(0));
    const db = openDb(file);
    assert.equal((db.prepare('SELECT count(*) AS n FROM layers').get() as { n: number }).n, 400);
    db.close();
  } finally {
    cleanup();
  }
});
