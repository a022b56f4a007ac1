// Bundles the CLI so `berth --version` loads one small file; heavy parts are split into
// chunks loaded on demand. Native modules stay external (they cannot be bundled).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { berth: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  external: ['better-sqlite3', 'koffi'],
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __berthRequire } from 'node:module'; const require = __berthRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});
