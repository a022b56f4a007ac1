// Running host tools (runc, conmon). The only place in berth that spawns them; src/runtime
// builds the arguments and interprets the results.
import { lazy } from '../builtins.js';
import { closeSync, constants as fsConstants, openSync, read, readSync, writeSync } from 'node:fs';
import { pipe, spawnInSession, type SpawnedProcess } from './libc.js';
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
    const child = lazy.childProcess.spawn(file, args, {
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

/** A monitor launched but held before it does anything: it waits for its start byte. */
export interface HeldMonitor {
  /** Lets the monitor go on, and resolves once it has reported on its sync pipe and detached. */
  release(): Promise<MonitorLaunchResult>;
  /** Kills a monitor that was never released: it has started nothing yet. */
  abandon(): void;
}

/**
 * Launches a daemonizing monitor (conmon) that speaks the sync/start pipe protocol: the monitor
 * waits for one byte on the start pipe before it does anything but load itself, and reports
 * back on the sync pipe (one JSON object) once the container exists. So berth launches it
 * first and releases it once the bundle is ready, and the monitor's own start (2-3 ms) passes
 * while berth mounts the rootfs and writes the spec. The monitor learns the pipes' numbers from
 * _OCI_SYNCPIPE and _OCI_STARTPIPE, and runs in its own session so that it survives this
 * process and is out of reach of the terminal's signals.
 *
 * The pipes are plain descriptors, not Node streams, which cost a socket object each: the sync
 * pipe is read on libuv's thread pool, and stderr (what conmon says before it detaches, when it
 * fails) once the first process has exited.
 */
export function launchMonitor(file: string, args: readonly string[], opts: { timeoutMs?: number; cwd?: string } = {}): HeldMonitor {
  const SYNC_FD = 3;
  const START_FD = 4;
  const [syncRead, syncWrite] = pipe();
  const [startRead, startWrite] = pipe();
  const [errRead, errWrite] = pipe({ nonBlocking: true });
  let child: SpawnedProcess;
  try {
    child = spawnInSession(file, args, {
      env: monitorEnv({ _OCI_SYNCPIPE: String(SYNC_FD), _OCI_STARTPIPE: String(START_FD) }) as Record<string, string>,
      fds: [errWrite, syncWrite, startRead],
      cwd: opts.cwd,
    });
  } catch (err) {
    for (const fd of [syncRead, startWrite, errRead]) closeSync(fd);
    throw err;
  } finally {
    for (const fd of [syncWrite, startRead, errWrite]) closeSync(fd);
  }
  // Reads the sync pipe and waits for the first process, once released: set up after the start
  // byte is written, this runs while conmon does, not before.
  const watch = () =>
    new Promise<MonitorLaunchResult>((resolve, reject) => {
      let syncMessage: string | null = null;
      let syncDone = false;
      let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // A read still pending (the timeout, or a first process that failed after it forked)
        // would hold a thread of the pool, and keep berth running, until the monitor's own
        // process ends: it is woken to end now.
        if (reading) wakeReader(syncRead);
        const stderr = readAvailable(errRead);
        closeSync(errRead);
        if (err) reject(err);
        else resolve({ code: exited!.code, signal: exited!.signal, syncMessage, stderr });
      };
      const maybeFinish = () => {
        if (exited && syncDone) finish();
      };
      const syncEnded = (message: string | null) => {
        if (syncDone) return;
        syncDone = true;
        syncMessage = message;
        maybeFinish();
      };
      // Reads until the text read so far starts with a whole JSON object, or the pipe ends (the
      // monitor failed before it reported).
      let syncText = '';
      let reading = false;
      const buf = Buffer.alloc(4096);
      const readMore = () => {
        reading = true;
        read(syncRead, buf, 0, buf.length, null, (err, n) => {
          reading = false;
          if (settled) return closeSync(syncRead);
          if (!err && n > 0) {
            syncText += buf.toString('utf8', 0, n);
            const nl = syncText.indexOf('\n');
            const candidate = nl >= 0 ? syncText.slice(0, nl) : syncText;
            try {
              JSON.parse(candidate);
            } catch {
              return readMore();
            }
            closeSync(syncRead);
            return syncEnded(candidate);
          }
          closeSync(syncRead);
          syncEnded(syncText.trim() || null);
        });
      };
      readMore();
      child.wait().then((status) => {
        exited = status;
        // A monitor that failed before forking never writes on the sync pipe.
        if (status.code !== 0) syncEnded(syncText.trim() || null);
        maybeFinish();
      }, finish);
      const timer = setTimeout(() => {
        finish(new Error(`${file} did not report within ${opts.timeoutMs ?? 60000} ms`));
        // Once reaped, its pid may be another process's.
        if (exited) return;
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, opts.timeoutMs ?? 60000);
    });
  return {
    release() {
      try {
        writeSync(startWrite, Buffer.of(0));
      } catch {
        // EPIPE: the monitor died before it read; its exit status and stderr tell why.
      }
      closeSync(startWrite);
      return watch();
    },
    abandon() {
      // Killed before its start pipe is closed: on the pipe's end it would go on, fork and run
      // `runc create`, out of reach of this kill.
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      for (const fd of [startWrite, syncRead, errRead]) closeSync(fd);
      // Reaped, not left a zombie for as long as berth runs.
      child.wait().catch(() => undefined);
    },
  };
}

/**
 * Ends a read pending on the pipe `fd` reads from: a byte written through a write end of its
 * own (the pipe reopened through /proc). Best effort: without /proc the read waits for the writer.
 */
function wakeReader(fd: number): void {
  try {
    const w = openSync(`/proc/self/fd/${fd}`, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    try {
      writeSync(w, Buffer.of(0x0a));
    } finally {
      closeSync(w);
    }
  } catch {
    // no /proc, or the pipe is full: the read ends when the monitor's writer does
  }
}

/** What a non-blocking pipe holds now, as text. */
function readAvailable(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch {
      break; // EAGAIN: nothing more for now
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
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
    const child = lazy.childProcess.spawn(file, args, {
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
