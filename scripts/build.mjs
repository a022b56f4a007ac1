// Bundles berth into two files: dist/berth.cjs, the small executable that answers --version
// and otherwise loads dist/berth-cli.cjs, the whole CLI in one CommonJS file. One file because
// the executable runs it through a V8 code cache (src/cli/loader.ts), which works for a
// script, not for ES modules, on Node 20. better-sqlite3's JavaScript is bundled too (its
// addon loads by path, src/sys/native.ts), which spares resolving and reading its dozen files at
// every start; koffi stays external: berth loads its addon file directly and none of its JS.
// dist/unpack-worker.cjs is the entry point of the thread that unpacks pulled layers
// (src/storage/unpack-thread.ts), a bundle of its own so that the thread loads only that.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' };

// commander requires node:child_process when it loads, for subcommands that are executables of
// their own, which berth has none of; loading it (with net and dgram) costs about 1 ms of every
// start. commander gets it on first use instead.
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      /[\\/]commander[\\/]/.test(args.importer) ? { path: 'lazy-child-process', namespace: 'berth-lazy' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'berth-lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_t, key) => require('node:child_process')[key] });",
      loader: 'js',
    }));
  },
};
await build({
  ...common,
  entryPoints: { 'berth-cli': 'src/cli/main.ts', 'unpack-worker': 'src/storage/unpack-worker.ts' },
  outdir: 'dist',
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  external: ['koffi'],
  plugins: [lazyChildProcessForCommander],
  // Less source to read at every start; names stay, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  // The loader passes the bundle's own path as __filename.
  define: { 'import.meta.url': '__berthModuleUrl' },
  banner: { js: "const __berthModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
await build({
  ...common,
  entryPoints: { berth: 'src/cli/loader.ts' },
  outdir: 'dist',
  // CommonJS too: node sets up its ES module loader for an .mjs entry point, about 5 ms more.
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  define: { 'import.meta.url': '__berthModuleUrl' },
  banner: { js: "#!/usr/bin/env node\nconst __berthModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// The executable reads the CLI bundle as latin1 (src/cli/loader.ts), which is right only for
// ASCII. esbuild escapes non-ASCII text in strings, but not in regular expression literals.
const cli = readFileSync(new URL('../dist/berth-cli.cjs', import.meta.url));
const at = cli.findIndex((b) => b > 0x7f);
if (at >= 0) {
  console.error(`dist/berth-cli.cjs has a non-ASCII byte at offset ${at}: write it as a \\u escape in the source`);
  process.exit(1);
}
