// A host tool whose stdio the caller provides (an attached `runc exec`): streams backed by a
// file descriptor (a terminal, a pipe, a file) are handed to the tool as they are, so a
// terminal stays a terminal; anything else is piped.
import { spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';

export interface AttachedStdio {
  stdin?: NodeJS.ReadableStream | null;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

function fdOf(stream: unknown): number | undefined {
  const fd = (stream as { fd?: unknown } | null)?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Runs the tool with the given stdio and resolves with its exit status (128+N for a signal). */
export function runAttached(file: string, args: readonly string[], stdio: AttachedStdio): Promise<number> {
  const stdinFd = stdio.stdin ? fdOf(stdio.stdin) : undefined;
  const stdoutFd = fdOf(stdio.stdout);
  const stderrFd = fdOf(stdio.stderr);
  const spec: StdioOptions = [
    stdio.stdin ? (stdinFd ?? 'pipe') : 'ignore',
    stdoutFd ?? 'pipe',
    stderrFd ?? 'pipe',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: spec });
    if (stdio.stdin && stdinFd === undefined) stdio.stdin.pipe(child.stdin!);
    if (stdoutFd === undefined) child.stdout!.pipe(stdio.stdout, { end: false });
    if (stderrFd === undefined) child.stderr!.pipe(stdio.stderr, { end: false });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (stdio.stdin && stdinFd === undefined) stdio.stdin.unpipe(child.stdin!);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
