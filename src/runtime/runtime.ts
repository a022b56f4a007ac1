// The OCI runtime driver: containers are created under conmon (which owns their stdio, writes
// their log and exit code, and outlives berth) and then driven with runc's CLI. Process
// spawning lives in src/sys/process.ts; this module builds arguments and reads results.
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, errnoCode, InvalidArgumentError, NotFoundError, SystemError } from '../errors.js';
import { killProcess } from '../sys/background.js';
import { takeFromFifo } from '../sys/fifo.js';
import { processAlive } from '../sys/pids.js';
import { removeFile, removeTree } from '../sys/tree.js';
import { launchAttachableMonitor, launchMonitor, runTool, type AttachableMonitor, type MonitorLaunchResult, type RunResult } from '../sys/process.js';
import { attach, type AttachHandlers, type AttachSession } from './attach.js';
import { jsonText } from '../json.js';
import type { OciProcess, OciResources } from './spec.js';

export const DEFAULT_RUNTIME_PATH = '/usr/sbin/runc';
export const DEFAULT_CONMON_PATH = '/usr/bin/conmon';
export const CRUN_PATH = '/usr/bin/crun';

export interface RuntimeConfig {
  /** The OCI runtime binary (runc). */
  runtimePath?: string;
  /** runc's --root: where it keeps container state (e.g. <runroot>/runc). */
  runtimeRoot: string;
  conmonPath?: string;
  /**
   * Another runtime for some containers (`run --runtime crun`): its binary and its own state
   * root, or undefined for the default one. Asked again for every operation on a container.
   */
  runtimeOf?: (id: string) => RuntimeBinary | undefined;
}

export interface RuntimeBinary {
  path: string;
  root: string;
}

export interface CreateOptions {
  id: string;
  /** Shown by conmon in its own logs; defaults to the id. */
  name?: string;
  /** Directory holding config.json. */
  bundleDir: string;
  /** conmon writes <exitDir>/<id> with the exit code when the container exits. */
  exitDir: string;
  /** The container's userdata directory: conmon keeps its exit and oom files there. */
  persistDir: string;
  /** Container log, k8s-file format. */
  logPath: string;
  /** Bytes; conmon truncates the log when it reaches this size. */
  logMaxSize?: number;
  /** The container init's pid, written by runc. */
  pidFile: string;
  conmonPidFile: string;
  tty?: boolean;
  /** Give the container a stdin pipe that attach clients write to (docker run -i). */
  stdin?: boolean;
  /**
   * Close the container's stdin when the first attached client ends its input (Docker's
   * StdinOnce, set by an attached `docker run -i`); otherwise stdin stays open for the next.
   */
  stdinOnce?: boolean;
  /** Run when the container exits (e.g. `berth container cleanup <id>`). */
  exitCommand?: string[];
  exitDelaySeconds?: number;
  timeoutMs?: number;
}

export interface ExecDetachedOptions {
  /** The container. */
  id: string;
  /** Names the exec session (conmon's -u). */
  execId: string;
  /**
   * A directory of this exec session's own: conmon puts its attach socket, control fifos and
   * exit file there. Not the container's bundle or exit directory: conmon names those files
   * after the container, so sharing them would overwrite the container's own.
   */
  execDir: string;
  /** The exec's output, k8s-file format; without one conmon keeps no log of it. */
  logPath?: string;
  process: OciProcess;
  timeoutMs?: number;
}

/** A container's conmon, launched and waiting to run `runc create`. */
export interface PendingCreate {
  create(): Promise<CreateResult>;
  abandon(): void;
}

export interface CreateResult {
  /** The container's init process, as seen from the host. */
  pid: number;
  conmonPid: number;
}

/** An exec session with its client attached (execAttached). */
export interface AttachedExec extends CreateResult {
  /** The exec's stdio: output arrives through the handlers, input is written here. */
  session: AttachSession;
  /** The process's exit status (128+N for a signal), or null when the monitor could not tell. */
  exitCode: Promise<number | null>;
  /** Stops waiting for the exit status; the process and its monitor carry on. */
  release(): void;
}

/** `runc state` output. */
export interface RuntimeState {
  ociVersion: string;
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** The runtime's own error message (runc --log-format json), most specific last. */
export function runtimeLogError(logFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  let msg: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) msg = entry.msg;
    } catch {
      msg = line.trim();
    }
  }
  return msg;
}

