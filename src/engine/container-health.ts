// Running health checks without a daemon. A container with a health check gets, when it starts,
// one small background shell loop: `sleep <interval>; berth healthcheck run <id>` over and over.
// Each run is a short berth process that execs the probe in the container (runc exec), records
// the result in the database and exits; between runs only `sh` and `sleep` exist. conmon has no
// health checks of its own (podman drives them from systemd timers, which berth cannot assume),
// and a Node process per container is what berth's design rules out. The loop's pid and start
// time are in the container's bookkeeping; stopping, exiting or removing the container kills
// its process group, and the loop also ends by itself once the container no longer runs.
import { readFileSync } from 'node:fs';
import type { ContainerPaths } from '../container/paths.js';
import type { ContainerRecord, ContainerStore } from '../container/store.js';
import {
  applyProbe,
  goDuration,
  healthOnStart,
  probeCommand,
  probeIntervalNs,
  probeTimeoutNs,
  type ProbeResult,
} from '../container/health.js';
import { BerthError, ConflictError, InvalidArgumentError, NotFoundError, SystemError } from '../errors.js';
import type { OciRuntime } from '../runtime/runtime.js';
import type { OciProcess, OciSpec } from '../runtime/spec.js';
import { killBackground, spawnBackground } from '../sys/background.js';
import { lock } from '../sys/lock.js';
import type { HealthState } from './engine.js';

const LOCK_WAIT_MS = 60_000;
/**
 * The loop: $0 is the interval in seconds, the rest the `berth healthcheck run` command line.
 * That command exits 125 when the container is gone or stopped, which ends the loop.
 */
const LOOP = 'while sleep "$0"; do "$@"; [ $? -lt 125 ] || exit 0; done';

export interface HealthDeps {
  store: ContainerStore;
  runtime: OciRuntime;
  paths: (id: string) => ContainerPaths;
  /** The berth command line up to the subcommand (program, script, --root, --runroot). */
  berthCommand: string[];
}

export class ContainerHealth {
  constructor(private readonly deps: HealthDeps) {}

  /** Whether the container has a health check to run. */
  static enabled(rec: ContainerRecord): boolean {
    return probeCommand(rec.config.Healthcheck) !== null;
  }

  /** Starts the check loop of a container that has just started; the caller holds its lock and saves the record. */
  startMonitor(rec: ContainerRecord): void {
    if (!ContainerHealth.enabled(rec)) return;
    const seconds = String(probeIntervalNs(rec.config.Healthcheck) / 1e9);
    rec.book.healthMonitor = spawnBackground('/bin/sh', ['-c', LOOP, seconds, ...this.deps.berthCommand, 'healthcheck', 'run', rec.id]);
  }

  /** Ends the check loop (and a check in progress); the caller holds the lock and saves the record. */
  stopMonitor(rec: ContainerRecord): void {
    if (!rec.book.healthMonitor) return;
    killBackground(rec.book.healthMonitor);
    rec.book.healthMonitor = null;
  }

  /** Runs the probe once and records its result (`berth healthcheck run`). */
  async run(rec: ContainerRecord): Promise<HealthState> {
    const hc = rec.config.Healthcheck;
    const cmd = probeCommand(hc);
    if (!cmd) throw new InvalidArgumentError('no_healthcheck', `container ${rec.name} has no defined healthcheck`);
    // A paused container cannot run the probe; its status stays as it was, as Docker's does.
    if (rec.state.Status === 'paused') return rec.state.Health ?? healthOnStart(undefined);
    if (rec.state.Status !== 'running') throw new ConflictError('container_not_running', `container ${rec.name} is not running`);
    const result = await this.probe(rec, cmd, probeTimeoutNs(hc));
    const held = await lock(this.deps.paths(rec.id).lock, LOCK_WAIT_MS);
    if (!held) throw new SystemError('container_locked', `container ${rec.id} is busy: another berth process holds its lock`);
    try {
      const fresh = this.deps.store.get(rec.id);
      // Stopped or restarted while the probe ran: the result belongs to a run that is over.
      if (!fresh || fresh.state.Status !== 'running' || fresh.state.StartedAt !== rec.state.StartedAt) {
        throw new ConflictError('container_not_running', `container ${rec.name} is not running`);
      }
      const before = fresh.state.Health ?? healthOnStart(undefined);
      const after = applyProbe(before, result, hc, fresh.state.StartedAt);
      fresh.state = { ...fresh.state, Health: after };
      this.deps.store.save(fresh);
      if (after.Status !== before.Status) this.deps.store.event(`health_status: ${after.Status}`, fresh);
      return after;
    } finally {
      held.release();
    }
  }

  /** Execs the probe in the container, as its own process would run (user, env, capabilities). */
  private async probe(rec: ContainerRecord, cmd: string[], timeoutNs: number): Promise<ProbeResult> {
    const spec = JSON.parse(readFileSync(this.deps.paths(rec.id).configJson, 'utf8')) as OciSpec;
    const proc: OciProcess = { ...spec.process, args: cmd, terminal: false };
    const start = new Date();
    try {
      const r = await this.deps.runtime.exec(rec.id, proc, { timeoutMs: Math.max(1, Math.round(timeoutNs / 1e6)) });
      return { start, end: new Date(), exitCode: r.exitCode, output: Buffer.concat([r.stdout, r.stderr]).toString('utf8') };
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof ConflictError) throw err;
      const output = err instanceof BerthError && err.code === 'exec_killed' ? `Health check exceeded timeout (${goDuration(timeoutNs)})` : (err as Error).message;
      return { start, end: new Date(), exitCode: -1, output };
    }
  }
}
