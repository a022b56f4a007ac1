// Sizes, durations and Go number formatting exactly as the docker CLI prints and parses them
// (docker/go-units, Go's strconv/fmt float formatting and time.ParseDuration).
import { InvalidArgumentError } from '../errors.js';

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function scaled(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]];
}

/**
 * go-units HumanSizeWithPrecision: decimal units, `precision` significant digits ("4.26MB",
 * "1.24kB", "0B"). Docker's image and container SIZE columns use precision 3; go-units'
 * HumanSize uses 4.
 */
export function humanSize(bytes: number, precision = 3): string {
  const [n, unit] = scaled(bytes, 1000, DECIMAL_UNITS);
  return formatGoFloat(n, 'g', precision) + unit;
}

/** go-units BytesSize: binary units, 4 significant digits ("1.5MiB", "15.5GiB"). */
export function bytesSize(bytes: number): string {
  const [n, unit] = scaled(bytes, 1024, BINARY_UNITS);
  return formatGoFloat(n, 'g', 4) + unit;
}

/** The name the CLI's `info` code reaches for; the same formatting as bytesSize. */
export const humanBinarySize = bytesSize;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** go-units HumanDuration, from milliseconds ("Less than a second", "About an hour", "3 weeks"). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // Go's Duration.Round: to the nearest hour, halves away from zero.
  const rest = ms % HOUR;
  const hours = (ms - rest) / HOUR + (rest * 2 >= HOUR ? 1 : 0);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / HOUR) / 24 / 365)} years`;
}

/** Docker's "CreatedSince": the age of a Unix-seconds timestamp, "2 hours ago". */
export function timeAgo(unixSeconds: number, nowMs: number = Date.now()): string {
  return humanDuration(nowMs - unixSeconds * 1000) + ' ago';
}

const BINARY_MULTIPLIERS: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
const DECIMAL_MULTIPLIERS: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/** Go's time.Time String() form, as docker prints CreatedAt: "2006-01-02 15:04:05 -0700 MST". */
export function goTime(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000 UTC`;
}

/** go-units RAMInBytes: "512m", "1g", "100k", "1.5GiB", "1024" with binary multipliers. */
export function parseBytes(s: string): number {
  return parseSizeWith(s, BINARY_MULTIPLIERS);
}

/** go-units FromHumanSize: "44kB", "17MB", "1.5G" with decimal multipliers. */
export function parseSize(s: string): number {
  return parseSizeWith(s, DECIMAL_MULTIPLIERS);
}

function parseSizeWith(s: string, multipliers: Record<string, number>): number {
  const bad = (what: string, text: string) => new InvalidArgumentError('invalid_size', `invalid ${what}: '${text}'`);
  // The number ends at the last digit, '.' or space; one space between number and unit is dropped.
  let sep = -1;
  for (let i = s.length - 1; i >= 0; i--) {
    if (/[0-9. ]/.test(s[i])) {
      sep = i;
      break;
    }
  }
  if (sep < 0) throw bad('size', s);
  const num = s[sep] === ' ' ? s.slice(0, sep) : s.slice(0, sep + 1);
  let suffix = s.slice(sep + 1);
  let size = parseGoFloat(num);
  if (size < 0) throw bad('size', s);
  // Go's int64 conversion truncates, and has no negative zero ("-0" parses as 0).
  const int64 = (x: number) => Math.trunc(x) || 0;
  if (suffix === '') return int64(size);
  // go-units reports an over-long suffix as typed, every other bad suffix lowercased.
  if (suffix.length > 3) throw bad('suffix', suffix);
  suffix = suffix.toLowerCase();
  if (suffix[0] === 'b') {
    if (suffix.length > 1) throw bad('suffix', suffix);
    return int64(size);
  }
  const mul = multipliers[suffix[0]];
  if (mul === undefined) throw bad('suffix', suffix);
  size *= mul;
  if ((suffix.length === 2 && suffix[1] !== 'b') || (suffix.length === 3 && suffix.slice(1) !== 'ib')) {
    throw bad('suffix', suffix);
  }
  return int64(size);
}

