// The benchmarks run berth as its users do: through the launcher that scripts/setup.sh installs
// (scripts/launcher.sh.in), here written next to the benchmark's own files and pointing at this
// checkout's dist/. The launcher starts node without NODE_EXTRA_CA_CERTS, so the floor
// `node -e 0` runs with the environment the launcher gives node (`launchedNodeEnv`).
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/berth.cjs', import.meta.url));
const template = fileURLToPath(new URL('../scripts/launcher.sh.in', import.meta.url));

/** Writes the launcher into `dir` and returns its path; exits when berth is not built. */
export function writeLauncher(dir) {
  if (!existsSync(bundle)) {
    console.error('dist/berth.cjs is missing: run `npm run build` first');
    process.exit(1);
  }
  const file = join(dir, 'berth');
  writeFileSync(file, readFileSync(template, 'utf8').replace('@BUNDLE@', bundle));
  chmodSync(file, 0o755);
  return file;
}

/** The environment node runs in when the launcher starts it. */
export function launchedNodeEnv() {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}
