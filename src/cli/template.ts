// `--format` templates: the subset of Go's text/template that docker users write, with docker's
// template functions (docker/cli templates package) and Go's printing rules, so a format string
// renders here as it does with the docker CLI.
import { InvalidArgumentError } from '../errors.js';
import { jsonText } from '../json.js';
import { formatGoFloat } from './units.js';

// ---------------------------------------------------------------------------------------------
// Format strings

/** Docker treats any format starting with "table" as a table, even "tablefoo". */
export function isTableFormat(src: string): boolean {
  return src.startsWith('table');
}

/**
 * Docker's preprocessing of --format: drops the "table" prefix, expands the "json" shorthand,
 * trims spaces and turns the two-character sequences \t and \n into tab and newline.
 */
export function parseFormat(src: string): { table: boolean; body: string } {
  const table = isTableFormat(src);
  let body = table ? src.slice('table'.length) : src === 'json' ? '{{json .}}' : src;
  body = body.replace(/^ +| +$/g, '').replace(/\\[tn]/g, (m) => (m === '\\t' ? '\t' : '\n'));
  return { table, body };
}

export interface CompileOptions {
  /**
   * Render a table header: docker executes the same template against a map of column titles
   * with json, split, join, title, lower, upper and truncate replaced by the identity, so that
   * `{{json .Labels}}` heads its column with "LABELS" rather than "\"LABELS\"".
   */
  header?: boolean;
}

/** Parses a Go template; a bad template throws InvalidArgumentError('invalid_format'). */
export function compileTemplate(src: string, options: CompileOptions = {}): (data: unknown) => string {
  const funcs = options.header ? { ...builtins, ...headerFuncs } : builtins;
  const tree = new Parser(src, funcs).parse();
  return (data: unknown) => new Executor(src, funcs, data).run(tree);
}