/**
 * What `docker run` exits with when the runtime could not start the command: 127 when it does
 * not exist, 126 when it cannot be executed, 125 for every other engine-side failure.
 */
export function startFailureExitCode(message: string): 125 | 126 | 127 {
  // Only failures of the final exec count: a missing bind-mount source is also ENOENT.
  if (/exec: .*(executable file not found|no such file or directory)/i.test(message)) return 127;
  if (/exec: .*(permission denied|exec format error|is a directory)/i.test(message)) return 126;
  return 125;
}

/**
 * What `docker exec` exits with when the runtime could not start the process. Docker's daemon
 * takes any missing path of an exec for its command (an exec has no mounts of its own): a
 * working directory (-w) that does not exist is 127 too, not a failure of the engine.
 */
function execFailureExitCode(message: string): 125 | 126 | 127 {
  const code = startFailureExitCode(message);
  if (code !== 125) return code;
  return /no such file or directory|not a directory/i.test(message) ? 127 : 125;
}

function isMissing(stderr: string): boolean {
  return /does not exist|not found|no such file/i.test(stderr);
}

export class OciRuntime {
  readonly runtimePath: string;
  readonly runtimeRoot: string;
  readonly conmonPath: string;
  private readonly runtimeOf?: (id: string) => RuntimeBinary | undefined;

  constructor(config: RuntimeConfig) {
    this.runtimePath = config.runtimePath ?? DEFAULT_RUNTIME_PATH;
    this.runtimeRoot = config.runtimeRoot;
    this.conmonPath = config.conmonPath ?? DEFAULT_CONMON_PATH;
    this.runtimeOf = config.runtimeOf;
  }

  /** The runtime binary and state root that drive this container. */
  binaryFor(id: string): RuntimeBinary {
    return this.runtimeOf?.(id) ?? { path: this.runtimePath, root: this.runtimeRoot };
  }

  /** conmon's command line for `create` (exported for inspection and tests). */
  conmonArgs(opts: CreateOptions, runtimeLog: string): string[] {
    const rt = this.binaryFor(opts.id);
    const args = [
      '--api-version', '1',
      '-c', opts.id,
      '-u', opts.id,
      '-n', opts.name ?? opts.id,
      '-r', rt.path,
      '-b', opts.bundleDir,
      '-p', opts.pidFile,
      '--conmon-pidfile', opts.conmonPidFile,
      '--exit-dir', opts.exitDir,
      '--persist-dir', opts.persistDir,
      // The attach socket goes to <bundle>/attach: no socket directory whose path length
      // (sun_path is 108 bytes) depends on where berth's run root is.
      '--full-attach',
      '-l', `k8s-file:${opts.logPath}`,
      '--log-level', 'warning',
      '--runtime-arg', `--root=${rt.root}`,
      '--runtime-arg', '--log-format=json',
      '--runtime-arg', `--log=${runtimeLog}`,
      // A session keyring per container counts against the kernel's per-user key quota (200
      // for root by default), which many containers exhaust; containers do not need one.
      '--no-new-keyring',
    ];
    if (opts.logMaxSize && opts.logMaxSize > 0) args.push('--log-size-max', String(opts.logMaxSize));
    if (opts.tty) args.push('-t');
    else if (opts.stdin) args.push('-i');
    if (opts.stdin && !opts.stdinOnce) args.push('--leave-stdin-open');
    if (opts.exitCommand?.length) {
      args.push('--exit-command', opts.exitCommand[0]);
      for (const a of opts.exitCommand.slice(1)) args.push('--exit-command-arg', a);
      if (opts.exitDelaySeconds) args.push('--exit-delay', String(opts.exitDelaySeconds));
    }
    return args;
  }

  /**
   * Creates the container under a new conmon. Returns once runc has created it (its init is
   * waiting for `start`); conmon has detached by then and keeps running after berth exits.
   */
  async create(opts: CreateOptions): Promise<CreateResult> {
    return this.launch(opts).create();
  }

