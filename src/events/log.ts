// The event log: every lifecycle change is a row in the state database, so `berth events`
// sees what any berth process did, and a reader that follows simply polls for new rows.
import type { Db } from '../storage/db.js';

export interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  /** Go's int64: nanoseconds since the epoch are past what a number holds exactly. */
  timeNano: bigint;
  /** Pre-API-1.22 fields docker still sends for containers and images (`from`: containers only). */
  status?: string;
  id?: string;
  from?: string;
}

/** A row as read with safeIntegers: the nanosecond times do not fit a double. */
interface EventRow {
  seq: bigint;
  time_nano: bigint;
  type: string;
  action: string;
  actor_id: string;
  attributes: string;
}

export class EventLog {
  constructor(private readonly db: Db) {}

  record(type: string, action: string, actorId: string, attributes: Record<string, string>): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    this.db
      .prepare(`INSERT INTO events (time_nano, type, action, actor_id, attributes) VALUES (?, ?, ?, ?, ?)`)
      .run(nowNs, type, action, actorId, JSON.stringify(attributes));
  }

  /** Rows after `afterSeq` (and within the time window), oldest first. */
  read(opts: { afterSeq?: number; sinceNano?: bigint; untilNano?: bigint }): { seq: number; event: EventMessage }[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM events WHERE seq > ? AND time_nano >= ? AND time_nano <= ? ORDER BY seq`,
      )
      .safeIntegers(true)
      .all(BigInt(opts.afterSeq ?? 0), opts.sinceNano ?? 0n, opts.untilNano ?? 2n ** 63n - 1n) as unknown as EventRow[];
    return rows.map((r) => ({ seq: Number(r.seq), event: toMessage(r) }));
  }

  /** The attributes of the newest `type`/`action` event of `actorId`, if any. */
  lastAttributes(type: string, action: string, actorId: string): Record<string, string> | undefined {
    const row = this.db
      .prepare(`SELECT attributes FROM events WHERE type = ? AND action = ? AND actor_id = ? ORDER BY seq DESC LIMIT 1`)
      .get(type, action, actorId) as { attributes: string } | undefined;
    return row ? (JSON.parse(row.attributes) as Record<string, string>) : undefined;
  }

  lastSeq(): number {
    const row = this.db.prepare(`SELECT max(seq) AS seq FROM events`).get() as { seq: number | null };
    return row.seq ?? 0;
  }
}

function toMessage(r: EventRow): EventMessage {
  const timeNano = r.time_nano;
  const attributes = JSON.parse(r.attributes) as Record<string, string>;
  const legacy =
    r.type === 'container'
      ? { status: r.action, id: r.actor_id, from: attributes.image ?? '' }
      : r.type === 'image'
        ? { status: r.action, id: r.actor_id }
        : {};
  return {
    ...legacy,
    Type: r.type,
    Action: r.action,
    Actor: { ID: r.actor_id, Attributes: attributes },
    scope: 'local',
    time: Number(timeNano / 1_000_000_000n),
    timeNano,
  };
}
