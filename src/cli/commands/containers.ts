// Container commands: run, create, start, stop, restart, kill, rm, ps, logs, wait, rename,
// pause, unpause, top, exec, attach, container prune/inspect, and the hidden
// `container cleanup` that conmon runs when a container exits.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import type { ContainerAttachment, ContainerSummary, Engine } from '../../engine/engine.js';
import { BerthError, InvalidArgumentError } from '../../errors.js';
import { enableTiming, mark, timingReport } from '../../timing.js';
import { renderInspect, renderList, withLabelMethod } from '../output.js';
import { collect, type Cli } from '../program.js';
import { tabwrite } from '../table.js';
import { goTime, humanSize, timeAgo } from '../units.js';
import { displayPorts, type DisplayPort } from '../ports.js';
import { ProgressRenderer } from '../progress.js';
import { confirm } from './confirm.js';
import { parseFilterArgs } from './filters.js';
import { parseDetachKeys } from '../../container/detach-keys.js';
import { setRawTerminal } from '../../sys/terminal.js';
import { addRunFlags, buildRunRequest, normalizeBoolFlags, parseKeyValueFile, type RunFlagValues, type RunRequest } from './run-flags.js';

/** docker run's exit code for failures of berth itself, before the container's command ran. */
const EXIT_ENGINE = 125;

export const psHeaders = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
  LocalVolumes: 'LOCAL VOLUMES',
};

const DEFAULT_IMAGE_NAMES = new Set(
  ['busybox', 'library/busybox', 'docker.io/library/busybox', 'index.docker.io/library/busybox'].flatMap((n) => [n, `${n}:latest`]),
);

/** `name` with Docker's default tag when it has neither tag nor digest. */
function withLatest(ref: string): string {
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return last.includes(':') || ref.includes('@') ? ref : `${ref}:latest`;
}

function exitCodeOf(err: unknown): number {
  const code = (err as { exitCode?: unknown }).exitCode;
  return typeof code === 'number' ? code : EXIT_ENGINE;
}

function printError(err: unknown): void {
  process.stderr.write(`Error: ${(err as Error)?.message ?? String(err)}\n`);
}

/**
 * Docker's error handling for run/create: for run, anything failing before the container's
 * command runs is 125 (126/127 when the command cannot be run or found). docker create exits
 * 125 for a bad flag or flag combination (docker's client refuses it) and 1 for what the
 * engine refuses (no such image, a name in use).
 */
async function withRunExitCodes(fn: () => Promise<number>, debug: boolean, run: boolean): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    printError(err);
    if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    if (!run) return err instanceof InvalidArgumentError ? 125 : 1;
    return exitCodeOf(err);
  }
}

/** Pulls the image of a run or create, its progress on stderr as docker run shows it. */
async function pullForRun(engine: Engine, req: RunRequest): Promise<void> {
  const renderer = req.quiet ? undefined : new ProgressRenderer(process.stderr, process.stderr.isTTY === true);
  await engine.imagePull(req.body.Image, { platform: req.platform }, (m) => renderer?.write(m));
}

/**
 * Creates the container, pulling its image first with --pull always, or when it is missing
 * (--pull missing, the default). A missing busybox:latest is made from the host instead
 * (berth's embedded default image).
 */
async function createContainer(engine: Engine, req: RunRequest): Promise<string> {
  const ref = req.body.Image;
  if (req.pull === 'always') await pullForRun(engine, req);
  const create = () => engine.containerCreate(req.body, { name: req.name, platform: req.platform });
  let created;
  try {
    created = await create();
  } catch (err) {
    if (!(err instanceof BerthError) || err.code !== 'image_not_found' || req.pull !== 'missing') throw err;
    if (DEFAULT_IMAGE_NAMES.has(ref)) {
      await engine.ensureDefaultImage();
      mark('create default image');
    } else {
      process.stderr.write(`Unable to find image '${withLatest(ref)}' locally\n`);
      await pullForRun(engine, req);
    }
    created = await create();
  }
  for (const w of created.Warnings) process.stderr.write(`WARNING: ${w}\n`);
  return created.Id;
}

/**
 * --cidfile: docker refuses a file that exists (another container may own it), and removes
 * the file it made when the create fails.
 */