/** strconv.ParseFloat for the decimal and hex-float spellings a size can end in a digit with. */
function parseGoFloat(s: string): number {
  const fail = (why: string) =>
    new InvalidArgumentError('invalid_size', `strconv.ParseFloat: parsing ${JSON.stringify(s)}: ${why}`);
  let v: number;
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) {
    v = Number(s);
  } else {
    const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(s);
    if (!hex || hex[2] + (hex[3] ?? '') === '') throw fail('invalid syntax');
    const frac = hex[3] ?? '';
    const mantissa = parseInt(hex[2] + frac || '0', 16);
    v = mantissa * 2 ** (Number(hex[4]) - 4 * frac.length) * (hex[1] === '-' ? -1 : 1);
  }
  if (!Number.isFinite(v)) throw fail('value out of range');
  return v;
}

const DURATION_UNITS_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_DURATION_NS = (1n << 63n) - 1n;

/**
 * Go's time.ParseDuration ("10s", "1m30s", "1.5h", "250ms", "-2h"), returned in milliseconds
 * (fractional below a millisecond). Errors use Go's wording.
 */
export function parseDuration(s: string): number {
  const quoted = quoteLikeTime(s);
  const invalid = () => new InvalidArgumentError('invalid_duration', `time: invalid duration ${quoted}`);
  let rest = s;
  let negative = false;
  if (rest[0] === '-' || rest[0] === '+') {
    negative = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0n;
  while (rest !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    const [consumed, whole, fraction] = m;
    if (consumed === '' || (whole === '' && !fraction)) throw invalid();
    rest = rest.slice(consumed.length);
    const unitMatch = /^[^0-9.]*/.exec(rest)![0];
    if (unitMatch === '') {
      throw new InvalidArgumentError('invalid_duration', `time: missing unit in duration ${quoted}`);
    }
    rest = rest.slice(unitMatch.length);
    const unit = DURATION_UNITS_NS[unitMatch];
    if (unit === undefined) {
      throw new InvalidArgumentError(
        'invalid_duration',
        `time: unknown unit ${quoteLikeTime(unitMatch)} in duration ${quoted}`,
      );
    }
    let v = whole === '' ? 0n : BigInt(whole);
    if (v > (1n << 63n) / unit) throw invalid();
    v *= unit;
    if (fraction) {
      // Go keeps at most the fraction digits that fit an int64, then scales in float64.
      let f = 0n;
      let scale = 1;
      for (const digit of fraction) {
        const next = f * 10n + BigInt(digit);
        if (f > MAX_DURATION_NS / 10n || next > 1n << 63n) break;
        f = next;
        scale *= 10;
      }
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > 1n << 63n) throw invalid();
    }
    total += v;
    if (total > 1n << 63n) throw invalid();
  }
  if (!negative && total > MAX_DURATION_NS) throw invalid();
  const ms = Number(total) / 1e6;
  return negative ? -ms : ms;
}

/** The time package's own quoting: control and non-ASCII characters as \\x-escaped UTF-8 bytes. */
function quoteLikeTime(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || code >= 0x80) {
      for (const byte of Buffer.from(ch, 'utf8')) out += '\\x' + byte.toString(16).padStart(2, '0');
    } else {
      out += ch === '"' || ch === '\\' ? '\\' + ch : ch;
    }
  }
  return out + '"';
}

/**
 * Go's strconv.FormatFloat(x, verb, prec, 64) for the 'e', 'f' and 'g' verbs; prec -1 means the
 * shortest digits that round-trip. Rounding is on the exact binary value, halves to even, as Go
 * does it (so %.3g of 1.125 is "1.12", where JavaScript's toPrecision says "1.13").
 */