function formatError(message: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_format', `template parsing error: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Lexer

type TokenKind =
  | 'text'
  | 'left'
  | 'right'
  | 'space'
  | 'ident'
  | 'keyword'
  | 'field'
  | 'variable'
  | 'dot'
  | 'string'
  | 'char'
  | 'number'
  | 'bool'
  | 'nil'
  | 'pipe'
  | 'lparen'
  | 'rparen'
  | 'declare'
  | 'assign'
  | 'punct'
  | 'eof';

interface Token {
  kind: TokenKind;
  /** Source text, except for 'text' where it is the (trimmed) text to output. */
  val: string;
  pos: number;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define', 'template', 'block']);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined) => c !== undefined && /^[\p{L}\p{Nd}_]$/u.test(c);

function lineOf(src: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < src.length; i++) if (src[i] === '\n') line++;
  return line;
}

function lex(src: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const fail = (at: number, msg: string): never => {
    throw formatError(`template: :${lineOf(src, at)}: ${msg}`);
  };
  // A trim marker is "{{- " on the left and " -}}" on the right: the space keeps "{{-3}}" a number.
  const rightDelimAt = (p: number): { len: number; trim: boolean } | null => {
    if (src.startsWith('}}', p)) return { len: 2, trim: false };
    if (isSpace(src[p]) && src[p + 1] === '-' && src.startsWith('}}', p + 2)) return { len: 4, trim: true };
    return null;
  };
  const skipSpaces = (p: number) => {
    while (isSpace(src[p])) p++;
    return p;
  };
  const atTerminator = (p: number) => {
    const c = src[p];
    return c === undefined || isSpace(c) || '.,|:()'.includes(c) || src.startsWith('}}', p);
  };

  while (pos < src.length) {
    const open = src.indexOf('{{', pos);
    let text = open < 0 ? src.slice(pos) : src.slice(pos, open);
    const trimLeft = open >= 0 && src[open + 2] === '-' && isSpace(src[open + 3]);
    if (trimLeft) text = text.replace(/[ \t\r\n]+$/, '');
    if (text !== '') tokens.push({ kind: 'text', val: text, pos });
    if (open < 0) break;
    pos = open + (trimLeft ? 4 : 2);

    if (src.startsWith('/*', pos)) {
      const close = src.indexOf('*/', pos + 2);
      if (close < 0) fail(pos, 'unclosed comment');
      const delim = rightDelimAt(close + 2);
      if (!delim) fail(close, 'comment ends before closing delimiter');
      pos = close + 2 + delim!.len;
      if (delim!.trim) pos = skipSpaces(pos);
      continue;
    }

    tokens.push({ kind: 'left', val: '{{', pos: open });
    let depth = 0;
    for (;;) {
      const delim = rightDelimAt(pos);
      if (delim) {
        if (depth > 0) fail(pos, 'unclosed left paren');
        tokens.push({ kind: 'right', val: '}}', pos });
        pos += delim.len;
        if (delim.trim) pos = skipSpaces(pos);
        break;
      }
      const start = pos;
      const c = src[pos];
      const emit = (kind: TokenKind, end: number) => {
        tokens.push({ kind, val: src.slice(start, end), pos: start });
        pos = end;
      };
      if (c === undefined) fail(pos, 'unclosed action');
      if (isSpace(c)) {
        // Stop short of the space that belongs to a " -}}".
        let end = pos;
        while (isSpace(src[end]) && !rightDelimAt(end)?.trim) end++;
        emit('space', end);
      } else if (c === '=') {
        emit('assign', pos + 1);
      } else if (c === ':') {
        if (src[pos + 1] !== '=') fail(pos, 'expected :=');
        emit('declare', pos + 2);
      } else if (c === '|') {
        emit('pipe', pos + 1);
      } else if (c === '"' || c === "'") {
        let end = pos + 1;
        while (src[end] !== c) {
          if (src[end] === '\\') end++;
          if (end >= src.length || src[end] === '\n') {
            fail(pos, c === '"' ? 'unterminated quoted string' : 'unterminated character constant');
          }
          end++;
        }
        emit(c === '"' ? 'string' : 'char', end + 1);
      } else if (c === '`') {
        const end = src.indexOf('`', pos + 1);
        if (end < 0) fail(pos, 'unterminated raw quoted string');
        emit('string', end + 1);
      } else if (c === '$' || (c === '.' && !/[0-9]/.test(src[pos + 1] ?? ''))) {
        let end = pos + 1;
        while (isAlnum(src[end])) end++;
        if (!atTerminator(end)) fail(end, `bad character ${describeRune(src.codePointAt(end)!)}`);
        emit(c === '$' ? 'variable' : end === pos + 1 ? 'dot' : 'field', end);
      } else if (c === '+' || c === '-' || c === '.' || /[0-9]/.test(c)) {
        const end = scanNumber(src, pos);
        if (isAlnum(src[end])) fail(pos, `bad number syntax: ${JSON.stringify(src.slice(pos, end + 1))}`);
        emit('number', end);
      } else if (isAlnum(c)) {
        let end = pos;
        while (isAlnum(src[end])) end++;
        if (!atTerminator(end)) fail(end, `bad character ${describeRune(src.codePointAt(end)!)}`);
        const word = src.slice(pos, end);
        const kind: TokenKind = KEYWORDS.has(word)
          ? 'keyword'
          : word === 'true' || word === 'false'
            ? 'bool'
            : word === 'nil'
              ? 'nil'
              : 'ident';
        emit(kind, end);
      } else if (c === '(') {
        depth++;
        emit('lparen', pos + 1);
      } else if (c === ')') {
        if (--depth < 0) fail(pos, 'unexpected right paren');
        emit('rparen', pos + 1);
      } else if (c <= '\x7e' && c >= '\x21') {
        emit('punct', pos + 1);
      } else {
        fail(pos, `unrecognized character in action: ${describeRune(src.codePointAt(pos)!)}`);
      }
    }
  }
  tokens.push({ kind: 'eof', val: '', pos: src.length });
  return tokens;
}

/** Go's scanNumber: sign, base prefix, digits, fraction, exponent, imaginary suffix. */
function scanNumber(src: string, pos: number): number {
  const accept = (set: string) => {
    if (pos < src.length && set.includes(src[pos])) {
      pos++;
      return true;
    }
    return false;
  };
  const acceptRun = (set: string) => {
    while (accept(set));
  };
  accept('+-');
  let digits = '0123456789_';
  if (accept('0')) {
    if (accept('xX')) digits = '0123456789abcdefABCDEF_';
    else if (accept('oO')) digits = '01234567_';
    else if (accept('bB')) digits = '01_';
  }
  acceptRun(digits);
  if (accept('.')) acceptRun(digits);
  if (digits.length === 11 && accept('eE')) {
    accept('+-');
    acceptRun('0123456789_');
  }
  if (digits.length === 23 && accept('pP')) {
    accept('+-');
    acceptRun('0123456789_');
  }
  accept('i');
  return pos;
}

/** Go's %#U: "U+0023 '#'". */
function describeRune(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${String.fromCodePoint(cp)}'`;
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

interface Span {
  pos: number;
  end: number;
}

type Arg =
  | (Span & { kind: 'dot' })
  | (Span & { kind: 'nil' })
  | (Span & { kind: 'literal'; value: string | number | boolean })
  | (Span & { kind: 'field'; names: string[] })
  | (Span & { kind: 'variable'; name: string; names: string[] })
  | (Span & { kind: 'func'; name: string })
  | (Span & { kind: 'pipe'; pipe: Pipeline })
  | (Span & { kind: 'chain'; base: Arg; names: string[] });

interface Command extends Span {
  args: Arg[];
}

interface Pipeline {
  decl: string[];
  assign: boolean;
  cmds: Command[];
}

interface ControlNode {
  kind: 'if' | 'with' | 'range';
  pipe: Pipeline;
  list: Node[];
  elseList: Node[] | null;
}

type Node = { kind: 'text'; text: string } | { kind: 'action'; pipe: Pipeline } | ControlNode | { kind: 'break' | 'continue' };

// ---------------------------------------------------------------------------------------------
// Parser

type ListEnd = 'end' | 'else' | 'eof';

class Parser {
  private tokens: Token[];
  private i = 0;
  private vars = ['$'];
  private rangeDepth = 0;

  constructor(
    private src: string,
    private funcs: Record<string, Func>,
  ) {
    this.tokens = lex(src);
  }

  parse(): Node[] {
    const { nodes, end, token } = this.list();
    if (end !== 'eof') this.fail(token, `unexpected {{${end}}}`);
    return nodes;
  }

  private fail(token: Token, msg: string): never {
    throw formatError(`template: :${lineOf(this.src, token.pos)}: ${msg}`);
  }

  // Reading past the end keeps returning EOF, and stepping back from there stays consistent.
  private next(): Token {
    return this.tokens[Math.min(this.i++, this.tokens.length - 1)];
  }
  private peek(): Token {
    return this.tokens[Math.min(this.i, this.tokens.length - 1)];
  }
  private nextNonSpace(): Token {
    let t = this.next();
    while (t.kind === 'space') t = this.next();
    return t;
  }
  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.i--;
    return t;
  }
  private expect(kind: TokenKind, context: string): Token {
    const t = this.nextNonSpace();
    if (t.kind !== kind) this.unexpected(t, context);
    return t;
  }
  private unexpected(t: Token, context: string): never {
    this.fail(t, `unexpected ${describeToken(t)} in ${context}`);
  }

  /** Nodes up to {{end}}, {{else}} or the end of input; the terminator is consumed. */
  private list(): { nodes: Node[]; end: ListEnd; token: Token } {
    const nodes: Node[] = [];
    for (;;) {
      const t = this.nextNonSpace();
      if (t.kind === 'eof') return { nodes, end: 'eof', token: t };
      if (t.kind === 'text') {
        nodes.push({ kind: 'text', text: t.val });
        continue;
      }
      if (t.kind !== 'left') this.unexpected(t, 'input');
      const kw = this.peekNonSpace();
      if (kw.kind === 'keyword') {
        this.nextNonSpace();
        switch (kw.val) {
          case 'end':
            this.expect('right', 'end');
            return { nodes, end: 'end', token: kw };
          case 'else': {
            // "{{else if" and "{{else with" leave the keyword for the enclosing control to see.
            const after = this.peekNonSpace();
            if (!(after.kind === 'keyword' && (after.val === 'if' || after.val === 'with'))) {
              this.expect('right', 'else');
            }
            return { nodes, end: 'else', token: kw };
          }
          case 'if':
          case 'with':
          case 'range':
            nodes.push(this.control(kw.val));
            continue;
          case 'break':
          case 'continue':
            if (this.rangeDepth === 0) this.fail(kw, `{{${kw.val}}} outside {{range}}`);
            this.expect('right', kw.val);
            nodes.push({ kind: kw.val });
            continue;
          default:
            this.fail(kw, `{{${kw.val}}} is not supported in --format templates`);
        }
      }
      nodes.push({ kind: 'action', pipe: this.pipeline('command', 'right') });
    }
  }

  private control(kind: 'if' | 'with' | 'range'): Node {
    const outer = this.vars.length;
    const pipe = this.pipeline(kind, 'right');
    const scope = this.vars.length;
    if (kind === 'range') this.rangeDepth++;
    const body = this.list();
    if (kind === 'range') this.rangeDepth--;
    this.vars.length = scope;
    let elseList: Node[] | null = null;
    if (body.end === 'eof') this.fail(body.token, 'unexpected EOF');
    if (body.end === 'else') {
      const t = this.peekNonSpace();
      if (kind !== 'range' && t.kind === 'keyword' && t.val === kind) {
        // {{else if …}} is {{else}}{{if …}}…{{end}}, sharing the one {{end}}.
        this.nextNonSpace();
        elseList = [this.control(kind)];
      } else {
        const alt = this.list();
        if (alt.end === 'eof') this.fail(alt.token, 'unexpected EOF');
        if (alt.end !== 'end') this.fail(alt.token, `expected end; found {{${alt.end}}}`);
        elseList = alt.nodes;
      }
    }
    this.vars.length = outer;
    return { kind, pipe, list: body.nodes, elseList };
  }

  private pipeline(context: string, end: 'right' | 'rparen'): Pipeline {
    const pipe: Pipeline = { decl: [], assign: false, cmds: [] };
    this.declarations(pipe, context);
    for (;;) {
      const t = this.nextNonSpace();
      if (t.kind === end) {
        if (pipe.cmds.length === 0) this.fail(t, `missing value for ${context}`);
        pipe.cmds.slice(1).forEach((cmd, i) => {
          const first = cmd.args[0];
          if (first.kind === 'dot' || first.kind === 'nil' || first.kind === 'literal') {
            this.fail(t, `non executable command in pipeline stage ${i + 2}`);
          }
        });
        return pipe;
      }
      if (!isOperandStart(t)) this.unexpected(t, context);
      this.i--;
      pipe.cmds.push(this.command());
    }
  }

  /** "$x :=", "$x =" and, in range, "$i, $e :=": otherwise the variable is just an operand. */
  private declarations(pipe: Pipeline, context: string): void {
    const first = this.peekNonSpace();
    if (first.kind !== 'variable') return;
    const save = this.i;
    this.nextNonSpace();
    const names = [first];
    let op = this.nextNonSpace();
    if (op.kind === 'punct' && op.val === ',') {
      if (context !== 'range') this.fail(op, `too many declarations in ${context}`);
      const second = this.nextNonSpace();
      if (second.kind !== 'variable') this.fail(second, 'range can only initialize variables');
      names.push(second);
      op = this.nextNonSpace();
      if (op.kind !== 'declare' && op.kind !== 'assign') this.unexpected(op, context);
    }
    if (op.kind !== 'declare' && op.kind !== 'assign') {
      this.i = save;
      return;
    }
    pipe.assign = op.kind === 'assign';
    for (const v of names) {
      if (pipe.assign) this.useVar(v);
      pipe.decl.push(v.val);
    }
    if (!pipe.assign) this.vars.push(...pipe.decl);
  }

  private useVar(t: Token): void {
    if (!this.vars.includes(t.val)) this.fail(t, `undefined variable ${JSON.stringify(t.val)}`);
  }

  private command(): Command {
    const args: Arg[] = [];
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) args.push(operand);
      const t = this.next();
      if (t.kind === 'space') continue;
      if (t.kind === 'right' || t.kind === 'rparen') this.i--;
      else if (t.kind !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    return { args, pos: args[0].pos, end: args[args.length - 1].end };
  }

  private operand(): Arg | null {
    const base = this.term();
    if (!base) return null;
    const names: string[] = [];
    let end = base.end;
    while (this.peek().kind === 'field') {
      const f = this.next();
      names.push(f.val.slice(1));
      end = f.pos + f.val.length;
    }
    if (names.length === 0) return base;
    const span = { pos: base.pos, end };
    switch (base.kind) {
      case 'field':
        return { ...span, kind: 'field', names: [...base.names, ...names] };
      case 'variable':
        return { ...span, kind: 'variable', name: base.name, names: [...base.names, ...names] };
      case 'pipe':
      case 'func':
        return { ...span, kind: 'chain', base, names };
      default:
        this.fail(this.tokens[this.i - 1], `unexpected . after term ${JSON.stringify(this.src.slice(base.pos, base.end))}`);
    }
  }

  private term(): Arg | null {
    const t = this.nextNonSpace();
    const span = { pos: t.pos, end: t.pos + t.val.length };
    switch (t.kind) {
      case 'ident':
        if (!Object.hasOwn(this.funcs, t.val)) this.fail(t, `function ${JSON.stringify(t.val)} not defined`);
        return { ...span, kind: 'func', name: t.val };
      case 'dot':
        return { ...span, kind: 'dot' };
      case 'nil':
        return { ...span, kind: 'nil' };
      case 'variable':
        this.useVar(t);
        return { ...span, kind: 'variable', name: t.val, names: [] };
      case 'field':
        return { ...span, kind: 'field', names: [t.val.slice(1)] };
      case 'bool':
        return { ...span, kind: 'literal', value: t.val === 'true' };
      case 'number':
      case 'char':
        return { ...span, kind: 'literal', value: this.number(t) };
      case 'string':
        return { ...span, kind: 'literal', value: this.unquote(t) };
      case 'lparen': {
        const pipe = this.pipeline('parenthesized pipeline', 'rparen');
        return { pos: t.pos, end: this.tokens[this.i - 1].pos + 1, kind: 'pipe', pipe };
      }
      default:
        this.i--;
        return null;
    }
  }

  private unquote(t: Token): string {
    if (t.val.startsWith('`')) return t.val.slice(1, -1);
    const s = unquoteGo(t.val.slice(1, -1), '"');
    if (s === null) this.fail(t, `invalid syntax: ${t.val}`);
    return s;
  }

  /** Go's NumberNode: integers in any base (a leading 0 is octal), floats, character constants. */
  private number(t: Token): number {
    if (t.kind === 'char') {
      const s = unquoteGo(t.val.slice(1, -1), "'");
      if (s === null || [...s].length !== 1) this.fail(t, `malformed character constant: ${t.val}`);
      return s.codePointAt(0)!;
    }
    const text = t.val;
    const int = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(text);
    if (int) {
      const body = int[2].replace(/_/g, '');
      const value = /^0[0-7]+$/.test(body) ? parseInt(body, 8) : Number(body);
      return int[1] === '-' ? -value : value;
    }
    if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) {
      // A float spelling with no '.', 'e' or 'p' is an integer too large for Go's int64.
      if (!/[.eEpP]/.test(text)) this.fail(t, `integer overflow: ${JSON.stringify(text)}`);
      return Number(text);
    }
    this.fail(t, `illegal number syntax: ${JSON.stringify(text)}`);
  }
}

