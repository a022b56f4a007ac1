// `exec`: processes started in a running container. An exec session is a small record in the
// container's runtime directory (it lives as long as the container runs, as Docker's exec
// instances live with the daemon). Attached, the process runs under `runc exec` with the
// caller's own stdio (a terminal stays a terminal); detached, under its own conmon, which
// reaps it and records its exit code.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerPaths } from '../container/paths.js';
import { readFileInRoot } from '../container/rootfs.js';
import type { ContainerRecord, ContainerStore } from '../container/store.js';
import { resolveUser } from '../container/user.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { capabilitiesFromMask } from '../runtime/capabilities.js';
import { ExecStartError, readExitCode, runtimeLogError, startFailureExitCode, type OciRuntime } from '../runtime/runtime.js';
import { mergeEnv, toOciJson, type OciProcess, type OciSpec } from '../runtime/spec.js';
import { runAttached } from '../sys/attached.js';
import { processAlive } from '../sys/pids.js';
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
    const rec = await this.deps.get(ref);
    if (rec.state.Status === 'paused') {
      throw new ConflictError('container_paused', `Container ${rec.id} is paused, unpause the container before exec`);
    }
    if (rec.state.Status !== 'running') throw new ConflictError('container_not_running', `Container ${rec.id} is not running`);
    const execId = randomBytes(32).toString('hex');
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

  async start(execId: string, opts: ExecStartOptions = {}): Promise<{ exitCode: number | null }> {
    const e = this.findExec(execId);
    const rec = await this.deps.get(e.ContainerID);
    if (rec.state.Status !== 'running') throw new ConflictError('container_not_running', `Container ${rec.id} is not running`);
    if (e.Running || e.ExitCode !== null) throw new ConflictError('exec_already_started', `Error: Exec command ${execId} has already run`);
    const isTty = (stream: unknown) => (stream as { isTTY?: boolean } | null)?.isTTY === true;
    if (e.config.Tty && !opts.Detach && opts.stdio && !isTty(opts.stdio.stdin) && !isTty(opts.stdio.stdout)) {
      // runc gives an attached exec the caller's own terminal; without one it cannot make a TTY.
      throw new InvalidArgumentError('exec_tty_unsupported', 'the input device is not a TTY: exec -t needs a terminal on the client side');
    }
    const p = this.deps.containerPaths(rec.id);
    const proc = this.execProcess(rec, e.config);
    this.deps.store.event(`exec_start: ${e.config.Cmd.join(' ')}`, rec, { execID: execId });
    const dir = p.execDir(execId);
    if (opts.Detach || !opts.stdio) {
      const started = await this.deps.runtime.execDetached({ id: rec.id, execId, execDir: dir, logPath: join(dir, 'exec.log'), process: proc });
      this.saveExec({ ...e, Running: true, Pid: started.pid });
      return { exitCode: null };
    }
    const processFile = join(dir, 'process.json');
    const runtimeLog = join(dir, 'runc.log');
    writeFileSync(processFile, toOciJson(proc));
    this.saveExec({ ...e, Running: true });
    const rt = this.deps.runtime.binaryFor(rec.id);
    const code = await runAttached(
      rt.path,
      ['--root', rt.root, '--log', runtimeLog, '--log-format', 'json', 'exec', '--process', processFile, rec.id],
      { stdin: opts.stdio.stdin ?? null, stdout: opts.stdio.stdout, stderr: opts.stdio.stderr },
    );
    const failure = code !== 0 ? runtimeLogError(runtimeLog) : undefined;
    this.saveExec({ ...e, Running: false, ExitCode: failure ? startFailureExitCode(failure) : code });
    if (failure) {
      if (/cannot exec in a (stopped|paused)|not running/i.test(failure)) {
        throw new ConflictError('container_not_running', `Container ${rec.id} is not running`);
      }
      const exitCode = startFailureExitCode(failure);
      throw new ExecStartError(exitCode === 127 ? 'exec_command_not_found' : exitCode === 126 ? 'exec_command_not_executable' : 'exec_failed', `OCI runtime exec failed: ${failure}`, exitCode);
    }
    return { exitCode: code };
  }

  /** The exec's process: the container's own, with the command, env, dir, user and privileges asked for. */
  private execProcess(rec: ContainerRecord, body: ExecCreateBody): OciProcess {
    const p = this.deps.containerPaths(rec.id);
    const spec = JSON.parse(readFileSync(p.configJson, 'utf8')) as OciSpec;
    const proc: OciProcess = { ...spec.process, args: body.Cmd, terminal: body.Tty ?? false };
    if (body.Env?.length) proc.env = mergeEnv(proc.env, body.Env);
    if (body.WorkingDir) proc.cwd = body.WorkingDir;
    if (body.User) {
      const u = resolveUser(body.User, rec.hostConfig.GroupAdd ?? [], readFileInRoot(p.merged, '/etc/passwd'), readFileInRoot(p.merged, '/etc/group'));
      proc.user = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}) };
      const caps = proc.capabilities;
      proc.capabilities = u.uid === 0 ? { bounding: caps.bounding, effective: [...caps.bounding], permitted: [...caps.bounding] } : { bounding: caps.bounding, effective: [], permitted: [] };
    }
    if (body.Privileged) {
      const all = capabilitiesFromMask(readCapabilityBoundingSet());
      proc.capabilities = { bounding: all, effective: proc.user.uid === 0 ? all : [], permitted: proc.user.uid === 0 ? all : [] };
    }
    return proc;
  }
}


