// Volume commands and the event log, end to end through the built CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { berth, berthOk } from '../helpers/cli.js';
import { tempDir } from '../helpers/root.js';

let root: string;
let cleanup: () => void;

before(() => {
  ({ dir: root, cleanup } = tempDir('berth-vol-cli-'));
});
after(() => {
  berth(root, ['rm', '-f', ...berthOk(root, ['ps', '-aq']).split('\n').filter(Boolean)]);
  // The default bridge keeps its bridge and rules until pruned.
  berth(root, ['network', 'prune', '-f']);
  cleanup();
});

test('volume create, ls, inspect, rm through the CLI', () => {
  assert.equal(berthOk(root, ['volume', 'create', '--label', 'team=a', 'data']), 'data\n');
  const table = berthOk(root, ['volume', 'ls']).split('\n');
  assert.match(table[0], /^DRIVER\s+VOLUME NAME$/);
  assert.match(table[1], /^local\s+data$/);
  assert.equal(berthOk(root, ['volume', 'ls', '-q', '--filter', 'label=team=a']), 'data\n');
  const [v] = JSON.parse(berthOk(root, ['volume', 'inspect', 'data']));
  assert.equal(v.Name, 'data');
  assert.deepEqual(v.Labels, { team: 'a' });
  assert.ok(existsSync(v.Mountpoint));
  const bad = berth(root, ['volume', 'create', 'a/b']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /includes invalid characters for a local volume name/);
  assert.equal(berthOk(root, ['volume', 'rm', 'data']), 'data\n');
  assert.ok(!existsSync(v.Mountpoint));
  const missing = berth(root, ['volume', 'rm', 'data']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such volume/);
});

test('events: a run --rm leaves create, attach, start, die, destroy in order, filterable', () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  const run = berth(root, ['run', '--rm', '--name', 'evt', 'busybox', 'sh', '-c', 'exit 4']);
  assert.equal(run.code, 4);
  const until = String(Math.ceil(Date.now() / 1000) + 1);
  const lines = berthOk(root, ['events', '--since', since, '--until', until, '--filter', 'container=evt']).trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ').slice(1, 3).join(' ')), ['container create', 'container attach', 'container start', 'container die', 'container destroy']);
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container create [a-f0-9]{64} \(image=busybox, name=evt\)$/);
  const die = berthOk(root, ['events', '--since', since, '--until', until, '--filter', 'event=die', '--format', '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}']);
  assert.equal(die, 'evt 4\n');
  const none = berthOk(root, ['events', '--since', since, '--until', until, '--filter', 'type=volume', '--filter', 'event=start']);
  assert.equal(none, '');
  // An exec's events: created, started and, with its exit code, died.
  berthOk(root, ['run', '-d', '--name', 'evx', 'busybox', 'sleep', '60']);
  assert.equal(berth(root, ['exec', 'evx', 'sh', '-c', 'exit 3']).code, 3);
  berthOk(root, ['rm', '-f', 'evx']);
  const execs = berthOk(root, ['events', '--since', since, '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'container=evx', '--format', '{{.Action}} {{.Actor.Attributes.exitCode}}']);
  assert.deepEqual(execs.split('\n').filter((l) => l.startsWith('exec_')), ['exec_create: sh -c exit 3 <no value>', 'exec_start: sh -c exit 3 <no value>', 'exec_die 3']);
  const bad = berth(root, ['events', '--since', since, '--until', until, '--filter', 'colour=red']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid filter 'colour'/);
});