  /**
   * Launches the container's conmon, held before it runs `runc create`: the caller prepares the
   * bundle meanwhile, then calls create(), or abandon() if the bundle cannot be made.
   */
  launch(opts: CreateOptions): PendingCreate {
    if (!/^[\w][\w.-]*$/.test(opts.id)) {
      throw new InvalidArgumentError('invalid_container_id', `invalid container id "${opts.id}"`);
    }
    for (const d of [opts.exitDir, opts.persistDir, dirname(opts.logPath), this.binaryFor(opts.id).root]) {
      mkdirSync(d, { recursive: true });
    }
    // A leftover exit file from a previous run would make the new one look exited.
    for (const f of [join(opts.exitDir, opts.id), join(opts.persistDir, 'exit'), join(opts.persistDir, 'oom')]) {
      removeFile(f);
    }
    const runtimeLog = join(opts.persistDir, 'oci-log');
    removeFile(runtimeLog);

    const monitor = launchMonitor(this.conmonPath, this.conmonArgs(opts, runtimeLog), {
      timeoutMs: opts.timeoutMs ?? 120_000,
      // conmon also drops an "oom" file into its working directory: not the user's.
      cwd: opts.bundleDir,
    });
    return {
      create: () => this.created(opts, runtimeLog, monitor.release()),
      abandon: () => monitor.abandon(),
    };
  }

  /** What conmon reported once released: the container's pid, or why runc create failed. */
  private async created(opts: CreateOptions, runtimeLog: string, reported: Promise<MonitorLaunchResult>): Promise<CreateResult> {
    const result = await reported;
    const fail = (why: string): never => {
      const detail = runtimeLogError(runtimeLog) ?? why;
      throw new SystemError('runtime_create_failed', `OCI runtime create failed: ${detail}`);
    };
    if (result.code !== 0) fail(result.stderr.trim() || `conmon exited with status ${result.code ?? result.signal}`);
    if (!result.syncMessage) fail(result.stderr.trim() || 'conmon closed its sync pipe without reporting');
    let sync: { data?: number; message?: string };
    try {
      sync = JSON.parse(result.syncMessage!) as { data?: number; message?: string };
    } catch {
      return fail(`conmon sent an unreadable message: ${result.syncMessage}`);
    }
    if (typeof sync.data !== 'number' || sync.data <= 0) {
      // conmon has already run `runc create` and failed; make sure nothing is left behind.
      await this.delete(opts.id, true).catch(() => undefined);
      fail(sync.message ?? 'container create failed');
    }
    let conmonPid = 0;
    try {
      conmonPid = Number(readFileSync(opts.conmonPidFile, 'utf8').trim());
    } catch {
      // conmon writes its pid file before reporting; a missing file leaves conmonPid 0.
    }
    return { pid: sync.data!, conmonPid };
  }

  /** Runs the container's runtime (`id`), or the default one for operations on none. */
  private runc(id: string | null, args: readonly string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
    const rt = id === null ? { path: this.runtimePath, root: this.runtimeRoot } : this.binaryFor(id);
    return runTool(rt.path, ['--root', rt.root, ...args], {
      timeoutMs: opts.timeoutMs ?? 60_000,
      input: opts.input,
    });
  }

  private async runcOk(what: string, id: string, args: readonly string[]): Promise<void> {
    const r = await this.runc(id, args);
    if (r.code === 0) return;
    const stderr = r.stderr.toString('utf8').trim();
    if (isMissing(stderr)) throw new NotFoundError('no_such_container', `no such container in the runtime: ${id}`);
    if (/not running|not paused|not stopped|cannot|container is/i.test(stderr)) {
      throw new ConflictError(`runtime_${what}_conflict`, `cannot ${what} container ${id}: ${stderr}`);
    }
    throw new SystemError(`runtime_${what}_failed`, `OCI runtime ${what} failed for ${id}: ${stderr}`);
  }

  /**
   * Lets a created container's init run. For runc, berth does what `runc start` does itself:
   * runc's init waits to open `exec.fifo` in the container's state directory for writing, and
   * starting is reading its byte and removing the FIFO (which is also how runc tells "created"
   * from "running"). That saves starting the runtime once per container. Any other runtime, a
   * FIFO that is not there, or an init that died gets the runtime's own `start` and its errors.
   */
  async start(id: string, initPid = 0): Promise<void> {
    const rt = this.binaryFor(id);
    if (initPid > 0 && basename(rt.path) === 'runc') {
      const fifo = join(rt.root, id, 'exec.fifo');
      const started = await takeFromFifo(fifo, () => processAlive(initPid), 10_000).catch(() => false);
      if (started) return;
    }
    return this.runcOk('start', id, ['start', id]);
  }

