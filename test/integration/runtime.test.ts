// Real containers under runc + conmon, as root. Every container, conmon, cgroup and directory a
// test makes is removed in `after`, also when a test fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { attach } from '../../src/runtime/attach.js';
import { readHostFacts } from '../../src/runtime/host-facts.js';
import {
  ExecStartError,
  OciRuntime,
  parseK8sLogLine,
  readExitCode,
  startFailureExitCode,
  waitForExit,
} from '../../src/runtime/runtime.js';
import { buildSpec, specToJson, type ContainerSpecInput, type HostFacts } from '../../src/runtime/spec.js';
import { buildBusyboxRootfs, busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { isRoot, tempDir } from '../helpers/root.js';

const RUNC = '/usr/sbin/runc';
const CONMON = '/usr/bin/conmon';
// Debian's tini package; without it, PID 1 is a shell that handles SIGTERM itself (a process
// without a handler is immune to SIGTERM as PID 1 of its namespace).
const TINI = '/usr/bin/tini-static';
const longRunning: Pick<ContainerSpecInput, 'args' | 'init'> = existsSync(TINI)
  ? { args: ['sleep', '1000'], init: TINI }
  : { args: ['sh', '-c', 'trap "exit 143" TERM; sleep 1000 & wait'] };
const CGROUP_PARENT = '/berth-test';
const skip =
  !isRoot ? 'needs root' : !existsSync(RUNC) || !existsSync(CONMON) ? 'needs runc and conmon' : !busyboxAvailable() ? 'needs busybox-static' : false;

describe('OCI runtime driver (runc + conmon)', { skip }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let rootfs: string;
  let runtime: OciRuntime;
  let host: HostFacts;
  const created: string[] = [];
  let seq = 0;

  before(() => {
    tmp = tempDir('berth-rt-');
    rootfs = buildBusyboxRootfs(join(tmp.dir, 'rootfs'));
    runtime = new OciRuntime({ runtimePath: RUNC, conmonPath: CONMON, runtimeRoot: join(tmp.dir, 'runc') });
    host = readHostFacts();
  });

  after(async () => {
    try {
      for (const id of created) {
        await runtime.delete(id, true).catch(() => undefined);
        const pidFile = join(tmp.dir, id, 'userdata', 'conmon.pid');
        const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
        // Only the conmon this test started: the pid must still name a conmon process.
        if (pid > 0 && existsSync(`/proc/${pid}/comm`) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'conmon') {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // exited meanwhile
          }
        }
        for (const ctrl of readdirSync('/sys/fs/cgroup')) {
          const dir = join('/sys/fs/cgroup', ctrl, CGROUP_PARENT, id);
          if (existsSync(dir)) rmdirSync(dir);
        }
      }
      for (const ctrl of readdirSync('/sys/fs/cgroup')) {
        const dir = join('/sys/fs/cgroup', ctrl, CGROUP_PARENT);
        try {
          if (existsSync(dir)) rmdirSync(dir);
        } catch {
          // another run still uses it
        }
      }
    } finally {
      tmp?.cleanup();
    }
  });

  function paths(id: string) {
    const dir = join(tmp.dir, id);
    return {
      bundleDir: join(dir, 'bundle'),
      persistDir: join(dir, 'userdata'),
      exitDir: join(tmp.dir, 'exits'),
      logPath: join(dir, 'userdata', 'ctr.log'),
      pidFile: join(dir, 'userdata', 'pidfile'),
      conmonPidFile: join(dir, 'userdata', 'conmon.pid'),
    };
  }

  function prepare(input: Partial<ContainerSpecInput> & { args: string[] }, hostFacts = host) {
    const id = `brt${process.pid}x${++seq}`;
    const p = paths(id);
    mkdirSync(p.bundleDir, { recursive: true });
    const spec = buildSpec({ id, rootfs, hostname: id.slice(0, 12), cgroupParent: CGROUP_PARENT, host: hostFacts, ...input });
    writeFileSync(join(p.bundleDir, 'config.json'), specToJson(spec));
    return { id, ...p };
  }

  async function createAndStart(input: Partial<ContainerSpecInput> & { args: string[] }, hostFacts = host) {
    const c = prepare(input, hostFacts);
    created.push(c.id);
    const r = await runtime.create(c);
    await runtime.start(c.id);
    return { ...c, ...r };
  }

  function logLines(logPath: string, stream?: 'stdout' | 'stderr'): string[] {
    return readFileSync(logPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => parseK8sLogLine(l)!)
      .filter((l) => !stream || l.stream === stream)
      .map((l) => l.content);
  }

  async function run(input: Partial<ContainerSpecInput> & { args: string[] }, hostFacts = host) {
    const c = await createAndStart(input, hostFacts);
    const exitCode = await waitForExit(c.exitDir, c.id, 20_000);
    return { ...c, exitCode, stdout: logLines(c.logPath, 'stdout'), stderr: logLines(c.logPath, 'stderr') };
  }

  it('runs echo hello: the log has the line and the exit code is 0', async () => {
    const r = await run({ args: ['echo', 'hello'] });
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.stdout, ['hello']);
    const line = parseK8sLogLine(readFileSync(r.logPath, 'utf8').split('\n')[0])!;
    assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d$/);
    assert.equal(line.partial, false);
    assert.equal((await runtime.state(r.id))!.status, 'stopped');
  });

  it('propagates exit code 3 and separates stderr', async () => {
    const r = await run({ args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    assert.equal(r.exitCode, 3);
    assert.deepEqual(r.stdout, ['out']);
    assert.deepEqual(r.stderr, ['err']);
  });

  it('keeps a container running after the creating process exits; SIGTERM gives 143', async () => {
    const c = prepare(longRunning);
    created.push(c.id);
    // A separate Node process creates and starts the container, then exits.
    const runtimeModule = fileURLToPath(new URL('../../src/runtime/runtime.js', import.meta.url));
    const script = `
      const { OciRuntime } = await import(${JSON.stringify(runtimeModule)});
      const rt = new OciRuntime(${JSON.stringify({ runtimePath: RUNC, conmonPath: CONMON, runtimeRoot: runtime.runtimeRoot })});
      await rt.create(${JSON.stringify(c)});
      await rt.start(${JSON.stringify(c.id)});
    `;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit', timeout: 30_000 });

    const state = await runtime.state(c.id);
    assert.equal(state?.status, 'running');
    assert.equal(readExitCode(c.exitDir, c.id), null);
    const conmonPid = Number(readFileSync(c.conmonPidFile, 'utf8'));
    assert.equal(readFileSync(`/proc/${conmonPid}/comm`, 'utf8').trim(), 'conmon');
    assert.ok(existsSync(join('/sys/fs/cgroup/memory', CGROUP_PARENT, c.id)), 'cgroup created under the parent');

    await runtime.kill(c.id, 'SIGTERM');
    assert.equal(await waitForExit(c.exitDir, c.id, 10_000), 143);
    await runtime.delete(c.id);
    assert.equal(await runtime.state(c.id), null);
    for (const ctrl of ['memory', 'pids', 'cpu', 'devices']) {
      assert.ok(!existsSync(join('/sys/fs/cgroup', ctrl, CGROUP_PARENT, c.id)), `${ctrl} cgroup removed`);
    }
  });

  it("isolates the container: Docker's capabilities, own PIDs, hostname, no mount, no device access, read-only /proc/sys", async () => {
    const script = [
      'grep CapEff /proc/self/status',
      'echo pids $(ps -o pid | tail -n +2 | tr "\\n" " ")',
      'echo hostname $(hostname)',
      'mount -t tmpfs none /mnt 2>/dev/null; echo mount $?',
      // mknod itself is allowed (runc's device cgroup permits "m" for all, as in Docker);
      // using the node is what the cgroup denies.
      'mknod /tmp/b b 1 1; echo mknod $?',
      'head -c1 /tmp/b >/dev/null 2>&1; echo open $?',
      '(echo 1 > /proc/sys/kernel/panic) 2>/dev/null; echo sysctl $?',
      'echo timer_list $(wc -c < /proc/timer_list)',
      'echo nofile $(ulimit -n)',
    ].join('; ');
    const r = await run({ args: ['sh', '-c', script], hostname: 'box1' });
    assert.equal(r.exitCode, 0, r.stderr.join('\n'));
    const out = Object.fromEntries(r.stdout.map((l) => [l.split(/[\s:]+/)[0], l.split(/[\s:]+/).slice(1).join(' ').trim()]));
    assert.equal(out.CapEff, '00000000a80425fb');
    const pids = out.pids.split(' ').map(Number);
    assert.ok(pids.includes(1) && pids.every((p) => p < 20), `only the container's own PIDs: ${out.pids}`);
    assert.equal(out.hostname, 'box1');
    assert.notEqual(out.mount, '0');
    assert.equal(out.mknod, '0');
    assert.notEqual(out.open, '0');
    assert.notEqual(out.sysctl, '0');
    assert.equal(out.timer_list, '0', '/proc/timer_list is masked');
    assert.equal(out.nofile, String(Math.min(1048576, host.rlimitHard.RLIMIT_NOFILE ?? 1048576)));
  });

  it('lifts the restrictions for a privileged container', async () => {
    const privilegedHost = readHostFacts({ withDevices: true });
    const script = 'grep CapEff /proc/self/status; mount -t tmpfs none /mnt && echo mounted; test -b /dev/loop0 && echo loop';
    const r = await run({ args: ['sh', '-c', script], privileged: true }, privilegedHost);
    assert.equal(r.exitCode, 0, r.stderr.join('\n'));
    const capEff = BigInt('0x' + r.stdout[0].split(/\s+/)[1]);
    const { capabilityMask } = await import('../../src/runtime/capabilities.js');
    assert.equal(capEff, capabilityMask(host.capabilities));
    assert.ok(r.stdout.includes('mounted'));
    if (existsSync('/dev/loop0')) assert.ok(r.stdout.includes('loop'), 'host devices are present');
  });

  it('execs into a running container, pauses and resumes it', async () => {
    const c = await createAndStart({ ...longRunning, env: ['GREETING=hi'] });
    const spec = JSON.parse(readFileSync(join(c.bundleDir, 'config.json'), 'utf8'));
    const proc = { ...spec.process, args: ['sh', '-c', 'echo $GREETING; echo oops >&2; exit 7'] };
    const r = await runtime.exec(c.id, proc);
    assert.equal(r.exitCode, 7);
    assert.equal(r.stdout.toString(), 'hi\n');
    assert.equal(r.stderr.toString(), 'oops\n');

    await assert.rejects(runtime.exec(c.id, { ...spec.process, args: ['/no/such/binary'] }), (err: ExecStartError) => {
      assert.ok(err instanceof ExecStartError);
      assert.equal(err.exitCode, 127);
      assert.match(err.message, /no such file or directory/);
      return true;
    });

    const detached = await runtime.execDetached({
      id: c.id,
      execId: `${c.id}-exec1`,
      execDir: join(c.persistDir, 'exec1'),
      logPath: join(c.persistDir, 'exec1.log'),
      process: { ...spec.process, args: ['sh', '-c', 'echo detached; exit 5'] },
    });
    assert.ok(detached.pid > 0 && detached.conmonPid > 0);
    assert.equal(await waitForExit(join(c.persistDir, 'exec1'), 'exit', 10_000), 5);
    assert.equal(readExitCode(c.exitDir, c.id), null, "the exec's exit leaves the container's exit file alone");
    assert.deepEqual(logLines(join(c.persistDir, 'exec1.log')), ['detached']);
    const sleeper = await runtime.execDetached({
      id: c.id,
      execId: `${c.id}-exec2`,
      execDir: join(c.persistDir, 'exec2'),
      logPath: join(c.persistDir, 'exec2.log'),
      process: { ...spec.process, args: ['sleep', '30'] },
    });
    assert.ok(existsSync(`/proc/${sleeper.pid}`));

    await runtime.pause(c.id);
    assert.equal((await runtime.state(c.id))!.status, 'paused');
    await runtime.resume(c.id);
    assert.equal((await runtime.state(c.id))!.status, 'running');

    await runtime.kill(c.id, 'KILL', true);
    assert.equal(await waitForExit(c.exitDir, c.id, 10_000), 137);
    assert.equal(await waitForExit(join(c.persistDir, 'exec2'), 'exit', 10_000), 137);
    await runtime.delete(c.id);
  });

  it('reports a missing command as a create failure that maps to exit code 127', async () => {
    const c = prepare({ args: ['/no/such/command'] });
    created.push(c.id);
    await assert.rejects(runtime.create(c), (err: Error) => {
      assert.match(err.message, /OCI runtime create failed: .*no such file or directory/);
      assert.equal(startFailureExitCode(err.message), 127);
      return true;
    });
    assert.equal(await runtime.state(c.id), null, 'nothing left in the runtime');
  });

  it('attaches to stdin and stdout through the attach socket', async () => {
    const c = prepare({ args: ['sh', '-c', 'read line; echo got $line; cat; echo warn >&2'] });
    created.push(c.id);
    // stdinOnce: ending the client's input must reach `cat` as end of file.
    await runtime.create({ ...c, stdin: true, stdinOnce: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const session = attach(c.bundleDir, { stdout: (b) => out.push(b), stderr: (b) => err.push(b) });
    await runtime.start(c.id);
    await session.write('hello\nmore\n');
    session.closeStdin();
    assert.equal(await waitForExit(c.exitDir, c.id, 10_000), 0);
    const ended = await Promise.race([session.done.then(() => 'closed'), sleep(5000, 'timeout', { ref: false })]);
    assert.equal(ended, 'closed', 'conmon closes the attach socket when the container exits');
    await session.detach();
    assert.equal(Buffer.concat(out).toString(), 'got hello\nmore\n');
    assert.equal(Buffer.concat(err).toString(), 'warn\n');
    assert.deepEqual(logLines(c.logPath), ['got hello', 'more', 'warn']);
  });

  it('gives a container a terminal with tty', async () => {
    const c = prepare({ args: ['sh', '-c', 'tty; echo $TERM'], tty: true });
    created.push(c.id);
    await runtime.create({ ...c, tty: true });
    await runtime.start(c.id);
    assert.equal(await waitForExit(c.exitDir, c.id, 10_000), 0);
    // A terminal turns \n into \r\n; the log splits at \n.
    assert.deepEqual(logLines(c.logPath), ['/dev/pts/0\r', 'xterm\r']);
  });

  it('applies resource limits through the cgroup', async () => {
    const r = await run({
      args: ['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'],
      resources: { memory: 64 * 1024 * 1024, pidsLimit: 50 },
    });
    assert.equal(r.exitCode, 0, r.stderr.join('\n'));
    assert.deepEqual(r.stdout, ['67108864', '50']);
  });
});
