// Client side of a unix SOCK_SEQPACKET socket, which Node's net module cannot open (libuv only
// wraps stream sockets). conmon's attach socket is one. socket/connect/shutdown go through
// libc; reads and writes use fs on the descriptor, so a blocked read waits in libuv's thread
// pool instead of on the event loop. Each read returns exactly one packet.
import { close, read, write } from 'node:fs';
import type { KoffiFunction } from 'koffi';
import { koffi } from './native.js';

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SUN_PATH_MAX = 108;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

let bound: { socket: KoffiFunction; connect: KoffiFunction; shutdown: KoffiFunction } | undefined;
function libc() {
  if (!bound) {
    const lib = koffi.load('libc.so.6');
    bound = {
      socket: lib.func('int socket(int domain, int type, int protocol)'),
      connect: lib.func('int connect(int fd, const uint8_t *addr, uint32_t len)'),
      shutdown: lib.func('int shutdown(int fd, int how)'),
    };
  }
  return bound;
}

function errnoError(call: string, path?: string): NodeJS.ErrnoException {
  const errno = koffi.errno();
  const code = Object.entries(koffi.os.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
  const err = new Error(`${call}${path ? ` ${path}` : ''}: ${code}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = errno;
  err.syscall = call;
  return err;
}

/** Connects to a SOCK_SEQPACKET unix socket and returns the descriptor. */
export function connectSeqpacket(path: string): number {
  const pathBytes = Buffer.from(path);
  if (pathBytes.length >= SUN_PATH_MAX) {
    throw Object.assign(new Error(`connect ${path}: path longer than ${SUN_PATH_MAX - 1} bytes`), { code: 'ENAMETOOLONG' });
  }
  const { socket, connect } = libc();
  const fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw errnoError('socket');
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0);
  pathBytes.copy(addr, 2);
  if ((connect(fd, addr, 2 + pathBytes.length + 1) as number) < 0) {
    const err = errnoError('connect', path);
    close(fd, () => undefined);
    throw err;
  }
  return fd;
}

/** Reads one packet; an empty buffer means the peer closed. */
export function readPacket(fd: number, maxSize: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(maxSize);
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, maxSize, null, (err, n) => (err ? reject(err) : resolve(buf.subarray(0, n))));
  });
}

/** Sends one packet. */
export function writePacket(fd: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    write(fd, data, 0, data.length, null, (err, n) => {
      if (err) reject(err);
      else if (n !== data.length) reject(new Error(`short write on seqpacket socket: ${n} of ${data.length}`));
      else resolve();
    });
  });
}

/** shutdown(2): SHUT_WR tells the peer no more data comes; SHUT_RDWR also wakes a pending read. */
export function shutdownSocket(fd: number, how: number): void {
  if ((libc().shutdown(fd, how) as number) < 0) throw errnoError('shutdown');
}

export function closeSocket(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
}
