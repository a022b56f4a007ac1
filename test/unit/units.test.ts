import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesSize,
  formatGoFloat,
  humanBinarySize,
  humanDuration,
  humanSize,
  parseBytes,
  parseDuration,
  parseSize,
  timeAgo,
} from '../../src/cli/units.js';
import { InvalidArgumentError } from '../../src/errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const PiB = 1024 * TiB;

function fails(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError);
    assert.equal(e.message, message);
    return true;
  });
}

test('humanSize: docker images SIZE column (3 significant digits, decimal units)', () => {
  assert.equal(humanSize(4_261_234), '4.26MB');
  assert.equal(humanSize(1240), '1.24kB');
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(103_000_000), '103MB');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(1024), '1.02kB');
  assert.equal(humanSize(7_700_000_000), '7.7GB');
  // go-units quirk: 999.999kB rounds to 3 digits as 1e+03 in %g.
  assert.equal(humanSize(999_999), '1e+03kB');
});

test('humanSize rounds exact halves to even, as Go does', () => {
  assert.equal(humanSize(1_125_000), '1.12MB');
  assert.equal(humanSize(1_375_000), '1.38MB');
  // Not ties in binary: 1.135 is stored a little above, 2.675 a little below.
  assert.equal(humanSize(1_135_000), '1.14MB');
  assert.equal(humanSize(2_675_000), '2.67MB');
});

test('humanSize with precision 4 is go-units HumanSize', () => {
  assert.equal(humanSize(1000, 4), '1kB');
  assert.equal(humanSize(1024, 4), '1.024kB');
  assert.equal(humanSize(1_000_000, 4), '1MB');
  assert.equal(humanSize(1_048_576, 4), '1.049MB');
  assert.equal(humanSize(2e6, 4), '2MB');
  assert.equal(humanSize(3.42e9, 4), '3.42GB');
  assert.equal(humanSize(5.372e12, 4), '5.372TB');
  assert.equal(humanSize(2.22e15, 4), '2.22PB');
  assert.equal(humanSize(10_000_000_000_000 * 1e15, 4), '1e+04YB');
});

test('bytesSize: binary units with 4 significant digits (go-units BytesSize)', () => {
  assert.equal(bytesSize(1024), '1KiB');
  assert.equal(bytesSize(1024 * 1024), '1MiB');
  assert.equal(bytesSize(2 * MiB), '2MiB');
  assert.equal(bytesSize(1.5 * MiB), '1.5MiB');
  assert.equal(bytesSize(3.42 * GiB), '3.42GiB');
  assert.equal(bytesSize(5.372 * TiB), '5.372TiB');
  assert.equal(bytesSize(2.22 * PiB), '2.22PiB');
  assert.equal(bytesSize(KiB * KiB * KiB * KiB * KiB * PiB), '1.049e+06YiB');
  assert.equal(bytesSize(0), '0B');
  assert.equal(bytesSize(512), '512B');
  assert.equal(humanBinarySize(16_654_000_000), '15.51GiB');
});

