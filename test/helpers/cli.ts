// Drives the built CLI (dist/berth.mjs) as a user would, against a throwaway state root.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const berthBin = fileURLToPath(new URL('../../../dist/berth.mjs', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function berth(root: string, args: string[], opts: { input?: string | Buffer; runroot?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [berthBin, '--root', root, '--runroot', opts.runroot ?? root + '/run', ...args], {
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Like berth() but fails the test with the CLI's stderr when the exit code is not 0. */
export function berthOk(root: string, args: string[], opts: { input?: string | Buffer; runroot?: string } = {}): string {
  const r = berth(root, args, opts);
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
