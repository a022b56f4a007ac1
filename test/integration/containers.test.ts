// Containers end to end through the built CLI, with real runc, conmon and overlay mounts, on a
// throwaway state root. Every test removes its containers in `finally`, and `after` checks that
// nothing of berth's is left on the host (mounts, cgroups, processes, directories).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { berth, berthAsync, berthBin, berthOk, tearDownRoot } from '../helpers/cli.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = !isRoot ? 'needs root' : !existsSync('/usr/sbin/runc') || !existsSync('/usr/bin/conmon') ? 'needs runc and conmon' : false;

describe('containers', { skip }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let root: string;
  let runroot: string;

  const run = (args: string[], input?: string) => berth(root, args, { input });
  const ok = (args: string[], input?: string) => berthOk(root, args, { input });

  /** Removes containers whatever state they are in; used in `finally` blocks. */
  const removeAll = (...refs: string[]) => {
    const ids = refs.length ? refs : run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (ids.length) run(['rm', '-f', ...ids]);
  };

  /** What berth left on the host for a container. */
  function leftovers(id: string): string[] {
    const out: string[] = [];
    if (readFileSync('/proc/self/mountinfo', 'utf8').includes(id)) out.push('mount');
    for (const ctrl of readdirSync('/sys/fs/cgroup')) {
      if (existsSync(join('/sys/fs/cgroup', ctrl, 'berth', id))) out.push(`cgroup ${ctrl}`);
    }
    if (existsSync(join(root, 'containers', id))) out.push('container dir');
    if (existsSync(join(runroot, 'containers', id))) out.push('runtime dir');
    if (existsSync(join(runroot, 'runc', id))) out.push('runc state');
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.includes(id)) out.push(`process ${pid}: ${cmd.replace(/\0/g, ' ')}`);
      } catch {
        // exited while listing
      }
    }
    return out;
  }

  /** conmon's exit command runs after the container is gone; give it a moment to finish. */
  async function assertNothingLeft(id: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (leftovers(id).length && Date.now() < deadline) await sleep(100);
    assert.deepEqual(leftovers(id), [], `leftovers of ${id}`);
  }

  const state = (ref: string) => JSON.parse(ok(['inspect', '--type', 'container', '-f', '{{json .State}}', ref])) as Record<string, unknown>;
  const idOf = (ref: string) => ok(['inspect', '-f', '{{.Id}}', ref]).trim();

  before(() => {
    tmp = tempDir('berth-ctr-');
    root = tmp.dir;
    runroot = join(root, 'run');
  });

  after(async () => {
    const ids = run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    await tearDownRoot(tmp, async () => {
      for (const id of ids) await assertNothingLeft(id);
    });
  });

  it('runs a command: output, exit code, stderr, and the embedded busybox image on first use', () => {
    const r = run(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const echo = run(['run', '--rm', 'busybox', 'echo', 'hello', 'world']);
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(echo.stdout, 'hello world\n');
    assert.equal(run(['ps', '-aq']).stdout, '', '--rm removed both');
  });

  it('exits 125 for engine errors, 126 when the command cannot run, 127 when it is missing', () => {
    try {
      const missing = run(['run', '--name', 'c127', 'busybox', 'nosuchcommand']);
      assert.equal(missing.code, 127);
      assert.match(missing.stderr, /executable file not found/);
      assert.equal(state('c127').Status, 'created');
      assert.equal(state('c127').ExitCode, 127);
      const notExec = run(['run', '--rm', 'busybox', '/etc']);
      assert.equal(notExec.code, 126);
      assert.match(notExec.stderr, /permission denied/);
      const badFlag = run(['run', '--rm', '--memory', 'lots', 'busybox', 'true']);
      assert.equal(badFlag.code, 125);
      assert.match(badFlag.stderr, /invalid argument "lots" for "--memory" flag/);
      const tooSmall = run(['run', '--rm', '--memory', '1m', 'busybox', 'true']);
      assert.equal(tooSmall.code, 125);
      assert.match(tooSmall.stderr, /Minimum memory limit allowed is 6MB/);
      const noImage = run(['run', '--rm', 'nosuchimage', 'true']);
      assert.equal(noImage.code, 125);
      // The pull is tried (no registry is reachable here), and "Pulling from" waits for a manifest.
      assert.match(noImage.stderr, /^Unable to find image 'nosuchimage:latest' locally\nError: /);
      const noNetwork = run(['run', '--rm', '--network', 'nope', 'busybox', 'true']);
      assert.equal(noNetwork.code, 125);
      assert.match(noNetwork.stderr, /network nope not found/);
      assert.equal(run(['run', '--rm', '--restart', 'always', 'busybox', 'true']).code, 125);
      assert.deepEqual(run(['ps', '-a', '--format', '{{.Names}}']).stdout, 'c127\n', 'failed creates leave nothing behind');
    } finally {
      removeAll('c127');
    }
  });

  it('runs detached: ps shows it up, logs, stop records the exit, rm leaves nothing', async () => {
    let id = '';
    try {
      id = ok(['run', '-d', '--init', '--name', 'ticker', 'busybox', 'sh', '-c', 'echo one; echo two >&2; exec sleep 1000']).trim();
      assert.match(id, /^[a-f0-9]{64}$/);
      const ps = ok(['ps']).split('\n');
      assert.match(ps[0], /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
      assert.match(ps[1], new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+"sh -c 'echo one; ec…"\\s+.+ago\\s+Up .+\\s+ticker$`));
      assert.equal(ok(['ps', '-q', '--filter', 'name=tick', '--filter', 'status=running']).trim(), id.slice(0, 12));
      assert.equal(ok(['ps', '-q', '--filter', 'status=exited']), '');
      const deadline = Date.now() + 5000;
      while (!ok(['logs', 'ticker']).includes('one') && Date.now() < deadline) await sleep(50);
      const logs = run(['logs', 'ticker']);
      assert.equal(logs.stdout, 'one\n');
      assert.equal(logs.stderr, 'two\n');
      assert.match(ok(['logs', '-t', '--tail', '1', 'ticker']), /^$|^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z one\n$/);
      assert.equal(ok(['stop', 'ticker']), 'ticker\n');
      const s = state('ticker');
      assert.equal(s.Status, 'exited');
      assert.equal(s.ExitCode, 143, 'tini forwards SIGTERM, sleep dies of it');
      assert.match(ok(['ps', '-a', '--format', '{{.Status}}']), /^Exited \(143\) .* ago\n$/);
      assert.equal(ok(['wait', 'ticker']), '143\n');
      assert.equal(ok(['rm', 'ticker']), 'ticker\n');
      await assertNothingLeft(id);
    } finally {
      removeAll('ticker');
    }
  });

  it('rm -f kills a running container at once and leaves nothing', async () => {
    const id = ok(['run', '-d', 'busybox', 'sleep', '1000']).trim();
    try {
      const rm = run(['rm', id]);
      assert.equal(rm.code, 1);
      assert.match(rm.stderr, /You cannot remove a running container/);
      const t0 = Date.now();
      ok(['rm', '-f', id]);
      assert.ok(Date.now() - t0 < 5000, 'no grace period');
      await assertNothingLeft(id);
    } finally {
      removeAll(id);
    }
  });

  it('removes a --rm container after it exits, with no berth process running', async () => {
    const id = ok(['run', '-d', '--rm', 'busybox', 'sh', '-c', 'sleep 0.3']).trim();
    try {
      // Only conmon's exit command can remove it: nothing here calls berth until it is gone.
      const deadline = Date.now() + 10_000;
      const gone = () => !existsSync(join(root, 'containers', id)) && !existsSync(join(runroot, 'containers', id));
      while (!gone() && Date.now() < deadline) await sleep(50);
      assert.ok(gone(), 'removed by the exit command');
      assert.equal(ok(['ps', '-aq']), '');
      await assertNothingLeft(id);
    } finally {
      removeAll(id);
    }
  });

  it("wait reports a --rm container's exit code when its exit command removed it between two looks", async () => {
    // wait polls the record; conmon's exit command records the exit and removes the container,
    // often between two polls: the code must not be lost with the record.
    for (let i = 0; i < 5; i++) {
      const id = ok(['run', '-d', '--rm', '--network', 'none', 'busybox', 'sh', '-c', `sleep 0.${i + 1}; exit 5`]).trim();
      try {
        const r = await berthAsync(root, ['wait', id]);
        assert.equal(r.stdout, '5\n', `try ${i}: ${r.stderr}`);
      } finally {
        removeAll(id);
      }
    }
  });

  it('streams stdin with -i and gives a terminal with -t', () => {
    const r = run(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], 'hello\nworld\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\nworld\ndone\n');
    const t = run(['run', '--rm', '-t', 'busybox', 'sh', '-c', 'tty; echo $TERM']);
    assert.equal(t.code, 0, t.stderr);
    assert.equal(t.stdout, '/dev/pts/0\r\nxterm\r\n');
  });

  it("refuses a taken name with Docker's conflict error", () => {
    try {
      const id = ok(['create', '--name', 'dup', 'busybox', 'true']).trim();
      const r = run(['run', '--name', 'dup', 'busybox', 'true']);
      assert.equal(r.code, 125);
      assert.equal(
        r.stderr,
        `Error: Conflict. The container name "/dup" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.\n`,
      );
      const again = run(['create', '--name', 'dup', 'busybox', 'true']);
      assert.equal(again.code, 1, 'docker create exits 1 for what the engine refuses, run 125');
      assert.match(again.stderr, /^Error: Conflict\. The container name "\/dup" is already in use/);
      ok(['rename', 'dup', 'dup2']);
      assert.equal(idOf('dup2'), id);
      ok(['create', '--name', 'dup', 'busybox', 'true']);
      assert.match(run(['rename', 'dup2', 'dup']).stderr, /Conflict. The container name "\/dup" is already in use/);
    } finally {
      removeAll('dup', 'dup2');
    }
  });

  it('runs 20 containers in parallel with unique IDs and names', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => berthAsync(root, ['run', '-d', 'busybox', 'sleep', '1000'])));
    const ids = results.map((r) => r.stdout.trim()).filter(Boolean);
    try {
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      assert.equal(new Set(ids).size, 20);
      const names = ok(['ps', '--format', '{{.Names}}']).trim().split('\n');
      assert.equal(names.length, 20);
      assert.equal(new Set(names).size, 20);
    } finally {
      if (ids.length) run(['rm', '-f', ...ids]);
    }
    for (const id of ids) await assertNothingLeft(id);
  });

  it('notices a killed conmon and a killed container init: exited, nothing leaks', async () => {
    const id = ok(['run', '-d', 'busybox', 'sleep', '1000']).trim();
    try {
      const pid = Number(ok(['inspect', '-f', '{{.State.Pid}}', id]));
      const conmon = Number(readFileSync(join(runroot, 'containers', id, 'monitor', 'conmon.pid'), 'utf8'));
      process.kill(conmon, 'SIGKILL');
      await sleep(100);
      assert.match(ok(['ps', '--format', '{{.Status}}']), /^Up/, 'the container outlives its monitor');
      process.kill(pid, 'SIGKILL');
      await sleep(200);
      assert.match(ok(['ps', '-a', '--format', '{{.Status}}']), /^Exited \(255\)/);
      assert.match(String(state(id).Error), /conmon/);
      assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(id), 'rootfs unmounted');
      assert.ok(!existsSync(join('/sys/fs/cgroup/memory/berth', id)), 'cgroup removed');
      // A container whose init dies normally is recorded by conmon's exit command.
      ok(['start', id]);
      process.kill(Number(ok(['inspect', '-f', '{{.State.Pid}}', id])), 'SIGKILL');
      assert.equal(ok(['wait', id]), '137\n');
    } finally {
      removeAll(id);
    }
    await assertNothingLeft(id);
  });

  it('recovers from a simulated reboot: exited, and it starts again', async () => {
    const id = ok(['run', '-d', '--name', 'reboot', 'busybox', 'sleep', '1000']).trim();
    try {
      const pid = Number(ok(['inspect', '-f', '{{.State.Pid}}', id]));
      const conmon = Number(readFileSync(join(runroot, 'containers', id, 'monitor', 'conmon.pid'), 'utf8'));
      process.kill(conmon, 'SIGKILL');
      process.kill(pid, 'SIGKILL');
      await sleep(100);
      // A reboot leaves no mount behind: the rootfs, and the network namespace's bind mount.
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]);
      for (const m of mounts.filter((m) => m?.startsWith(root + '/')).sort((a, b) => b.length - a.length)) {
        assert.equal(spawnSync('umount', [m]).status, 0, `umount ${m}`);
      }
      rmSync(runroot, { recursive: true, force: true });
      const ps = ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']);
      assert.equal(ps, 'reboot exited\n');
      assert.ok(!existsSync(join('/sys/fs/cgroup/memory/berth', id)), 'the cgroup the runtime forgot is removed');
      ok(['start', 'reboot']);
      assert.equal(state('reboot').Status, 'running');
      assert.equal(ok(['exec', 'reboot', 'echo', 'alive']), 'alive\n');
    } finally {
      removeAll('reboot');
    }
    await assertNothingLeft(id);
  });

  it('repairs a start that berth was killed in the middle of', async () => {
    const id = ok(['create', 'busybox', 'sleep', '1000']).trim();
    try {
      // Killed at different points: before the rootfs is mounted, while conmon starts, after.
      for (const delayMs of [60, 110, 160, 210, 260]) {
        const child = spawn(process.execPath, [berthBin, '--root', root, '--runroot', runroot, 'start', id], { stdio: 'ignore' });
        const closed = new Promise((resolve) => child.on('close', resolve));
        await sleep(delayMs);
        child.kill('SIGKILL');
        await closed;
        assert.match(ok(['ps', '-a', '--format', '{{.State}}']), /^(created|exited|running)\n$/, `killed after ${delayMs} ms`);
        ok(['start', id]);
        assert.equal(state(id).Status, 'running');
        ok(['stop', '-t', '0', id]);
        assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(id), `unmounted after the stop (killed after ${delayMs} ms)`);
      }
    } finally {
      removeAll(id);
    }
    await assertNothingLeft(id);
  });

  it('isolates the container, and --privileged lifts it', () => {
    const script = [
      'grep CapEff /proc/self/status',
      'echo pids $(ps -o pid | tail -n +2 | tr "\\n" " ")',
      'echo hostname $(hostname)',
      'mount -t tmpfs none /tmp 2>/dev/null; echo mount $?',
      // A sysctl of the container's own network namespace: writing it never touches the host.
      '(echo 1 > /proc/sys/net/ipv4/ip_forward) 2>/dev/null; echo sysctl $?',
    ].join('; ');
    const r = run(['run', '--rm', '--hostname', 'box1', 'busybox', 'sh', '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    const fields = (text: string) => Object.fromEntries(text.trim().split('\n').map((l) => [l.split(/:?\s+/)[0], l.split(/:?\s+/).slice(1).join(' ')]));
    const out = fields(r.stdout);
    assert.equal(out.CapEff, '00000000a80425fb');
    const pids = out.pids.split(' ').map(Number);
    assert.ok(pids.includes(1) && pids.every((p) => p < 20), `only the container's own processes: ${out.pids}`);
    assert.equal(out.hostname, 'box1');
    assert.notEqual(out.mount, '0');
    assert.notEqual(out.sysctl, '0');

    const p = run(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', script]);
    assert.equal(p.code, 0, p.stderr);
    const pout = fields(p.stdout);
    const hostCapBnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
    assert.equal(pout.CapEff, hostCapBnd);
    assert.equal(pout.mount, '0');
    assert.equal(pout.sysctl, '0');
  });

  it('applies users, read-only rootfs, bind mounts, tmpfs and memory limits', () => {
    const dir = join(root, 'shared');
    mkdirSync(dir);
    writeFileSync(join(dir, 'file'), 'from the host\n');
    assert.equal(ok(['run', '--rm', '-u', 'nobody', 'busybox', 'sh', '-c', 'echo $(id -u) $(id -g) $HOME']), '65534 65534 /home\n');
    assert.equal(ok(['run', '--rm', '-u', '1234:5678', 'busybox', 'sh', '-c', 'echo $(id -u) $(id -g)']), '1234 5678\n');
    const noUser = run(['run', '--rm', '-u', 'nosuchuser', 'busybox', 'true']);
    assert.equal(noUser.code, 125);
    assert.match(noUser.stderr, /unable to find user nosuchuser/);
    const ro = run(['run', '--rm', '--read-only', '--tmpfs', '/tmp', 'busybox', 'sh', '-c', 'touch /x 2>/dev/null; echo root $?; touch /tmp/x; echo tmp $?']);
    assert.equal(ro.stdout, 'root 1\ntmp 0\n');
    const bind = run(['run', '--rm', '-v', `${dir}:/data:ro`, 'busybox', 'sh', '-c', 'cat /data/file; touch /data/new 2>/dev/null; echo write $?']);
    assert.equal(bind.stdout, 'from the host\nwrite 1\n');
    assert.equal(ok(['run', '--rm', '-v', `${dir}:/data`, 'busybox', 'sh', '-c', 'echo hi > /data/new; echo ok']), 'ok\n');
    assert.equal(readFileSync(join(dir, 'new'), 'utf8'), 'hi\n');
    const mem = ok(['run', '--rm', '--memory', '64m', '--pids-limit', '50', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/pids/pids.max']);
    assert.equal(mem, '67108864\n50\n');
    assert.equal(ok(['run', '--rm', '-e', 'A=1', '-w', '/work', 'busybox', 'sh', '-c', 'echo $A $(pwd)']), '1 /work\n');
  });

  it('execs into a running container: output, exit code, env, user, detached', async () => {
    try {
      ok(['run', '-d', '--name', 'ex', 'busybox', 'sleep', '1000']);
      const r = run(['exec', 'ex', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
      assert.equal(r.code, 7);
      assert.equal(r.stdout, 'out\n');
      assert.equal(r.stderr, 'err\n');
      assert.equal(ok(['exec', '-e', 'X=y', '-u', 'nobody', '-w', '/tmp', 'ex', 'sh', '-c', 'echo $X $(id -u) $(pwd)']), 'y 65534 /tmp\n');
      assert.equal(ok(['exec', '-i', 'ex', 'cat'], 'piped\n'), 'piped\n');
      const missing = run(['exec', 'ex', 'nosuchcommand']);
      assert.equal(missing.code, 127);
      ok(['exec', '-d', 'ex', 'sh', '-c', 'echo bg > /tmp/bg']);
      const deadline = Date.now() + 5000;
      while (run(['exec', 'ex', 'cat', '/tmp/bg']).stdout !== 'bg\n' && Date.now() < deadline) await sleep(50);
      assert.equal(ok(['exec', 'ex', 'cat', '/tmp/bg']), 'bg\n');
      const top = ok(['top', 'ex']).split('\n');
      assert.match(top[0], /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
      assert.ok(top.some((l) => /\ssleep 1000$/.test(l)));
      ok(['pause', 'ex']);
      assert.match(ok(['ps', '--format', '{{.Status}}']), /\(Paused\)/);
      assert.match(run(['exec', 'ex', 'true']).stderr, /is paused/);
      ok(['unpause', 'ex']);
      assert.equal(state('ex').Status, 'running');
    } finally {
      removeAll('ex');
    }
    assert.equal(run(['exec', 'ex', 'true']).code, 1);
  });

  it('restarts on failure as the policy says, from conmon\'s exit command', async () => {
    try {
      ok(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo attempt; exit 5']);
      const deadline = Date.now() + 15_000;
      let s = state('flaky');
      while ((s.Status !== 'exited' || Number(ok(['inspect', '-f', '{{.RestartCount}}', 'flaky'])) < 2) && Date.now() < deadline) {
        await sleep(100);
        s = state('flaky');
      }
      assert.equal(s.Status, 'exited');
      assert.equal(s.ExitCode, 5);
      assert.equal(ok(['inspect', '-f', '{{.RestartCount}}', 'flaky']), '2\n');
      assert.equal(ok(['logs', 'flaky']), 'attempt\nattempt\nattempt\n');
      await sleep(500);
      assert.equal(state('flaky').Status, 'exited', 'no third restart');
    } finally {
      removeAll('flaky');
    }
  });

  it('creates, starts attached, inspects, filters and prunes', () => {
    try {
      const id = ok(['create', '--name', 'later', '-l', 'team=a', 'busybox', 'sh', '-c', 'echo started; exit 2']).trim();
      assert.equal(ok(['ps', '-a', '--format', '{{.Status}}', '--filter', 'name=later']), 'Created\n');
      const started = run(['start', '-a', 'later']);
      assert.equal(started.code, 2);
      assert.equal(started.stdout, 'started\n');
      const info = JSON.parse(ok(['inspect', 'later']))[0];
      assert.equal(info.Id, id);
      assert.equal(info.Name, '/later');
      assert.equal(info.Path, 'sh');
      assert.deepEqual(info.Args, ['-c', 'echo started; exit 2']);
      assert.equal(info.State.ExitCode, 2);
      // As Docker 20.10: "default" when no --network was given (the container is on bridge).
      assert.equal(info.HostConfig.NetworkMode, 'default');
      assert.deepEqual(Object.keys(info.NetworkSettings.Networks), ['bridge']);
      assert.equal(info.Config.Labels.team, 'a');
      assert.equal(info.Driver, 'overlay');
      assert.ok(info.LogPath.endsWith('ctr.log'));
      assert.match(ok(['inspect', '--type', 'image', '-f', '{{.Id}}', 'busybox']), /^sha256:/);
      assert.match(run(['inspect', 'nothing-by-that-name']).stderr, /No such object: nothing-by-that-name/);
      assert.equal(ok(['ps', '-aq', '--filter', 'label=team=a', '--filter', 'exited=2']).trim(), id.slice(0, 12));
      assert.equal(ok(['ps', '-aq', '--filter', 'ancestor=busybox', '--no-trunc']).trim(), id);
      ok(['create', '--name', 'keep', '-l', 'keep=yes', 'busybox', 'true']);
      const pruned = ok(['container', 'prune', '-f', '--filter', 'label=team']);
      assert.match(pruned, new RegExp(`Deleted Containers:\\n${id}\\n\\nTotal reclaimed space: `));
      assert.equal(ok(['ps', '-a', '--format', '{{.Names}}']), 'keep\n');
    } finally {
      removeAll('later', 'keep');
    }
  });
});
