// Terminals, detach keys, signals and restart after a reboot, through the built CLI with real
// runc and conmon. The CLI gets a real terminal from util-linux `script`, whose input is a pipe
// this test writes keys to; the outer terminal's size is set with stty inside it. Every test
// removes its containers in `finally`; `after` unmounts and removes the throwaway root.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { berth, berthBin, berthOk, tearDownRoot } from '../helpers/cli.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = !isRoot
  ? 'needs root'
  : !existsSync('/usr/sbin/runc') || !existsSync('/usr/bin/conmon')
    ? 'needs runc and conmon'
    : !existsSync('/usr/bin/script')
      ? 'needs util-linux script'
      : false;

const CTRL_P = '\x10';
const CTRL_Q = '\x11';

/** A command running on a terminal of its own (`script`), driven like a user at a keyboard. */
class Terminal {
  private output = '';
  private readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  constructor(command: string) {
    this.child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    this.child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0))));
  }

  get text(): string {
    return this.output;
  }

  type(keys: string): void {
    this.child.stdin!.write(keys);
  }

  /** Waits until the output (from `from` on) matches. */
  async waitFor(re: RegExp, from = 0, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.slice(from).match(re);
      if (m) return m;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${re} in ${JSON.stringify(this.output)}`);
      await sleep(50);
    }
  }

  /** The exit status of the command; a command still running after the timeout is killed. */
  async exit(timeoutMs = 15_000): Promise<number> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
      this.child.stdin!.destroy();
    }
  }
}

describe('container terminals, detach keys, signals and reboots', { skip }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let root: string;
  let runroot: string;
  let cli: string;

  const run = (args: string[], input?: string) => berth(root, args, { input });
  const ok = (args: string[]) => berthOk(root, args);
  const removeAll = (...refs: string[]) => {
    const ids = refs.length ? refs : run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (ids.length) run(['rm', '-f', ...ids]);
  };
  const status = (ref: string) => ok(['inspect', '-f', '{{.State.Status}}', ref]).trim();
  /** The processes in the container, as `top` shows them. */
  const commandsIn = (ref: string) => ok(['top', ref]);

  before(() => {
    tmp = tempDir('berth-tty-');
    root = tmp.dir;
    runroot = join(root, 'run');
    cli = `${process.execPath} ${berthBin} --root ${root} --runroot ${runroot}`;
  });

  after(() => tearDownRoot(tmp));

  it('exec -it gives the process a terminal of the client size, streams keys and passes the exit code on', async () => {
    const id = ok(['run', '-d', '--name', 'ex', 'busybox', 'sleep', '1000']).trim();
    try {
      const t = new Terminal(`stty rows 21 cols 61; ${cli} exec -it ex sh`);
      await t.waitFor(/# /);
      t.type('tty; stty size; echo "sum=$((6*7))"\r');
      await t.waitFor(/sum=42/);
      assert.match(t.text, /\/dev\/pts\/\d+\r\n/);
      assert.match(t.text, /21 61\r\n/);
      t.type('exit 3\r');
      assert.equal(await t.exit(), 3);
      // Without a terminal on the client side -t still gives the process one.
      const r = run(['exec', '-t', 'ex', 'sh', '-c', 'test -t 0 && test -t 1 && echo tty $TERM; exit 4']);
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.stdout, 'tty xterm\r\n');
      // As Docker's CheckTty: -it needs the client's input to be a terminal.
      const before = ok(['ps', '-aq']);
      for (const args of [['exec', '-it', 'ex', 'true'], ['run', '--rm', '-it', 'busybox', 'true']]) {
        const noTty = run(args);
        assert.equal(noTty.code, 1, args.join(' '));
        assert.equal(noTty.stderr, 'the input device is not a TTY\n');
      }
      assert.equal(ok(['ps', '-aq']), before);
      // create attaches nothing: Docker checks the terminal at run, exec and attach only.
      const created = ok(['create', '-it', '--network', 'none', 'busybox', 'sh']).trim();
      assert.equal(ok(['inspect', '-f', '{{.Config.Tty}} {{.Config.OpenStdin}}', created]), 'true true\n');
      ok(['rm', created]);
      const execIds = JSON.parse(ok(['inspect', '-f', '{{json .ExecIDs}}', 'ex'])) as string[];
      assert.ok(execIds.length >= 2, 'exec sessions are recorded');
    } finally {
      removeAll(id);
    }
  });

  it('top with ps options lists the processes of a container with a terminal', () => {
    try {
      ok(['run', '-d', '-t', '--name', 'topt', 'busybox', 'sleep', '1000']);
      // ps alone lists only the processes on its caller's terminal; this one is on the container's.
      assert.match(ok(['top', 'topt', '-o', 'pid,args']), /^PID\s+COMMAND\n\d+\s+sleep 1000\n$/);
      assert.match(ok(['top', 'topt', 'aux']), /\ssleep 1000\n/);
    } finally {
      removeAll('topt');
    }
  });

  it('resizes the terminal of run -it, attach and exec -it when the client terminal is resized', async () => {
    const flag = join(root, 'resize-now');
    // The outer terminal is resized by a background job once the test creates the flag file;
    // the kernel then sends SIGWINCH to the foreground berth.
    const resizer = `(while [ ! -e ${flag} ]; do sleep 0.1; done; stty rows 31 cols 91 </dev/tty) &`;
    // The shell is told to wait before the resize: a resize while it edits a line redraws it.
    const waitLoop = 'echo wait-for-it; while [ "$(stty size)" != "31 91" ]; do sleep 0.1; done; echo resized-$(stty size | tr " " x)\r';
    const check = async (command: string, start: string) => {
      rmSync(flag, { force: true });
      const t = new Terminal(`stty rows 11 cols 41; ${resizer} ${command}`);
      await t.waitFor(/# /);
      t.type(start);
      await t.waitFor(/size-11x41/);
      t.type(waitLoop);
      await t.waitFor(/wait-for-it\r\n/);
      writeFileSync(flag, '');
      await t.waitFor(/resized-31x91/);
      t.type('exit\r');
      return t.exit();
    };
    try {
      assert.equal(await check(`${cli} run --rm -it --name rs busybox sh`, 'echo size-$(stty size | tr " " x)\r'), 0);
      ok(['run', '-dit', '--name', 'rs2', 'busybox', 'sh']);
      ok(['run', '-d', '--name', 'rs3', 'busybox', 'sleep', '1000']);
      assert.equal(await check(`${cli} exec -it rs3 sh`, 'echo size-$(stty size | tr " " x)\r'), 0);
      // attach joins a shell that is already at its prompt: a new line brings the prompt back.
      rmSync(flag, { force: true });
      const t = new Terminal(`stty rows 11 cols 41; ${resizer} ${cli} attach rs2`);
      await sleep(500);
      t.type('echo size-$(stty size | tr " " x)\r');
      await t.waitFor(/size-11x41/);
      t.type(waitLoop);
      await t.waitFor(/wait-for-it\r\n/);
      writeFileSync(flag, '');
      await t.waitFor(/resized-31x91/);
      t.type('exit 5\r');
      assert.equal(await t.exit(), 5);
    } finally {
      removeAll('rs', 'rs2', 'rs3');
    }
  });

  it('detaches with ctrl-p ctrl-q or --detach-keys and leaves the container or exec running', async () => {
    try {
      // run -it and start -ai detach without a word (exit 0); attach and exec -it say so and
      // exit 1, as Docker's do. run -it: the default keys.
      let t = new Terminal(`${cli} run -it --name dk busybox sh`);
      await t.waitFor(/# /);
      t.type('echo first\r');
      await t.waitFor(/first\r\n/);
      t.type(CTRL_P + CTRL_Q);
      assert.equal(await t.exit(), 0);
      assert.equal(status('dk'), 'running');
      // A ctrl-p that is not followed by ctrl-q reaches the container.
      t = new Terminal(`${cli} attach --detach-keys ctrl-a,x dk`);
      await sleep(500);
      t.type('echo $((40+2))\r');
      await t.waitFor(/42\r\n/);
      t.type(CTRL_P + CTRL_Q);
      t.type('\x01x');
      assert.equal(await t.exit(), 1);
      assert.match(t.text, /read escape sequence\r\n$/);
      assert.equal(status('dk'), 'running');
      // exec -it: the exec'd shell runs on after its client detached.
      t = new Terminal(`${cli} exec -it --detach-keys ctrl-e,ctrl-d dk sh -c 'echo in-exec; exec sleep 999'`);
      await t.waitFor(/in-exec/);
      t.type('\x05\x04');
      assert.equal(await t.exit(), 1);
      assert.match(t.text, /read escape sequence\r\n$/);
      assert.match(commandsIn('dk'), /sleep 999/);
      // start -ai of a stopped container, then detach.
      ok(['stop', '-t', '0', 'dk']);
      t = new Terminal(`${cli} start -ai dk`);
      await sleep(500);
      // Only the container's shell computes this: the client's terminal is raw from then on (a
      // terminal not yet raw would take ctrl-q for flow control).
      t.type('echo again-$((1+1))\r');
      await t.waitFor(/again-2\r\n/);
      t.type(CTRL_P + CTRL_Q);
      assert.equal(await t.exit(), 0);
      assert.equal(status('dk'), 'running');
      // Docker's client setting "detachKeys" applies when no --detach-keys is given.
      const dockerConfig = join(root, 'docker-config');
      mkdirSync(dockerConfig);
      writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ detachKeys: 'ctrl-y,z' }));
      t = new Terminal(`DOCKER_CONFIG=${dockerConfig} ${cli} attach dk`);
      await sleep(500);
      t.type('echo ready-$((3+4))\r');
      await t.waitFor(/ready-7\r\n/);
      // ctrl-u clears the line that ctrl-p (history) brought back in the shell.
      t.type(CTRL_P + CTRL_Q + '\x15echo still-$((2+3))\r');
      await t.waitFor(/still-5\r\n/);
      t.type('\x19z');
      assert.equal(await t.exit(), 1);
      assert.equal(status('dk'), 'running');
      // The last attach ends with the container: its exit code is the client's.
      t = new Terminal(`${cli} attach dk`);
      await sleep(500);
      t.type('exit 6\r');
      assert.equal(await t.exit(), 6);
      assert.equal(status('dk'), 'exited');
    } finally {
      removeAll('dk');
    }
  });

  it('refuses detach keys Docker refuses, before creating anything', () => {
    const before = ok(['ps', '-aq']);
    const r = run(['run', '-it', '--detach-keys', 'ctrl-1', 'busybox', 'true']);
    assert.equal(r.code, 125);
    assert.equal(r.stderr, 'Error: Invalid escape keys (ctrl-1) provided\n');
    assert.equal(ok(['ps', '-aq']), before);
    const id = ok(['run', '-d', 'busybox', 'sleep', '1000']).trim();
    try {
      for (const args of [['attach', '--detach-keys', 'foo', id], ['exec', '--detach-keys', 'ctrl-', id, 'true']]) {
        const a = run(args);
        assert.equal(a.code, 1, args.join(' '));
        assert.match(a.stderr, /Invalid escape keys \((foo|ctrl-)\) provided/);
      }
    } finally {
      removeAll(id);
    }
  });

  it('passes SIGINT and SIGTERM on to the container from run and attach (--sig-proxy)', async () => {
    const trapScript = 'trap "echo got-INT; exit 41" INT; trap "echo got-TERM; exit 42" TERM; echo ready; while true; do sleep 0.1; done';
    const spawnBerth = (args: string[]) => {
      const child = spawn(process.execPath, [berthBin, '--root', root, '--runroot', runroot, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const code = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      const waitFor = async (s: string) => {
        const deadline = Date.now() + 15_000;
        while (!out.includes(s)) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${s} in ${JSON.stringify(out)}`);
          await sleep(50);
        }
      };
      return { child, code, waitFor, out: () => out };
    };
    try {
      const r = spawnBerth(['run', '--rm', '--name', 'sig1', 'busybox', 'sh', '-c', trapScript]);
      await r.waitFor('ready');
      r.child.kill('SIGTERM');
      assert.equal(await r.code, 42);
      assert.match(r.out(), /got-TERM/);

      // Output that reaches the attached client shows that it is attached (and proxying).
      ok(['run', '-d', '--name', 'sig2', 'busybox', 'sh', '-c', trapScript.replace('sleep 0.1', 'echo tick; sleep 0.1')]);
      const a = spawnBerth(['attach', 'sig2']);
      await a.waitFor('tick');
      a.child.kill('SIGINT');
      assert.equal(await a.code, 41);
      assert.match(a.out(), /got-INT/);
      assert.equal(ok(['inspect', '-f', '{{.State.ExitCode}}', 'sig2']).trim(), '41');

      // --sig-proxy=false: the signal ends the client only.
      const n = spawnBerth(['run', '--sig-proxy=false', '--name', 'sig3', 'busybox', 'sh', '-c', trapScript]);
      await n.waitFor('ready');
      n.child.kill('SIGTERM');
      await n.code;
      assert.equal(status('sig3'), 'running');
    } finally {
      removeAll('sig1', 'sig2', 'sig3');
    }
  });

  it("keeps docker run's exit codes with a terminal and in exec: 125, 126, 127", () => {
    const id = ok(['run', '-d', 'busybox', 'sleep', '1000']).trim();
    try {
      const cases: [string[], number, RegExp][] = [
        [['run', '--rm', '-t', 'busybox', 'no-such-command'], 127, /executable file not found/],
        [['run', '--rm', '-t', 'busybox', '/etc/passwd'], 126, /permission denied/],
        [['run', '--rm', '-t', '--memory', 'lots', 'busybox', 'true'], 125, /invalid/i],
        [['exec', id, 'no-such-command'], 127, /executable file not found/],
        [['exec', '-t', id, 'no-such-command'], 127, /executable file not found/],
        [['exec', '-t', id, '/etc/passwd'], 126, /permission denied/],
        [['exec', id, '/etc'], 126, /permission denied|is a directory/],
      ];
      for (const [args, code, message] of cases) {
        const r = run(args);
        assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
        // The runtime's error comes once, from berth, not also from runc on the caller's stderr.
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], message);
      }
      assert.equal(run(['exec', '-t', id, 'sh', '-c', 'exit 9']).code, 9);
    } finally {
      removeAll(id);
    }
  });

  it('ps filters by health, volume, network and ports', () => {
    try {
      ok(['run', '-d', '--name', 'hc', '--network', 'none', '--health-cmd', 'true', '--health-interval', '1h', 'busybox', 'sleep', '1000']);
      ok(['run', '-d', '--name', 'vol', '-v', 'tty-data:/data', '--network', 'host', 'busybox', 'sleep', '1000']);
      const names = (filter: string) => ok(['ps', '--filter', filter, '--format', '{{.Names}}']).split('\n').filter(Boolean).sort();
      assert.deepEqual(names('health=starting'), ['hc']);
      assert.deepEqual(names('health=none'), ['vol']);
      ok(['healthcheck', 'run', 'hc']);
      assert.deepEqual(names('health=healthy'), ['hc']);
      assert.deepEqual(names('health=unhealthy'), []);
      assert.deepEqual(names('volume=tty-data'), ['vol']);
      assert.deepEqual(names('volume=/data'), ['vol']);
      assert.deepEqual(names('volume=other'), []);
      assert.deepEqual(names('network=host'), ['vol']);
      assert.deepEqual(names('network=none'), ['hc']);
      // Ports by container port: published with -p, exposed by EXPOSE, --expose or -p.
      ok(['create', '--name', 'ports', '-p', '127.0.0.1:18080:80', '--expose', '7000-7001/udp', 'busybox', 'true']);
      const all = (filter: string) => ok(['ps', '-a', '--filter', filter, '--format', '{{.Names}}']).split('\n').filter(Boolean);
      assert.deepEqual(all('publish=80'), ['ports']);
      assert.deepEqual(all('publish=80/tcp'), ['ports']);
      assert.deepEqual(all('publish=79-81'), ['ports']);
      assert.deepEqual(all('publish=80/udp'), []);
      assert.deepEqual(all('publish=18080'), []);
      assert.deepEqual(all('expose=7001/udp'), ['ports']);
      assert.deepEqual(all('expose=80'), ['ports']);
      assert.deepEqual(all('expose=7000'), []);
      assert.equal(run(['ps', '--filter', 'publish=http']).stderr, "Error: invalid filter 'publish=http'\n");
      const bad = run(['ps', '--filter', 'health=fine']);
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr, 'Error: Unrecognised filter value for health: fine\n');
    } finally {
      removeAll('hc', 'vol', 'ports');
      run(['volume', 'rm', 'tty-data']);
    }
  });

  describe('after a reboot', () => {
    /**
     * Kills every container and its monitor, unmounts their root filesystems and clears the run
     * root. The containers have no network: a real reboot also clears what a bridge leaves.
     */
    async function simulateReboot(): Promise<void> {
      for (const id of run(['ps', '-q', '--no-trunc']).stdout.split('\n').filter(Boolean)) {
        const pid = Number(ok(['inspect', '-f', '{{.State.Pid}}', id]));
        const conmon = Number(readFileSync(join(runroot, 'containers', id, 'monitor', 'conmon.pid'), 'utf8'));
        process.kill(conmon, 'SIGKILL');
        process.kill(pid, 'SIGKILL');
      }
      await sleep(200);
      // Root filesystems and network namespace files alike; the newest mounts first.
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(root + '/'));
      for (const m of mounts.reverse()) assert.equal(spawnSync('umount', [m]).status, 0, `umount ${m}`);
      rmSync(runroot, { recursive: true, force: true });
    }

    it('the first command brings back always, unless-stopped and failed on-failure containers, not stopped or policy-less ones', async () => {
      try {
        ok(['run', '-d', '--network', 'none', '--name', 'always', '--restart', 'always', 'busybox', 'sleep', '1000']);
        ok(['run', '-d', '--network', 'none', '--name', 'always-stopped', '--restart', 'always', 'busybox', 'sleep', '1000']);
        ok(['run', '-d', '--network', 'none', '--name', 'unless', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000']);
        ok(['run', '-d', '--network', 'none', '--name', 'unless-stopped', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000']);
        ok(['run', '-d', '--network', 'none', '--name', 'plain', 'busybox', 'sleep', '1000']);
        ok(['run', '-d', '--network', 'none', '--name', 'onfail', '--restart', 'on-failure:3', 'busybox', 'sleep', '1000']);
        ok(['run', '--network', 'none', '--name', 'onfail-done', '--restart', 'on-failure', 'busybox', 'true']);
        ok(['create', '--network', 'none', '--name', 'never-started', '--restart', 'always', 'busybox', 'sleep', '1000']);
        ok(['stop', '-t', '0', 'always-stopped', 'unless-stopped']);
        await simulateReboot();
        const states = ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']).split('\n').filter(Boolean).sort();
        assert.deepEqual(states, ['always running', 'always-stopped running', 'never-started created', 'onfail running', 'onfail-done exited', 'plain exited', 'unless running', 'unless-stopped exited']);
        assert.equal(ok(['inspect', '-f', '{{.RestartCount}}', 'onfail']), '1\n', 'the reboot counts as a failure');
        assert.equal(ok(['exec', 'always', 'echo', 'alive']), 'alive\n');
        // Once per boot: a later command starts nothing again.
        ok(['stop', '-t', '0', 'always']);
        ok(['ps']);
        assert.equal(status('always'), 'exited');

        // The explicit entry point for a boot service does the same pass and names what it started.
        await simulateReboot();
        const started = run(['system', 'boot']);
        assert.equal(started.code, 0, started.stderr);
        const ids = ['always', 'always-stopped', 'onfail', 'unless'].map((n) => ok(['inspect', '-f', '{{.Id}}', n]).trim()).sort();
        assert.deepEqual(started.stdout.split('\n').filter(Boolean).sort(), ids);
        assert.equal(ok(['system', 'boot']), '');
      } finally {
        removeAll();
      }
    });
  });
});
