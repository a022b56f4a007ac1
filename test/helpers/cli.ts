// Drives the built CLI (dist/berth.cjs) as a user would, against a throwaway state root.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { processesUsing } from './processes.js';

export const berthBin = fileURLToPath(new URL('../../../dist/berth.cjs', import.meta.url));

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

/**
 * berth() without blocking the test's event loop: needed when the test process itself serves
 * what berth talks to (a token server, a proxy).
 */
export function berthAsync(root: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [berthBin, '--root', root, '--runroot', root + '/run', ...args], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // berth may exit without reading its stdin; its exit status tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);
  });
}

/** berthAsync() that throws unless berth exits 0; its stdout. */
export async function berthOkAsync(root: string, args: string[], input?: string | Buffer): Promise<string> {
  const r = await berthAsync(root, args, { input });
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Removes every container of the state root and takes its networks' bridges and rules off the
 * host (networks keep them until removed; prune takes the default bridge's too).
 */
export function removeContainersAndNetworks(root: string): void {
  const ids = berth(root, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length) berth(root, ['rm', '-f', ...ids]);
  berth(root, ['network', 'prune', '-f']);
}

/**
 * The end of a suite's state root, even after failed tests: every container and network gone,
 * then `more` (the suite's own checks and prunes), conmon's exit commands finished, whatever is
 * still mounted below the root unmounted (never deleted through a mount), and the directory.
 */
export async function tearDownRoot(tmp: { dir: string; cleanup: () => void }, more?: () => void | Promise<void>): Promise<void> {
  try {
    removeContainersAndNetworks(tmp.dir);
    await more?.();
    const deadline = Date.now() + 10_000;
    while (processesUsing(tmp.dir).length && Date.now() < deadline) await sleep(100);
  } finally {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]);
    for (const m of mounts.filter((m) => m?.startsWith(tmp.dir + '/')).reverse()) spawnSync('umount', ['-l', m]);
    tmp.cleanup();
  }
}
