// Health checks end to end through the built CLI: the background check loop moves a container
// from starting to healthy or unhealthy, ps and inspect show it, `healthcheck run` runs it once,
// a probe that overruns its timeout is killed, and stop and rm leave no process behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { berth, berthOk, tearDownRoot } from '../helpers/cli.js';
import { isRoot, tempDir } from '../helpers/root.js';
import { processesUsing } from '../helpers/processes.js';

const skip = !isRoot ? 'needs root' : !existsSync('/usr/sbin/runc') || !existsSync('/usr/bin/conmon') ? 'needs runc and conmon' : false;

interface Health {
  Status: string;
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}


describe('container health checks', { skip }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let root: string;
  const run = (args: string[]) => berth(root, args);
  const ok = (args: string[]) => berthOk(root, args);
  const health = (ref: string) => JSON.parse(ok(['inspect', '-f', '{{json .State.Health}}', ref])) as Health | null;
  const removeAll = () => {
    const ids = run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (ids.length) run(['rm', '-f', ...ids]);
  };
  async function until(what: string, ready: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await sleep(200);
    }
  }
  async function assertNoProcesses(id: string): Promise<void> {
    // conmon's exit command may still be finishing.
    await until(`no process of ${id}`, () => processesUsing(id).length === 0, 10_000).catch(() => undefined);
    assert.deepEqual(processesUsing(id), []);
  }

  before(() => {
    tmp = tempDir('berth-health-');
    root = tmp.dir;
  });

  after(() => tearDownRoot(tmp));

  it('a passing check: starting, then healthy in inspect, ps and events; healthcheck run records more', async () => {
    try {
      const since = String(Math.floor(Date.now() / 1000) - 1);
      const id = ok(['run', '-d', '--name', 'good', '--health-cmd', 'echo fine', '--health-interval', '2s', '--health-retries', '2', 'busybox', 'sleep', '300']).trim();
      assert.equal(health('good')?.Status, 'starting', 'no probe before the first interval');
      assert.match(ok(['ps', '--format', '{{.Status}}', '--filter', 'name=good']), /^Up .* \(health: starting\)\n$/);
      await until('healthy', () => health('good')?.Status === 'healthy', 15_000);
      const h = health('good')!;
      assert.equal(h.FailingStreak, 0);
      assert.deepEqual([h.Log[0].ExitCode, h.Log[0].Output], [0, 'fine\n']);
      assert.match(ok(['ps', '--format', '{{.Status}}', '--filter', 'name=good']), /^Up .* \(healthy\)\n$/);
      const hc = JSON.parse(ok(['inspect', '-f', '{{json .Config.Healthcheck}}', 'good'])) as unknown;
      assert.deepEqual(hc, { Test: ['CMD-SHELL', 'echo fine'], Interval: 2e9, Retries: 2 });

      for (let i = 0; i < 6; i++) {
        const r = run(['healthcheck', 'run', 'good']);
        assert.deepEqual([r.code, r.stdout], [0, ''], r.stderr);
      }
      assert.equal(health('good')!.Log.length, 5, 'the last five probes are kept');

      const events = ok(['events', '--since', since, '--until', String(Math.floor(Date.now() / 1000) + 1), '--format', '{{.Action}}', '--filter', `container=${id}`]);
      assert.equal(events.split('\n').filter((a) => a.startsWith('health_status')).join(','), 'health_status: healthy', 'one event per change');

      ok(['stop', '-t', '1', 'good']);
      assert.deepEqual(processesUsing(id).filter((p) => p.includes('healthcheck')), [], 'stop ends the check loop');
      ok(['start', 'good']);
      assert.equal(health('good')?.Status, 'starting', 'a new start begins again');
      assert.ok(processesUsing(id).some((p) => p.includes('healthcheck')), 'and has a check loop again');
      ok(['rm', '-f', 'good']);
      await assertNoProcesses(id);
    } finally {
      removeAll();
    }
  });

  it('a failing check turns unhealthy after the retries; healthcheck run says so', async () => {
    try {
      const id = ok(['run', '-d', '--name', 'bad', '--health-cmd', 'echo broken; exit 1', '--health-interval', '1s', '--health-retries', '2', 'busybox', 'sleep', '300']).trim();
      await until('unhealthy', () => health('bad')?.Status === 'unhealthy', 20_000);
      const h = health('bad')!;
      assert.ok(h.FailingStreak >= 2, String(h.FailingStreak));
      assert.deepEqual([h.Log[0].ExitCode, h.Log[0].Output], [1, 'broken\n']);
      assert.match(ok(['ps', '--format', '{{.Status}}', '--filter', 'name=bad']), /^Up .* \(unhealthy\)\n$/);
      const r = run(['healthcheck', 'run', 'bad']);
      assert.deepEqual([r.code, r.stdout], [1, 'unhealthy\n']);
      ok(['rm', '-f', 'bad']);
      await assertNoProcesses(id);
    } finally {
      removeAll();
    }
  });

  it('kills a probe that overruns its timeout, and counts it as a failure', async () => {
    try {
      ok(['run', '-d', '--name', 'slow', '--health-cmd', 'sleep 30', '--health-timeout', '300ms', '--health-interval', '1s', '--health-retries', '1', 'busybox', 'sleep', '300']);
      await until('three timeouts', () => (health('slow')?.FailingStreak ?? 0) >= 3, 20_000);
      const h = health('slow')!;
      assert.equal(h.Status, 'unhealthy');
      assert.deepEqual([h.Log[0].ExitCode, h.Log[0].Output], [-1, 'Health check exceeded timeout (300ms)']);
      // Each timed-out probe would still be sleeping; only the one running now may be there.
      const probes = ok(['top', 'slow']).split('\n').filter((l) => l.endsWith('sleep 30'));
      assert.ok(probes.length <= 1, probes.join('\n'));
    } finally {
      removeAll();
    }
  });

  it("uses the image's HEALTHCHECK, merged with --health-* and turned off by --no-healthcheck", async () => {
    // busybox with a HEALTHCHECK in its config: saved, edited, loaded under another name.
    const dir = join(root, 'image');
    try {
      ok(['system', 'init']);
      mkdirSync(dir);
      ok(['save', '-o', join(root, 'busybox.tar'), 'busybox']);
      assert.equal(spawnSync('tar', ['-xf', join(root, 'busybox.tar'), '-C', dir]).status, 0);
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Config: string; RepoTags: string[] }[];
      const config = JSON.parse(readFileSync(join(dir, manifest[0].Config), 'utf8')) as { config: Record<string, unknown> };
      config.config.Healthcheck = { Test: ['CMD-SHELL', 'echo from-image'], Interval: 1e9, Retries: 1 };
      const text = JSON.stringify(config);
      rmSync(join(dir, manifest[0].Config));
      rmSync(join(dir, 'repositories'), { force: true });
      manifest[0].Config = createHash('sha256').update(text).digest('hex') + '.json';
      manifest[0].RepoTags = ['checked:latest'];
      writeFileSync(join(dir, manifest[0].Config), text);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
      assert.equal(spawnSync('tar', ['-cf', join(root, 'checked.tar'), '-C', dir, '.']).status, 0);
      ok(['load', '-i', join(root, 'checked.tar')]);

      ok(['run', '-d', '--name', 'fromimage', 'checked', 'sleep', '300']);
      await until('healthy', () => health('fromimage')?.Status === 'healthy', 15_000);
      assert.equal(health('fromimage')!.Log[0].Output, 'from-image\n');
      ok(['create', '--name', 'merged', '--health-interval', '5s', 'checked', 'sleep', '300']);
      assert.deepEqual(JSON.parse(ok(['inspect', '-f', '{{json .Config.Healthcheck}}', 'merged'])), {
        Test: ['CMD-SHELL', 'echo from-image'],
        Interval: 5e9,
        Retries: 1,
      });
      const off = ok(['run', '-d', '--name', 'unchecked', '--no-healthcheck', 'checked', 'sleep', '300']).trim();
      assert.equal(ok(['inspect', '-f', '{{json .State.Health}}', 'unchecked']), 'null\n');
      assert.deepEqual(processesUsing(off).filter((p) => p.includes('healthcheck')), [], 'no check loop');
    } finally {
      removeAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has no health without a check, refuses conflicting flags, and a check on a stopped container is an error', () => {
    try {
      ok(['run', '-d', '--name', 'plain', 'busybox', 'sleep', '300']);
      assert.equal(ok(['inspect', '-f', '{{json .State.Health}}', 'plain']), 'null\n');
      assert.match(ok(['ps', '--format', '{{.Status}}', '--filter', 'name=plain']), /^Up [^(]*\n$/);
      const none = run(['healthcheck', 'run', 'plain']);
      assert.equal(none.code, 125);
      assert.match(none.stderr, /container plain has no defined healthcheck/);
      const off = run(['create', '--name', 'off', '--no-healthcheck', 'busybox', 'true']);
      assert.equal(off.code, 0, off.stderr);
      assert.equal(ok(['inspect', '-f', '{{json .Config.Healthcheck.Test}}', 'off']), '["NONE"]\n');
      const both = run(['run', '--rm', '--no-healthcheck', '--health-cmd', 'true', 'busybox', 'true']);
      assert.equal(both.code, 125);
      assert.match(both.stderr, /--no-healthcheck conflicts with --health-\* options/);
      ok(['create', '--name', 'stopped', '--health-cmd', 'true', 'busybox', 'sleep', '300']);
      const stopped = run(['healthcheck', 'run', 'stopped']);
      assert.equal(stopped.code, 125);
      assert.match(stopped.stderr, /container stopped is not running/);
    } finally {
      removeAll();
    }
  });
});