function isOperandStart(t: Token): boolean {
  return ['bool', 'char', 'dot', 'field', 'ident', 'number', 'nil', 'string', 'variable', 'lparen'].includes(t.kind);
}

/** Go's item.String() as used in "unexpected … in …" messages. */
function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'EOF';
    case 'keyword':
      return `<${t.val}>`;
    case 'right':
      return '"}}"';
    case 'left':
      return '"{{"';
    default:
      return t.val.length > 10 ? `${JSON.stringify(t.val.slice(0, 10))}...` : JSON.stringify(t.val);
  }
}

/** strconv.Unquote's escapes inside a "…" or '…' literal; null when malformed. */
function unquoteGo(body: string, quote: '"' | "'"): string | null {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      if (c === quote) return null;
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
    if (e in simple) out += simple[e];
    else if (e === quote) out += e;
    else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) return null;
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) return null;
      // \x is a byte: the values above 0x7f spell UTF-8 sequences, which a JS string cannot hold
      // byte by byte, so they are taken as Latin-1 code points.
      out += String.fromCodePoint(cp);
      i += n;
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) return null;
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else return null;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values, printing and truth

/** The state of a command that received no piped-in value (Go's missingVal). */
const NO_FINAL = Symbol('no final value');
/** A piped-in value, or NO_FINAL. */
type Final = unknown;

