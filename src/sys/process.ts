// Running host tools (runc, conmon). The only place in berth that spawns them; src/runtime
// builds the arguments and interprets the results.
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface RunResult {
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the tool (SIGKILL) if it runs longer than this. */
  timeoutMs?: number;
}

/** Runs a tool to completion and collects its output; never rejects on a non-zero exit. */
export function runTool(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

export interface MonitorLaunchResult {
  /** Exit status of the monitor's first process (it forks the real monitor and exits). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The first message the monitor wrote on its sync pipe, or null if it closed it silently. */
  syncMessage: string | null;
  stderr: string;
}

/**
 * The environment a monitor starts with. conmon needs none of the caller's variables: its
 * runtime and exit command are absolute paths, and the exit command gets berth's roots as
 * flags. What it is given stays resident in every monitor for the container's whole life, and
 * the locale decides how much of glib runs: under the plain C locale glib converts conmon's
 * messages through iconv and each monitor's resident set grows by some 400 KiB (measured on
 * Debian 12's conmon); C.UTF-8 spares that whatever locale the user runs berth under.
 */
function monitorEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', ...extra };
}

/**
 * Launches a daemonizing monitor (conmon) that speaks the sync/start pipe protocol: the monitor
 * waits for one byte on the start pipe before it does anything, and reports back on the sync
 * pipe (one JSON object) once the container exists. Both pipes are socketpairs that Node
 * creates for extra stdio slots; the monitor learns their numbers from _OCI_SYNCPIPE and
 * _OCI_STARTPIPE. The monitor runs in its own session so that it survives this process and is
 * out of reach of the terminal's signals.
 */
export function launchMonitor(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; cwd?: string } = {},
): Promise<MonitorLaunchResult> {
  const SYNC_FD = 3;
  const START_FD = 4;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: monitorEnv({ _OCI_SYNCPIPE: String(SYNC_FD), _OCI_STARTPIPE: String(START_FD) }),
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
      cwd: opts.cwd,
    });
    const sync = child.stdio[SYNC_FD] as Readable;
    const start = child.stdio[START_FD] as Writable;
    const stderrChunks: Buffer[] = [];
    let syncText = '';
    let syncMessage: string | null = null;
    let syncDone = false;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    const timer = setTimeout(() => {
      finish(new Error(`${file} did not report within ${opts.timeoutMs ?? 60000} ms`));
      try {
        if (child.pid) process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs ?? 60000);

    // Detach every handle so that nothing the daemonized monitor inherited keeps Node alive.
    const release = () => {
      sync.destroy();
      start.destroy();
      child.stderr?.destroy();
      child.unref();
    };
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      release();
      if (err) reject(err);
      else
        resolve({
          code: exited!.code,
          signal: exited!.signal,
          syncMessage,
          stderr: Buffer.concat(stderrChunks).toString('utf8'),
        });
    };
    const maybeFinish = () => {
      if (exited && syncDone) finish();
    };

    sync.setEncoding('utf8');
    sync.on('data', (chunk: string) => {
      if (syncDone) return;
      syncText += chunk;
      const nl = syncText.indexOf('\n');
      const candidate = nl >= 0 ? syncText.slice(0, nl) : syncText;
      try {
        JSON.parse(candidate);
        syncMessage = candidate;
        syncDone = true;
        maybeFinish();
      } catch {
        // incomplete; wait for more
      }
    });
    const syncEnded = () => {
      if (syncDone) return;
      syncDone = true;
      syncMessage = syncText.trim() || null;
      maybeFinish();
    };
    sync.on('end', syncEnded);
    sync.on('close', syncEnded);
    sync.on('error', syncEnded);
    child.stderr!.on('data', (b: Buffer) => stderrChunks.push(b));
    child.on('error', (e) => finish(e));
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      // A monitor that failed before forking never writes on the sync pipe.
      if (code !== 0) syncEnded();
      maybeFinish();
    });
    start.on('error', () => {
      // EPIPE: the monitor died before reading; its exit status tells why.
    });
    start.end(Buffer.from([0]));
  });
}

