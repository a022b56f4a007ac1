// `exec`: processes started in a running container. An exec session is a small record in the
// container's runtime directory (it lives as long as the container runs, as Docker's exec
// instances live with the daemon). Every exec runs under its own conmon, which reaps it and
// records its exit code; an attached one streams through the exec's attach socket, with a pty
// of its own for -t (resize and detach keys work as for a container).
import { randomId } from '../sys/random.js';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerPaths } from '../container/paths.js';
import { readFileInRoot } from '../container/rootfs.js';
import type { ContainerRecord, ContainerStore } from '../container/store.js';
import { resolveUser } from '../container/user.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { capabilitiesFromMask } from '../runtime/capabilities.js';
import { resizeTerminal } from '../runtime/attach.js';
import { ExecStartError, readExitCode, type OciRuntime } from '../runtime/runtime.js';
import { DetachKeyScanner, parseDetachKeys } from '../container/detach-keys.js';
import { mergeEnv, type OciProcess, type OciSpec } from '../runtime/spec.js';
import { processAlive } from '../sys/pids.js';
import { warmCgroupMigration } from '../sys/cgroups.js';
import { readCapabilityBoundingSet } from '../sys/proc.js';
import type { ExecCreateBody, ExecInspect, ExecStartOptions } from './engine.js';

export interface ExecDeps {
  runroot: string;
  store: ContainerStore;
  runtime: OciRuntime;
  containerPaths: (id: string) => ContainerPaths;
  /** A container by name or ID, brought up to date with the host. */
  get: (ref: string) => Promise<ContainerRecord>;
}

interface ExecRecord {
  ID: string;
  ContainerID: string;
  config: ExecCreateBody;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
}

export class ContainerExecs {
  constructor(private readonly deps: ExecDeps) {}

  private execFile(containerId: string, execId: string): string {
    return join(this.deps.containerPaths(containerId).execDir(execId), 'exec.json');
  }

  /** The exec sessions a container has had since it last started (inspect's ExecIDs). */
  ids(containerId: string): string[] | null {
    try {
      const ids = readdirSync(this.deps.containerPaths(containerId).execs);
      return ids.length ? ids : null;
    } catch {
      return null;
    }
  }

  private findExec(execId: string): ExecRecord {
    if (!/^[a-f0-9]{64}$/.test(execId)) throw new NotFoundError('exec_not_found', `No such exec instance: ${execId}`);
    const dir = join(this.deps.runroot, 'containers');
    let ids: string[] = [];
    try {
      ids = readdirSync(dir);
    } catch {
      // no containers have run
    }
    for (const cid of ids) {
      try {
        return JSON.parse(readFileSync(this.execFile(cid, execId), 'utf8')) as ExecRecord;
      } catch {
        continue;
      }
    }
    throw new NotFoundError('exec_not_found', `No such exec instance: ${execId}`);
  }

