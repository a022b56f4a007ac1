// Reading a container's log: conmon's k8s-file format, one record per line,
// `<RFC 3339 time> <stdout|stderr> <F|P> <content>`, where P records are pieces of a line that
// continues in the next record. Follow mode polls the file until the container stops; conmon
// truncates the file when it reaches its size limit, and the reader starts over then.
// fs.promises, not node:fs/promises: that module loads at once (about 1 ms at every start), the
// property when a log is first read.
import { promises as fsp } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogEntry, LogOptions } from '../engine/engine.js';
import { parseK8sLogLine } from '../runtime/runtime.js';

/** Unix seconds (with the fraction) of an RFC 3339 time with up to nanosecond precision. */
export function logTimeSeconds(time: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$/.exec(time);
  if (!m) return Number.NaN;
  return Date.parse(m[1] + m[3]) / 1000 + Number('0' + (m[2] ?? ''));
}

class RecordParser {
  private pending: Buffer = Buffer.alloc(0);
  private partial = new Map<string, { chunks: Buffer[]; time: string }>();

  /** Complete entries in `data`; a trailing piece without its newline waits for the next call. */
  push(data: Buffer): LogEntry[] {
    const buf = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    const out: LogEntry[] = [];
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      const rec = parseK8sLogLine(buf.subarray(start, nl).toString('utf8'));
      start = nl + 1;
      if (!rec) continue;
      const acc = this.partial.get(rec.stream) ?? { chunks: [], time: rec.time };
      acc.chunks.push(Buffer.from(rec.content, 'utf8'));
      if (rec.partial) {
        this.partial.set(rec.stream, acc);
        continue;
      }
      this.partial.delete(rec.stream);
      acc.chunks.push(Buffer.from('\n'));
      out.push({ stream: rec.stream, line: Buffer.concat(acc.chunks), time: acc.time });
    }
    this.pending = Buffer.from(buf.subarray(start));
    return out;
  }

  /** Pieces of a line the container never finished (it exited without a newline). */
  flush(): LogEntry[] {
    const out = [...this.partial.entries()].map(([stream, acc]) => ({ stream: stream as LogEntry['stream'], line: Buffer.concat(acc.chunks), time: acc.time }));
    this.partial.clear();
    return out;
  }
}

export async function* readLog(path: string, opts: LogOptions, running: () => Promise<boolean>): AsyncGenerator<LogEntry> {
  const wantStdout = opts.stdout ?? true;
  const wantStderr = opts.stderr ?? true;
  const keep = (e: LogEntry) => {
    if (e.stream === 'stdout' ? !wantStdout : !wantStderr) return false;
    if (opts.since === undefined && opts.until === undefined) return true;
    const t = logTimeSeconds(e.time);
    return (opts.since === undefined || t >= opts.since) && (opts.until === undefined || t <= opts.until);
  };
  const parser = new RecordParser();
  let offset = 0;
  const readMore = async (): Promise<LogEntry[]> => {
    let fh;
    try {
      fh = await fsp.open(path, 'r');
    } catch {
      return [];
    }
    try {
      const size = (await fh.stat()).size;
      if (size < offset) offset = 0;
      if (size === offset) return [];
      const buf = Buffer.alloc(size - offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      offset += bytesRead;
      return parser.push(buf.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  };

  // Whether the container still runs is asked before reading, so that nothing written between
  // the read and its exit is missed by a follower.
  let live = opts.follow ? await running() : false;
  let first = (await readMore()).filter(keep);
  if (!live) first = first.concat(parser.flush().filter(keep));
  if (opts.tail !== undefined && opts.tail !== 'all') first = opts.tail <= 0 ? [] : first.slice(-opts.tail);
  yield* first;
  while (live) {
    await sleep(100);
    live = await running();
    for (const e of await readMore()) if (keep(e)) yield e;
    if (opts.until !== undefined && Date.now() / 1000 > opts.until) return;
  }
  if (opts.follow) for (const e of parser.flush()) if (keep(e)) yield e;
}