  /** The runtime's view of a container, or null when it does not know it (never created or deleted). */
  async state(id: string): Promise<RuntimeState | null> {
    const r = await this.runc(id, ['state', id]);
    if (r.code !== 0) {
      const stderr = r.stderr.toString('utf8');
      if (isMissing(stderr)) return null;
      throw new SystemError('runtime_state_failed', `OCI runtime state failed for ${id}: ${stderr.trim()}`);
    }
    return JSON.parse(r.stdout.toString('utf8')) as RuntimeState;
  }

  async list(): Promise<RuntimeState[]> {
    const r = await this.runc(null, ['list', '--format', 'json']);
    if (r.code !== 0) throw new SystemError('runtime_list_failed', `OCI runtime list failed: ${r.stderr.toString('utf8').trim()}`);
    return (JSON.parse(r.stdout.toString('utf8') || 'null') as RuntimeState[] | null) ?? [];
  }

  /** Sends a signal (name like "SIGTERM"/"TERM" or number) to the init process, or to every process with `all`. */
  kill(id: string, signal: string | number = 'SIGTERM', all = false): Promise<void> {
    return this.runcOk('kill', id, ['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  pause(id: string): Promise<void> {
    return this.runcOk('pause', id, ['pause', id]);
  }

  resume(id: string): Promise<void> {
    return this.runcOk('resume', id, ['resume', id]);
  }

  /**
   * Applies new resource limits to a created, running or paused container's cgroup. Limits
   * left out (or zero) keep their value; runc orders the memory and swap writes so that the
   * kernel accepts them whichever way they move.
   */
  async update(id: string, resources: Omit<OciResources, 'devices'>): Promise<void> {
    const r = await this.runc(id, ['update', '--resources', '-', id], { input: JSON.stringify(resources) });
    if (r.code === 0) return;
    const stderr = r.stderr.toString('utf8').trim();
    if (isMissing(stderr)) throw new NotFoundError('no_such_container', `no such container in the runtime: ${id}`);
    throw new SystemError('runtime_update_failed', `OCI runtime update failed for ${id}: ${stderr}`);
  }

  /**
   * Removes the runtime's state and the container's cgroups. With `force` a running container
   * is killed first. Deleting what the runtime no longer knows is not an error.
   */
  async delete(id: string, force = false): Promise<void> {
    const r = await this.runc(id, ['delete', ...(force ? ['--force'] : []), id]);
    if (r.code === 0) return;
    const stderr = r.stderr.toString('utf8').trim();
    if (isMissing(stderr)) return;
    throw new SystemError('runtime_delete_failed', `OCI runtime delete failed for ${id}: ${stderr}`);
  }

  /**
   * Forgets a container whose init has exited without running the runtime: for a stopped
   * container, `runc delete` (and crun's) only removes its cgroup and its state directory
   * `<root>/<id>`, and starting the runtime costs more than both. The caller removes the cgroup.
   */
  removeStoppedState(id: string): void {
    removeTree(join(this.binaryFor(id).root, id));
  }

  /**
   * Runs a process in a running container and waits for it, collecting its output
   * (`docker exec` without -it). The process spec carries user, env, cwd and capabilities.
   * A command that cannot be found or executed gives 127/126, as `docker exec` does.
   */
  async exec(id: string, proc: OciProcess, opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<ExecResult> {
    return this.withProcessFile(proc, async (dir, file) => {
      const log = join(dir, 'runc.log');
      const pidFile = join(dir, 'pid');
      const r = await this.runc(id, ['--log', log, '--log-format', 'json', 'exec', '--pid-file', pidFile, '--process', file, id], {
        input: opts.input,
        timeoutMs: opts.timeoutMs ?? 0,
      });
      if (r.code === null) {
        // runc dies on the timeout, but the process it started lives on in the container.
        try {
          killProcess(Number(readFileSync(pidFile, 'utf8').trim()));
        } catch {
          // runc was killed before it wrote the pid: the process never started
        }
        throw new SystemError('exec_killed', `exec in ${id} was killed by ${r.signal}`);
      }
      // The process's own status passes through; runc's failures (before the process ran)
      // are the ones it logged as errors.
      const failure = r.code !== 0 ? runtimeLogError(log) : undefined;
      if (failure === undefined) return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
      throw this.execError(id, failure);
    });
  }

  /**
   * Starts a process in the container without waiting for it (`docker exec -d`). It runs under
   * its own conmon, which reaps it and records its exit code in <execDir>/exit (read it with
   * readExitCode(execDir, 'exit')): a process left to the host's init would linger as a zombie
   * and hold up the container's teardown.
   */
  async execDetached(opts: ExecDetachedOptions): Promise<CreateResult> {
    const { args, runtimeLog, conmonPidFile } = this.execMonitorArgs(opts);
    const result = await launchMonitor(this.conmonPath, args, { timeoutMs: opts.timeoutMs ?? 60_000, cwd: opts.execDir }).release();
    let pid = 0;
    try {
      pid = (JSON.parse(result.syncMessage ?? '{}') as { data?: number }).data ?? 0;
    } catch {
      // handled below with the runtime's own message
    }
    if (result.code !== 0 || pid <= 0) {
      throw this.execError(opts.id, runtimeLogError(runtimeLog) ?? (result.stderr.trim() || 'conmon did not report the exec pid'));
    }
    let conmonPid = 0;
    try {
      conmonPid = Number(readFileSync(conmonPidFile, 'utf8').trim());
    } catch {
      // as in create: a missing pid file leaves conmonPid 0
    }
    return { pid, conmonPid };
  }

  /**
   * Starts a process in the container under its own conmon with a client attached from the
   * first byte (`docker exec -it`): conmon waits until the client is connected to the exec's
   * attach socket before it runs the runtime's exec, gives the process a terminal of its own
   * (the console socket) or a stdin pipe, and reports the exit status on the sync pipe. The
   * exec's control fifo (<execDir>/ctl) takes resizes. A client that goes away leaves the
   * process running; conmon then records its exit code in <execDir>/exit.
   */
  async execAttached(opts: Omit<ExecDetachedOptions, 'logPath'> & { stdin: boolean; handlers: AttachHandlers }): Promise<AttachedExec> {
    const { args, runtimeLog, conmonPidFile } = this.execMonitorArgs(opts);
    args.push('--exec-attach');
    if (!opts.process.terminal && opts.stdin) args.push('-i');
    let monitor: AttachableMonitor;
    try {
      monitor = await launchAttachableMonitor(this.conmonPath, args, { timeoutMs: opts.timeoutMs ?? 60_000, cwd: opts.execDir });
    } catch (err) {
      throw this.execError(opts.id, runtimeLogError(runtimeLog) ?? (err as Error).message);
    }
    let session: AttachSession;
    try {
      // The socket's path is longer than sockaddr_un holds; a descriptor of its directory is not.
      const dirFd = openSync(opts.execDir, 'r');
      try {
        session = attach(`/proc/self/fd/${dirFd}`, opts.handlers);
      } finally {
        closeSync(dirFd);
      }
    } catch (err) {
      monitor.release();
      throw err;
    }
    monitor.start();
    const first = await monitor.nextMessage();
    const pid = syncData(first);
    if (pid === null || pid <= 0) {
      await session.detach();
      monitor.release();
      const message = syncMessageText(first);
      throw this.execError(opts.id, runtimeLogError(runtimeLog) ?? (message || monitor.stderr().trim() || 'conmon did not report the exec pid'));
    }
    let conmonPid = 0;
    try {
      conmonPid = Number(readFileSync(conmonPidFile, 'utf8').trim());
    } catch {
      // as in create: a missing pid file leaves conmonPid 0
    }
    const exitFile = opts.execDir;
    const exitCode = (async () => {
      const code = syncData(await monitor.nextMessage());
      monitor.release();
      // A monitor that went away without reporting may still have written its exit file.
      return code ?? readExitCode(exitFile, 'exit');
    })().catch(() => null);
    return {
      pid,
      conmonPid,
      session,
      exitCode,
      release: () => monitor.release(),
    };
  }

  /** conmon's command line for an exec session; the process spec goes to <execDir>/process.json. */
  private execMonitorArgs(opts: ExecDetachedOptions): { args: string[]; runtimeLog: string; conmonPidFile: string } {
    for (const d of [...(opts.logPath ? [dirname(opts.logPath)] : []), opts.execDir]) mkdirSync(d, { recursive: true });
    const file = join(opts.execDir, 'process.json');
    const pidFile = join(opts.execDir, 'pid');
    const conmonPidFile = join(opts.execDir, 'conmon.pid');
    const runtimeLog = join(opts.execDir, 'oci-log');
    for (const f of [pidFile, conmonPidFile, runtimeLog, join(opts.execDir, 'exit')]) removeFile(f);
    writeFileSync(file, jsonText(opts.process));
    const rt = this.binaryFor(opts.id);
    const args = [
      '--api-version', '1',
      '-c', opts.id,
      '-u', opts.execId,
      '-r', rt.path,
      '-b', opts.execDir,
      '-p', pidFile,
      '--conmon-pidfile', conmonPidFile,
      '--persist-dir', opts.execDir,
      '--full-attach',
      '-l', opts.logPath ? `k8s-file:${opts.logPath}` : 'none',
      '--log-level', 'warning',
      '--exec',
      '--exec-process-spec', file,
      '--runtime-arg', `--root=${rt.root}`,
      '--runtime-arg', '--log-format=json',
      '--runtime-arg', `--log=${runtimeLog}`,
    ];
    if (opts.process.terminal) args.push('-t');
    return { args, runtimeLog, conmonPidFile };
  }

  private execError(id: string, message: string): Error {
    if (/container does not exist|container .* does not exist/i.test(message)) {
      return new NotFoundError('no_such_container', `no such container in the runtime: ${id}`);
    }
    if (/cannot exec in a (stopped|paused)|not running/i.test(message)) {
      return new ConflictError('container_not_running', `container ${id} is not running: ${message}`);
    }
    const code = execFailureExitCode(message);
    const kind = code === 127 ? 'exec_command_not_found' : code === 126 ? 'exec_command_not_executable' : 'exec_failed';
    return new ExecStartError(kind, `OCI runtime exec failed: ${message}`, code);
  }

  private async withProcessFile<T>(proc: OciProcess, fn: (dir: string, file: string) => Promise<T>): Promise<T> {
    if (proc.terminal) {
      throw new InvalidArgumentError('exec_tty_unsupported', 'exec with a terminal is not supported by this driver yet');
    }
    const dir = mkdtempSync(join(tmpdir(), 'berth-exec-'));
    try {
      const file = join(dir, 'process.json');
      writeFileSync(file, jsonText(proc));
      return await fn(dir, file);
    } finally {
      removeTree(dir);
    }
  }
}

/** The runtime could not start an exec'd command; `exitCode` is what `docker exec` exits with. */
export class ExecStartError extends SystemError {
  readonly exitCode: 125 | 126 | 127;
  constructor(code: string, message: string, exitCode: 125 | 126 | 127) {
    super(code, message);
    this.exitCode = exitCode;
  }
}

/** The number in one of conmon's sync messages ({"data": N, "message": "..."}), or null. */
function syncData(line: string | null): number | null {
  if (line === null) return null;
  try {
    const data = (JSON.parse(line) as { data?: unknown }).data;
    return typeof data === 'number' ? data : null;
  } catch {
    return null;
  }
}

function syncMessageText(line: string | null): string {
  try {
    return String((JSON.parse(line ?? '{}') as { message?: unknown }).message ?? '');
  } catch {
    return line ?? '';
  }
}

/** The exit code conmon recorded (128+N for a signal), or null while the container runs. */
export function readExitCode(exitDir: string, id: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(exitDir, id), 'utf8').trim();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  // conmon creates the file and then writes it; an empty read is a write in progress.
  if (text === '') return null;
  const code = Number(text);
  if (!Number.isInteger(code)) throw new SystemError('bad_exit_file', `unreadable exit file for ${id}: "${text}"`);
  return code;
}

/** Whether the kernel OOM-killed the container (conmon leaves an "oom" file in the persist dir). */
export function wasOomKilled(persistDir: string): boolean {
  try {
    readFileSync(join(persistDir, 'oom'));
    return true;
  } catch {
    return false;
  }
}

/** Waits for conmon's exit file; null on timeout. */
export async function waitForExit(exitDir: string, id: string, timeoutMs = 0): Promise<number | null> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let delay = 5;
  for (;;) {
    const code = readExitCode(exitDir, id);
    if (code !== null) return code;
    if (Date.now() >= deadline) return null;
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

export interface K8sLogLine {
  /** RFC 3339 with nanoseconds, as conmon wrote it. */
  time: string;
  stream: 'stdout' | 'stderr';
  /** True for a 'P' record: the line continues in the next record. */
  partial: boolean;
  content: string;
}

/** Parses one line of conmon's k8s-file log: `<RFC3339Nano> <stream> <F|P> <content>`. */
export function parseK8sLogLine(line: string): K8sLogLine | null {
  const m = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/s.exec(line.replace(/\n$/, ''));
  if (!m) return null;
  return { time: m[1], stream: m[2] as 'stdout' | 'stderr', partial: m[3] === 'P', content: m[4] };
}