  private saveExec(rec: ExecRecord): void {
    const file = this.execFile(rec.ContainerID, rec.ID);
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(rec));
  }

  async create(ref: string, body: ExecCreateBody): Promise<{ Id: string }> {
    if (!body.Cmd?.length) throw new InvalidArgumentError('no_command', 'No exec command specified');
    if (body.DetachKeys) parseDetachKeys(body.DetachKeys);
    const rec = await this.deps.get(ref);
    if (rec.state.Status === 'paused') {
      throw new ConflictError('container_paused', `Container ${rec.id} is paused, unpause the container before exec`);
    }
    if (rec.state.Status !== 'running') throw new ConflictError('container_not_running', `Container ${rec.id} is not running`);
    const execId = randomId();
    this.saveExec({ ID: execId, ContainerID: rec.id, config: body, Running: false, ExitCode: null, Pid: 0 });
    this.deps.store.event(`exec_create: ${body.Cmd.join(' ')}`, rec, { execID: execId });
    return { Id: execId };
  }

  async inspect(execId: string): Promise<ExecInspect> {
    const e = this.findExec(execId);
    if (e.Running && e.Pid > 0 && !processAlive(e.Pid)) {
      const code = readExitCode(this.deps.containerPaths(e.ContainerID).execDir(execId), 'exit');
      e.Running = false;
      e.ExitCode = code;
      this.saveExec(e);
      // A detached exec's end is seen by whoever asks first; its event comes then, once.
      const rec = await this.deps.get(e.ContainerID).catch(() => null);
      if (rec) this.execDied(rec, e);
    }
    return {
      ID: e.ID,
      ContainerID: e.ContainerID,
      Running: e.Running,
      ExitCode: e.ExitCode,
      Pid: e.Pid,
      ProcessConfig: {
        entrypoint: e.config.Cmd[0],
        arguments: e.config.Cmd.slice(1),
        privileged: e.config.Privileged ?? false,
        tty: e.config.Tty ?? false,
        user: e.config.User ?? '',
      },
      OpenStdin: e.config.AttachStdin ?? false,
      OpenStdout: e.config.AttachStdout ?? true,
      OpenStderr: e.config.AttachStderr ?? true,
      CanRemove: false,
      DetachKeys: e.config.DetachKeys ?? '',
    };
  }

  async start(execId: string, opts: ExecStartOptions = {}): Promise<{ exitCode: number | null; detached?: boolean }> {
    const e = this.findExec(execId);
    const rec = await this.deps.get(e.ContainerID);
    if (rec.state.Status !== 'running') throw new ConflictError('container_not_running', `Container ${rec.id} is not running`);
    if (e.Running || e.ExitCode !== null) throw new ConflictError('exec_already_started', `Error: Exec command ${execId} has already run`);
    const p = this.deps.containerPaths(rec.id);
    let proc: OciProcess;
    try {
      proc = this.execProcess(rec, e.config);
    } catch (err) {
      // As Docker's: an exec whose user the container does not have could not be invoked, 126.
      // Anything else (the container's files gone meanwhile) is the engine's failure.
      if (!(err instanceof InvalidArgumentError)) throw err;
      this.saveExec({ ...e, Running: false, ExitCode: 126 });
      throw new ExecStartError('exec_setup_failed', (err as Error).message, 126);
    }
    this.deps.store.event(`exec_start: ${e.config.Cmd.join(' ')}`, rec, { execID: execId });
    const dir = p.execDir(execId);
    if (opts.Detach || !opts.stdio) {
      const warmer = warmCgroupMigration();
      const started = await this.deps.runtime
        .execDetached({ id: rec.id, execId, execDir: dir, logPath: join(dir, 'exec.log'), process: proc })
        .finally(() => warmer.stop());
      this.saveExec({ ...e, Running: true, Pid: started.pid });
      return { exitCode: null };
    }
    return this.startAttached(rec, e, proc, opts);
  }

  /**
   * An attached exec: the process runs under its own conmon, which waits for this client to be
   * connected to the exec's attach socket before it starts the process. Output and input go
   * through that socket, so the runtime's own error output never mixes with the process's, the
   * detach keys can be seen (with a terminal), and the process outlives a client that detaches
   * or dies. With -t the process gets a pty of its own, sized like the client's from the start.
   */
  private async startAttached(rec: ContainerRecord, e: ExecRecord, proc: OciProcess, opts: ExecStartOptions): Promise<{ exitCode: number | null; detached?: boolean }> {
    const stdio = opts.stdio!;
    const input = e.config.AttachStdin ? (stdio.stdin ?? null) : null;
    // As Docker's: the detach keys apply to a terminal only.
    const keys = e.config.Tty ? parseDetachKeys(e.config.DetachKeys ?? '') : null;
    const size = opts.ConsoleSize;
    const withSize: OciProcess & { consoleSize?: { height: number; width: number } } = { ...proc };
    if (size && size[0] > 0 && size[1] > 0) withSize.consoleSize = { height: size[0], width: size[1] };
    const dir = this.deps.containerPaths(rec.id).execDir(e.ID);
    let ex;
    // runc exec moves the process into the container's cgroups, as runc create does.
    const warmer = warmCgroupMigration();
    try {
      ex = await this.deps.runtime.execAttached({
        id: rec.id,
        execId: e.ID,
        execDir: dir,
        // The output goes to the client, as Docker's: a log of it would only grow.
        process: withSize,
        stdin: input !== null,
        handlers: {
          ...(e.config.AttachStdout !== false ? { stdout: (d: Buffer) => void stdio.stdout.write(d) } : {}),
          ...(e.config.AttachStderr !== false ? { stderr: (d: Buffer) => void stdio.stderr.write(d) } : {}),
        },
      });
    } catch (err) {
      this.saveExec({ ...e, Running: false, ExitCode: err instanceof ExecStartError ? err.exitCode : 125 });
      throw err;
    } finally {
      warmer.stop();
    }
    this.saveExec({ ...e, Running: true, Pid: ex.pid });
    const session = ex.session;
    let detached = false;
    let stopInput = () => {};
    if (input) {
      const scanner = keys ? new DetachKeyScanner(keys) : null;
      // Writes go one at a time: the socket is a sequence of packets that must stay in order.
      let queue = Promise.resolve();
      const onData = (d: Buffer | string) => {
        const chunk = typeof d === 'string' ? Buffer.from(d) : d;
        const { forward, detach } = scanner ? scanner.scan(chunk) : { forward: chunk, detach: false };
        input.pause();
        queue = queue
          .then(async () => {
            if (forward.length) await session.write(forward);
            if (detach) {
              detached = true;
              await session.detach();
            }
          })
          .catch(() => undefined)
          .then(() => void (detached ? undefined : input.resume()));
      };
      const onEnd = () => {
        queue = queue.then(() => session.closeStdin());
      };
      input.on('data', onData);
      input.on('end', onEnd);
      stopInput = () => {
        input.off('data', onData);
        input.off('end', onEnd);
        input.pause();
      };
    }
    try {
      await session.done;
    } finally {
      stopInput();
    }
    if (detached) {
      ex.release();
      return { exitCode: null, detached: true };
    }
    const code = await ex.exitCode;
    const done = { ...e, Running: false, Pid: ex.pid, ExitCode: code };
    this.saveExec(done);
    this.execDied(rec, done);
    // An exit status the monitor could not report is not a success.
    return { exitCode: code ?? 255 };
  }

  /** Docker's `exec_die` event, with the exit code (255 when the monitor could not report one). */
  private execDied(rec: ContainerRecord, e: ExecRecord): void {
    this.deps.store.event('exec_die', rec, { execID: e.ID, exitCode: String(e.ExitCode ?? 255) });
  }

  /** `docker exec` resize: the exec's terminal takes the client's new size. */
  async resize(execId: string, height: number, width: number): Promise<void> {
    const e = this.findExec(execId);
    if (!e.config.Tty) return;
    resizeTerminal(this.deps.containerPaths(e.ContainerID).execDir(execId), height, width);
  }

  /** The exec's process: the container's own, with the command, env, dir, user and privileges asked for. */
  private execProcess(rec: ContainerRecord, body: ExecCreateBody): OciProcess {
    const p = this.deps.containerPaths(rec.id);
    const spec = JSON.parse(readFileSync(p.configJson, 'utf8')) as OciSpec;
    const proc: OciProcess = { ...spec.process, args: body.Cmd, terminal: body.Tty ?? false };
    // The container's own initial terminal size is not the exec's.
    delete (proc as { consoleSize?: unknown }).consoleSize;
    if (body.User) {
      const u = resolveUser(body.User, rec.hostConfig.GroupAdd ?? [], readFileInRoot(p.merged, '/etc/passwd'), readFileInRoot(p.merged, '/etc/group'));
      proc.user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
      const caps = proc.capabilities;
      proc.capabilities = u.uid === 0 ? { bounding: caps.bounding, effective: [...caps.bounding], permitted: [...caps.bounding] } : { bounding: caps.bounding, effective: [], permitted: [] };
      // The HOME berth gave the container's user is not this user's; one the container's
      // config sets (the image's or run's -e) stays, as does the exec's own -e below.
      if (!rec.config.Env.some((kv) => kv.startsWith('HOME='))) proc.env = mergeEnv(proc.env, [`HOME=${u.home || '/'}`]);
    }
    // As Docker's: a terminal comes with TERM, which the exec's own -e may override.
    if (body.Tty && !proc.env.some((v) => v.startsWith('TERM='))) proc.env = [...proc.env, 'TERM=xterm'];
    if (body.Env?.length) proc.env = mergeEnv(proc.env, body.Env);
    if (body.WorkingDir) proc.cwd = body.WorkingDir;
    if (body.Privileged) {
      const all = capabilitiesFromMask(readCapabilityBoundingSet());
      proc.capabilities = { bounding: all, effective: proc.user.uid === 0 ? all : [], permitted: proc.user.uid === 0 ? all : [] };
    }
    return proc;
  }
}


