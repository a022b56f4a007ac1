// Warming the kernel's cgroup migration lock before runc moves a container's first process:
// berth moves itself into the cgroup it is already in, through one descriptor, until stopped.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ownCgroupProcs, warmCgroupMigration } from '../../src/sys/cgroups.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** berth's descriptors open on `path`, with how far each has written. */
function openOn(path: string): { fd: string; pos: number }[] {
  const out: { fd: string; pos: number }[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== path) continue;
    const pos = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    out.push({ fd, pos: Number(pos?.[1] ?? 0) });
  }
  return out;
}

test("berth's own cgroup.procs is found, and lists berth", () => {
  const procs = ownCgroupProcs();
  assert.ok(procs, 'no cgroup.procs of our own');
  assert.ok(readFileSync(procs, 'utf8').split('\n').includes(String(process.pid)), `${procs} does not list pid ${process.pid}`);
});

test('the warmer writes until stopped, then closes its descriptor and leaves berth where it was', async () => {
  const procs = ownCgroupProcs()!;
  const before = readFileSync('/proc/self/cgroup', 'utf8');
  const warmer = warmCgroupMigration();
  try {
    await sleep(30);
    const open = openOn(procs);
    assert.equal(open.length, 1, 'one descriptor on cgroup.procs while warming');
    // Each move writes the pid: several in 30 ms at one every 2 ms.
    assert.ok(open[0].pos >= 2 * String(process.pid).length, `only ${open[0].pos} bytes written`);
  } finally {
    warmer.stop();
  }
  await sleep(30);
  assert.deepEqual(openOn(procs), [], 'the descriptor is closed once stopped');
  assert.equal(readFileSync('/proc/self/cgroup', 'utf8'), before);
});

test('a warmer never keeps the process alive', () => {
  const mod = pathToFileURL(new URL('../../src/sys/cgroups.js', import.meta.url).pathname).href;
  // Not stopped at all: the process still ends once it has nothing else to do.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { warmCgroupMigration } from '${mod}'; warmCgroupMigration(); setTimeout(() => {}, 20);`], {
    timeout: 10_000,
    encoding: 'utf8',
  });
  assert.equal(r.signal, null, 'killed by the timeout: the warmer kept it alive');
  assert.equal(r.status, 0, r.stderr);
});
