// Attaching to a container's stdio through conmon's attach socket (<bundle>/attach, a
// SOCK_SEQPACKET socket). Every packet conmon sends starts with one byte naming the stream
// (2 stdout, 3 stderr); what the client sends is written to the container's stdin as is.
import { closeSync, constants as fsConstants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  closeSocket,
  connectSeqpacket,
  readPacket,
  SHUT_RDWR,
  SHUT_WR,
  shutdownSocket,
  writePacket,
} from '../sys/seqpacket.js';

const STREAM_STDOUT = 2;
const STREAM_STDERR = 3;
// conmon's STDIO_BUF_SIZE plus the stream byte.
const PACKET_SIZE = 8192 + 1;

export interface AttachHandlers {
  stdout?: (data: Buffer) => void;
  stderr?: (data: Buffer) => void;
}

export interface AttachSession {
  /** Sends bytes to the container's stdin (the container must have been created with stdin). */
  write(data: Buffer | string): Promise<void>;
  /** Ends the container's stdin, unless conmon was told to leave it open. */
  closeStdin(): void;
  /** Detaches; the container keeps running. */
  detach(): Promise<void>;
  /** Settles when conmon closes the connection (the container's output has ended). */
  readonly done: Promise<void>;
}

/** Attaches to the container whose conmon was started with bundle `bundleDir` (--full-attach). */
export function attach(bundleDir: string, handlers: AttachHandlers): AttachSession {
  const fd = connectSeqpacket(join(bundleDir, 'attach'));
  let closed = false;
  const done = (async () => {
    try {
      for (;;) {
        const packet = await readPacket(fd, PACKET_SIZE);
        if (packet.length === 0) return;
        const data = packet.subarray(1);
        if (packet[0] === STREAM_STDOUT) handlers.stdout?.(data);
        else if (packet[0] === STREAM_STDERR) handlers.stderr?.(data);
      }
    } finally {
      closed = true;
      await closeSocket(fd);
    }
  })();
  return {
    async write(data) {
      // Once closed, the descriptor's number may already belong to another file.
      if (closed) throw new Error('the attach connection is closed');
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      for (let off = 0; off < buf.length && !closed; off += PACKET_SIZE - 1) {
        await writePacket(fd, buf.subarray(off, off + PACKET_SIZE - 1));
      }
    },
    closeStdin() {
      if (!closed) shutdownSocket(fd, SHUT_WR);
    },
    async detach() {
      // Wakes the read pending in the thread pool; the read loop then closes the socket.
      if (!closed) shutdownSocket(fd, SHUT_RDWR);
      await done.catch(() => undefined);
    },
    done,
  };
}

/**
 * Resizes the terminal of the container or exec session whose conmon has bundle `bundleDir`:
 * conmon reads "<event> <height> <width>" lines from its control fifo, event 1 being a resize.
 * Without a reader (no conmon yet, or gone) there is nothing to resize, and that is no error.
 */
export function resizeTerminal(bundleDir: string, height: number, width: number): void {
  if (!(height > 0 && width > 0)) return;
  let fd: number;
  try {
    fd = openSync(join(bundleDir, 'ctl'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch {
    return;
  }
  try {
    writeSync(fd, `1 ${Math.floor(height)} ${Math.floor(width)}\n`);
  } catch {
    // conmon went away between the open and the write
  } finally {
    closeSync(fd);
  }
}