/** A monitor started with --exec-attach, waiting for its client before it runs the process. */
export interface AttachableMonitor {
  /** Lets the monitor run the process (the client is attached by then, so no output is lost). */
  start(): void;
  /**
   * The next message on the sync pipe (one JSON object per line): first the process's pid (or
   * a failure), later its exit status. null once the monitor closed the pipe.
   */
  nextMessage(): Promise<string | null>;
  /** Stops listening to the monitor; it carries on without this process. */
  release(): void;
  /** What the monitor wrote on stderr before it detached. */
  stderr(): string;
}

/**
 * Launches conmon for an attached exec. Besides the sync and start pipes of launchMonitor there
 * is an attach pipe (_OCI_ATTACHPIPE): the monitor reads the start pipe once before it
 * detaches, reports on the attach pipe when its attach socket listens, and reads the start pipe
 * a second time before it runs the runtime's exec. Resolves once the attach socket listens.
 */
export function launchAttachableMonitor(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; cwd?: string } = {},
): Promise<AttachableMonitor> {
  const SYNC_FD = 3;
  const START_FD = 4;
  const ATTACH_FD = 5;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: monitorEnv({ _OCI_SYNCPIPE: String(SYNC_FD), _OCI_STARTPIPE: String(START_FD), _OCI_ATTACHPIPE: String(ATTACH_FD) }),
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
      cwd: opts.cwd,
    });
    const sync = child.stdio[SYNC_FD] as Readable;
    const start = child.stdio[START_FD] as Writable;
    const attachPipe = (child.stdio as unknown as Readable[])[ATTACH_FD];
    const stderrChunks: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => stderrChunks.push(b));
    start.on('error', () => {
      // EPIPE: the monitor died; its exit status and the sync pipe tell why.
    });

    // Sync messages are queued as they come; nextMessage() takes them in order.
    const lines: (string | null)[] = [];
    const waiters: ((line: string | null) => void)[] = [];
    let pending = '';
    const push = (line: string | null) => {
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    };
    sync.setEncoding('utf8');
    sync.on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line) push(line);
      }
    });
    let syncClosed = false;
    const syncEnded = () => {
      if (syncClosed) return;
      syncClosed = true;
      if (pending.trim()) push(pending.trim());
      push(null);
    };
    sync.on('end', syncEnded);
    sync.on('close', syncEnded);
    sync.on('error', syncEnded);

    const release = () => {
      sync.destroy();
      start.destroy();
      attachPipe.destroy();
      child.stderr?.destroy();
      child.unref();
    };
    const monitor: AttachableMonitor = {
      start: () => void start.write(Buffer.from([0])),
      nextMessage: () => {
        if (lines.length) return Promise.resolve(lines.shift()!);
        if (syncClosed) return Promise.resolve(null);
        return new Promise((r) => waiters.push(r));
      },
      release,
      stderr: () => Buffer.concat(stderrChunks).toString('utf8'),
    };

    let settled = false;
    const timer = setTimeout(() => fail(new Error(`${file} did not report within ${opts.timeoutMs ?? 60000} ms`)), opts.timeoutMs ?? 60000);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      release();
      try {
        if (child.pid) process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(err);
    };
    attachPipe.once('data', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(monitor);
    });
    attachPipe.on('error', () => undefined);
    const closedEarly = () => fail(new Error(Buffer.concat(stderrChunks).toString('utf8').trim() || `${file} exited before its attach socket was ready`));
    attachPipe.on('end', closedEarly);
    child.on('error', (e) => fail(e));
    child.on('exit', (code, signal) => {
      // The first process forks the monitor and exits 0; anything else failed before that.
      if (code !== 0) fail(new Error(Buffer.concat(stderrChunks).toString('utf8').trim() || `${file} exited with ${code ?? signal}`));
    });
    start.write(Buffer.from([0]));
  });
}
