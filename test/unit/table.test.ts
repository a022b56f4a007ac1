import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayWidth, renderTable, tabwrite } from '../../src/cli/table.js';

test('docker images: columns are content + 3 spaces, at least 10, last column unpadded', () => {
  const out = renderTable([
    ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
    ['busybox', 'latest', 'abc123456789', '2 weeks ago', '4.26MB'],
    ['localhost:5000/app', '1', 'def456789012', '3 days ago', '103MB'],
  ]);
  assert.equal(
    out,
    'REPOSITORY           TAG       IMAGE ID       CREATED       SIZE\n' +
      'busybox              latest    abc123456789   2 weeks ago   4.26MB\n' +
      'localhost:5000/app   1         def456789012   3 days ago    103MB\n',
  );
});

test('a narrow column still takes the minimum width of 10', () => {
  assert.equal(renderTable([['ID', 'NAME'], ['1', 'x']]), 'ID        NAME\n1         x\n');
  assert.equal(renderTable([['ID', 'NAME'], ['1234567890abc', 'x']]), 'ID' + ' '.repeat(14) + 'NAME\n1234567890abc   x\n');
});

test('a single column is not padded at all', () => {
  assert.equal(renderTable([['NAME'], ['a'], ['bb']]), 'NAME\na\nbb\n');
});

test('empty cells are padded like any other', () => {
  assert.equal(renderTable([['A', 'B', 'C'], ['', '', 'z']]), 'A         B         C\n                    z\n');
});

test('a column spans only adjacent lines that have it (Go tabwriter doc example)', () => {
  const out = tabwrite('aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n');
  assert.equal(out, 'aaaa      bbb       d\n' + 'aa        b         dd\n' + 'a         \n' + 'aa        cccc      eee\n');
  // A line without tabs breaks every column: the blocks around it are sized independently.
  assert.equal(tabwrite('a\tb\nc\ndddddddddddd\te\n'), 'a         b\nc\ndddddddddddd   e\n');
});

test('rows with fewer cells break the later columns, exactly as Go tabwriter does', () => {
  // "Up 2 minutes" ends its line, so it is in no column and splits the STATUS column in two:
  // the header's STATUS is sized alone. Docker avoids this by always emitting every cell.
  const out = renderTable([
    ['NAME', 'STATUS', 'PORTS'],
    ['web', 'Up 2 minutes'],
    ['db', 'Exited (0) 5 seconds ago', '5432/tcp'],
  ]);
  assert.equal(
    out,
    'NAME      STATUS    PORTS\n' + 'web       Up 2 minutes\n' + 'db        Exited (0) 5 seconds ago   5432/tcp\n',
  );
  assert.equal(
    renderTable([
      ['NAME', 'STATUS', 'PORTS'],
      ['web', 'Up 2 minutes', ''],
    ]),
    'NAME      STATUS         PORTS\n' + 'web       Up 2 minutes   \n',
  );
});

test('tabwrite: text without a final newline, and a final tab, as Go flushes them', () => {
  assert.equal(tabwrite('a\tb\nccc\td'), 'a         b\nccc       d');
  // The trailing tab terminates "c" but no cell follows it, so "c" is not in a column.
  assert.equal(tabwrite('a\tb\nc\t'), 'a         b\nc');
  assert.equal(tabwrite(''), '');
  assert.equal(tabwrite('\n'), '\n');
  assert.equal(tabwrite('plain text\n'), 'plain text\n');
});

test('tabwrite: a form feed ends the line and every column', () => {
  assert.equal(tabwrite('a\tb\fccccccccccccc\td\n'), 'a         b\nccccccccccccc   d\n');
});

test('table format output: header and rows produced by a template', () => {
  const text = 'CONTAINER ID\tNAMES\n' + '0123456789ab\tweb\n';
  assert.equal(tabwrite(text), 'CONTAINER ID   NAMES\n0123456789ab   web\n');
});

test('wide characters count two columns and combining marks none', () => {
  assert.equal(displayWidth('abc'), 3);
  assert.equal(displayWidth('日本'), 4);
  assert.equal(displayWidth('e\u0301'), 1);
  assert.equal(displayWidth('🐳'), 2);
  assert.equal(displayWidth('👍🏽'), 2);
  assert.equal(displayWidth('ｈｉ'), 4);
  assert.equal(displayWidth('\u200b'), 0);
  assert.equal(renderTable([['日本語日本語日本語', 'x'], ['a', 'y']]), '日本語日本語日本語   x\n' + 'a' + ' '.repeat(20) + 'y\n');
  assert.equal(renderTable([['café', 'x'], ['e\u0301e\u0301', 'y']]), 'café      x\ne\u0301e\u0301        y\n');
});
