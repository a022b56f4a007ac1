// `berth events`: Docker's line format or a --format template, one event per line.
import type { EventMessage } from '../../events/log.js';
import { collect, type Cli } from '../program.js';
import { compileTemplate, parseFormat } from '../template.js';
import { parseFilterArgs } from './filters.js';

export function registerEventCommands(cli: Cli): void {
  for (const parent of [cli.program, cli.program.commands.find((c) => c.name() === 'system')!]) {
    parent
      .command('events')
      .description('Get real time events from berth')
      .option('--since <time>', 'Show all events created since timestamp')
      .option('--until <time>', 'Stream events until this timestamp')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
      .option('--format <string>', 'Format the output using the given Go template')
      .action((o: { since?: string; until?: string; filter?: string[]; format?: string }) =>
        cli.run(async (engine) => {
          const render = o.format ? compileTemplate(parseFormat(o.format).body) : defaultLine;
          const stop = new AbortController();
          const onSignal = () => stop.abort();
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
          try {
            for await (const e of engine.events({ since: o.since, until: o.until, filters: parseFilterArgs(o.filter ?? []) }, stop.signal)) {
              process.stdout.write(render(e) + '\n');
            }
          } finally {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
          }
        }),
      );
  }
}

/** Docker's form: `<RFC 3339 with nanoseconds> <type> <action> <id> (k=v, …)`, keys sorted. */
function defaultLine(e: unknown): string {
  const ev = e as EventMessage;
  // Events are recorded with millisecond precision, so the last six digits are zeros.
  const when = new Date(Math.floor(ev.timeNano / 1e6)).toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}000000Z`);
  const attrs = Object.entries(ev.Actor.Attributes)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${when} ${ev.Type} ${ev.Action} ${ev.Actor.ID}${attrs ? ` (${attrs})` : ''}`;
}
