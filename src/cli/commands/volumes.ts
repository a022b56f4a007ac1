// Volume commands: create, ls, inspect, rm, prune.
import type { Cli } from '../program.js';
import { collect } from '../program.js';
import { renderList, withLabelMethod } from '../output.js';
import { inspectEach } from './inspect.js';
import { humanSize } from '../units.js';
import { InvalidArgumentError } from '../../errors.js';
import { parseFilterArgs } from './filters.js';
import { confirm } from './confirm.js';

/** `--label k=v` / `--opt k=v` flags into a map; a bare key means an empty value. */
export function keyValues(list: string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new InvalidArgumentError('invalid_' + what, `invalid ${what} "${item}": the key is empty`);
    if (eq < 0) out[item] = '';
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export function registerVolumeCommands(cli: Cli): void {
  const volume = cli.program.command('volume').description('Manage volumes');

  volume
    .command('create')
    .description('Create a volume')
    .argument('[name]')
    .option('-d, --driver <driver>', 'Specify volume driver name', 'local')
    .option('--label <label>', 'Set metadata for a volume', collect)
    .option('-o, --opt <option>', 'Set driver specific options', collect)
    .action((name: string | undefined, o: { driver: string; label?: string[]; opt?: string[] }) =>
      cli.run(async (engine) => {
        const v = await engine.volumeCreate({ Name: name, Driver: o.driver, Labels: keyValues(o.label, 'label'), DriverOpts: keyValues(o.opt, 'option') });
        process.stdout.write(v.Name + '\n');
      }),
    );

  volume
    .command('ls')
    .alias('list')
    .description('List volumes')
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "dangling=true")', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('-q, --quiet', 'Only display volume names')
    .action((o: { filter?: string[]; format?: string; quiet?: boolean }) =>
      cli.run(async (engine) => {
        const { Volumes } = await engine.volumeList(parseFilterArgs(o.filter ?? []));
        if (o.quiet) {
          process.stdout.write(Volumes.map((v) => v.Name + '\n').join(''));
          return;
        }
        const rows = Volumes.map((v) => withLabelMethod({
          Name: v.Name,
          Driver: v.Driver,
          Scope: v.Scope,
          Mountpoint: v.Mountpoint,
          CreatedAt: v.CreatedAt,
          Labels: Object.entries(v.Labels ?? {}).map(([k, val]) => `${k}=${val}`).join(','),
          Links: 'N/A',
          Size: 'N/A',
        }, v.Labels));
        process.stdout.write(
          renderList(rows, {
            format: o.format,
            defaultFormat: 'table {{.Driver}}\t{{.Name}}',
            headers: { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', CreatedAt: 'CREATED', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE' },
          }),
        );
      }),
    );

  volume
    .command('inspect')
    .description('Display detailed information on one or more volumes')
    .argument('<volume...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action((names: string[], o: { format?: string }) =>
      cli.run((engine) => inspectEach(names, (n) => engine.volumeInspect(n), o.format)),
    );

  volume
    .command('rm')
    .alias('remove')
    .description('Remove one or more volumes')
    .argument('<volume...>')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .action((names: string[], o: { force?: boolean }) =>
      cli.run(async (engine) => {
        let failed = false;
        for (const n of names) {
          try {
            await engine.volumeRemove(n, { force: o.force });
            process.stdout.write(n + '\n');
          } catch (err) {
            failed = true;
            process.stderr.write(`Error: ${(err as Error).message}\n`);
          }
        }
        return failed ? 1 : 0;
      }),
    );

  volume
    .command('prune')
    .description('Remove unused local volumes')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<label>")', collect)
    .action((o: { all?: boolean; force?: boolean; filter?: string[] }) =>
      cli.run(async (engine) => {
        if (!o.force && !(await confirm('WARNING! This will remove anonymous local volumes not used by at least one container.'))) return;
        const report = await engine.volumePrune({ all: o.all, filters: parseFilterArgs(o.filter ?? []) });
        if (report.VolumesDeleted?.length) {
          process.stdout.write('Deleted Volumes:\n' + report.VolumesDeleted.map((n) => n + '\n').join('') + '\n');
        }
        process.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
      }),
    );
}