export function formatGoFloat(x: number, verb: 'e' | 'f' | 'g', prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const negative = x < 0 || Object.is(x, -0);
  const d = Math.abs(x);
  const shortest = prec < 0;
  let digits: Decimal;
  if (shortest) {
    digits = shortestDigits(d);
    prec = verb === 'e' ? digits.d.length - 1 : verb === 'f' ? Math.max(digits.d.length - digits.dp, 0) : digits.d.length;
  } else {
    digits = exactDigits(d);
    if (verb === 'e') digits = roundDigits(digits, prec + 1);
    else if (verb === 'f') digits = roundDigits(digits, digits.dp + prec);
    else {
      if (prec === 0) prec = 1;
      digits = roundDigits(digits, prec);
    }
  }
  const sign = negative ? '-' : '';
  if (verb === 'e') return sign + fmtE(digits, prec);
  if (verb === 'f') return sign + fmtF(digits, prec);
  let eprec = prec;
  if (eprec > digits.d.length && digits.d.length >= digits.dp) eprec = digits.d.length;
  if (shortest) eprec = 6;
  const exp = digits.dp - 1;
  if (exp < -4 || exp >= eprec) {
    return sign + fmtE(digits, Math.min(prec, digits.d.length) - 1);
  }
  return sign + fmtF(digits, Math.max((prec > digits.dp ? digits.d.length : prec) - digits.dp, 0));
}

/** Value = 0.d × 10^dp, with no leading or trailing zeros in d ('' for zero). */
interface Decimal {
  d: string;
  dp: number;
}

function trimZeros(d: string, dp: number): Decimal {
  const t = d.replace(/0+$/, '');
  return t === '' ? { d: '', dp: 0 } : { d: t, dp };
}

function shortestDigits(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const [mant, exp] = x.toExponential().split('e');
  return trimZeros(mant.replace('.', ''), Number(exp) + 1);
}

/** The exact decimal expansion of a finite non-negative double. */
function exactDigits(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exp2 = (biased === 0 ? 1 : biased) - 1075;
  if (exp2 >= 0) {
    const s = (mantissa << BigInt(exp2)).toString();
    return trimZeros(s, s.length);
  }
  // m / 2^k = m·5^k / 10^k
  const k = -exp2;
  const s = (mantissa * 5n ** BigInt(k)).toString();
  return trimZeros(s, s.length - k);
}

/** Rounds to nd significant digits, an exact half going to the even neighbour. */
function roundDigits(v: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= v.d.length) return v;
  const next = v.d.charCodeAt(nd) - 48;
  const up = next > 5 || (next === 5 && (nd + 1 < v.d.length || (nd > 0 && (v.d.charCodeAt(nd - 1) - 48) % 2 === 1)));
  if (!up) return trimZeros(v.d.slice(0, nd), v.dp);
  let i = nd - 1;
  while (i >= 0 && v.d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: v.dp + 1 };
  return { d: v.d.slice(0, i) + String.fromCharCode(v.d.charCodeAt(i) + 1), dp: v.dp };
}

function fmtE(v: Decimal, prec: number): string {
  let s = v.d.length > 0 ? v.d[0] : '0';
  if (prec > 0) s += '.' + v.d.slice(1, prec + 1).padEnd(prec, '0');
  const exp = v.d.length === 0 ? 0 : v.dp - 1;
  const abs = Math.abs(exp);
  return s + 'e' + (exp < 0 ? '-' : '+') + (abs < 10 ? '0' : '') + abs;
}

function fmtF(v: Decimal, prec: number): string {
  let s = v.dp > 0 ? v.d.slice(0, v.dp).padEnd(v.dp, '0') : '0';
  if (prec > 0) {
    s += '.';
    for (let i = 0; i < prec; i++) {
      const j = v.dp + i;
      s += j >= 0 && j < v.d.length ? v.d[j] : '0';
    }
  }
  return s;
}
