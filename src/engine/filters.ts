// Docker's list filters: `--filter key=value` repeated, validated against the keys each list
// accepts, with Docker's error wording for unknown keys.
import { InvalidArgumentError } from '../errors.js';
import type { Filters } from './engine.js';

export function checkFilterKeys(filters: Filters, allowed: readonly string[]): void {
  for (const key of Object.keys(filters)) {
    if (!allowed.includes(key)) throw new InvalidArgumentError('invalid_filter', `invalid filter '${key}'`);
  }
}

export function boolFilter(filters: Filters, key: string): boolean | undefined {
  const values = filters[key];
  if (!values || values.length === 0) return undefined;
  const v = values[values.length - 1].toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidArgumentError('invalid_filter', `invalid filter '${key}=${values[values.length - 1]}': expected true or false`);
}

/** `label=key` or `label=key=value`: every given label filter must match. */
export function labelsMatch(labels: Record<string, string> | null | undefined, wanted: string[] | undefined): boolean {
  if (!wanted) return true;
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return labels !== null && labels !== undefined && w in labels;
    return labels?.[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

/** Docker's prune filters: `label!=key` or `label!=key=value` keeps what has any of them. */
export function labelsExcluded(labels: Record<string, string> | null | undefined, unwanted: string[] | undefined): boolean {
  return !!unwanted && unwanted.some((u) => labelsMatch(labels, [u]));
}

/** Go's path.Match: `*` and `?` do not cross '/', `[...]` classes with `^`/`!` negation. */
export function globMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new InvalidArgumentError('invalid_filter', `invalid pattern "${pattern}": syntax error in pattern`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += '[' + cls.replace(/\\/g, '\\\\') + ']';
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += '\\' + pattern[++i];
    } else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$').test(name);
}

/** `until`/`since`/`before` timestamps: RFC 3339, unix seconds, or a Go duration ago. */
export function parseTimestamp(value: string, nowMs = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const dur = /^(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)$/.exec(value);
  if (dur) {
    const mult: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    return nowMs / 1000 - Number(dur[1]) * mult[dur[2]];
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new InvalidArgumentError('invalid_timestamp', `invalid timestamp "${value}": use RFC 3339 (2006-01-02T15:04:05Z), unix seconds, or a duration such as 10m`);
  }
  return t / 1000;
}