class ExecError extends Error {}
/** A function's own failure, reported as Go reports it: "error calling NAME: …". */
class CallError extends Error {}

const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's names for the dynamic types of template data, used in error messages and %T. */
function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'bigint') return 'int64';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'function') return 'func';
  return 'map[string]interface {}';
}

function formatNumber(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : formatGoFloat(n, 'g', -1);
}

function sortedKeys(m: Record<string, unknown>): string[] {
  return Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** fmt's %v: maps as map[k:v] with sorted keys, slices as [a b], nil as <nil>. */
function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  if (typeof v === 'function') throw new ExecError(`can't print value of type func`);
  const m = v as Record<string, unknown>;
  return `map[${sortedKeys(m)
    .map((k) => `${k}:${formatValue(m[k])}`)
    .join(' ')}]`;
}

/** Go's truth: false, 0, "", nil and empty slices and maps are false. */
function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'function') return true;
  return Object.keys(v).length > 0;
}

/**
 * Docker's json function: encoding/json with HTML escaping turned off (SetEscapeHTML(false)),
 * compact, no trailing newline. encoding/json still escapes U+2028 and U+2029. Object keys
 * keep their insertion order (Go's struct order); docker's list contexts marshal as maps,
 * whose keys Go sorts, so those contexts should be built with their keys in sorted order.
 * A value with a toJSON method marshals as what it returns (Go's MarshalJSON), and a bigint
 * (Go's int64, such as a time in nanoseconds) with all its digits.
 */
