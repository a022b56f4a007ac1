// `events`: past events in a time window, then (without `until`) new ones as they are recorded.
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventLog, EventMessage } from '../events/log.js';
import type { Filters } from './engine.js';
import { checkFilterKeys, labelsMatch, parseTimestamp } from './filters.js';

const followInterval = 100;

export async function* streamEvents(
  log: EventLog,
  opts: { since?: string; until?: string; filters?: Filters },
  signal?: AbortSignal,
): AsyncGenerator<EventMessage> {
  const filters = opts.filters ?? {};
  checkFilterKeys(filters, ['container', 'event', 'image', 'label', 'type', 'volume', 'network', 'scope']);
  const toNano = (s: string) => BigInt(Math.round(parseTimestamp(s) * 1e9));
  const untilNano = opts.until !== undefined ? toNano(opts.until) : undefined;
  // Without --since docker shows only what happens from now on.
  let after = opts.since !== undefined ? 0 : log.lastSeq();
  const sinceNano = opts.since !== undefined ? toNano(opts.since) : undefined;
  for (;;) {
    for (const { seq, event } of log.read({ afterSeq: after, sinceNano, untilNano })) {
      after = seq;
      if (matches(event, filters)) yield event;
    }
    if (untilNano !== undefined && BigInt(Date.now()) * 1_000_000n > untilNano) return;
    if (signal?.aborted) return;
    try {
      await sleep(followInterval, undefined, { signal });
    } catch {
      return;
    }
  }
}

function matches(e: EventMessage, f: Filters): boolean {
  const attrs = e.Actor.Attributes;
  const anyOf = (key: string, ok: (v: string) => boolean) => !f[key] || f[key].some(ok);
  return (
    anyOf('type', (v) => v === e.Type) &&
    anyOf('event', (v) => v === e.Action) &&
    anyOf('container', (v) => e.Type === 'container' && (e.Actor.ID.startsWith(v) || attrs.name === v)) &&
    anyOf('image', (v) => attrs.image === v || (e.Type === 'image' && e.Actor.ID === v)) &&
    anyOf('volume', (v) => e.Type === 'volume' && e.Actor.ID === v) &&
    anyOf('network', (v) => e.Type === 'network' && (e.Actor.ID === v || attrs.name === v)) &&
    anyOf('scope', (v) => v === 'local') &&
    labelsMatch(attrs, f.label)
  );
}
