// Memory per idle running container: start N `sleep` containers detached, then add up what
// berth keeps per container on the host. berth has no daemon and no Node process per
// container, so that is the conmon monitor; its RSS and its PSS (shared pages divided among
// the sharers, the fairer figure) are read from /proc. The container's own process is not
// berth's cost and is reported apart.
//   N=100 node bench/idle-memory.mjs        (root; berth built with `npm run build`)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLauncher } from './launcher.mjs';

const n = Number(process.env.N ?? 100);
const work = mkdtempSync(join(tmpdir(), 'berth-mem-'));
const launcher = writeLauncher(work);
const args = ['--root', join(work, 'root'), '--runroot', join(work, 'run')];
const berth = (...a) => execFileSync(launcher, [...args, ...a], { encoding: 'utf8' }).trim();

const kib = (pid, file, key) => {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
  return m ? Number(m[1]) : 0;
};

try {
  berth('system', 'init');
  const ids = [];
  for (let i = 0; i < n; i++) ids.push(berth('run', '-d', 'busybox', 'sleep', '3600'));
  let rss = 0;
  let pss = 0;
  let ctrRss = 0;
  for (const id of ids) {
    const conmon = Number(readFileSync(join(work, 'run', 'containers', id, 'monitor', 'conmon.pid'), 'utf8'));
    rss += kib(conmon, 'status', 'VmRSS');
    pss += kib(conmon, 'smaps_rollup', 'Pss');
    const pid = Number(berth('inspect', '-f', '{{.State.Pid}}', id));
    ctrRss += kib(pid, 'status', 'VmRSS');
  }
  console.log(`${n} idle containers`);
  console.log(`monitor (conmon) RSS per container: ${(rss / n / 1024).toFixed(2)} MiB (${Math.round(rss / n)} KiB)`);
  console.log(`monitor (conmon) PSS per container: ${(pss / n / 1024).toFixed(2)} MiB`);
  console.log(`container process (sleep) RSS per container, not berth's: ${(ctrRss / n / 1024).toFixed(2)} MiB`);
} finally {
  spawnSync(launcher, [...args, 'rm', '-f', ...spawnSync(launcher, [...args, 'ps', '-aq', '--no-trunc'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)]);
  // The default bridge's bridge and rules stay while its network exists: take them off the host.
  spawnSync(launcher, [...args, 'network', 'prune', '-f'], { stdio: 'ignore' });
  // conmon's exit commands may still be recording the last exits for a moment.
  rmSync(work, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
}