function goJson(v: unknown): string {
  const absent = v === undefined || typeof v === 'function' || typeof v === 'symbol';
  return (absent ? 'null' : jsonText(v)).replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
}

// ---------------------------------------------------------------------------------------------
// Functions

interface Func {
  /** Number of arguments accepted; max Infinity for variadic functions. */
  min: number;
  max: number;
  fn: (...args: unknown[]) => unknown;
}

function stringArg(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) throw new ExecError('invalid value; expected string');
  throw new ExecError(`wrong type for value; expected string; got ${goTypeName(v)}`);
}

function intArg(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (v === null || v === undefined) throw new ExecError('invalid value; expected int');
  throw new ExecError(`wrong type for value; expected int; got ${goTypeName(v)}`);
}

/** Go's validateType for a string: no conversion, unlike the functions' string arguments. */
function stringValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) throw new ExecError('invalid value; expected string');
  throw new ExecError(`wrong type for value; expected string; got ${goTypeName(v)}`);
}

function listArg(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === null || v === undefined) return [];
  throw new ExecError(`wrong type for value; expected []string; got ${goTypeName(v)}`);
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** strings.Title: upper-cases the first letter of each word, words split at non-letters. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const separator = /^[\x00-\x7f]$/.test(prev)
      ? !/^[0-9A-Za-z_]$/.test(prev)
      : !/^[\p{L}\p{Nd}]$/u.test(prev) && /^\s$/u.test(prev);
    out += separator ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

type Kind = 'nil' | 'bool' | 'number' | 'string' | 'other';
function basicKind(v: unknown): Kind {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  if (typeof v === 'string') return 'string';
  return 'other';
}

function eq(a: unknown, ...others: unknown[]): boolean {
  if (others.length === 0) throw new CallError('missing argument for comparison');
  const ka = basicKind(a);
  for (const b of others) {
    const kb = basicKind(b);
    // Anything may be compared with nil; otherwise only basic values of one kind.
    if (ka === 'nil' || kb === 'nil') {
      if (ka === kb) return true;
      continue;
    }
    if (ka === 'other' || kb === 'other') throw new CallError('non-comparable types for comparison');
    if (ka !== kb) throw new CallError('incompatible types for comparison');
    if (a === b || (ka === 'number' && Number(a) === Number(b))) return true;
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === 'nil' || ka === 'other' || kb === 'nil' || kb === 'other') {
    throw new CallError('invalid type for comparison');
  }
  if (ka !== kb) throw new CallError('incompatible types for comparison');
  if (ka === 'bool') throw new CallError('invalid type for comparison');
  return ka === 'number' ? Number(a) < Number(b) : (a as string) < (b as string);
}

function index(item: unknown, ...keys: unknown[]): unknown {
  if (item === null || item === undefined) throw new CallError('index of untyped nil');
  for (const key of keys) {
    if (item === null || item === undefined) throw new CallError('index of nil pointer');
    if (Array.isArray(item) || typeof item === 'string') {
      if (key === null || key === undefined) throw new CallError('cannot index slice/array with nil');
      if (typeof key !== 'number' || !Number.isInteger(key)) {
        throw new CallError(`cannot index slice/array with type ${goTypeName(key)}`);
      }
      const seq: ArrayLike<unknown> = typeof item === 'string' ? utf8(item) : item;
      if (key < 0 || key >= seq.length) throw new CallError(`index out of range: ${key}`);
      item = seq[key];
    } else if (isMap(item)) {
      const k = stringArg(key);
      item = Object.hasOwn(item, k) ? item[k] : zeroLike(item);
    } else {
      throw new CallError(`can't index item of type ${goTypeName(item)}`);
    }
  }
  return item;
}

/**
 * Go's index yields the map's zero element for a missing key; JS maps are untyped, so the zero
 * is inferred from the values present. Empty maps give "", the zero of the string-valued maps
 * (labels, options) that templates index most.
 */
function zeroLike(m: Record<string, unknown>): unknown {
  const sample = Object.values(m)[0];
  if (sample === undefined || typeof sample === 'string') return '';
  if (typeof sample === 'number') return 0;
  if (typeof sample === 'boolean') return false;
  return null;
}

function length(v: unknown): number {
  if (v === null || v === undefined) throw new CallError('len of nil pointer');
  if (typeof v === 'string') return utf8(v).length;
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new CallError(`len of type ${goTypeName(v)}`);
}

/** fmt.Sprint: a space between two operands only when neither is a string. */
function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

