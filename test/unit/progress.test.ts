// Pull/push progress as the docker CLI draws it: bars on a terminal, plain lines elsewhere.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { progressText, ProgressRenderer } from '../../src/cli/progress.js';

test('progress text: bar only on wide terminals, sizes as go-units prints them', () => {
  assert.equal(progressText({}, 200), '');
  assert.equal(progressText({ current: 1_200_000, total: 5_000_000 }, 80), '   1.2MB/5MB');
  assert.equal(progressText({ current: 2_500_000, total: 5_000_000 }, 120), `[${'='.repeat(25)}>${' '.repeat(25)}]    2.5MB/5MB`);
  assert.equal(progressText({ current: 5_000_000, total: 5_000_000 }, 120), `[${'='.repeat(50)}>]      5MB/5MB`);
  assert.equal(progressText({ current: 6_000_000, total: 5_000_000 }, 80), '     6MB');
  assert.equal(progressText({ current: 1234 }, 80), ' 1.234kB');
});

function render(terminal: boolean, messages: Parameters<ProgressRenderer['write']>[0][]): string {
  const out = Object.assign(new PassThrough(), { columns: 120 });
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const r = new ProgressRenderer(out, terminal);
  for (const m of messages) r.write(m);
  return text;
}

const pull = [
  { id: 'latest', status: 'Pulling from library/busybox' },
  { id: 'aaa', status: 'Pulling fs layer', progressDetail: {} },
  { id: 'bbb', status: 'Pulling fs layer', progressDetail: {} },
  { id: 'aaa', status: 'Downloading', progressDetail: { current: 500, total: 1000 } },
  { id: 'aaa', status: 'Pull complete', progressDetail: {} },
  { status: 'Digest: sha256:abc' },
];

test('not a terminal: status lines, byte counts left out', () => {
  assert.equal(render(false, pull), 'latest: Pulling from library/busybox\naaa: Pulling fs layer\nbbb: Pulling fs layer\naaa: Pull complete\nDigest: sha256:abc\n');
});

test('a terminal: one line per layer, redrawn in place', () => {
  const text = render(true, pull);
  assert.equal(
    text,
    'latest: Pulling from library/busybox\n' +
      '\n\x1b[1A\x1b[2K\raaa: Pulling fs layer\r\x1b[1B' +
      '\n\x1b[1A\x1b[2K\rbbb: Pulling fs layer\r\x1b[1B' +
      `\x1b[2A\x1b[2K\raaa: Downloading [${'='.repeat(25)}>${' '.repeat(25)}]     500B/1kB\r\x1b[2B` +
      '\x1b[2A\x1b[2K\raaa: Pull complete\r\x1b[2B' +
      'Digest: sha256:abc\n',
  );
});
