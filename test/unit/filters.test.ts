import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boolFilter, checkFilterKeys, globMatch, labelsMatch, parseTimestamp } from '../../src/engine/filters.js';
import { parseFilterArgs } from '../../src/cli/commands/filters.js';
import { BerthError } from '../../src/errors.js';

test('parseFilterArgs collects repeated keys and rejects a filter without =', () => {
  assert.deepEqual(parseFilterArgs(['label=a', 'label=b=c', 'dangling=true']), { label: ['a', 'b=c'], dangling: ['true'] });
  assert.throws(() => parseFilterArgs(['dangling']), /bad format of filter/);
});

test('checkFilterKeys uses Docker wording for unknown keys', () => {
  assert.throws(() => checkFilterKeys({ foo: ['x'] }, ['dangling']), (e: unknown) => e instanceof BerthError && e.message === "invalid filter 'foo'");
  checkFilterKeys({ dangling: ['true'] }, ['dangling']);
});

test('boolFilter accepts true/false/1/0 and rejects others', () => {
  assert.equal(boolFilter({ dangling: ['true'] }, 'dangling'), true);
  assert.equal(boolFilter({ dangling: ['0'] }, 'dangling'), false);
  assert.equal(boolFilter({}, 'dangling'), undefined);
  assert.throws(() => boolFilter({ dangling: ['maybe'] }, 'dangling'), /expected true or false/);
});

test('labelsMatch: key presence and key=value', () => {
  const labels = { a: '1', b: '' };
  assert.ok(labelsMatch(labels, ['a']));
  assert.ok(labelsMatch(labels, ['a=1', 'b']));
  assert.ok(!labelsMatch(labels, ['a=2']));
  assert.ok(!labelsMatch(null, ['a']));
  assert.ok(labelsMatch(null, undefined));
});

test('globMatch follows Go path.Match', () => {
  assert.ok(globMatch('busy*', 'busybox'));
  assert.ok(!globMatch('busy*', 'library/busybox'));
  assert.ok(globMatch('*/app', 'user/app'));
  assert.ok(globMatch('b?sybox', 'busybox'));
  assert.ok(globMatch('[a-c]usybox', 'busybox'));
  assert.ok(!globMatch('[^b]usybox', 'busybox'));
  assert.ok(globMatch('a.b', 'a.b'));
  assert.ok(!globMatch('a.b', 'axb'));
  assert.throws(() => globMatch('[ab', 'a'), /syntax error/);
});

test('parseTimestamp: unix seconds, RFC 3339, durations', () => {
  assert.equal(parseTimestamp('1700000000'), 1700000000);
  assert.equal(parseTimestamp('2024-01-01T00:00:00Z'), 1704067200);
  assert.equal(parseTimestamp('10m', 1_000_000_000), 1_000_000 - 600);
  assert.equal(parseTimestamp('2h', 1_000_000_000), 1_000_000 - 7200);
  assert.throws(() => parseTimestamp('yesterday'), /invalid timestamp/);
});
