// Reading a FIFO without blocking a libuv thread: opened non-blocking, then polled. A blocking
// open would wait forever, holding a thread-pool slot and the process, if the writer is gone.
import { closeSync, constants, openSync, readSync, unlinkSync } from 'node:fs';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { errnoCode } from '../errors.js';

/**
 * Waits for the first bytes a writer sends through the FIFO at `path`, then removes it.
 * Returns false, leaving the FIFO alone, when `writerAlive` turns false or `timeoutMs` passes
 * before any byte arrives. Until the writer's own open returns, a read sees end-of-file, so
 * end-of-file here means "not yet" as long as the writer lives.
 */
export async function takeFromFifo(path: string, writerAlive: () => boolean, timeoutMs: number): Promise<boolean> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(16);
    const deadline = Date.now() + timeoutMs;
    for (let round = 0; ; round++) {
      try {
        if (readSync(fd, buf, 0, buf.length, null) > 0) break;
      } catch (err) {
        if (errnoCode(err) !== 'EAGAIN') throw err;
      }
      if (Date.now() > deadline || (round % 16 === 15 && !writerAlive())) return false;
      // A writer already waiting in its open (runc's init) writes within microseconds of this
      // open: the first rounds only yield to the event loop, where a 1 ms timer would add 1 ms.
      await (round < 64 ? nextTurn() : sleep(1));
    }
  } finally {
    closeSync(fd);
  }
  unlinkSync(path);
  return true;
}
