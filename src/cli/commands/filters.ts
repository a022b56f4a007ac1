// `--filter key=value` flags, repeated, into the Filters map the engine takes.
import { InvalidArgumentError } from '../../errors.js';
import type { Filters } from '../../engine/engine.js';

export function parseFilterArgs(args: string[]): Filters {
  const filters: Filters = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      throw new InvalidArgumentError('invalid_filter', `bad format of filter (expected name=value): "${arg}"`);
    }
    const key = arg.slice(0, eq).trim().toLowerCase();
    (filters[key] ??= []).push(arg.slice(eq + 1));
  }
  return filters;
}
