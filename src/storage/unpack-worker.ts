// The unpacking thread's entry point (see unpack-thread.ts): unpacks layer files on request,
// several side by side, and answers each with its result or its error in wire form.
import { parentPort } from 'node:worker_threads';
import { BerthError, errnoCode } from '../errors.js';
import { unpackLayer } from './unpack.js';
import type { UnpackReply, UnpackRequest } from './unpack-thread.js';

const port = parentPort;
if (!port) throw new Error('unpack-worker runs as a worker thread only');
const jobs = new Map<number, AbortController>();

port.on('message', (msg: UnpackRequest) => {
  if (msg.type === 'abort') {
    jobs.get(msg.id)?.abort(new Error('unpacking aborted'));
    return;
  }
  const { id, file, dest } = msg;
  const abort = new AbortController();
  jobs.set(id, abort);
  // Progress goes out for every job (a message every 100 ms); a caller that wants none drops it.
  const onProgress = (read: number): void => port.postMessage({ id, progress: read } satisfies UnpackReply);
  unpackLayer({ file }, dest, abort.signal, onProgress).then(
    (result) => reply({ id, result }),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      reply({ id, error: { message: e.message, code: errnoCode(e), kind: e instanceof BerthError ? e.kind : undefined } });
    },
  );
});

function reply(msg: UnpackReply): void {
  jobs.delete(msg.id);
  port?.postMessage(msg);
}