async function createWithCidfile(engine: Engine, req: RunRequest): Promise<string> {
  const file = req.cidfile;
  if (!file) return createContainer(engine, req);
  try {
    writeFileSync(file, '', { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new InvalidArgumentError('cidfile_exists', `container ID file found, make sure the other container isn't running or delete ${file}`);
    }
    throw new InvalidArgumentError('cidfile_create', `failed to create the container ID file: ${(err as Error).message}`);
  }
  try {
    const id = await createContainer(engine, req);
    writeFileSync(file, id);
    return id;
  } catch (err) {
    rmSync(file, { force: true });
    throw err;
  }
}

interface AttachedRun {
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  sigProxy: boolean;
  /** --detach-keys; unset for Docker's ctrl-p,ctrl-q. */
  detachKeys?: string;
  /** Remove the container if its start fails (run --rm). */
  removeOnFailure: boolean;
  /** Start the container once attached (run, start -a); attach alone does not. */
  start: boolean;
  /** Report a detach as Docker's attach does ("read escape sequence", exit 1); run and start -a exit 0. */
  reportDetach?: boolean;
}

/**
 * Docker's CheckTty: a terminal session that takes the client's input needs the input to be a
 * terminal. Prints Docker's message; true when the session cannot go on.
 */
function inputIsNotATty(attachStdin: boolean, tty: boolean): boolean {
  if (!tty || !attachStdin || process.stdin.isTTY) return false;
  process.stderr.write('the input device is not a TTY\n');
  return true;
}

/** What Docker's attach and exec print when the detach keys end the session (and exit 1). */
function reportDetach(): number {
  process.stderr.write('read escape sequence\n');
  return 1;
}

/**
 * The attached part of run, start -a and attach: connect to the container's stdio before it
 * starts (so nothing it prints is lost), stream stdin, forward signals, and return its exit code.
 */
async function attachAndRun(engine: Engine, id: string, o: AttachedRun): Promise<number> {
  // A container that cannot start is removed when --rm asked for it (preparing it happens on attach).
  const failed = async (err: unknown): Promise<never> => {
    if (o.removeOnFailure) await engine.containerRemove(id, { force: true, volumes: true }).catch(() => undefined);
    throw err;
  };
  const detachKeys = o.detachKeys ?? (o.tty && o.stdin ? await configuredDetachKeys() : undefined);
  const attachment: ContainerAttachment = await engine
    .containerAttach(id, {
      stdin: o.stdin,
      stdout: o.stdout,
      stderr: o.stderr,
      ...(detachKeys !== undefined ? { detachKeys } : {}),
      onOutput: (stream, data) => (stream === 'stdout' ? process.stdout : process.stderr).write(data),
    })
    .catch(failed);
  // process.stdin is a stream made (and node's stream modules loaded, 2 ms) on first access:
  // only a session that takes input touches it.
  const stdin = o.stdin ? process.stdin : undefined;
  const rawTty = o.tty && stdin?.isTTY;
  const cleanups: (() => void)[] = [];
  try {
    if (o.tty && process.stdout.isTTY) {
      attachment.resize(process.stdout.rows, process.stdout.columns);
      cleanups.push(followResizes(process.stdout, (rows, columns) => attachment.resize(rows, columns)));
    }
    if (stdin) {
      // Writes go one at a time: the socket is a sequence of packets that must stay in order.
      let queue = Promise.resolve();
      const onData = (d: Buffer) => {
        stdin.pause();
        queue = queue.then(() => attachment.write(d)).catch(() => undefined).then(() => void stdin.resume());
      };
      const onEnd = () => {
        queue = queue.then(() => attachment.closeStdin());
      };
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      cleanups.push(() => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.destroy();
      });
    }
    // Keys go to the container as typed (Ctrl-C included); restored before stdin is closed.
    if (stdin && rawTty) cleanups.push(setRawTerminal(stdin));
    if (o.sigProxy && !o.tty) {
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) {
        const forward = () => void engine.containerKill(id, sig).catch(() => undefined);
        process.on(sig, forward);
        cleanups.push(() => process.off(sig, forward));
      }
    }
    if (o.start) {
      await engine.containerStart(id).catch(failed);
    }
    if ((await attachment.done) !== 'detached') {
      mark('container ran');
      const { StatusCode } = await engine.containerWait(id, 'not-running');
      mark('wait and clean up');
      return StatusCode;
    }
  } finally {
    for (const c of cleanups.reverse()) c();
    await attachment.detach();
  }
  // Detached with the detach keys: the container runs on. Reported once the terminal is restored.
  return o.reportDetach ? reportDetach() : 0;
}

