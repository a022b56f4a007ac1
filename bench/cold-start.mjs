// Cold start of the CLI: `berth --version` (through its launcher, bench/launcher.mjs) against
// the floor, `node -e 0` as the launcher starts node, and against the docker and podman
// clients where installed. Runs interleaved so machine noise hits all alike; prints medians
// and the difference to the floor.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchedNodeEnv, writeLauncher } from './launcher.mjs';

const runs = Number(process.env.RUNS ?? 40);
const work = mkdtempSync(join(tmpdir(), 'berth-bench-start-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const berth = writeLauncher(work);
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const cases = [
  ['node -e 0', process.execPath, ['-e', '0'], launchedNodeEnv()],
  ['berth --version', berth, ['--version']],
  ['berth images --help', berth, ['images', '--help']],
];
// Node 20 parses NODE_EXTRA_CA_CERTS at start (the launcher sets it aside): how much that is here.
if (process.env.NODE_EXTRA_CA_CERTS) cases.push(['node -e 0, extra CAs', process.execPath, ['-e', '0']]);
for (const peer of ['docker', 'podman']) {
  const path = which(peer);
  if (path) cases.push([`${peer} --version`, path, ['--version']]);
}

const times = new Map(cases.map(([name]) => [name, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, cmd, args, env] of cases) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore', env });
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
