// Layer decompression, chosen by the stream's magic bytes: gzip through zlib, zstd through the
// host's `zstd` binary (Node 20 has no zstd), anything else passed through as plain tar.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UnavailableError, errnoCode } from '../errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

const gzipMagic = Buffer.from([0x1f, 0x8b]);
const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Needs the stream's first 4 bytes (fewer only when the stream is shorter). */
export function detectCompression(head: Buffer): Compression {
  if (head.subarray(0, 2).equals(gzipMagic)) return 'gzip';
  if (head.subarray(0, 4).equals(zstdMagic)) return 'zstd';
  return 'none';
}

export function decompressor(compression: 'gzip' | 'zstd'): Duplex {
  // zlib's default 16 KiB output chunks cost a main-thread callback each; 128 KiB ones made
  // unpacking a 250 MB layer about 40% faster.
  return compression === 'gzip' ? createGunzip({ chunkSize: 128 * 1024 }) : zstdDecompressor();
}

/**
 * `zstd -dc` as a duplex stream. Its output ends only once the process has exited 0, so a
 * truncated or corrupt input surfaces as an error instead of a silently short stream.
 * Destroying the duplex kills the process.
 */
function zstdDecompressor(): Duplex {
  const child = spawn('zstd', ['-dcq'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let outputEnded = false;
  let waitingRead = false;
  let pendingWrite: (() => void) | undefined;
  const releaseWrite = (): void => {
    const cb = pendingWrite;
    pendingWrite = undefined;
    cb?.();
  };

  const duplex = new Duplex({
    // Once zstd has exited its output is complete (or failed); its exit status decides which,
    // so input it no longer reads is dropped rather than left pending forever.
    write(chunk: Buffer, _enc, cb) {
      if (exited !== undefined) return cb();
      if (child.stdin.write(chunk)) return cb();
      pendingWrite = cb;
      child.stdin.once('drain', releaseWrite);
    },
    final(cb) {
      if (exited !== undefined) return cb();
      child.stdin.end(() => cb());
    },
    read() {
      if (waitingRead) {
        waitingRead = false;
        child.stdout.resume();
      }
    },
    destroy(err, cb) {
      if (exited === undefined) child.kill('SIGKILL');
      cb(err);
    },
  });

  const finish = (): void => {
    if (!outputEnded || exited === undefined || duplex.destroyed) return;
    if (exited.code === 0) {
      duplex.push(null);
      return;
    }
    const why = stderr.trim() || (exited.signal ? `killed by ${exited.signal}` : `exit status ${exited.code}`);
    duplex.destroy(new Error(`zstd: ${why}`));
  };

  child.stdout.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) {
      waitingRead = true;
      child.stdout.pause();
    }
  });
  child.stdout.on('end', () => {
    outputEnded = true;
    finish();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  // zstd may exit before reading all its input (corrupt data): the exit status is what counts.
  child.stdin.on('error', (err) => {
    if (errnoCode(err) !== 'EPIPE') duplex.destroy(err);
  });
  child.on('error', (err) =>
    duplex.destroy(new UnavailableError('zstd_unavailable', `cannot run zstd to decompress a zstd layer (is the zstd package installed?): ${err.message}`, { cause: err })),
  );
  child.on('close', (code, signal) => {
    exited = { code, signal };
    releaseWrite();
    finish();
  });
  return duplex;
}
