// Processes berth leaves running after it exits (a container's health-check loop). Each one
// leads its own session and process group, so nothing a terminal sends reaches it and one
// signal to the group ends it together with whatever it is running at that moment.
import { lazy } from '../builtins.js';
import { processAlive, processStartTime } from './pids.js';

export interface BackgroundProcess {
  pid: number;
  /** Its start time (clock ticks after boot), so that a reused pid is never signalled. */
  start: number;
}

/** Starts `file` detached, with no stdio, and returns at once. */
export function spawnBackground(file: string, args: readonly string[]): BackgroundProcess {
  const child = lazy.childProcess.spawn(file, args, { detached: true, stdio: 'ignore' });
  // A failure to exec is reported asynchronously; the caller sees a process that is gone.
  child.on('error', () => undefined);
  child.unref();
  const pid = child.pid ?? 0;
  return { pid, start: processStartTime(pid) ?? 0 };
}

/** Kills the process group a background process leads, if that process still lives. */
export function killBackground(p: BackgroundProcess): void {
  if (p.pid <= 0 || !processAlive(p.pid, p.start)) return;
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    // exited meanwhile
  }
}

/** SIGKILL to one process; one that is gone already is not an error. */
export function killProcess(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
