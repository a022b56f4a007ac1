// `run --rm busybox true` wall time: berth against Podman and Docker (where installed) and
// against the floor, node's own start plus `runc run` of a prepared bundle (node started as
// berth's launcher starts it, bench/launcher.mjs). Each engine runs
// on its own default network (berth's and Docker's bridge, Podman's netavark bridge) and with
// --network none, so the network's share shows. All cases run interleaved in one loop so
// machine noise hits them alike. Prints medians and ratios.
//   RUNS=20 node bench/run-latency.mjs        (root; berth built with `npm run build`)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchedNodeEnv, writeLauncher } from './launcher.mjs';

const runs = Number(process.env.RUNS ?? 20);
const work = mkdtempSync(join(tmpdir(), 'berth-bench-'));
const berth = writeLauncher(work);
const sh = (cmd) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
const have = (cmd) => sh(`command -v ${cmd}`).status === 0;

// A busybox rootfs, shared by the runc floor and the peers' images.
const rootfs = join(work, 'bundle', 'rootfs');
mkdirSync(join(rootfs, 'bin'), { recursive: true });
mkdirSync(join(rootfs, 'etc'));
cpSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
for (const applet of sh('/bin/busybox --list').stdout.trim().split('\n')) {
  if (applet !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', applet));
}
writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
sh(`cd ${join(work, 'bundle')} && runc spec`);
const spec = JSON.parse(readFileSync(join(work, 'bundle', 'config.json'), 'utf8'));
spec.process.terminal = false;
spec.process.args = ['true'];
writeFileSync(join(work, 'bundle', 'config.json'), JSON.stringify(spec));
sh(`tar -C ${rootfs} -cf ${join(work, 'rootfs.tar')} .`);

const berthRoot = join(work, 'berth-root');
const berthArgs = ['--root', berthRoot, '--runroot', join(work, 'berth-run')];
const cases = [
  { name: 'floor: node -e 0', cmd: process.execPath, args: ['-e', '0'], env: launchedNodeEnv() },
  { name: 'floor: runc run', cmd: 'runc', args: ['--root', join(work, 'runc'), 'run', '--bundle', join(work, 'bundle'), 'bench-floor'] },
  { name: 'berth run --rm', cmd: berth, args: [...berthArgs, 'run', '--rm', 'busybox', 'true'] },
  { name: 'berth --network none', cmd: berth, args: [...berthArgs, 'run', '--rm', '--network', 'none', 'busybox', 'true'] },
];
// Node 20 parses NODE_EXTRA_CA_CERTS at start (the launcher sets it aside): how much that is here.
if (process.env.NODE_EXTRA_CA_CERTS) cases.push({ name: 'node -e 0, extra CAs', cmd: process.execPath, args: ['-e', '0'] });
spawnSync(berth, [...berthArgs, 'system', 'init'], { stdio: 'inherit' });
if (have('podman') && sh(`podman import -q ${join(work, 'rootfs.tar')} localhost/berth-bench:latest`).status === 0) {
  // Debian's podman defaults its rlimits above this host's hard limits and crun refuses hybrid cgroups.
  const podman = (net) => ['run', '--rm', '--runtime', 'runc', ...net, '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096', 'localhost/berth-bench', 'true'];
  cases.push({ name: 'podman run --rm', cmd: 'podman', args: podman([]) });
  cases.push({ name: 'podman --network none', cmd: 'podman', args: podman(['--network', 'none']) });
}
if (have('docker') && sh('docker info >/dev/null 2>&1').status === 0 && sh(`docker import ${join(work, 'rootfs.tar')} berth-bench:latest`).status === 0) {
  cases.push({ name: 'docker run --rm', cmd: 'docker', args: ['run', '--rm', 'berth-bench', 'true'] });
  cases.push({ name: 'docker --network none', cmd: 'docker', args: ['run', '--rm', '--network', 'none', 'berth-bench', 'true'] });
}

const times = new Map(cases.map((c) => [c.name, []]));
try {
  for (let i = 0; i < runs + 1; i++) {
    for (const c of cases) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(c.cmd, c.args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: c.env });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr}`);
      if (i > 0) times.get(c.name).push(ms); // the first round warms caches
    }
  }
} finally {
  // The default bridge's bridge and rules stay while its network exists: take them off the host.
  spawnSync(berth, [...berthArgs, 'network', 'prune', '-f'], { stdio: 'ignore' });
  sh('podman rmi -f localhost/berth-bench >/dev/null 2>&1; docker rmi -f berth-bench >/dev/null 2>&1');
  rmSync(work, { recursive: true, force: true });
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const m = Object.fromEntries(cases.map((c) => [c.name, median(times.get(c.name))]));
const floor = m['floor: node -e 0'] + m['floor: runc run'];
console.log(`run --rm busybox true, median of ${runs} runs (ms); "run --rm" is each engine's default network`);
for (const c of cases) console.log(`${c.name.padEnd(22)} ${m[c.name].toFixed(1).padStart(7)}`);
console.log(`${'floor (node + runc)'.padEnd(22)} ${floor.toFixed(1).padStart(7)}`);
const b = m['berth run --rm'];
console.log(`berth - floor: ${(m['berth --network none'] - floor).toFixed(1)} ms with --network none, ${(b - floor).toFixed(1)} ms on the default network`);
for (const engine of ['berth', 'podman', 'docker']) {
  const none = m[`${engine} --network none`];
  if (none) console.log(`${engine}: default network adds ${(m[`${engine} run --rm`] - none).toFixed(1)} ms over --network none`);
}
for (const peer of ['podman', 'docker']) {
  if (m[`${peer} run --rm`]) console.log(`berth / ${peer} (default networks): ${(b / m[`${peer} run --rm`]).toFixed(2)}x; with --network none: ${(m['berth --network none'] / m[`${peer} --network none`]).toFixed(2)}x`);
}
