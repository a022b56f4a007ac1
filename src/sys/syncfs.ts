// Flushing a whole filesystem to disk can take seconds on a busy host, so it runs in coreutils'
// `sync --file-system` rather than as a blocking syncfs(2) on the event loop (koffi's async
// calls lose errno, and the error is the point).
import { lazy } from '../builtins.js';

export function syncFilesystem(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    lazy.childProcess.execFile('sync', ['--file-system', '--', path], (err, _stdout, stderr) => {
      if (err) reject(new Error(`sync --file-system ${path}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve();
    });
  });
}
