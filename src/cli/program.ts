// The command tree. Flags and names follow the docker CLI; each command talks only to the
// Engine interface.
import { Command, CommanderError } from 'commander';
import type { Engine } from '../engine/engine.js';
import { berthVersion } from '../version.js';
import { engineFor, type GlobalOptions } from './context.js';
import { exitUsage, reportError } from './errors.js';
import { registerContainerCommands } from './commands/containers.js';
import { registerContainerFsCommands } from './commands/container-fs.js';
import { registerImageCommands } from './commands/images.js';
import { registerRegistryCommands } from './commands/registry.js';
import { registerSystemCommands } from './commands/system.js';
import { registerVolumeCommands } from './commands/volumes.js';
import { registerNetworkCommands } from './commands/networks.js';
import { registerEventCommands } from './commands/events.js';
import { registerResourceCommands } from './commands/resources.js';

export type Action = (engine: Engine) => Promise<number | void>;

export interface Cli {
  program: Command;
  /** Runs an engine action with Docker's error reporting and exit codes. */
  run(action: Action): Promise<void>;
}

/** Repeated flags (`--filter a --filter b`) collect into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export async function runCli(argv: string[]): Promise<void> {
  const program = new Command('berth');
  program
    .description('A Docker-compatible container engine')
    .version(`berth version ${berthVersion}`, '-v, --version', 'Print version information and quit')
    .option('--root <dir>', 'Root of persistent state (default /var/lib/berth, or $BERTH_ROOT)')
    .option('--runroot <dir>', 'Root of runtime state (default /run/berth, or $BERTH_RUNROOT)')
    .option('-D, --debug', 'Enable debug output')
    .enablePositionalOptions()
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, '') + `See 'berth --help'.\n`),
    });

  let engine: Engine | undefined;
  const cli: Cli = {
    program,
    async run(action) {
      const globals = program.opts<GlobalOptions>();
      try {
        engine ??= await engineFor(globals);
        const code = await action(engine);
        if (typeof code === 'number') process.exitCode = code;
      } catch (err) {
        process.exitCode = reportError(err, globals.debug === true);
      }
    },
  };
  registerContainerCommands(cli);
  registerContainerFsCommands(cli);
  registerResourceCommands(cli);
  registerImageCommands(cli);
  registerRegistryCommands(cli);
  registerSystemCommands(cli);
  registerVolumeCommands(cli);
  registerNetworkCommands(cli);
  registerEventCommands(cli);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      process.exitCode = err.exitCode === 0 ? 0 : exitUsage;
      return;
    }
    throw err;
  }
}
