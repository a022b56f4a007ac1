// Random bytes for IDs and generated names, read from the kernel's generator (/dev/urandom,
// which never blocks once the pool is initialised, as it is long before berth runs). Not
// node:crypto: its module loads 17 others at once, about 2 ms of every command that creates
// a container, exec session, volume or network, and none of those need anything else from it.
import { closeSync, openSync, readSync } from 'node:fs';

export function randomBytes(n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let got = 0; got < n; ) got += readSync(fd, buf, got, n - got, null);
  } finally {
    closeSync(fd);
  }
  return buf;
}

/** 64 hex digits: the shape of Docker's container, exec, network and volume IDs. */
export function randomId(): string {
  return randomBytes(32).toString('hex');
}

/** A uniform integer in [0, max), max at most 2^32 (rejection sampling: no modulo bias). */
export function randomInt(max: number): number {
  if (!(max >= 1 && max <= 0x1_0000_0000)) throw new RangeError(`randomInt: max ${max} is not in [1, 2^32]`);
  const limit = Math.floor(0x1_0000_0000 / max) * max;
  for (;;) {
    const v = randomBytes(4).readUInt32LE(0);
    if (v < limit) return v % max;
  }
}