const builtins: Record<string, Func> = {
  and: { min: 1, max: Infinity, fn: () => undefined }, // evaluated lazily by the executor
  or: { min: 1, max: Infinity, fn: () => undefined },
  not: { min: 1, max: 1, fn: (v) => !truth(v) },
  eq: { min: 1, max: Infinity, fn: eq },
  ne: { min: 2, max: 2, fn: (a, b) => !eq(a, b) },
  lt: { min: 2, max: 2, fn: lt },
  le: { min: 2, max: 2, fn: (a, b) => lt(a, b) || eq(a, b) },
  gt: { min: 2, max: 2, fn: (a, b) => !(lt(a, b) || eq(a, b)) },
  ge: { min: 2, max: 2, fn: (a, b) => !lt(a, b) },
  index: { min: 1, max: Infinity, fn: index },
  len: { min: 1, max: 1, fn: length },
  print: { min: 0, max: Infinity, fn: (...a) => sprint(a) },
  println: { min: 0, max: Infinity, fn: (...a) => a.map(formatValue).join(' ') + '\n' },
  printf: { min: 1, max: Infinity, fn: (f, ...a) => sprintf(stringArg(f), a) },
  // docker/cli's template functions
  json: { min: 1, max: 1, fn: goJson },
  split: {
    min: 2,
    max: 2,
    fn: (s, sep) => {
      const str = stringArg(s);
      const by = stringArg(sep);
      return by === '' ? [...str] : str.split(by);
    },
  },
  join: { min: 2, max: 2, fn: (list, sep) => listArg(list).map(formatValue).join(stringArg(sep)) },
  title: { min: 1, max: 1, fn: (s) => title(stringArg(s)) },
  lower: { min: 1, max: 1, fn: (s) => stringArg(s).toLowerCase() },
  upper: { min: 1, max: 1, fn: (s) => stringArg(s).toUpperCase() },
  pad: {
    min: 3,
    max: 3,
    fn: (s, before, after) => {
      const str = stringArg(s);
      return str === '' ? str : ' '.repeat(Math.max(intArg(before), 0)) + str + ' '.repeat(Math.max(intArg(after), 0));
    },
  },
  truncate: {
    min: 2,
    max: 2,
    fn: (s, n) => {
      // Go slices bytes; cutting inside a character leaves a replacement character.
      const bytes = utf8(stringArg(s));
      const max = intArg(n);
      return bytes.length < max ? stringArg(s) : bytes.subarray(0, Math.max(max, 0)).toString('utf8');
    },
  },
};

const identity: Func['fn'] = (v) => v;
const headerFuncs: Record<string, Func> = {
  json: { min: 1, max: 1, fn: identity },
  split: { min: 2, max: 2, fn: identity },
  join: { min: 2, max: 2, fn: identity },
  title: { min: 1, max: 1, fn: identity },
  lower: { min: 1, max: 1, fn: identity },
  upper: { min: 1, max: 1, fn: identity },
  truncate: { min: 2, max: 2, fn: identity },
};

// ---------------------------------------------------------------------------------------------
// printf

function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const named: Record<string, string> = {
      '\x07': '\\a',
      '\b': '\\b',
      '\f': '\\f',
      '\n': '\\n',
      '\r': '\\r',
      '\t': '\\t',
      '\v': '\\v',
      '"': '\\"',
      '\\': '\\\\',
    };
    if (ch in named) out += named[ch];
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp === 0x20 || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)) out += ch;
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}

interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
  verb: string;
}

/** Go's fmt.Sprintf for the verbs templates use: v s q d x X o b c e E f F g G t T and %%. */
function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  const re = /%([-+# 0]*)(\d+)?(?:\.(\d*))?(.)?/gsy;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    re.lastIndex = pct;
    const m = re.exec(format)!;
    i = re.lastIndex;
    const flags = m[1];
    const verb = m[4];
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    const spec: Spec = {
      minus: flags.includes('-'),
      plus: flags.includes('+'),
      space: flags.includes(' '),
      zero: flags.includes('0') && !flags.includes('-'),
      width: m[2] === undefined ? undefined : Number(m[2]),
      prec: m[3] === undefined ? undefined : Number(m[3] || '0'),
      verb,
    };
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatArg(args[argi++], spec);
  }
  if (argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => (a === null || a === undefined ? '<nil>' : `${goTypeName(a)}=${formatValue(a)}`))
      .join(', ')})`;
  }
  return out;
}

function badVerb(v: unknown, verb: string): string {
  return v === null || v === undefined ? `%!${verb}(<nil>)` : `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  const width = spec.width ?? 0;
  const len = [...s].length;
  if (len >= width) return s;
  if (spec.minus) return s + ' '.repeat(width - len);
  if (spec.zero && numeric) {
    const sign = /^[+-]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(width - len) + s.slice(sign.length);
  }
  return ' '.repeat(width - len) + s;
}

function signed(s: string, negative: boolean, spec: Spec): string {
  if (negative) return '-' + s;
  return (spec.plus ? '+' : spec.space ? ' ' : '') + s;
}

