// `--change` for import and commit: Dockerfile instructions applied to an image's runtime
// config. Docker parses the changes as one Dockerfile (joined by newlines) and runs them
// through its builder's dispatchers; this follows that behaviour, including its messages,
// so scripts written against Docker see the same results and errors.
import { constants } from 'node:os';
import { InvalidArgumentError } from '../errors.js';
import type { ContainerConfig, HealthConfig } from './types.js';

/** Instructions Docker accepts in `--change` (plus STOPSIGNAL, which newer Docker accepts). */
const changeInstructions = new Set(['cmd', 'entrypoint', 'env', 'expose', 'healthcheck', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

const escapeToken = '\\';
const whitespace = /[\t\v\f\r ]+/;

function invalid(message: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_change', message);
}

interface Instruction {
  keyword: string;
  flags: Map<string, string | undefined>;
  rest: string;
  /** The logical line with its keyword stripped, as ONBUILD records its trigger. */
  original: string;
}

/**
 * Applies `changes` to a copy of `base`. Variables (`$VAR`, `${VAR:-default}`) expand from
 * the config's Env as it stands before each instruction, as in a Dockerfile.
 */
export function applyChanges(base: ContainerConfig, changes: string[]): ContainerConfig {
  const config: ContainerConfig = structuredClone(base);
  if (changes.length === 0) return config;
  const instructions = logicalLines(changes.join('\n')).map(splitInstruction);
  for (const ins of instructions) {
    if (!changeInstructions.has(ins.keyword)) throw invalid(`${ins.keyword} is not a valid change command`);
  }
  let cmdSet = false;
  for (const ins of instructions) {
    const env = config.Env ?? [];
    if (ins.keyword !== 'healthcheck') checkFlags(ins, []);
    switch (ins.keyword) {
      case 'cmd':
        config.Cmd = commandLine(ins.rest, config, false) ?? [];
        cmdSet = true;
        break;
      case 'entrypoint':
        config.Entrypoint = commandLine(ins.rest, config, true);
        // Docker drops an inherited CMD when ENTRYPOINT changes, unless CMD was set alongside.
        if (!cmdSet) config.Cmd = null;
        break;
      case 'env':
        for (const [key, value] of nameValues(ins.rest, 'ENV')) {
          setEnv(config, processWord(key, env), processWord(value, env));
        }
        break;
      case 'label': {
        const labels = { ...(config.Labels ?? {}) };
        for (const [key, value] of nameValues(ins.rest, 'LABEL')) labels[processWord(key, env)] = processWord(value, env);
        config.Labels = labels;
        break;
      }
      case 'expose': {
        const args = fields(ins.rest);
        if (args.length === 0) throw invalid('EXPOSE requires at least one argument');
        const ports = { ...(config.ExposedPorts ?? {}) };
        for (const arg of args) {
          for (const spec of processWords(arg, env)) for (const p of portKeys(spec)) ports[p] = {};
        }
        config.ExposedPorts = ports;
        break;
      }
      case 'user':
        if (ins.rest === '') throw invalid('USER requires exactly one argument');
        config.User = processWord(ins.rest, env);
        break;
      case 'workdir': {
        if (ins.rest === '') throw invalid('WORKDIR requires exactly one argument');
        const dir = processWord(ins.rest, env);
        config.WorkingDir = dir.startsWith('/') ? dir : joinPath('/', config.WorkingDir ?? '', dir);
        break;
      }
      case 'volume': {
        const list = jsonArray(ins.rest) ?? fields(ins.rest);
        if (list.length === 0) throw invalid('VOLUME requires at least one argument');
        const volumes = { ...(config.Volumes ?? {}) };
        for (const v of list) {
          const path = processWord(v, env).trim();
          if (path === '') throw invalid('VOLUME specified can not be an empty string');
          volumes[path] = {};
        }
        config.Volumes = volumes;
        break;
      }
      case 'stopsignal': {
        if (ins.rest === '') throw invalid('STOPSIGNAL requires exactly one argument');
        const signal = processWord(ins.rest, env);
        checkSignal(signal);
        config.StopSignal = signal;
        break;
      }
      case 'onbuild':
        config.OnBuild = [...(config.OnBuild ?? []), onbuildTrigger(ins)];
        break;
      case 'healthcheck':
        config.Healthcheck = healthcheck(ins);
        break;
    }
  }
  return config;
}

/** Joins continuation lines and drops blank and comment lines, as Docker's parser does. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending: string | undefined;
  for (const raw of text.split('\n')) {
    const trimmedStart = raw.replace(/^[\t\v\f\r ]+/, '');
    if (trimmedStart.startsWith('#')) continue;
    if (trimmedStart === '') continue;
    const line = pending === undefined ? trimmedStart : raw;
    const continued = /\\[ \t]*$/.exec(line);
    if (continued) {
      pending = (pending ?? '') + line.slice(0, continued.index);
      continue;
    }
    const full = (pending ?? '') + line;
    pending = undefined;
    if (full.trim() !== '') out.push(full.trim());
  }
  if (pending !== undefined && pending.trim() !== '') out.push(pending.trim());
  return out;
}

function splitInstruction(line: string): Instruction {
  const m = /^(\S+)[\t\v\f\r ]*(.*)$/s.exec(line);
  const keyword = (m?.[1] ?? line).toLowerCase();
  let rest = (m?.[2] ?? '').trim();
  const original = rest;
  const flags = new Map<string, string | undefined>();
  // Leading `--name=value` words are builder flags (HEALTHCHECK uses them; others reject them).
  for (;;) {
    const f = /^--([^\s=]*)(=(\S*))?(\s+|$)/.exec(rest);
    if (!f || f[1] === '') break;
    flags.set(f[1], f[2] === undefined ? undefined : f[3]);
    rest = rest.slice(f[0].length);
  }
  return { keyword, flags, rest, original };
}

function checkFlags(ins: Instruction, known: string[]): void {
  for (const [name, value] of ins.flags) {
    if (!known.includes(name)) throw invalid(`Unknown flag: ${name}`);
    if (value === undefined) throw invalid(`Missing a value on flag: ${name}`);
  }
}

/**
 * The exec form when `rest` starts with a JSON array (only its first JSON value counts, as
 * with Go's decoder), else the shell form run through the shell.
 */
function commandLine(rest: string, config: ContainerConfig, emptyAsNull: boolean): string[] | null {
  const exec = jsonArray(rest);
  if (exec) return exec.length === 0 && emptyAsNull ? null : exec;
  if (rest === '') return emptyAsNull ? null : [...shellOf(config)];
  return [...shellOf(config), rest];
}

function shellOf(config: ContainerConfig): string[] {
  return config.Shell?.length ? config.Shell : ['/bin/sh', '-c'];
}

/** A JSON array of strings at the start of `rest`; undefined when it is not JSON at all. */
function jsonArray(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  const end = firstJsonValueEnd(rest);
  if (end === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(rest.slice(0, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) {
    throw invalid('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return value as string[];
}

function firstJsonValueEnd(text: string): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return undefined;
}

function fields(rest: string): string[] {
  const t = rest.trim();
  return t === '' ? [] : t.split(whitespace);
}

/** ENV and LABEL: `k=v k2="v 2"`, or the legacy `k the whole rest`. */
function nameValues(rest: string, what: 'ENV' | 'LABEL'): [string, string][] {
  const words = parseWords(rest);
  if (words.length === 0) throw invalid(`${what} requires at least one argument`);
  let pairs: [string, string][];
  if (!words[0].includes('=')) {
    const parts = rest.split(whitespace);
    if (parts.length < 2) throw invalid(`${what} must have two arguments`);
    pairs = [[parts[0], rest.slice(parts[0].length).replace(/^[\t\v\f\r ]+/, '')]];
  } else {
    pairs = words.map((w) => {
      const eq = w.indexOf('=');
      if (eq < 0) throw invalid(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
      return [w.slice(0, eq), w.slice(eq + 1)];
    });
  }
  for (const [k] of pairs) if (k === '') throw invalid(`${what} names can not be blank`);
  return pairs;
}

/** Splits on whitespace outside quotes, keeping quotes and escapes for the later expansion. */
function parseWords(rest: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  let blankOk = false;
  const chars = [...rest];
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i];
    if (quote === undefined) {
      if (/\s/.test(ch)) {
        if (inWord && (blankOk || word.length > 0)) words.push(word);
        word = '';
        inWord = false;
        blankOk = false;
        continue;
      }
      inWord = true;
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
      } else if (ch === escapeToken) {
        if (i + 1 === chars.length) continue;
        word += ch;
        ch = chars[++i];
      }
      word += ch;
    } else {
      if (ch === quote) quote = undefined;
      else if (ch === escapeToken && quote !== "'") {
        if (i + 1 === chars.length) continue;
        word += ch;
        ch = chars[++i];
      }
      word += ch;
    }
  }
  if (inWord && (blankOk || word.length > 0)) words.push(word);
  return words;
}

/** Quote removal and variable expansion of one word (Docker's ProcessWord). */
export function processWord(word: string, env: string[]): string {
  return new ShellWord(word, env).process().text;
}

/** As processWord, then split on unquoted whitespace (Docker's ProcessWords). */
function processWords(word: string, env: string[]): string[] {
  return new ShellWord(word, env).process().words;
}

class ShellWord {
  private pos = 0;
  private readonly chars: string[];

  constructor(
    private readonly raw: string,
    private readonly env: string[],
  ) {
    this.chars = [...raw];
  }

  process(): { text: string; words: string[] } {
    try {
      return this.processStopOn(undefined);
    } catch (err) {
      throw invalid(`failed to process ${JSON.stringify(this.raw)}: ${(err as Error).message}`);
    }
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  private processStopOn(stop: string | undefined): { text: string; words: string[] } {
    let text = '';
    const words = new WordSplitter();
    while (this.peek() !== undefined) {
      const ch = this.peek()!;
      if (stop !== undefined && ch === stop) {
        this.next();
        return { text, words: words.done() };
      }
      if (ch === "'" || ch === '"' || ch === '$') {
        const part = ch === "'" ? this.singleQuoted() : ch === '"' ? this.doubleQuoted() : this.dollar();
        text += part;
        if (ch === '$') words.addString(part);
        else words.addRaw(part);
        continue;
      }
      let c = this.next()!;
      if (c === escapeToken) {
        const escaped = this.next();
        if (escaped === undefined) break;
        c = escaped;
        words.addRaw(c);
      } else {
        words.addChar(c);
      }
      text += c;
    }
    if (stop !== undefined) throw new Error(`unexpected end of statement while looking for matching ${stop}`);
    return { text, words: words.done() };
  }

  private singleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new Error('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const peek = this.peek();
      if (peek === undefined) throw new Error('unexpected end of statement while looking for matching double-quote');
      if (peek === '"') {
        this.next();
        return out;
      }
      if (peek === '$') {
        out += this.dollar();
        continue;
      }
      let ch = this.next()!;
      if (ch === escapeToken) {
        const after = this.peek();
        if (after === undefined) continue;
        if (after === '"' || after === '$' || after === escapeToken) ch = this.next()!;
      }
      out += ch;
    }
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      return name === '' ? '$' : this.getEnv(name);
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new Error("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new Error('syntax error: bad substitution');
    const name = this.name();
    const ch = this.next();
    if (ch === '}') return this.getEnv(name);
    if (ch !== ':') throw new Error("missing ':' in substitution");
    const modifier = this.next();
    let word: string;
    try {
      word = this.processStopOn('}').text;
    } catch (err) {
      if (this.peek() === undefined) throw new Error("syntax error: missing '}'");
      throw err;
    }
    const value = this.getEnv(name);
    switch (modifier) {
      case '+':
        return value !== '' ? word : value;
      case '-':
        return value === '' ? word : value;
      case '?':
        if (value !== '') return value;
        throw new Error(word !== '' ? `${name}: ${word}` : `${name}: is not allowed to be unset`);
      default:
        throw new Error(`unsupported modifier (${modifier ?? ''}) in substitution`);
    }
  }

  private name(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === '' && /\d/.test(ch)) {
        while (this.peek() !== undefined && /\d/.test(this.peek()!)) name += this.next();
        return name;
      }
      if (name === '' && /[@*#?\-$!]/.test(ch)) return this.next()!;
      if (!/[\p{L}\p{N}_]/u.test(ch)) break;
      name += this.next();
    }
    return name;
  }

  private getEnv(name: string): string {
    for (const e of this.env) {
      const eq = e.indexOf('=');
      if (eq < 0) {
        if (e === name) return '';
      } else if (e.slice(0, eq) === name) {
        return e.slice(eq + 1);
      }
    }
    return '';
  }
}

/** Word splitting where expanded variables split on whitespace and quoted text does not. */
class WordSplitter {
  private readonly words: string[] = [];
  private word = '';
  private inWord = false;

  addChar(ch: string): void {
    if (/\s/.test(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
      return;
    }
    this.addRaw(ch);
  }

  addRaw(text: string): void {
    this.word += text;
    this.inWord = true;
  }

  addString(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  done(): string[] {
    return this.inWord ? [...this.words, this.word] : [...this.words];
  }
}

function setEnv(config: ContainerConfig, key: string, value: string): void {
  const env = [...(config.Env ?? [])];
  const i = env.findIndex((e) => e.split('=', 1)[0] === key);
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
  config.Env = env;
}

/** EXPOSE specs (`80`, `80/tcp`, `53/udp`, `8000-8010`, `ip:host:container/proto`) as port keys. */
function portKeys(spec: string): string[] {
  const slash = spec.split('/');
  const proto = (slash.length > 1 && slash[1] !== '' ? slash[1] : 'tcp').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw invalid(`Invalid proto: ${proto}`);
  const container = slash[0].slice(slash[0].lastIndexOf(':') + 1);
  const m = /^(\d+)(?:-(\d+))?$/.exec(container);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  if (!m || start > 65535 || end > 65535 || end < start) throw invalid(`Invalid containerPort: ${container}`);
  const keys: string[] = [];
  for (let p = start; p <= end; p++) keys.push(`${p}/${proto}`);
  return keys;
}

/** Go's filepath.Join: joined with "/" and cleaned. */
function joinPath(...parts: string[]): string {
  const out: string[] = [];
  for (const seg of parts.join('/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

const signalNames = new Set([
  ...Object.keys(constants.signals).map((s) => s.replace(/^SIG/, '')),
  'CLD', 'IOT', 'POLL', 'RTMIN', 'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

function checkSignal(signal: string): void {
  if (/^[+-]?\d+$/.test(signal)) {
    if (Number(signal) === 0) throw invalid(`Invalid signal: ${signal}`);
    return;
  }
  if (!signalNames.has(signal.toUpperCase().replace(/^SIG/, ''))) throw invalid(`Invalid signal: ${signal}`);
}

function onbuildTrigger(ins: Instruction): string {
  const trigger = ins.rest.split(whitespace)[0]?.toUpperCase() ?? '';
  if (trigger === '') throw invalid('ONBUILD requires at least one argument');
  if (trigger === 'ONBUILD') throw invalid('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (trigger === 'FROM' || trigger === 'MAINTAINER') throw invalid(`${trigger} isn't allowed as an ONBUILD trigger`);
  return ins.original;
}

function healthcheck(ins: Instruction): HealthConfig {
  checkFlags(ins, ['interval', 'timeout', 'start-period', 'retries']);
  if (ins.rest === '') throw invalid('HEALTHCHECK requires at least one argument');
  const m = /^(\S*)\s*(.*)$/s.exec(ins.rest)!;
  const type = m[1].toUpperCase();
  const args = m[2];
  if (type === 'NONE') {
    if (args !== '' || ins.flags.size > 0) throw invalid('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (type !== 'CMD') throw invalid(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  const exec = jsonArray(args);
  if (exec ? exec.length === 0 : args === '') throw invalid('Missing command after HEALTHCHECK CMD');
  const hc: HealthConfig = { Test: exec ? ['CMD', ...exec] : ['CMD-SHELL', args] };
  const durations: [string, 'Interval' | 'Timeout' | 'StartPeriod'][] = [['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod']];
  for (const [flag, key] of durations) {
    const v = ins.flags.get(flag);
    if (v === undefined || v === '') continue;
    const ns = parseGoDuration(v);
    if (ns < 1_000_000) throw invalid(`Interval ${JSON.stringify(flag)} cannot be less than 1ms`);
    hc[key] = ns;
  }
  const retries = ins.flags.get('retries');
  if (retries !== undefined && retries !== '') {
    if (!/^[+-]?\d+$/.test(retries)) throw invalid(`strconv.ParseInt: parsing ${JSON.stringify(retries)}: invalid syntax`);
    const n = Number(retries);
    if (n < 1) throw invalid(`--retries must be at least 1 (not ${n})`);
    hc.Retries = n;
  }
  return hc;
}

const durationUnits: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(text: string): number {
  const bad = (): InvalidArgumentError => invalid(`time: invalid duration ${JSON.stringify(text)}`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (m[0] === '' || m[0] === '.') throw bad();
    s = s.slice(m[0].length);
    const unit = /^[^\d.]+/.exec(s)?.[0];
    if (!unit) throw invalid(`time: missing unit in duration ${JSON.stringify(text)}`);
    const scale = durationUnits[unit];
    if (scale === undefined) throw invalid(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`);
    s = s.slice(unit.length);
    total += Number(m[1] || '0') * scale + (m[2] ? Math.floor(Number(`0.${m[2]}`) * scale) : 0);
  }
  return sign * total;
}
