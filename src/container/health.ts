// Health checks as Docker defines them: the probe a container's HEALTHCHECK (or --health-*)
// names, the defaults, and how probe results move the status between starting, healthy and
// unhealthy. Pure; running the probe and scheduling it is the engine's (src/engine/container-health.ts).
import type { HealthConfig, HealthState } from '../engine/engine.js';
import { InvalidArgumentError } from '../errors.js';

const SECOND_NS = 1e9;
export const DEFAULT_INTERVAL_NS = 30 * SECOND_NS;
export const DEFAULT_TIMEOUT_NS = 30 * SECOND_NS;
export const DEFAULT_RETRIES = 3;
const MIN_DURATION_NS = 1e6;
const MAX_LOG_ENTRIES = 5;
const MAX_OUTPUT_BYTES = 4096;

export interface ProbeResult {
  start: Date;
  end: Date;
  /** -1 when the probe could not run or timed out. */
  exitCode: number;
  output: string;
}

/**
 * Docker's merge: the container's settings win, and the ones it leaves at zero come from the
 * image. Zeros stay out, as Docker's JSON omits them.
 */
export function mergeHealthcheck(user: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | undefined {
  if (!user) return image;
  if (!image) return user;
  const merged: HealthConfig = {
    Test: user.Test?.length ? user.Test : image.Test,
    Interval: user.Interval || image.Interval,
    Timeout: user.Timeout || image.Timeout,
    StartPeriod: user.StartPeriod || image.StartPeriod,
    Retries: user.Retries || image.Retries,
  };
  return Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined && v !== 0)) as HealthConfig;
}

/** The daemon's checks of a create request's health check. */
export function checkHealthcheck(hc: HealthConfig | undefined): void {
  if (!hc) return;
  const tooShort = (name: string, v: number | undefined) => {
    if (v && v < MIN_DURATION_NS) throw new InvalidArgumentError('invalid_healthcheck', `${name} in Healthcheck cannot be less than 1ms`);
  };
  tooShort('Interval', hc.Interval);
  tooShort('Timeout', hc.Timeout);
  if ((hc.Retries ?? 0) < 0) throw new InvalidArgumentError('invalid_healthcheck', 'Retries in Healthcheck cannot be negative');
  tooShort('StartPeriod', hc.StartPeriod);
}

/** The probe's command line, or null when the container has no health check (none, or NONE). */
export function probeCommand(hc: HealthConfig | undefined): string[] | null {
  const test = hc?.Test ?? [];
  if (test[0] === 'CMD' && test.length > 1) return test.slice(1);
  if (test[0] === 'CMD-SHELL' && test.length > 1) return ['/bin/sh', '-c', test.slice(1).join(' ')];
  // NONE disables it; Docker ignores any other type with a warning in its log.
  return null;
}

export const probeTimeoutNs = (hc: HealthConfig | undefined) => hc?.Timeout || DEFAULT_TIMEOUT_NS;
export const probeIntervalNs = (hc: HealthConfig | undefined) => hc?.Interval || DEFAULT_INTERVAL_NS;

/** The status a (re)started container begins with; the log of earlier probes stays. */
export function healthOnStart(previous: HealthState | undefined): HealthState {
  return { Status: 'starting', FailingStreak: 0, Log: previous?.Log ?? [] };
}

function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/Z$/, '000000Z');
}

/**
 * Docker's handleProbeResult: success makes the container healthy; a failure counts towards
 * the retries (except while a starting container is in its start period), and reaching them
 * makes it unhealthy.
 */
export function applyProbe(h: HealthState, r: ProbeResult, hc: HealthConfig | undefined, startedAt: string): HealthState {
  let output = r.output;
  if (Buffer.byteLength(output) > MAX_OUTPUT_BYTES) output = Buffer.from(output).subarray(0, MAX_OUTPUT_BYTES).toString('utf8');
  const log = [...h.Log, { Start: rfc3339Nano(r.start), End: rfc3339Nano(r.end), ExitCode: r.exitCode, Output: output }].slice(-MAX_LOG_ENTRIES);
  if (r.exitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log: log };
  const startPeriodMs = (hc?.StartPeriod ?? 0) / 1e6;
  if (h.Status === 'starting' && r.start.getTime() - Date.parse(startedAt) < startPeriodMs) return { ...h, Log: log };
  const streak = h.FailingStreak + 1;
  return { Status: streak >= (hc?.Retries || DEFAULT_RETRIES) ? 'unhealthy' : h.Status, FailingStreak: streak, Log: log };
}

/** What `ps` adds to "Up 3 minutes". */
export function healthText(h: HealthState): string {
  return h.Status === 'starting' ? 'health: starting' : h.Status;
}

/** Go's time.Duration.String for nanoseconds ("1s", "1m30s", "500ms"), as Docker's messages print durations. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let u = Math.abs(Math.round(ns));
  const frac = (v: number, unit: number) => {
    const whole = Math.floor(v / unit);
    const rest = v - whole * unit;
    if (rest === 0) return String(whole);
    const digits = String(unit).length - 1;
    return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
  };
  if (u < 1e3) return `${sign}${u}ns`;
  if (u < 1e6) return `${sign}${frac(u, 1e3)}µs`;
  if (u < 1e9) return `${sign}${frac(u, 1e6)}ms`;
  const h = Math.floor(u / 3.6e12);
  u -= h * 3.6e12;
  const m = Math.floor(u / 6e10);
  u -= m * 6e10;
  return `${sign}${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${frac(u, 1e9)}s`;
}
