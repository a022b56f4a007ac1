// Registry commands: pull, push (also as `image pull|push`), login, logout, search, with the
// docker CLI's flags, messages and progress display.
import type { Command } from 'commander';
import { lazy } from '../../builtins.js';
import type { ProgressMessage } from '../../engine/engine.js';
import { BerthError, InvalidArgumentError } from '../../errors.js';
import { parseReference } from '../../image/reference.js';
import { collect, type Cli } from '../program.js';
import { renderList } from '../output.js';
import { ProgressRenderer } from '../progress.js';
import { UsageError } from '../errors.js';
import { parseFilterArgs } from './filters.js';

function progressTo(quiet: boolean | undefined): (m: ProgressMessage) => void {
  if (quiet) return () => undefined;
  const renderer = new ProgressRenderer(process.stdout, process.stdout.isTTY === true);
  return (m) => renderer.write(m);
}

/** Whether a name carries no tag or digest, so that Docker's "Using default tag" applies. */
function nameOnly(ref: string): boolean {
  const parsed = parseReference(ref);
  return parsed.tag === undefined && parsed.digest === undefined;
}

export function registerRegistryCommands(cli: Cli): void {
  const { program } = cli;
  const image = program.commands.find((c) => c.name() === 'image');

  for (const parent of [program, image].filter((c): c is Command => c !== undefined)) {
    parent
      .command('pull')
      .description('Download an image from a registry')
      .argument('<name>', 'NAME[:TAG|@DIGEST]')
      .option('-a, --all-tags', 'Download all tagged images in the repository')
      .option('--platform <platform>', 'Set platform if server is multi-platform capable (os/arch[/variant])')
      .option('-q, --quiet', 'Suppress verbose output')
      .option('--disable-content-trust', 'Skip image verification (berth does not verify signatures; accepted for compatibility)')
      .action((name: string, o: { allTags?: boolean; platform?: string; quiet?: boolean }) =>
        cli.run(async (engine) => {
          if (!o.allTags && !o.quiet && nameOnly(name)) process.stdout.write('Using default tag: latest\n');
          const result = await engine.imagePull(name, { platform: o.platform, allTags: o.allTags }, progressTo(o.quiet));
          process.stdout.write(result.reference + '\n');
        }),
      );

    parent
      .command('push')
      .description('Upload an image to a registry')
      .argument('<name>', 'NAME[:TAG]')
      .option('-a, --all-tags', 'Push all tags of an image to the repository')
      .option('-q, --quiet', 'Suppress verbose output')
      .option('--disable-content-trust', 'Skip image signing (berth does not sign; accepted for compatibility)')
      .action((name: string, o: { allTags?: boolean; quiet?: boolean }) =>
        cli.run(async (engine) => {
          if (!o.allTags && !o.quiet && nameOnly(name)) process.stdout.write('Using default tag: latest\n');
          const result = await engine.imagePush(name, { allTags: o.allTags }, progressTo(o.quiet));
          if (o.quiet) process.stdout.write(result.reference + '\n');
        }),
      );
  }

  program
    .command('login')
    .description('Log in to a registry (Docker Hub when no server is given)')
    .argument('[server]')
    .option('-u, --username <username>', 'Username')
    .option('-p, --password <password>', 'Password')
    .option('--password-stdin', 'Take the password from stdin')
    .action((server: string | undefined, o: { username?: string; password?: string; passwordStdin?: boolean }) =>
      cli.run(async (engine) => {
        let { username, password } = o;
        if (password !== undefined && o.passwordStdin) throw new InvalidArgumentError('invalid_flags', '--password and --password-stdin are mutually exclusive');
        if (o.passwordStdin) {
          if (!username) throw new InvalidArgumentError('invalid_flags', 'Must provide --username with --password-stdin');
          password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
        } else if (password !== undefined) {
          process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
        }
        const notATty = (): Error => new InvalidArgumentError('not_a_tty', 'Cannot perform an interactive login from a non TTY device');
        if (username === undefined && password === undefined) {
          // As docker does: saved credentials first; only a terminal can be asked for new ones.
          try {
            await engine.login(server);
            process.stdout.write('Authenticating with existing credentials...\nLogin Succeeded\n');
            return;
          } catch (err) {
            if (!process.stdin.isTTY) throw err instanceof BerthError && err.code === 'no_credentials' ? notATty() : err;
          }
        }
        if (!username || password === undefined) {
          if (!process.stdin.isTTY) throw notATty();
          username ||= (await promptLine('Username: ')).trim();
          password ??= await promptHidden('Password: ');
        }
        const result = await engine.login(server, username, password);
        if (result.plaintext) {
          process.stderr.write(
            `WARNING! Your password will be stored unencrypted in ${result.configFile}.\n` +
              'Configure a credential helper to remove this warning. See\n' +
              'https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n',
          );
        }
        process.stdout.write(`${result.Status}\n`);
      }),
    );

  program
    .command('logout')
    .description('Log out from a registry (Docker Hub when no server is given)')
    .argument('[server]')
    .action((server: string | undefined) =>
      cli.run(async (engine) => {
        const { removed, serverAddress } = await engine.logout(server);
        process.stdout.write(removed ? `Removing login credentials for ${serverAddress}\n` : `Not logged in to ${serverAddress}\n`);
      }),
    );

  program
    .command('search')
    .description('Search a registry for images (Docker Hub, or HOST/TERM for another registry)')
    .argument('<term>')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided (stars=N, is-official=true|false, is-automated=true|false)', collect)
    .option('--format <string>', 'Pretty-print search using a Go template')
    .option('--limit <n>', 'Max number of search results', '25')
    .option('--no-trunc', "Don't truncate output")
    .action((term: string, o: { filter?: string[]; format?: string; limit: string; trunc: boolean }) =>
      cli.run(async (engine) => {
        const limit = Number(o.limit);
        if (!/^\d+$/.test(o.limit)) throw new UsageError(`invalid argument "${o.limit}" for "--limit" flag: it is not a number`);
        const results = await engine.imageSearch(term, { limit, filters: parseFilterArgs(o.filter ?? []) });
        const rows = results.map((r) => {
          const description = r.description.replace(/\s*\n\s*/g, ' ');
          return {
            Name: r.name,
            Description: o.trunc && [...description].length > 45 ? [...description].slice(0, 44).join('') + '…' : description,
            StarCount: String(r.star_count),
            IsOfficial: r.is_official ? '[OK]' : '',
            IsAutomated: r.is_automated ? '[OK]' : '',
          };
        });
        process.stdout.write(
          renderList(rows, {
            format: o.format,
            // Docker 25 dropped AUTOMATED from the table; templates may still ask for it.
            defaultFormat: 'table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}',
            headers: { Name: 'NAME', Description: 'DESCRIPTION', StarCount: 'STARS', IsOfficial: 'OFFICIAL', IsAutomated: 'AUTOMATED' },
          }),
        );
      }),
    );
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

async function promptLine(question: string): Promise<string> {
  const rl = lazy.readlinePromises.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  process.stdout.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stdout.write('\n');
    };
    const onData = (data: Buffer): void => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          reject(new UsageError('login canceled'));
          return;
        }
        value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on('data', onData);
  });
}
