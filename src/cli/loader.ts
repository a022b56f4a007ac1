// berth's executable. `--version` is answered before anything else loads. Everything else
// runs the CLI bundle through a V8 code cache: parsing and compiling the bundle's functions
// is most of what berth costs on top of starting node, and Node 20 caches no compiled code
// by itself (module.enableCompileCache came in Node 22).
//
// There is one cache per command ("run", "network create"): V8 caches the functions that ran,
// so each command's first successful run leaves the cache its later runs need. The file name
// carries the bundle's size and mtime, so a rebuilt bundle never meets an old cache, and
// node's flags when there are any (`node --inspect dist/berth.cjs`): V8 rejects a cache made
// under other flags, so each set keeps its own instead of each replacing the other's. V8 also
// rejects a cache from another node version; then berth compiles as usual and writes a fresh one.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { LOADER_START } from '../timing.js';
import { commandWords } from './argv.js';
import { berthVersion } from '../version.js';

const bundle = fileURLToPath(new URL('./berth-cli.cjs', import.meta.url));

/** A short fingerprint of node's flags (FNV-1a), '' without any. */
function flagsKey(): string {
  if (process.execArgv.length === 0) return '';
  let h = 0x811c9dc5;
  for (const ch of process.execArgv.join(' ')) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `.${h.toString(16)}`;
}

/**
 * The command the arguments name ("run", "network-create"), or "other". A command's --help gets
 * a cache of its own: it runs little of the command, and the first cache of a key is the one
 * kept (`berth run --help` first would leave `run` compiling most of its code at every start).
 */
function commandKey(argv: string[]): string {
  const key = commandWords(argv).join('-') + (argv.includes('--help') ? '-help' : '');
  return /^[a-z][a-z-]{0,40}$/.test(key) ? key : 'other';
}

function runBundle(argv: string[]): void {
  // The bundle is ASCII (scripts/build.mjs checks): read as latin1 it needs no UTF-8 decoding,
  // 0.7 ms less of every start for its 740 KB.
  const source = readFileSync(bundle, 'latin1');
  let cacheFile: string | undefined;
  let cached: Buffer | undefined;
  try {
    const st = statSync(bundle);
    cacheFile = join(dirname(bundle), 'code-cache', `${commandKey(argv)}.${st.size}-${Math.trunc(st.mtimeMs)}${flagsKey()}.v8`);
    cached = readFileSync(cacheFile);
  } catch {
    // no cache yet
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    cachedData: cached,
  });
  if (cacheFile && (!cached || script.cachedDataRejected)) {
    const file = cacheFile;
    process.once('exit', (code) => {
      // A failed command may have run little of the CLI; the next successful one writes it.
      if (code !== 0) return;
      try {
        mkdirSync(dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, file);
      } catch {
        // a read-only installation: run uncached
      }
    });
  }
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
}

const argv = process.argv.slice(2);
if (argv.includes('--debug') || argv.includes('-D')) (globalThis as { [LOADER_START]?: number })[LOADER_START] = performance.now();
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  process.stdout.write(`berth version ${berthVersion}\n`);
} else {
  runBundle(argv);
}
