// `berth run`'s argument parsing for the unit tests: commander with run's flags, as the CLI
// sets it up, then the request builder.
import { Command } from 'commander';
import { addRunFlags, buildRunRequest, normalizeBoolFlags, type RunFlagContext, type RunRequest } from '../../src/cli/commands/run-flags.js';

/** Parses argv the way `berth run` does and builds the request. */
export function parseRun(argv: string[], ctx: RunFlagContext): RunRequest {
  const cmd = new Command('run').exitOverride().argument('<image>').argument('[command...]').passThroughOptions();
  addRunFlags(cmd, { run: true });
  let req: RunRequest | undefined;
  cmd.action((image: string, command: string[], o) => {
    req = buildRunRequest(o, image, command, ctx);
  });
  cmd.parse(normalizeBoolFlags(argv), { from: 'user' });
  return req!;
}