/**
 * Calls `resize` with the terminal's size after it changes; returns what stops that. A burst of
 * changes (`stty rows R cols C` makes two) gives one call with the final size: conmon (2.1.6
 * here) applies only the first of several resizes that reach it together.
 */
function followResizes(out: NodeJS.WriteStream, resize: (rows: number, columns: number) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const onResize = () => {
    clearTimeout(timer);
    timer = setTimeout(() => resize(out.rows, out.columns), 20);
  };
  out.on('resize', onResize);
  return () => {
    clearTimeout(timer);
    out.off('resize', onResize);
  };
}

/**
 * The detach keys of Docker's client configuration ("detachKeys" in $DOCKER_CONFIG/config.json,
 * else ~/.docker/config.json), which apply when no --detach-keys is given.
 */
async function configuredDetachKeys(): Promise<string | undefined> {
  // Loaded only for an interactive terminal session: the registry code stays out of other commands.
  const { dockerConfigDir, parseDockerConfig } = await import('../../image/registry/credentials.js');
  const file = join(dockerConfigDir(), 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const keys = parseDockerConfig(text, file).detachKeys;
  return typeof keys === 'string' ? keys : undefined;
}

/**
 * `exec -t`: the process gets a terminal of its own, sized like the client's and resized with
 * it; with -i on a terminal, keys go to it as typed (raw mode, Ctrl-C included) until the
 * process ends or the detach keys are typed (the process runs on; reported as Docker does).
 */
async function execWithTerminal(engine: Engine, execId: string, interactive: boolean): Promise<number> {
  const stdin = process.stdin;
  const out = process.stdout;
  const cleanups: (() => void)[] = [];
  try {
    if (out.isTTY) {
      cleanups.push(followResizes(out, (rows, columns) => void engine.execResize(execId, rows, columns).catch(() => undefined)));
    }
    if (interactive) {
      cleanups.push(() => stdin.destroy());
      // Keys go to the process as typed (Ctrl-C included); restored before stdin is closed.
      cleanups.push(setRawTerminal(stdin));
    }
    const { exitCode, detached } = await engine.execStart(execId, {
      Tty: true,
      ...(out.isTTY ? { ConsoleSize: [out.rows, out.columns] as [number, number] } : {}),
      stdio: { stdin: interactive ? stdin : null, stdout: out, stderr: process.stderr },
    });
    if (!detached) return exitCode ?? 0;
  } finally {
    for (const c of cleanups.reverse()) c();
  }
  return reportDetach();
}

function runFlagsAction(cli: Cli, run: boolean) {
  return (image: string, command: string[], o: RunFlagValues) => {
    const debug = cli.program.opts().debug === true;
    if (debug) enableTiming();
    return cli.run(async (engine) => {
      mark('load engine');
      const code = await withRunExitCodes(async () => {
        const req = buildRunRequest(o, image, command, { env: process.env, readFile: (p) => readFileSync(p, 'utf8') });
        // create attaches nothing: as Docker, only run (and exec, attach) needs a terminal for -it.
        if (run && !req.detach && inputIsNotATty(req.body.AttachStdin ?? false, req.body.Tty ?? false)) return 1;
        if (req.body.Tty && process.stdout.isTTY) req.body.HostConfig = { ...req.body.HostConfig, ConsoleSize: [process.stdout.rows, process.stdout.columns] };
        mark('parse flags');
        const id = await createWithCidfile(engine, req);
        if (!run) {
          process.stdout.write(id + '\n');
          return 0;
        }
        if (req.detach) {
          try {
            await engine.containerStart(id);
          } catch (err) {
            if (req.body.HostConfig?.AutoRemove) await engine.containerRemove(id, { force: true, volumes: true }).catch(() => undefined);
            throw err;
          } finally {
            // As docker does, the ID is printed even when the start fails.
            process.stdout.write(id + '\n');
          }
          return 0;
        }
        return attachAndRun(engine, id, {
          tty: req.body.Tty ?? false,
          stdin: req.body.AttachStdin ?? false,
          stdout: req.body.AttachStdout ?? true,
          stderr: req.body.AttachStderr ?? true,
          sigProxy: req.sigProxy,
          ...(req.detachKeys !== undefined ? { detachKeys: req.detachKeys } : {}),
          removeOnFailure: req.body.HostConfig?.AutoRemove ?? false,
          start: true,
        });
      }, debug, run);
      if (debug) process.stderr.write(timingReport());
      return code;
    });
  };
}

/** Runs `fn` for each name, printing what Docker prints; any failure makes the exit code 1. */
async function forEach(names: string[], fn: (name: string) => Promise<string | void>): Promise<number> {
  let failed = false;
  for (const name of names) {
    try {
      const out = await fn(name);
      process.stdout.write((out ?? name) + '\n');
    } catch (err) {
      failed = true;
      printError(err);
    }
  }
  return failed ? 1 : 0;
}

const shortId = (id: string) => id.slice(0, 12);

/** docker's Ellipsis: at most `max` columns, the last one an ellipsis when cut. */
function ellipsis(s: string, max: number): string {
  const chars = [...s];
  return chars.length > max ? chars.slice(0, max - 1).join('') + '…' : s;
}

export function psRow(c: ContainerSummary, trunc: boolean): Record<string, string> {
  const image = /^sha256:[a-f0-9]{64}$/.test(c.Image) && trunc ? shortId(c.Image.slice(7)) : c.Image;
  return {
    ID: trunc ? shortId(c.Id) : c.Id,
    Image: image,
    Command: JSON.stringify(trunc ? ellipsis(c.Command, 20) : c.Command),
    CreatedAt: goTime(c.Created),
    RunningFor: timeAgo(c.Created),
    Ports: displayPorts(c.Ports as DisplayPort[]),
    State: c.State,
    Status: c.Status,
    Size: c.SizeRw === undefined ? '' : `${humanSize(c.SizeRw)} (virtual ${humanSize(c.SizeRootFs ?? 0)})`,
    Names: c.Names.map((n) => n.replace(/^\//, '')).join(','),
    Labels: Object.entries(c.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    // Docker's column: a volume by name, a bind by its host path.
    Mounts: c.Mounts.map((m) => (trunc ? ellipsis(m.Name || m.Source, 15) : m.Name || m.Source)).join(','),
    Networks: Object.keys(c.NetworkSettings.Networks).join(','),
    LocalVolumes: String(c.Mounts.filter((m) => m.Driver === 'local').length),
  };
}

/** Docker's log timestamps: UTC with nine fractional digits. */
function logTimestamp(time: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(time);
  if (!m) return time;
  const whole = new Date(Date.parse(m[1] + m[3])).toISOString().slice(0, 19);
  return `${whole}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}

/** --since/--until: RFC 3339, unix seconds, or a duration before now ("10m"). */
function logTime(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const dur = /^(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)$/.exec(value);
  if (dur) {
    const mult: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    return Date.now() / 1000 - Number(dur[1]) * mult[dur[2]];
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError('invalid_time', `invalid value for time: "${value}": use RFC 3339, unix seconds, or a duration such as 10m`);
  return t / 1000;
}

/**
 * `run` and `create`, on `parent` (the program, or the container group). The busiest commands
 * get a registrar of their own, so that `run` defines two commands at start, not thirty-odd.
 */
function defineRunCommands(cli: Cli, parent: Command): void {
  for (const run of [true, false]) {
    const cmd = parent
      .command(run ? 'run' : 'create')
      .description(run ? 'Create and run a new container from an image' : 'Create a new container')
      .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
      .argument('<image>')
      .argument('[command...]')
      .passThroughOptions();
    // run's ~100 flags, on four commands (run, create, container run and create), took about
    // 5 ms to define at the start of every container command: a command gets them when it
    // parses its own arguments or prints its help (`berth help run` skips the parsing).
    let flagged = false;
    const withFlags = (): Command => {
      if (!flagged) addRunFlags(cmd, { run });
      flagged = true;
      return cmd;
    };
    // Docker's booleans accept --flag=false; commander's do not, so those are rewritten first.
    cmd.parseOptions = (argv: string[]) => Command.prototype.parseOptions.call(withFlags(), normalizeBoolFlags(argv));
    cmd.helpInformation = (context) => Command.prototype.helpInformation.call(withFlags(), context);
    cmd.action(runFlagsAction(cli, run));
  }
}

export function registerRunCommands(cli: Cli): void {
  defineRunCommands(cli, cli.program);
}

export function registerContainerCommands(cli: Cli): void {
  const { program } = cli;
  const container = program.command('container').description('Manage containers').enablePositionalOptions();
  defineRunCommands(cli, container);

  for (const parent of [program, container]) {
    parent
      .command('start')
      .description('Start one or more stopped containers')
      .argument('<container...>')
      .option('-a, --attach', "Attach STDOUT/STDERR and forward signals")
      .option('-i, --interactive', "Attach container's STDIN")
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .action((names: string[], o: { attach?: boolean; interactive?: boolean; detachKeys?: string }) =>
        cli.run(async (engine) => {
          if (!o.attach && !o.interactive) return forEach(names, (n) => engine.containerStart(n));
          if (o.detachKeys !== undefined) parseDetachKeys(o.detachKeys);
          if (names.length > 1) throw new InvalidArgumentError('start_attach_many', 'you cannot start and attach multiple containers at once');
          const info = await engine.containerInspect(names[0]);
          const stdin = !!o.interactive && info.Config.OpenStdin;
          if (inputIsNotATty(stdin, info.Config.Tty)) return 1;
          // Docker's start -a of a running container attaches to it.
          return attachAndRun(engine, info.Id, {
            tty: info.Config.Tty,
            stdin,
            stdout: true,
            stderr: true,
            sigProxy: true,
            ...(o.detachKeys !== undefined ? { detachKeys: o.detachKeys } : {}),
            removeOnFailure: false,
            start: !info.State.Running,
          }).catch((err) => {
            printError(err);
            return 1;
          });
        }),
      );

    for (const [verb, description] of [
      ['stop', 'Stop one or more running containers'],
      ['restart', 'Restart one or more containers'],
    ] as const) {
      parent
        .command(verb)
        .description(description)
        .argument('<container...>')
        .option('-t, --time <seconds>', 'Seconds to wait before killing the container')
        .option('-s, --signal <signal>', 'Signal to send to the container')
        .action((names: string[], o: { time?: string; signal?: string }) =>
          cli.run((engine) => {
            const opts = { timeout: seconds(o.time), signal: o.signal };
            return forEach(names, (n) => (verb === 'stop' ? engine.containerStop(n, opts) : engine.containerRestart(n, opts)));
          }),
        );
    }

    parent
      .command('kill')
      .description('Kill one or more running containers')
      .argument('<container...>')
      .option('-s, --signal <signal>', 'Signal to send to the container', 'KILL')
      .action((names: string[], o: { signal: string }) => cli.run((engine) => forEach(names, (n) => engine.containerKill(n, o.signal))));

    parent
      .command('rm')
      .aliases(parent === program ? [] : ['remove'])
      .description('Remove one or more containers')
      .argument('<container...>')
      .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
      .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
      .action((names: string[], o: { force?: boolean; volumes?: boolean }) =>
        cli.run((engine) => forEach(names, (n) => engine.containerRemove(n, { force: o.force, volumes: o.volumes }))),
      );

    parent
      .command('wait')
      .description('Block until one or more containers stop, then print their exit codes')
      .argument('<container...>')
      .action((names: string[]) =>
        cli.run((engine) => forEach(names, async (n) => String((await engine.containerWait(n, 'not-running')).StatusCode))),
      );

    parent
      .command('rename')
      .description('Rename a container')
      .argument('<container>')
      .argument('<new-name>')
      .action((name: string, newName: string) => cli.run((engine) => engine.containerRename(name, newName)));

    parent
      .command('pause')
      .description('Pause all processes within one or more containers')
      .argument('<container...>')
      .action((names: string[]) => cli.run((engine) => forEach(names, (n) => engine.containerPause(n))));

    parent
      .command('unpause')
      .description('Unpause all processes within one or more containers')
      .argument('<container...>')
      .action((names: string[]) => cli.run((engine) => forEach(names, (n) => engine.containerUnpause(n))));

    parent
      .command('top')
      .description('Display the running processes of a container')
      .argument('<container>')
      .argument('[ps-options...]')
      .passThroughOptions()
      .action((name: string, psArgs: string[]) =>
        cli.run(async (engine) => {
          const top = await engine.containerTop(name, psArgs.join(' '));
          process.stdout.write(tabwrite([top.Titles, ...top.Processes].map((r) => r.join('\t') + '\n').join('')));
        }),
      );

    parent
      .command('logs')
      .description('Fetch the logs of a container')
      .argument('<container>')
      .option('-f, --follow', 'Follow log output')
      .option('--since <string>', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
      .option('--until <string>', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
      .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
      .option('-t, --timestamps', 'Show timestamps')
      .option('--details', 'Show extra details provided to logs')
      .action((name: string, o: { follow?: boolean; since?: string; until?: string; tail: string; timestamps?: boolean; details?: boolean }) =>
        cli.run(async (engine) => {
          const tail = /^\d+$/.test(o.tail) ? Number(o.tail) : 'all';
          const entries = engine.containerLogs(name, {
            follow: o.follow,
            tail,
            timestamps: o.timestamps,
            ...(o.since ? { since: logTime(o.since) } : {}),
            ...(o.until ? { until: logTime(o.until) } : {}),
          });
          for await (const e of entries) {
            const out = e.stream === 'stdout' ? process.stdout : process.stderr;
            if (o.timestamps) out.write(logTimestamp(e.time) + ' ');
            // Docker puts a line's log attributes (from the labels= and env= log options) and a
            // space before it; berth's log has no attributes, which leaves the space, as Docker.
            if (o.details) out.write(' ');
            out.write(e.line);
          }
        }),
      );

    parent
      .command('exec')
      .description('Execute a command in a running container')
      .usage('[OPTIONS] CONTAINER COMMAND [ARG...]')
      .argument('<container>')
      .argument('<command...>')
      .passThroughOptions()
      .option('-d, --detach', 'Detached mode: run command in the background')
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('-e, --env <var>', 'Set environment variables', collect)
      .option('--env-file <file>', 'Read in a file of environment variables', collect)
      .option('-i, --interactive', 'Keep STDIN open even if not attached')
      .option('--privileged', 'Give extended privileges to the command')
      .option('-t, --tty', 'Allocate a pseudo-TTY')
      .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
      .option('-w, --workdir <string>', 'Working directory inside the container')
      .action((name: string, command: string[], o: { detach?: boolean; detachKeys?: string; env?: string[]; envFile?: string[]; interactive?: boolean; privileged?: boolean; tty?: boolean; user?: string; workdir?: string }) =>
        cli.run(async (engine) => {
          try {
            if (!o.detach && inputIsNotATty(!!o.interactive, !!o.tty)) return 1;
            const detachKeys = o.detachKeys ?? (o.tty && o.interactive ? await configuredDetachKeys() : undefined);
            const env = [
              ...(o.envFile ?? []).flatMap((f) => parseKeyValueFile(readFileSync(f, 'utf8'), f, process.env, true)),
              ...(o.env ?? []).map((e) => (e.includes('=') || process.env[e] === undefined ? e : `${e}=${process.env[e]}`)),
            ];
            const { Id } = await engine.execCreate(name, {
              Cmd: command,
              ...(env.length ? { Env: env } : {}),
              ...(o.workdir ? { WorkingDir: o.workdir } : {}),
              ...(o.user ? { User: o.user } : {}),
              Privileged: o.privileged ?? false,
              Tty: o.tty ?? false,
              ...(detachKeys !== undefined ? { DetachKeys: detachKeys } : {}),
              AttachStdin: !o.detach && (o.interactive ?? false),
              AttachStdout: !o.detach,
              AttachStderr: !o.detach,
            });
            if (o.detach) {
              await engine.execStart(Id, { Detach: true });
              return 0;
            }
            if (o.tty) return await execWithTerminal(engine, Id, !!o.interactive);
            const { exitCode } = await engine.execStart(Id, {
              Tty: false,
              stdio: { stdin: o.interactive ? process.stdin : null, stdout: process.stdout, stderr: process.stderr },
            });
            return exitCode ?? 0;
          } catch (err) {
            printError(err);
            return typeof (err as { exitCode?: unknown }).exitCode === 'number' ? exitCodeOf(err) : 1;
          }
        }),
      );

    parent
      .command('attach')
      .description("Attach local standard input, output, and error streams to a running container")
      .argument('<container>')
      .option('--no-stdin', 'Do not attach STDIN')
      .option('--sig-proxy', 'Proxy all received signals to the process (default true)')
      .option('--no-sig-proxy', 'Do not proxy signals')
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .action((name: string, o: { stdin: boolean; sigProxy: boolean; detachKeys?: string }) =>
        cli.run(async (engine) => {
          if (o.detachKeys !== undefined) parseDetachKeys(o.detachKeys);
          const info = await engine.containerInspect(name);
          if (!info.State.Running) throw new InvalidArgumentError('container_not_running', 'You cannot attach to a stopped container, start it first');
          const stdin = o.stdin && info.Config.OpenStdin;
          if (inputIsNotATty(stdin, info.Config.Tty)) return 1;
          return attachAndRun(engine, info.Id, {
            tty: info.Config.Tty,
            stdin,
            stdout: true,
            stderr: true,
            sigProxy: o.sigProxy !== false,
            ...(o.detachKeys !== undefined ? { detachKeys: o.detachKeys } : {}),
            removeOnFailure: false,
            start: false,
            reportDetach: true,
          });
        }),
      );
  }

  for (const [parent, name, aliases] of [
    [program, 'ps', []],
    [container, 'ls', ['list', 'ps']],
  ] as [Command, string, string[]][]) {
    parent
      .command(name)
      .aliases(aliases)
      .description('List containers')
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
      .option('--format <string>', 'Format output using a custom template')
      .option('-n, --last <int>', 'Show n last created containers (includes all states)')
      .option('-l, --latest', 'Show the latest created container (includes all states)')
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only display container IDs')
      .option('-s, --size', 'Display total file sizes')
      .action((o: { all?: boolean; filter?: string[]; format?: string; last?: string; latest?: boolean; trunc: boolean; quiet?: boolean; size?: boolean }) =>
        cli.run(async (engine) => {
          const last = o.latest ? 1 : o.last !== undefined ? Number(o.last) : undefined;
          if (last !== undefined && !Number.isInteger(last)) {
            throw new InvalidArgumentError('invalid_flag', `invalid argument "${o.last}" for "-n, --last" flag: strconv.ParseInt: parsing "${o.last}": invalid syntax`);
          }
          const wantsSize = !o.quiet && (o.size === true || o.format === 'json' || /\.Size\b/.test(o.format ?? ''));
          const list = await engine.containerList({ all: o.all, limit: last, size: wantsSize, filters: parseFilterArgs(o.filter ?? []) });
          if (o.quiet) {
            process.stdout.write(list.map((c) => (o.trunc ? shortId(c.Id) : c.Id) + '\n').join(''));
            return;
          }
          const defaultFormat =
            'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}' + (o.size ? '\t{{.Size}}' : '');
          process.stdout.write(renderList(list.map((c) => withLabelMethod(psRow(c, o.trunc), c.Labels)), { format: o.format, defaultFormat, headers: psHeaders }));
        }),
      );
  }

  container
    .command('inspect')
    .description('Display detailed information on one or more containers')
    .argument('<container...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes')
    .action((names: string[], o: { format?: string; size?: boolean }) => cli.run((engine) => inspectContainers(engine, names, o)));

  container
    .command('prune')
    .description('Remove all stopped containers')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .action((o: { force?: boolean; filter?: string[] }) =>
      cli.run(async (engine) => {
        if (!o.force && !(await confirm('WARNING! This will remove all stopped containers.'))) return;
        const report = await engine.containerPrune({ filters: parseFilterArgs(o.filter ?? []) });
        if (report.ContainersDeleted?.length) process.stdout.write(`Deleted Containers:\n${report.ContainersDeleted.join('\n')}\n\n`);
        process.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
      }),
    );

  container
    .command('cleanup', { hidden: true })
    .description("Record a container's exit and apply its restart policy (run by conmon)")
    .argument('<id>')
    .action((id: string) =>
      cli.run(async (engine) => {
        const local = engine as Engine & { containerCleanup?: (id: string) => Promise<void> };
        if (!local.containerCleanup) throw new InvalidArgumentError('not_local', 'container cleanup runs against the local engine only');
        await local.containerCleanup(id);
      }),
    );
}

function seconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('invalid_flag', `invalid argument "${value}" for "-t, --time" flag: strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}

export async function inspectContainers(engine: Engine, names: string[], o: { format?: string; size?: boolean }): Promise<number> {
  const found: object[] = [];
  let failed = false;
  for (const name of names) {
    try {
      found.push(await engine.containerInspect(name, { size: o.size }));
    } catch (err) {
      failed = true;
      printError(err);
    }
  }
  if (found.length > 0 || !o.format) process.stdout.write(renderInspect(found, o.format));
  return failed ? 1 : 0;
}
