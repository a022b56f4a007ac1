// What every command gets: the engine (local or, later, remote) chosen by the global flags.
import type { Engine } from '../engine/engine.js';

export interface GlobalOptions {
  root?: string;
  runroot?: string;
  host?: string;
  debug?: boolean;
}

export async function engineFor(opts: GlobalOptions): Promise<Engine> {
  const [{ LocalEngine }, { resolvePaths }] = await Promise.all([import('../engine/local.js'), import('../engine/paths.js')]);
  return new LocalEngine(resolvePaths(opts));
}
