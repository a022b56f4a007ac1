// Locks between berth processes: flock(2) on a lock file. The kernel drops the lock when its
// holder dies, so a berth killed mid-operation never leaves a stale lock behind, and a pid
// that the system reused can never be mistaken for the holder.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KoffiFunction } from 'koffi';
import { koffi } from './native.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;
const EINTR = 4;

let flockFn: KoffiFunction | undefined;
function flock(fd: number, op: number): number {
  flockFn ??= koffi.load('libc.so.6').func('int flock(int fd, int operation)');
  return flockFn(fd, op) as number;
}

export interface FileLock {
  release(): void;
}

/** Takes the lock at once, or returns null when another process holds it. */
export function tryLock(path: string): FileLock | null {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    fd = openSync(path, 'a', 0o600);
  }
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) === 0) break;
    const errno = koffi.errno();
    if (errno === EINTR) continue;
    closeSync(fd);
    if (errno === EWOULDBLOCK) return null;
    throw new Error(`flock ${path}: errno ${errno}`);
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}

/**
 * Waits for the lock. Polls instead of blocking in flock so that the event loop (attached
 * streams, signal forwarding) keeps running while it waits.
 */
export async function lock(path: string, timeoutMs: number): Promise<FileLock | null> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    const held = tryLock(path);
    if (held) return held;
    if (Date.now() >= deadline) return null;
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}
