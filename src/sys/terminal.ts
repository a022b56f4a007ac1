// The client's terminal in raw mode, as Docker's client sets it (cfmakeraw): keys go to the
// container as typed and its output reaches the screen as written. Node's setRawMode (libuv)
// keeps output post-processing on, so every "\r\n" the container's own terminal sends would
// reach the screen as "\r\r\n"; here output processing is off too.
import type { KoffiFunction } from 'koffi';
import { koffi } from './native.js';

// struct termios on Linux (glibc): four tcflag_t, c_line, c_cc[32], two speed_t: 60 bytes.
const TERMIOS_SIZE = 60;
const C_OFLAG = 4;
const OPOST = 0o1;
const TCSANOW = 0;

let bound: { tcgetattr: KoffiFunction; tcsetattr: KoffiFunction } | undefined;
function libc() {
  if (!bound) {
    const lib = koffi.load('libc.so.6');
    bound = {
      tcgetattr: lib.func('int tcgetattr(int fd, _Out_ uint8_t *termios)'),
      tcsetattr: lib.func('int tcsetattr(int fd, int action, const uint8_t *termios)'),
    };
  }
  return bound;
}

/**
 * Puts the terminal `stream` is on into raw mode, output included. Returns what restores it;
 * a stream that is not a terminal is left alone.
 */
export function setRawTerminal(stream: NodeJS.ReadStream): () => void {
  if (!stream.isTTY) return () => undefined;
  stream.setRawMode(true);
  const fd = (stream as NodeJS.ReadStream & { fd: number }).fd;
  const termios = Buffer.alloc(TERMIOS_SIZE);
  const { tcgetattr, tcsetattr } = libc();
  if ((tcgetattr(fd, termios) as number) === 0) {
    termios.writeUInt32LE(termios.readUInt32LE(C_OFLAG) & ~OPOST, C_OFLAG);
    tcsetattr(fd, TCSANOW, termios);
  }
  // libuv saved the terminal's settings before its raw mode, output processing included.
  return () => stream.setRawMode(false);
}