test('humanDuration matches go-units HumanDuration', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const day = 24 * h;
  const week = 7 * day;
  const month = 30 * day;
  const year = 365 * day;
  const cases: [number, string][] = [
    [450, 'Less than a second'],
    [-5 * s, 'Less than a second'],
    [1 * s, '1 second'],
    [45 * s, '45 seconds'],
    [59 * s, '59 seconds'],
    [60 * s, 'About a minute'],
    [3 * m, '3 minutes'],
    [35 * m + 40 * s, '35 minutes'],
    [59 * m, '59 minutes'],
    [1 * h, 'About an hour'],
    [1 * h + 29 * m, 'About an hour'],
    [1 * h + 30 * m, '2 hours'], // Round: halves away from zero
    [1 * h + 31 * m, '2 hours'],
    [3 * h + 29 * m, '3 hours'],
    [3 * h + 31 * m, '4 hours'],
    [24 * h, '24 hours'],
    [1 * day + 12 * h, '36 hours'],
    [2 * day, '2 days'],
    [7 * day, '7 days'],
    [13 * day + 5 * h, '13 days'],
    [2 * week, '2 weeks'],
    [2 * week + 4 * day, '2 weeks'],
    [3 * week, '3 weeks'],
    [4 * week + 3 * day, '4 weeks'],
    [1 * month, '4 weeks'],
    [1 * month + 2 * week, '6 weeks'],
    [2 * month, '2 months'],
    [3 * month + 1 * week, '3 months'],
    [5 * month + 2 * week, '5 months'],
    [13 * month, '13 months'],
    [24 * month, '24 months'],
    [24 * month + 2 * week, '2 years'],
    [3 * year + 2 * month, '3 years'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
});

test('timeAgo: docker CreatedSince', () => {
  const now = Date.UTC(2024, 0, 10, 12, 0, 0);
  assert.equal(timeAgo(now / 1000 - 3600, now), 'About an hour ago');
  assert.equal(timeAgo(now / 1000 - 2 * 7 * 86400, now), '2 weeks ago');
  assert.equal(timeAgo(now / 1000, now), 'Less than a second ago');
  assert.match(timeAgo(Date.now() / 1000 - 120), /^2 minutes ago$/);
});

test('parseBytes: RAMInBytes, binary multipliers, case-insensitive, optional b/ib', () => {
  const cases: [string, number][] = [
    ['32', 32],
    ['32b', 32],
    ['32B', 32],
    ['32k', 32 * KiB],
    ['32K', 32 * KiB],
    ['32kb', 32 * KiB],
    ['32Kb', 32 * KiB],
    ['32Kib', 32 * KiB],
    ['32KIB', 32 * KiB],
    ['32Mb', 32 * MiB],
    ['32Gb', 32 * GiB],
    ['32Tb', 32 * TiB],
    ['32Pb', 32 * PiB],
    ['32PB', 32 * PiB],
    ['32P', 32 * PiB],
    ['512m', 512 * MiB],
    ['1g', GiB],
    ['100k', 100 * KiB],
    ['1024', 1024],
    ['1.5GiB', 1.5 * GiB],
    ['32.3', 32],
    ['32.3 mb', Math.trunc(32.3 * MiB)],
    ['0.3MB', Math.trunc(0.3 * MiB)],
    ['1e3', 1000],
    ['-0', 0],
    ['0 ', 0],
  ];
  for (const [input, want] of cases) assert.equal(parseBytes(input), want, input);
});

test('parseSize: FromHumanSize, decimal multipliers', () => {
  const cases: [string, number][] = [
    ['32', 32],
    ['32k', 32_000],
    ['32kb', 32_000],
    ['32Mb', 32e6],
    ['32Gb', 32e9],
    ['32Tb', 32e12],
    ['32Pb', 32e15],
    ['32.5kB', 32_500],
    ['32.5 kB', 32_500],
    ['32.5 B', 32],
    ['0.3 K', 300],
    ['.3kB', 300],
    ['0.', 0],
    ['0.b', 0],
    ['-0 B', 0],
    ['32.', 32],
    ['32. B', 32],
  ];
  for (const [input, want] of cases) assert.equal(parseSize(input), want, input);
});

test('size parsing errors use go-units and strconv wording', () => {
  fails(() => parseBytes(''), "invalid size: ''");
  fails(() => parseBytes('hello'), "invalid size: 'hello'");
  fails(() => parseBytes('-32'), "invalid size: '-32'");
  fails(() => parseBytes('-32b'), "invalid size: '-32b'");
  fails(() => parseBytes('32bm'), "invalid suffix: 'bm'");
  fails(() => parseBytes('32x'), "invalid suffix: 'x'");
  fails(() => parseBytes('32Ki'), "invalid suffix: 'ki'");
  fails(() => parseBytes('32KiBB'), "invalid suffix: 'KiBB'");
  fails(() => parseBytes('32 bb'), "invalid suffix: 'bb'");
  fails(() => parseBytes('32m b'), 'strconv.ParseFloat: parsing "32m": invalid syntax');
  fails(() => parseBytes(' 32 '), 'strconv.ParseFloat: parsing " 32": invalid syntax');
  fails(() => parseBytes('32  b'), 'strconv.ParseFloat: parsing "32 ": invalid syntax');
  fails(() => parseBytes('1.2.3'), 'strconv.ParseFloat: parsing "1.2.3": invalid syntax');
  fails(() => parseBytes('1e999'), 'strconv.ParseFloat: parsing "1e999": value out of range');
  for (const bad of ['.', ' ', ' 0', '0b ', '32b.', '32 B B']) assert.throws(() => parseSize(bad), InvalidArgumentError, bad);
});

test('parseDuration: Go time.ParseDuration, in milliseconds', () => {
  const cases: [string, number][] = [
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    ['-2h', -7_200_000],
    ['+5s', 5000],
    ['0', 0],
    ['-0', 0],
    ['0s', 0],
    ['.5s', 500],
    ['1.s', 1000],
    ['100ns', 0.0001],
    ['1us', 0.001],
    ['1µs', 0.001],
    ['1μs', 0.001],
    ['1h2m3s4ms', 3_723_004],
    ['3m0.5s', 180_500],
    ['2562047h', 2562047 * 3_600_000],
  ];
  for (const [input, want] of cases) assert.equal(parseDuration(input), want, input);
});

test('parseDuration errors use Go wording', () => {
  fails(() => parseDuration(''), 'time: invalid duration ""');
  fails(() => parseDuration('-'), 'time: invalid duration "-"');
  fails(() => parseDuration('abc'), 'time: invalid duration "abc"');
  fails(() => parseDuration('.s'), 'time: invalid duration ".s"');
  fails(() => parseDuration('10'), 'time: missing unit in duration "10"');
  fails(() => parseDuration('1.5.5s'), 'time: missing unit in duration "1.5.5s"');
  fails(() => parseDuration('10x'), 'time: unknown unit "x" in duration "10x"');
  fails(() => parseDuration('1 s'), 'time: unknown unit " s" in duration "1 s"');
  fails(() => parseDuration('1ü'), 'time: unknown unit "\\xc3\\xbc" in duration "1\\xc3\\xbc"');
  fails(() => parseDuration('3000000h'), 'time: invalid duration "3000000h"');
});

test('formatGoFloat follows strconv.FormatFloat', () => {
  const cases: [number, 'e' | 'f' | 'g', number, string][] = [
    [1e6, 'g', -1, '1e+06'],
    [123456, 'g', -1, '123456'],
    [1234567.5, 'g', -1, '1.2345675e+06'],
    [0.0001, 'g', -1, '0.0001'],
    [0.00001, 'g', -1, '1e-05'],
    [0.5, 'g', -1, '0.5'],
    [-1.5, 'g', -1, '-1.5'],
    [5e-324, 'g', -1, '5e-324'],
    [1e21, 'e', -1, '1e+21'],
    [100, 'g', 3, '100'],
    [0, 'g', 3, '0'],
    [0, 'e', 2, '0.00e+00'],
    [123456, 'e', 3, '1.235e+05'],
    [2.675, 'f', 2, '2.67'],
    [0.125, 'f', 2, '0.12'],
    [0.375, 'f', 2, '0.38'],
    [2.5, 'f', 0, '2'],
    [3.5, 'f', 0, '4'],
    [0.1, 'f', 20, '0.10000000000000000555'],
    [1.5, 'f', -1, '1.5'],
    [12, 'f', 3, '12.000'],
    [9.999, 'g', 3, '10'],
    [NaN, 'g', -1, 'NaN'],
    [Infinity, 'f', 2, '+Inf'],
    [-Infinity, 'g', -1, '-Inf'],
  ];
  for (const [x, verb, prec, want] of cases) assert.equal(formatGoFloat(x, verb, prec), want, `${x} %${verb} ${prec}`);
});
