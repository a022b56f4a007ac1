// Where berth keeps its state. Flags win over the environment, which wins over defaults.
import { join } from 'node:path';

export interface EnginePaths {
  /** Persistent state: database, content, layers, containers, volumes. */
  root: string;
  /** Runtime state that a reboot clears: runtime state dirs, sockets, locks. */
  runroot: string;
}

export function resolvePaths(opts: { root?: string; runroot?: string }, env: NodeJS.ProcessEnv = process.env): EnginePaths {
  return {
    root: opts.root ?? env.BERTH_ROOT ?? '/var/lib/berth',
    runroot: opts.runroot ?? env.BERTH_RUNROOT ?? '/run/berth',
  };
}

export function dbFile(paths: EnginePaths): string {
  return join(paths.root, 'berth.db');
}
