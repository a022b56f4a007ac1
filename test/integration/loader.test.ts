// The launcher's code cache (src/cli/loader.ts): one file per command, and one per set of node
// flags, since V8 rejects a cache made under other flags.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { berthBin } from '../helpers/cli.js';

const cacheDir = join(dirname(berthBin), 'code-cache');
const cachesOf = (prefix: string) => {
  try {
    return readdirSync(cacheDir).filter((f) => f.startsWith(prefix)).sort();
  } catch {
    return [];
  }
};

describe('code cache', () => {
  it('keeps one cache per command and per set of node flags, and runs alike from each', () => {
    // This build's caches of one rarely used command's help: the name carries the bundle's size
    // and mtime. The help has its own, apart from the command's.
    const st = statSync(join(dirname(berthBin), 'berth-cli.cjs'));
    const prefix = `volume-prune-help.${st.size}-${Math.trunc(st.mtimeMs)}.`;
    const commandPrefix = `volume-prune.${st.size}-${Math.trunc(st.mtimeMs)}.`;
    const clear = () => [...cachesOf(prefix), ...cachesOf(commandPrefix)].forEach((f) => rmSync(join(cacheDir, f), { force: true }));
    clear();
    try {
      const runs = [[], ['--min-semi-space-size=16'], [], ['--min-semi-space-size=16']].map((flags) =>
        spawnSync(process.execPath, [...flags, berthBin, 'volume', 'prune', '--help'], { encoding: 'utf8' }),
      );
      for (const r of runs) assert.equal(r.status, 0, r.stderr);
      assert.ok(runs.every((r) => r.stdout === runs[0].stdout && r.stdout.includes('Remove unused local volumes')), runs[0].stdout);
      const files = cachesOf(prefix);
      assert.equal(files.length, 2, files.join(' '));
      assert.equal(files.filter((f) => /\.\d+-\d+\.v8$/.test(f)).length, 1, files.join(' '));
      assert.equal(files.filter((f) => /\.\d+-\d+\.[0-9a-f]+\.v8$/.test(f)).length, 1, files.join(' '));
      assert.deepEqual(cachesOf(commandPrefix), [], 'the help leaves the command its own cache to make');
    } finally {
      clear();
    }
  });
});