function formatArg(v: unknown, spec: Spec): string {
  const { verb } = spec;
  // As in fmt, the verb and its width apply to each element, not to the brackets.
  if (Array.isArray(v) && verb !== 'T') return `[${v.map((e) => formatArg(e, spec)).join(' ')}]`;
  if (isMap(v) && verb !== 'T') {
    return `map[${sortedKeys(v)
      .map((k) => `${formatArg(k, spec)}:${formatArg(v[k], spec)}`)
      .join(' ')}]`;
  }
  switch (verb) {
    case 'T':
      return pad(goTypeName(v), spec, false);
    case 'v':
      if (typeof v === 'number') return formatArg(v, { ...spec, verb: Number.isSafeInteger(v) ? 'd' : 'g' });
      return pad(formatValue(v), spec, false);
    case 's':
    case 'q': {
      if (typeof v !== 'string') {
        if (verb === 'q' && typeof v === 'number' && Number.isInteger(v)) {
          return pad(`'${String.fromCodePoint(v)}'`, spec, false);
        }
        return badVerb(v, verb);
      }
      const s = spec.prec === undefined ? v : [...v].slice(0, spec.prec).join('');
      return pad(verb === 'q' ? goQuote(s) : s, spec, false);
    }
    case 't':
      return typeof v === 'boolean' ? pad(String(v), spec, false) : badVerb(v, verb);
    case 'd':
    case 'x':
    case 'X':
    case 'o':
    case 'b':
    case 'c': {
      if (typeof v === 'string' && (verb === 'x' || verb === 'X')) {
        const hex = utf8(v).toString('hex');
        return pad(verb === 'X' ? hex.toUpperCase() : hex, spec, false);
      }
      if (typeof v !== 'number' || !Number.isInteger(v)) return badVerb(v, verb);
      if (verb === 'c') return pad(String.fromCodePoint(v), spec, false);
      const radix = { d: 10, x: 16, X: 16, o: 8, b: 2 }[verb];
      let digits = Math.abs(v).toString(radix);
      if (verb === 'X') digits = digits.toUpperCase();
      if (spec.prec !== undefined) digits = digits.padStart(spec.prec, '0');
      return pad(signed(digits, v < 0, spec), spec, spec.prec === undefined);
    }
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': {
      if (typeof v !== 'number') return badVerb(v, verb);
      const lower = verb.toLowerCase() as 'e' | 'f' | 'g';
      const prec = spec.prec ?? (lower === 'g' ? -1 : 6);
      let s = formatGoFloat(Math.abs(v), lower, prec);
      if (verb === 'E' || verb === 'G') s = s.toUpperCase();
      const negative = v < 0 || Object.is(v, -0);
      return pad(signed(s, negative, spec), spec, Number.isFinite(v));
    }
    default:
      return badVerb(v, verb);
  }
}

// ---------------------------------------------------------------------------------------------
// Executor

class Executor {
  private vars: { name: string; value: unknown }[];
  private out: string[] = [];
  /** The node being evaluated, for error context as Go gives it. */
  private at: Span = { pos: 0, end: 0 };

  constructor(
    private src: string,
    private funcs: Record<string, Func>,
    data: unknown,
  ) {
    this.vars = [{ name: '$', value: data }];
  }

  run(tree: Node[]): string {
    try {
      this.walk(tree, this.vars[0].value);
    } catch (e) {
      if (e instanceof ExecError || e instanceof CallError) {
        const before = this.src.slice(0, this.at.pos);
        const line = 1 + (before.match(/\n/g)?.length ?? 0);
        const col = this.at.pos - (before.lastIndexOf('\n') + 1);
        const context = this.src.slice(this.at.pos, this.at.end);
        throw formatError(`template: :${line}:${col}: executing "" at <${context}>: ${e.message}`);
      }
      throw e;
    }
    return this.out.join('');
  }

