// Cold start of the CLI: `berth --version` against the floor, `node -e 0`, and against the
// docker and podman clients where installed. Runs interleaved so machine noise hits all
// alike; prints medians and the difference to the floor.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const runs = Number(process.env.RUNS ?? 40);
const bundle = fileURLToPath(new URL('../dist/berth.cjs', import.meta.url));
if (!existsSync(bundle)) {
  console.error('dist/berth.cjs is missing: run `npm run build` first');
  process.exit(1);
}
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const cases = [
  ['node -e 0', process.execPath, ['-e', '0']],
  ['berth --version', process.execPath, [bundle, '--version']],
  ['berth images --help', process.execPath, [bundle, 'images', '--help']],
];
for (const peer of ['docker', 'podman']) {
  const path = which(peer);
  if (path) cases.push([`${peer} --version`, path, ['--version']]);
}

const times = new Map(cases.map(([name]) => [name, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, cmd, args] of cases) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${name} failed with ${r.status}`);
    times.get(name).push(ms);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const floor = median(times.get('node -e 0'));
console.log(`cold start, median of ${runs} runs`);
for (const [name] of cases) {
  const m = median(times.get(name));
  console.log(`${name.padEnd(22)} ${m.toFixed(1).padStart(7)} ms   ${(m - floor >= 0 ? '+' : '') + (m - floor).toFixed(1)} ms vs node -e 0   ratio ${(m / floor).toFixed(2)}`);
}
