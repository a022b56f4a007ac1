// Format detection looks at a stream's first bytes without taking them from later readers.
import { Readable } from 'node:stream';

/** Reads the first `n` bytes and gives back a stream that still starts with them. */
export async function peek(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < n && !ended) {
    const chunk = source.read() as Buffer | string | null;
    if (chunk !== null) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(buf);
      length += buf.length;
      continue;
    }
    ended = await new Promise<boolean>((resolve, reject) => {
      const done = (result: boolean, err?: unknown): void => {
        source.off('readable', onReadable);
        source.off('end', onEnd);
        source.off('error', onError);
        if (err !== undefined) reject(err);
        else resolve(result);
      };
      const onReadable = (): void => done(false);
      const onEnd = (): void => done(true);
      const onError = (err: unknown): void => done(false, err);
      source.on('readable', onReadable);
      source.on('end', onEnd);
      source.on('error', onError);
      if (source.readableEnded) done(true);
    });
  }
  const head = Buffer.concat(chunks);
  if (ended) return { head, stream: Readable.from(head.length > 0 ? [head] : []) };
  if (head.length > 0) source.unshift(head);
  return { head, stream: source };
}
