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
          const template = o.format ? compileTemplate(parseFormat(o.format).body) : undefined;
          const render = template ? (e: EventMessage) => template(templateContext(e)) : defaultLine;
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

/**
 * What a --format template sees: docker executes it on the events.Message struct, so fields
 * go by their Go names (Status, ID, From, Scope, Time, TimeNano; a legacy field an event does
 * not have is ""), while `{{json .}}` gives the message's JSON keys (status, id, from, scope,
 * time, timeNano), which is what toJSON returns.
 */
function templateContext(e: EventMessage): object {
  // Attributes is a Go map, which encoding/json writes with its keys sorted.
  const Actor = { ID: e.Actor.ID, Attributes: Object.fromEntries(Object.entries(e.Actor.Attributes).sort(([a], [b]) => (a < b ? -1 : 1))) };
  const json = { toJSON: () => ({ ...e, Actor }) };
  return Object.assign(Object.create(json) as object, {
    Status: e.status ?? '',
    ID: e.id ?? '',
    From: e.from ?? '',
    Type: e.Type,
    Action: e.Action,
    Actor,
    Scope: e.scope,
    Time: e.time,
    TimeNano: e.timeNano,
  });
}

/** Docker's form: `<RFC 3339 with nanoseconds> <type> <action> <id> (k=v, …)`, keys sorted. */
function defaultLine(ev: EventMessage): string {
  // Events are recorded with millisecond precision, so the last six digits are zeros.
  const when = new Date(Number(ev.timeNano / 1_000_000n)).toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}000000Z`);
  const attrs = Object.entries(ev.Actor.Attributes)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${when} ${ev.Type} ${ev.Action} ${ev.Actor.ID}${attrs ? ` (${attrs})` : ''}`;
}
