// How a container's state reads to people, as Docker prints it: the STATUS column, and the
// signals that `kill -s` and `--stop-signal` take.
import { constants as osConstants } from 'node:os';
import { InvalidArgumentError } from '../errors.js';
import { healthText } from './health.js';
import { ZERO_TIME, type ContainerRecord } from './store.js';

export const SIGNALS = osConstants.signals as Record<string, number>;

/** Docker's signal parsing: a number, or a name with or without SIG, in any case. */
export function parseSignal(value: string): { name: string; number: number } {
  const v = value.trim().toUpperCase();
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === n && k !== 'SIGIOT' && k !== 'SIGPOLL');
    if (!name || n <= 0) throw new InvalidArgumentError('invalid_signal', `Invalid signal: ${value}`);
    return { name, number: n };
  }
  const name = v.startsWith('SIG') ? v : `SIG${v}`;
  const n = SIGNALS[name];
  if (n === undefined) throw new InvalidArgumentError('invalid_signal', `Invalid signal: ${value}`);
  return { name, number: n };
}

/** Docker's one-line status: "Up 3 seconds", "Exited (0) 5 seconds ago", "Created"… */
export function statusText(rec: ContainerRecord, nowMs = Date.now()): string {
  const s = rec.state;
  const since = (t: string) => humanDuration(nowMs - Date.parse(t));
  switch (s.Status) {
    case 'running':
      return s.Health ? `Up ${since(s.StartedAt)} (${healthText(s.Health)})` : `Up ${since(s.StartedAt)}`;
    case 'paused':
      return `Up ${since(s.StartedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      if (s.StartedAt === ZERO_TIME) return 'Created';
      if (s.FinishedAt === ZERO_TIME) return '';
      return `Exited (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
  }
}

/** go-units HumanDuration; the engine computes the status text (it is part of the API), so it cannot use the CLI's. */
function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(hours / 24 / 365)} years`;
}
