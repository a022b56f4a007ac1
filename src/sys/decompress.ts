// Layer decompression, chosen by the stream's magic bytes: gzip through ISA-L's `igzip` when the
// host has it (several times faster than zlib at inflating, which is most of the cost of a pull)
// and Node's zlib otherwise, zstd through the host's `zstd` binary (Node 20 has no zstd),
// anything else passed through as plain tar. Compression (an uncompressed layer pushed) is gzip
// the same way: igzip when present, zlib otherwise.
import type { ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { lazy } from '../builtins.js';
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
  if (compression === 'zstd') return toolFilter('zstd', ['-dcq'], 'pipe');
  if (igzipAvailable()) return toolFilter('igzip', ['-dc'], 'pipe');
  // zlib's default 16 KiB output chunks cost a main-thread callback each; 128 KiB ones made
  // unpacking a 250 MB layer about 40% faster.
  return lazy.zlib.createGunzip({ chunkSize: 128 * 1024 });
}

/**
 * A decompressing tool that reads the open file `fd` itself, so its input does not go through
 * this process and a pipe (which cost as much main-thread time as the download itself); its
 * output is the stream. Undefined when no tool does this compression (zlib's gzip fallback).
 */
export function fileDecompressor(compression: 'gzip' | 'zstd', fd: number): Duplex | undefined {
  if (compression === 'zstd') return toolFilter('zstd', ['-dcq'], fd);
  if (igzipAvailable()) return toolFilter('igzip', ['-dc'], fd);
  return undefined;
}

/**
 * A gzip compressor. Its output has no name or timestamp in the header, so the same input
 * compresses to the same bytes (and digest) each time on one host.
 */
export function gzipCompressor(): Duplex {
  if (igzipAvailable()) return toolFilter('igzip', ['-c', '-n'], 'pipe');
  return lazy.zlib.createGzip({ chunkSize: 128 * 1024 });
}

let igzip: boolean | undefined;

/** Looked up once: a missing optional tool must not cost a failed spawn per layer. */
function igzipAvailable(): boolean {
  igzip ??= (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', 'igzip'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  return igzip;
}

/**
 * A filtering tool (`zstd -dc`, `igzip -dc`, `igzip -c`) as a duplex stream. Its output ends
 * only once the process has exited 0, so a truncated or corrupt input surfaces as an error
 * instead of a silently short stream. Destroying the duplex kills the process. With a file
 * descriptor as `stdin` the tool reads that, and nothing is to be written to the duplex.
 */
function toolFilter(program: string, args: string[], stdin: 'pipe' | number): Duplex {
  const child = lazy.childProcess.spawn(program, args, { stdio: [stdin, 'pipe', 'pipe'] }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
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
    // Once the tool has exited its output is complete (or failed); its exit status decides which,
    // so input it no longer reads is dropped rather than left pending forever.
    write(chunk: Buffer, _enc, cb) {
      if (exited !== undefined || !child.stdin) return cb();
      const input = child.stdin;
      if (input.write(chunk)) return cb();
      pendingWrite = cb;
      input.once('drain', releaseWrite);
    },
    final(cb) {
      if (exited !== undefined || !child.stdin) return cb();
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
    duplex.destroy(new Error(`${program}: ${why}`));
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
  // The tool may exit before reading all its input (corrupt data): the exit status is what counts.
  child.stdin?.on('error', (err) => {
    if (errnoCode(err) !== 'EPIPE') duplex.destroy(err);
  });
  child.on('error', (err) =>
    duplex.destroy(new UnavailableError(`${program}_unavailable`, `cannot run ${program} for a layer (is the ${program === 'igzip' ? 'isal' : program} package installed?): ${err.message}`, { cause: err })),
  );
  child.on('close', (code, signal) => {
    exited = { code, signal };
    releaseWrite();
    finish();
  });
  return duplex;
}
