// Where a container's files live. Persistent: <root>/containers/<id>/ holds the overlay's
// upper, work and merged directories and userdata/ (the OCI bundle with config.json, the
// log, hostname, hosts, resolv.conf). Volatile, gone after a reboot: <runroot>/containers/<id>/
// holds the lock and monitor/ (conmon's exit and oom files, pid files, exec sessions).
import { join, resolve } from 'node:path';

export class ContainerPaths {
  readonly dir: string;
  readonly upper: string;
  readonly work: string;
  readonly merged: string;
  readonly userdata: string;
  readonly runDir: string;
  readonly monitor: string;

  constructor(root: string, runroot: string, readonly id: string) {
    this.dir = join(resolve(root), 'containers', id);
    this.upper = join(this.dir, 'upper');
    this.work = join(this.dir, 'work');
    this.merged = join(this.dir, 'merged');
    this.userdata = join(this.dir, 'userdata');
    this.runDir = join(resolve(runroot), 'containers', id);
    this.monitor = join(this.runDir, 'monitor');
  }

  /** The OCI bundle; conmon also puts its attach socket and control fifos here. */
  get bundle(): string {
    return this.userdata;
  }
  get configJson(): string {
    return join(this.userdata, 'config.json');
  }
  get log(): string {
    return join(this.userdata, 'ctr.log');
  }
  get hostname(): string {
    return join(this.userdata, 'hostname');
  }
  get hosts(): string {
    return join(this.userdata, 'hosts');
  }
  get resolvConf(): string {
    return join(this.userdata, 'resolv.conf');
  }
  get lock(): string {
    return join(this.runDir, 'lock');
  }
  /** Held by an attached berth that will record the container's exit itself (see the exit command). */
  get attachedLock(): string {
    return join(this.runDir, 'attached');
  }
  get pidFile(): string {
    return join(this.monitor, 'pidfile');
  }
  get conmonPidFile(): string {
    return join(this.monitor, 'conmon.pid');
  }
  /** conmon's --exit-dir: it writes the exit code to <monitor>/<id>. */
  get exitDir(): string {
    return this.monitor;
  }
  execDir(execId: string): string {
    return join(this.monitor, 'exec', execId);
  }
  get execs(): string {
    return join(this.monitor, 'exec');
  }
}

/** Files conmon creates in the bundle for one run; a stale fifo would make the next conmon fail. */
export const MONITOR_BUNDLE_FILES = ['attach', 'ctl', 'winsz'] as const;
