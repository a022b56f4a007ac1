// Host plumbing that the run path leans on: posix_spawn'd monitors (descriptors, session,
// signals, directory, reaping), plain pipes, and removing trees without following links.
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, readFileSync, readSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { pipe, spawnInSession } from '../../src/sys/libc.js';
import { removeFile, removeTree } from '../../src/sys/tree.js';
import { tempDir } from '../helpers/root.js';

function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) chunks.push(Buffer.from(buf.subarray(0, n)));
  return Buffer.concat(chunks).toString('utf8');
}

test('spawnInSession maps the descriptors, starts a session with default signals, and reaps the program', async (t) => {
  const { dir, cleanup } = tempDir('berth-spawn-');
  t.after(cleanup);
  const [errRead, errWrite] = pipe();
  const [outRead, outWrite] = pipe();
  // Written to descriptor 3: what the program sees of its own state.
  const script = [
    'echo "cwd=$(pwd) env=$ONLY" >&3',
    'grep -E "^(SigIgn|SigBlk):" /proc/self/status >&3',
    'echo "sid=$(cut -d" " -f6 /proc/self/stat) pid=$$" >&3',
    'ls /proc/self/fd >&3',
    'echo oops >&2',
    'exit 7',
  ].join('; ');
  const child = spawnInSession('/bin/sh', ['-c', script], { env: { ONLY: 'yes', PATH: '/usr/bin:/bin' }, cwd: dir, fds: [errWrite, outWrite] });
  closeSync(errWrite);
  closeSync(outWrite);
  const status = await child.wait();
  const out = readAll(outRead);
  assert.equal(readAll(errRead), 'oops\n');
  closeSync(outRead);
  closeSync(errRead);
  assert.deepEqual(status, { code: 7, signal: null });
  assert.match(out, new RegExp(`cwd=${dir} env=yes`));
  assert.match(out, /SigIgn:\s+0+\n/, 'no signal ignored: Node ignores SIGPIPE, glibc its internal ones');
  assert.match(out, /SigBlk:\s+0+\n/);
  const [, sid, pid] = /sid=(\d+) pid=(\d+)/.exec(out)!;
  assert.equal(sid, pid, 'a session of its own');
  // 0-3 and ls's own directory descriptor; nothing parked at 1000 and up is left open.
  const fds = out.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
  assert.ok(fds.every((fd) => fd < 1000), `descriptors: ${fds.join(' ')}`);
  assert.ok([0, 1, 2, 3].every((fd) => fds.includes(fd)));
});

test('spawnInSession reports a missing program and a killed one', async () => {
  assert.throws(() => spawnInSession('/nonexistent/berth-test', [], { env: {}, fds: [] }), /ENOENT.*posix_spawn/);
  const child = spawnInSession('/bin/sleep', ['30'], { env: {}, fds: [] });
  process.kill(child.pid, 'SIGKILL');
  assert.deepEqual(await child.wait(), { code: null, signal: 'SIGKILL' });
});

test('removeTree removes nested files and directories, unlinks links without following them', (t) => {
  const { dir, cleanup } = tempDir('berth-tree-');
  t.after(cleanup);
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep'), 'x');
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'a/b/c'), { recursive: true });
  mkdirSync(join(tree, 'work/work'), { recursive: true });
  chmodSync(join(tree, 'work/work'), 0o000);
  writeFileSync(join(tree, 'a/b/c/file'), 'x');
  writeFileSync(join(tree, 'a/top'), 'x');
  symlinkSync(outside, join(tree, 'a/link-to-dir'));
  symlinkSync('/nonexistent', join(tree, 'dangling'));
  removeTree(tree);
  assert.equal(existsSync(tree), false);
  assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'x');
  // Missing paths are not errors; a file given as the tree is removed.
  removeTree(tree);
  writeFileSync(join(dir, 'plain'), 'x');
  removeTree(join(dir, 'plain'));
  assert.equal(existsSync(join(dir, 'plain')), false);
  removeFile(join(dir, 'plain'));
  assert.throws(() => removeFile(outside), /EISDIR|EPERM/);
});

/** Runs `lines` as a module of their own, with launchMonitor imported, in a node of its own. */
function withLaunchMonitor(dir: string, lines: string[]): SpawnSyncReturns<string> {
  const processJs = fileURLToPath(new URL('../../src/sys/process.js', import.meta.url));
  const script = join(dir, 'launch.mjs');
  writeFileSync(script, [`import { launchMonitor } from ${JSON.stringify(processJs)};`, ...lines].join('\n'));
  return spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
}

test('a monitor that never reports: the launch fails at its timeout and leaves nothing that keeps berth running', async (t) => {
  const { dir, cleanup } = tempDir('berth-monitor-timeout-');
  t.after(cleanup);
  // A monitor that takes its start byte, leaves a process of its own holding the sync pipe
  // (descriptor 3) open without ever writing on it, and exits 0: a runc create that hangs.
  const holderPid = join(dir, 'holder.pid');
  const monitor = join(dir, 'monitor.sh');
  writeFileSync(monitor, `#!/bin/sh\nhead -c1 <&4 >/dev/null\nsleep 30 &\necho $! > ${holderPid}\nexit 0\n`);
  chmodSync(monitor, 0o755);
  const started = Date.now();
  const r = withLaunchMonitor(dir, [
    `launchMonitor(${JSON.stringify(monitor)}, [], { timeoutMs: 300 }).release().then(`,
    `  () => console.log('resolved'),`,
    `  (err) => console.log('rejected: ' + err.message),`,
    `);`,
  ]);
  const elapsed = Date.now() - started;
  try {
    process.kill(Number(readFileSync(holderPid, 'utf8')), 'SIGKILL');
  } catch {
    // gone already, or never started
  }
  assert.match(r.stdout, /rejected: .* did not report within 300 ms/);
  assert.ok(elapsed < 10_000, `the process ended ${elapsed} ms after it started (signal ${r.signal}): something kept its event loop alive`);
});

test('an abandoned monitor is killed while it waits for its start byte, and goes no further', async (t) => {
  const { dir, cleanup } = tempDir('berth-monitor-abandon-');
  t.after(cleanup);
  const wentOn = join(dir, 'went-on');
  const monitor = join(dir, 'monitor.sh');
  writeFileSync(monitor, `#!/bin/sh\nhead -c1 <&4 >/dev/null\ntouch ${wentOn}\n`);
  chmodSync(monitor, 0o755);
  const r = withLaunchMonitor(dir, [
    `const held = launchMonitor(${JSON.stringify(monitor)}, []);`,
    // Time for the shell to start and block on its start pipe.
    `setTimeout(() => held.abandon(), 200);`,
  ]);
  assert.equal(r.status, 0, r.stderr);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(existsSync(wentOn), false, 'the abandoned monitor went on past its start pipe');
});
