// The command tree. Flags and names follow the docker CLI; each command talks only to the
// Engine interface.
import { Command, CommanderError } from 'commander';
import type { Engine } from '../engine/engine.js';
import { berthVersion } from '../version.js';
import { engineFor, type GlobalOptions } from './context.js';
import { commandWords, GROUP_COMMANDS } from './argv.js';
import { exitUsage, reportError } from './errors.js';
import { registerContainerCommands, registerRunCommands } from './commands/containers.js';
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

export interface Registrar {
  register: (cli: Cli) => void;
  /** The top-level commands it defines (it may add subcommands to groups too). */
  commands: readonly string[];
  /** The registrar whose group commands it adds to, which must come first. */
  needs?: Registrar;
}

const containers: Registrar = { register: registerContainerCommands, commands: ['container', 'start', 'stop', 'restart', 'kill', 'rm', 'wait', 'rename', 'pause', 'unpause', 'top', 'logs', 'exec', 'attach', 'ps'] };
const images: Registrar = { register: registerImageCommands, commands: ['image', 'images', 'rmi', 'tag', 'history', 'load', 'save', 'import', 'prune'] };
const system: Registrar = { register: registerSystemCommands, commands: ['system', 'info', 'version', 'inspect'] };

/** Every registrar, in the order that builds the whole tree. */
export const REGISTRARS: readonly Registrar[] = [
  { register: registerRunCommands, commands: ['run', 'create'] },
  containers,
  { register: registerContainerFsCommands, commands: ['cp', 'diff', 'export', 'commit'], needs: containers },
  { register: registerResourceCommands, commands: ['stats', 'update', 'healthcheck'], needs: containers },
  images,
  { register: registerRegistryCommands, commands: ['pull', 'push', 'login', 'logout', 'search'], needs: images },
  system,
  { register: registerVolumeCommands, commands: ['volume'] },
  { register: registerNetworkCommands, commands: ['network', 'port'] },
  { register: registerEventCommands, commands: ['events'], needs: system },
];

/**
 * The registrars a command line needs: defining all ~80 commands costs several milliseconds
 * at every start, so a top-level command gets only its own. Groups (their subcommands come
 * from several registrars), no command (`berth --help`) and unknown words get the whole tree.
 */
export function registrarsFor(argv: readonly string[]): readonly Registrar[] {
  const [word] = commandWords(argv);
  const owner = word && !GROUP_COMMANDS.has(word) ? REGISTRARS.find((r) => r.commands.includes(word)) : undefined;
  if (!owner) return REGISTRARS;
  return owner.needs ? [owner.needs, owner] : [owner];
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
  for (const r of registrarsFor(argv)) r.register(cli);

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
