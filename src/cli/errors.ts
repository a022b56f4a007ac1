// How errors leave the CLI: one line on stderr and Docker's exit codes.
import { BerthError } from '../errors.js';

/** Docker exits 125 when the CLI or engine fails before a container ran. */
export const exitUsage = 125;

export class UsageError extends Error {}

export function reportError(err: unknown, debug: boolean): number {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n`);
    return exitUsage;
  }
  if (err instanceof BerthError) {
    process.stderr.write(`Error: ${err.message}\n`);
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    return 1;
  }
  const e = err as Error;
  process.stderr.write(`Error: ${e?.message ?? String(err)}\n`);
  if (debug && e?.stack) process.stderr.write(e.stack + '\n');
  return 1;
}