  private walk(nodes: Node[], dot: unknown): void {
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          this.out.push(node.text);
          break;
        case 'action': {
          const value = this.pipeline(dot, node.pipe);
          if (node.pipe.decl.length === 0) this.out.push(value === undefined ? '<no value>' : formatValue(value));
          break;
        }
        case 'if':
        case 'with': {
          const mark = this.vars.length;
          const value = this.pipeline(dot, node.pipe);
          if (truth(value)) this.walk(node.list, node.kind === 'with' ? value : dot);
          else if (node.elseList) this.walk(node.elseList, dot);
          this.vars.length = mark;
          break;
        }
        case 'range':
          this.range(node, dot);
          break;
        case 'break':
          throw BREAK;
        case 'continue':
          throw CONTINUE;
      }
    }
  }

  private range(node: ControlNode, dot: unknown): void {
    const mark = this.vars.length;
    const value = this.pipeline(dot, node.pipe);
    const { decl } = node.pipe;
    let entries: [unknown, unknown][];
    if (Array.isArray(value)) entries = value.map((e, i) => [i, e]);
    else if (isMap(value)) entries = sortedKeys(value).map((k) => [k, value[k]]);
    else if (typeof value === 'number' && Number.isInteger(value)) {
      if (decl.length > 1) throw new ExecError(`can't use ${value} to iterate over more than one variable`);
      entries = Array.from({ length: Math.max(value, 0) }, (_, i) => [i, i]);
    } else if (value === null || value === undefined) entries = [];
    else throw new ExecError(`range can't iterate over ${formatValue(value)}`);

    for (const [key, elem] of entries) {
      if (decl.length === 1) this.setVar(decl[0], elem);
      else if (decl.length === 2) {
        this.setVar(decl[0], key);
        this.setVar(decl[1], elem);
      }
      const iterationMark = this.vars.length;
      try {
        this.walk(node.list, elem);
      } catch (e) {
        if (e === BREAK) break;
        if (e !== CONTINUE) throw e;
      } finally {
        this.vars.length = iterationMark;
      }
    }
    if (entries.length === 0 && node.elseList) this.walk(node.elseList, dot);
    this.vars.length = mark;
  }

  private lookupVar(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    throw new ExecError(`undefined variable: ${name}`);
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    throw new ExecError(`undefined variable: ${name}`);
  }

  private pipeline(dot: unknown, pipe: Pipeline): unknown {
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) value = this.command(dot, cmd, value);
    // A range pipeline's variables are set per element by range(); declare them here.
    for (const name of pipe.decl) {
      if (pipe.assign) this.setVar(name, value);
      else this.vars.push({ name, value });
    }
    return value;
  }

  private command(dot: unknown, cmd: Command, final: Final): unknown {
    const first = cmd.args[0];
    this.at = first;
    switch (first.kind) {
      case 'field':
        return this.fieldChain(dot, dot, first.names, cmd.args, final);
      case 'variable': {
        const value = this.lookupVar(first.name);
        if (first.names.length === 0) {
          this.notAFunction(cmd.args, final);
          return value;
        }
        return this.fieldChain(dot, value, first.names, cmd.args, final);
      }
      case 'chain':
        return this.fieldChain(dot, this.arg(dot, first.base), first.names, cmd.args, final);
      case 'func':
        return this.call(dot, first.name, cmd, final);
      case 'nil':
        throw new ExecError('nil is not a command');
      default:
        this.notAFunction(cmd.args, final);
        return this.arg(dot, first);
    }
  }

  private notAFunction(args: Arg[], final: Final): void {
    if (args.length > 1 || final !== NO_FINAL) {
      throw new ExecError(`can't give argument to non-function ${this.src.slice(args[0].pos, args[0].end)}`);
    }
  }

  /** Follows .A.B.C from receiver; only the last name may take the command's arguments. */
  private fieldChain(dot: unknown, receiver: unknown, names: string[], args: Arg[], final: Final): unknown {
    for (let i = 0; i < names.length; i++) {
      const last = i === names.length - 1;
      receiver = this.field(dot, receiver, names[i], last ? args : [], last ? final : NO_FINAL);
    }
    return receiver;
  }

  private field(dot: unknown, receiver: unknown, name: string, args: Arg[], final: Final): unknown {
    if (receiver === null || receiver === undefined) return undefined;
    if (!isMap(receiver)) throw new ExecError(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
    // Only the data's own keys and its class's methods count, never Object.prototype's.
    const inherited = name in Object.prototype && !Object.hasOwn(receiver, name);
    const value = inherited ? undefined : receiver[name];
    const hasArgs = args.length > 1 || final !== NO_FINAL;
    if (typeof value === 'function') {
      // args[0] is the field itself, when the command's arguments are this method's.
      const params = args.slice(1);
      const got = params.length + (final === NO_FINAL ? 0 : 1);
      if (got !== value.length) throw new ExecError(`wrong number of args for ${name}: want ${value.length} got ${got}`);
      // The methods of docker's format contexts that take arguments (`.Label "key"`) take
      // strings, so arguments are checked as Go converts them to a string parameter.
      const argv = params.map((a) => this.stringParam(dot, a));
      if (final !== NO_FINAL) argv.push(stringValue(final));
      return (value as (...a: unknown[]) => unknown).apply(receiver, argv);
    }
    if (hasArgs) throw new ExecError(`${name} is not a method but has arguments`);
    return value;
  }

  /** Go's evalArg for a string parameter: a literal must be a string one, anything else a string value. */
  private stringParam(dot: unknown, a: Arg): string {
    this.at = a;
    if (a.kind === 'nil') throw new ExecError('cannot assign nil to string');
    if (a.kind === 'literal') {
      if (typeof a.value !== 'string') throw new ExecError(`expected string; found ${this.src.slice(a.pos, a.end)}`);
      return a.value;
    }
    return stringValue(this.arg(dot, a));
  }

  /** An argument's value; a missing one passes to functions as nil, as Go converts it. */
  private funcArg(dot: unknown, a: Arg): unknown {
    return this.arg(dot, a) ?? null;
  }

  private arg(dot: unknown, a: Arg): unknown {
    this.at = a;
    switch (a.kind) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'literal':
        return a.value;
      case 'field':
        return this.fieldChain(dot, dot, a.names, [a], NO_FINAL);
      case 'variable': {
        const value = this.lookupVar(a.name);
        return a.names.length === 0 ? value : this.fieldChain(dot, value, a.names, [a], NO_FINAL);
      }
      case 'func':
        return this.call(dot, a.name, { args: [a], pos: a.pos, end: a.end }, NO_FINAL);
      case 'pipe':
        return this.pipeline(dot, a.pipe);
      case 'chain':
        return this.fieldChain(dot, this.arg(dot, a.base), a.names, [a], NO_FINAL);
    }
  }

  private call(dot: unknown, name: string, cmd: Command, final: Final): unknown {
    const f = this.funcs[name];
    const argNodes = cmd.args.slice(1);
    const count = argNodes.length + (final === NO_FINAL ? 0 : 1);
    if (count < f.min || count > f.max) {
      const want = f.max === Infinity ? `at least ${f.min}` : String(f.min);
      throw new ExecError(`wrong number of args for ${name}: want ${want} got ${count}`);
    }
    if (name === 'and' || name === 'or') {
      // Short-circuit: the first argument that decides the result is the result.
      let v: unknown;
      for (const a of argNodes) {
        v = this.arg(dot, a);
        if (truth(v) === (name === 'or')) return v;
      }
      return final === NO_FINAL ? v : final;
    }
    const argv = argNodes.map((a) => this.funcArg(dot, a));
    if (final !== NO_FINAL) argv.push(final ?? null);
    this.at = cmd;
    try {
      return f.fn(...argv);
    } catch (e) {
      if (e instanceof CallError) throw new CallError(`error calling ${name}: ${e.message}`);
      throw e;
    }
  }
}
