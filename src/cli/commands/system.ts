// System commands: info, version, df, prune, and the generic inspect.
import type { SystemInfo, VersionInfo } from '../../engine/engine.js';
import { apiVersion, berthVersion } from '../../version.js';
import { collect, type Cli } from '../program.js';
import { compileTemplate, parseFormat } from '../template.js';
import { humanBinarySize } from '../units.js';
import type { Engine } from '../../engine/engine.js';
import { BerthError, InvalidArgumentError } from '../../errors.js';
import { inspectEach } from './inspect.js';
import { systemDf, systemPrune, type SystemPruneOptions } from './system-usage.js';

export function registerSystemCommands(cli: Cli): void {
  const { program } = cli;
  const system = program.command('system').description('Manage berth');

  for (const parent of [program, system]) {
    parent
      .command('info')
      .description('Display system-wide information')
      .option('-f, --format <string>', 'Format output using a custom template')
      .action((o: { format?: string }) =>
        cli.run(async (engine) => {
          const info = await engine.info();
          process.stdout.write(o.format ? compileTemplate(parseFormat(o.format).body)(info) + '\n' : renderInfo(info));
        }),
      );
  }

  system
    .command('init')
    .description('Prepare berth on this host: state directories and the embedded busybox:latest image')
    .action(() =>
      cli.run(async (engine) => {
        const { id, created } = await engine.ensureDefaultImage();
        process.stdout.write(`busybox:latest ${created ? 'created' : 'present'} (${id})\n`);
      }),
    );

  system
    .command('boot')
    .description('Start the containers whose restart policy (always, unless-stopped) brings them back after a reboot; for a boot service')
    .action(() =>
      cli.run(async (engine) => {
        const report = await engine.systemBoot();
        for (const id of report.started) process.stdout.write(id + '\n');
        for (const f of report.failed) process.stderr.write(`Error: cannot start container ${f.id}: ${f.error}\n`);
        return report.failed.length ? 1 : 0;
      }),
    );

  system
    .command('df')
    .description('Show berth disk usage')
    .option('-v, --verbose', 'Show detailed information on space usage')
    .option('--format <string>', 'Format output using a custom template')
    .action((o: { verbose?: boolean; format?: string }) =>
      cli.run(async (engine) => {
        process.stdout.write(await systemDf(engine, o));
      }),
    );

  system
    .command('prune')
    .description('Remove unused data')
    .option('-a, --all', 'Remove all unused images not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<key>=<value>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--volumes', 'Prune anonymous volumes')
    .action((o: SystemPruneOptions) => cli.run((engine) => systemPrune(engine, o)));

  program
    .command('version')
    .description('Show the berth version information')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action((o: { format?: string }) =>
      cli.run(async (engine) => {
        const server = await engine.version();
        const client = {
          Version: berthVersion,
          ApiVersion: apiVersion,
          GoVersion: `node ${process.version}`,
          Os: 'linux',
          Arch: server.Arch,
          GitCommit: '',
          BuildTime: '',
        };
        const data = { Client: client, Server: server };
        process.stdout.write(o.format ? compileTemplate(parseFormat(o.format).body)(data) + '\n' : renderVersion(client, server));
      }),
    );

  program
    .command('inspect')
    .description('Return low-level information on berth objects')
    .argument('<name...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('--type <type>', 'Return JSON for specified type')
    .option('-s, --size', 'Display total file sizes if the type is container')
    .action((names: string[], o: { format?: string; type?: string; size?: boolean }) => cli.run((engine) => inspectAny(engine, names, o)));
}

function renderVersion(client: Record<string, string>, server: VersionInfo): string {
  return [
    'Client:',
    ` Version:           ${client.Version}`,
    ` API version:       ${client.ApiVersion}`,
    ` Node version:      ${process.version}`,
    ` OS/Arch:           ${client.Os}/${client.Arch}`,
    '',
    'Server:',
    ' Engine:',
    `  Version:          ${server.Version}`,
    `  API version:      ${server.ApiVersion} (minimum version ${server.MinAPIVersion})`,
    `  OS/Arch:          ${server.Os}/${server.Arch}`,
    `  Kernel:           ${server.KernelVersion}`,
    '',
  ].join('\n');
}

function renderInfo(info: SystemInfo): string {
  const lines = [
    'Client:',
    ` Version:    ${berthVersion}`,
    ' Context:    default',
    ' Debug Mode: false',
    '',
    'Server:',
    ` Containers: ${info.Containers}`,
    `  Running: ${info.ContainersRunning}`,
    `  Paused: ${info.ContainersPaused}`,
    `  Stopped: ${info.ContainersStopped}`,
    ` Images: ${info.Images}`,
    ` Server Version: ${info.ServerVersion}`,
    ` Storage Driver: ${info.Driver}`,
    ...info.DriverStatus.map(([k, v]) => `  ${k}: ${v}`),
    ` Cgroup Driver: ${info.CgroupDriver}`,
    ` Cgroup Version: ${info.CgroupVersion}`,
    ` Runtimes: ${Object.keys(info.Runtimes).join(' ')}`,
    ` Default Runtime: ${info.DefaultRuntime}`,
    ' Security Options:',
    ...info.SecurityOptions.flatMap((o) => o.split(',').map((part, i) => (i === 0 ? `  ${part.replace(/^name=/, '')}` : `   ${part.replace('=', ': ').replace(/^./, (c) => c.toUpperCase())}`))),
    ` Kernel Version: ${info.KernelVersion}`,
    ` Operating System: ${info.OperatingSystem}`,
    ` OSType: ${info.OSType}`,
    ` Architecture: ${info.Architecture}`,
    ` CPUs: ${info.NCPU}`,
    ` Total Memory: ${humanBinarySize(info.MemTotal)}`,
    ` Name: ${info.Name}`,
    ` Berth Root Dir: ${info.DockerRootDir}`,
    ...registryLines(info.RegistryConfig),
    '',
  ];
  return lines.join('\n');
}

/** Docker's registry section: registries insecure by name, then the ranges; then the mirrors. */
function registryLines(config: SystemInfo['RegistryConfig']): string[] {
  const indexes = Object.values(config.IndexConfigs);
  const lines = [' Insecure Registries:', ...indexes.filter((i) => !i.Secure).map((i) => `  ${i.Name}`), ...config.InsecureRegistryCIDRs.map((c) => `  ${c}`)];
  // Docker lists Docker Hub's mirrors; berth's for other registries follow, each with its registry.
  const others = indexes.filter((i) => i.Name !== 'docker.io').flatMap((i) => i.Mirrors.map((m) => `  ${m} (${i.Name})`));
  if (config.Mirrors.length > 0 || others.length > 0) lines.push(' Registry Mirrors:', ...config.Mirrors.map((m) => `  ${m}`), ...others);
  return lines;
}

/**
 * The objects the generic inspect looks for, in docker-cli's order of precedence (its swarm
 * objects and plugins, which berth does not have, left out).
 */
const inspectTypes = ['container', 'image', 'network', 'volume'] as const;

/** Docker's generic inspect: the first kind of object the name finds, unless --type narrows it. */
async function inspectAny(engine: Engine, names: string[], o: { format?: string; type?: string; size?: boolean }): Promise<number> {
  const type = o.type ?? '';
  if (type !== '' && !(inspectTypes as readonly string[]).includes(type)) {
    throw new InvalidArgumentError('invalid_type', `unknown type: "${type}": must be one of ${inspectTypes.map((t) => `"${t}"`).join(', ')}`);
  }
  const inspectors: Record<(typeof inspectTypes)[number], (name: string) => Promise<object>> = {
    container: (name) => engine.containerInspect(name, { size: o.size }),
    image: (name) => engine.imageInspect(name),
    network: (name) => engine.networkInspect(name),
    volume: (name) => engine.volumeInspect(name),
  };
  // Docker's daemon answers a name that cannot be an image reference (a volume's "MyVol") with
  // "no such image", so the search goes on to networks and volumes.
  const notFound = (t: string, err: unknown) =>
    err instanceof BerthError && (err.kind === 'NotFound' || (t === 'image' && err.code === 'invalid_reference'));
  const lookup = async (name: string): Promise<object> => {
    for (const t of inspectTypes) {
      if (type !== '' && t !== type) continue;
      let found: object;
      try {
        found = await inspectors[t](name);
      } catch (err) {
        // Without --type, only "not found" moves on to the next kind; any other error is the answer.
        if (type === '' && notFound(t, err)) continue;
        throw err;
      }
      if (o.size && t !== 'container') process.stderr.write(`WARNING: --size ignored for ${t}\n`);
      return found;
    }
    throw new BerthError('NotFound', 'object_not_found', `No such object: ${name}`);
  };
  return inspectEach(names, lookup, o.format);
}
