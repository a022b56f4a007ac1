// The CLI bundle's entry point; src/cli/loader.ts runs it (through a V8 code cache).
//
// Once the command's work is all done (the event loop is empty), the process exits without
// closing the state database: the last connection to close checkpoints SQLite's write-ahead
// log into the database file, with two fsyncs (1 ms on an idle disk, 20 ms on a busy one).
// Every commit is already safe in the log, the next berth process reads it from there, and
// SQLite checkpoints it as it grows.
import { runCli } from './program.js';

process.once('beforeExit', () => process.exit());
// A reader that stops early (`berth events | head`) is not an error: berth ends quietly, as
// `cp` and `export` to stdout already do, instead of dying on an unhandled EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});
runCli(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
