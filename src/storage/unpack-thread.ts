// Unpacking layer files on a thread of its own. A pull's main thread receives every layer
// (HTTP parsing, the blob's digest, writing it) while the layers it already has unpack; on one
// thread the two took turns, and that thread was the pull's bottleneck while the other core
// was partly idle. One worker serves the process (a second one cost more CPU in its start-up and
// compiling than it saved on 2 cores): it starts once, from a small bundle of its own, and it
// reads the blob files and writes the layer trees itself, so no layer byte crosses threads.
import type { Worker } from 'node:worker_threads';
import { lazy } from '../builtins.js';
import { SystemError, errorFromWire } from '../errors.js';
import type { UnpackResult } from './unpack.js';

export type UnpackRequest = { type: 'unpack'; id: number; file: string; dest: string } | { type: 'abort'; id: number };
export type UnpackReply =
  | { id: number; result: UnpackResult }
  | { id: number; error: { message: string; code?: string; kind?: string } }
  | { id: number; progress: number };

interface Job {
  resolve: (result: UnpackResult) => void;
  reject: (err: unknown) => void;
  onProgress?: (read: number) => void;
}

let worker: Worker | undefined;
const jobs = new Map<number, Job>();
let nextId = 0;

/**
 * The worker's file next to this module's: dist/unpack-worker.cjs beside the CLI bundle,
 * unpack-worker.js beside this file when run from tsc's output (the tests).
 */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.cjs') ? './unpack-worker.cjs' : './unpack-worker.js', import.meta.url);
}

function failAll(err: unknown): void {
  worker = undefined;
  const pending = [...jobs.values()];
  jobs.clear();
  for (const job of pending) job.reject(err);
}

function getWorker(): Worker {
  if (worker) return worker;
  const w = new lazy.workerThreads.Worker(workerUrl());
  w.on('message', (msg: UnpackReply) => {
    const job = jobs.get(msg.id);
    if (!job) return;
    if ('progress' in msg) {
      job.onProgress?.(msg.progress);
      return;
    }
    jobs.delete(msg.id);
    // Idle, the worker must not keep the process alive.
    if (jobs.size === 0) w.unref();
    if ('result' in msg) job.resolve(msg.result);
    else job.reject(rebuild(msg.error));
  });
  w.on('error', (err) => failAll(new SystemError('layer_unpack_failed', `the unpacking thread failed: ${err.message}`, { cause: err })));
  w.on('exit', (code) => failAll(new SystemError('layer_unpack_failed', `the unpacking thread exited (${code})`)));
  w.unref();
  worker = w;
  return w;
}

function rebuild(e: { message: string; code?: string; kind?: string }): Error {
  if (e.kind !== undefined && e.code !== undefined) return errorFromWire(e.kind, e.code, e.message);
  return Object.assign(new Error(e.message), { code: e.code });
}

/** Starts the worker ahead of the first layer, so that its start-up overlaps the downloads. */
export function warmUnpackThread(): void {
  getWorker();
}

/**
 * unpackLayer({ file }, dest, signal, onProgress) on the unpacking thread, which unpacks
 * several side by side; the same results, errors (BerthErrors keep their kind and code) and
 * progress. An abort settles only once the worker has stopped writing into `dest`, so that
 * the caller may remove it.
 */
export function unpackFileOffThread(file: string, dest: string, signal?: AbortSignal, onProgress?: (read: number) => void): Promise<UnpackResult> {
  signal?.throwIfAborted();
  const w = getWorker();
  const id = nextId++;
  return new Promise<UnpackResult>((resolve, reject) => {
    const onAbort = (): void => w.postMessage({ type: 'abort', id } satisfies UnpackRequest);
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal?.removeEventListener('abort', onAbort);
    jobs.set(id, {
      onProgress,
      resolve: (r) => {
        settle();
        resolve(r);
      },
      reject: (err) => {
        settle();
        reject(signal?.aborted ? signal.reason : err);
      },
    });
    w.ref();
    w.postMessage({ type: 'unpack', id, file, dest } satisfies UnpackRequest);
  });
}
