// Per-phase timing behind the global --debug flag: each phase is the time since the previous
// mark, and the first one is node's own start-up (from process start to berth's entry point).
// `performance` is node's global, which loads its module only when first used: with --debug.

let enabled = false;
let last = 0;
const phases: [string, number][] = [];

/** Where the launcher (src/cli/loader.ts) leaves the time its code started, with --debug. */
export const LOADER_START = Symbol.for('berth.loaderStart');

export function enableTiming(): void {
  enabled = true;
  last = 0;
  phases.length = 0;
  const loaderStart = (globalThis as { [LOADER_START]?: number })[LOADER_START];
  if (loaderStart === undefined) {
    mark('node start-up and CLI load');
    return;
  }
  phases.push(['node start-up', loaderStart]);
  last = loaderStart;
  mark('load CLI (code cache, commands)');
}

export function mark(phase: string): void {
  if (!enabled) return;
  const now = performance.now();
  phases.push([phase, now - last]);
  last = now;
}

/** The breakdown, one phase per line, or '' when timing is off. */
export function timingReport(): string {
  if (!enabled) return '';
  const width = Math.max(...phases.map(([p]) => p.length));
  const lines = phases.map(([p, ms]) => `berth timing: ${p.padEnd(width)} ${ms.toFixed(1).padStart(7)} ms`);
  lines.push(`berth timing: ${'total'.padEnd(width)} ${last.toFixed(1).padStart(7)} ms`);
  return lines.join('\n') + '\n';
}
