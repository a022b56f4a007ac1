// The image commands end to end, through the built CLI, on a throwaway state root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { berth, berthOk } from '../helpers/cli.js';
import { tempDir } from '../helpers/root.js';

let root: string;
let cleanup: () => void;
let busyboxId: string;

before(() => {
  ({ dir: root, cleanup } = tempDir('berth-cli-'));
  const out = berthOk(root, ['system', 'init']);
  busyboxId = /\((sha256:[a-f0-9]{64})\)/.exec(out)![1];
});
after(() => cleanup());

const blobs = () => readdirSync(join(root, 'content', 'blobs', 'sha256')).sort();
const layerDirs = () => readdirSync(join(root, 'layers')).filter((n) => /^[a-f0-9]{64}$/.test(n)).sort();

test('system init is idempotent and yields the same image', () => {
  const out = berthOk(root, ['system', 'init']);
  assert.match(out, /busybox:latest present/);
  assert.ok(out.includes(busyboxId));
});

test('images: table, quiet, format, json, filters', () => {
  const table = berthOk(root, ['images']).split('\n');
  assert.match(table[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.match(table[1], new RegExp(`^busybox\\s+latest\\s+${busyboxId.slice(7, 19)}\\s+.+ ago\\s+[\\d.]+[kM]B$`));
  assert.equal(berthOk(root, ['images', '-q']), busyboxId.slice(7, 19) + '\n');
  assert.equal(berthOk(root, ['images', '-q', '--no-trunc']), busyboxId + '\n');
  assert.equal(berthOk(root, ['images', '--format', '{{.Repository}}:{{.Tag}}']), 'busybox:latest\n');
  const json = JSON.parse(berthOk(root, ['images', '--format', 'json']).trim());
  assert.equal(json.Repository, 'busybox');
  assert.equal(json.Tag, 'latest');
  assert.equal(json.Digest, '<none>');
  assert.match(berthOk(root, ['images', '--digests']).split('\n')[0], /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID/);
  assert.equal(berthOk(root, ['images', '-q', '--filter', 'dangling=true']), '');
  assert.equal(berthOk(root, ['images', '-q', '--filter', 'reference=busy*']), busyboxId.slice(7, 19) + '\n');
  assert.equal(berthOk(root, ['images', '-q', '--filter', 'reference=nothing*']), '');
  const bad = berth(root, ['images', '--filter', 'foo=bar']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid filter 'foo'/);
});

test('tag, rmi by name and by ID follow Docker rules', () => {
  berthOk(root, ['tag', 'busybox', 'example.com:5000/team/box:v1']);
  berthOk(root, ['tag', busyboxId.slice(7, 19), 'mybox']);
  const repos = berthOk(root, ['images', '--format', '{{.Repository}}:{{.Tag}}']).trim().split('\n').sort();
  assert.deepEqual(repos, ['busybox:latest', 'example.com:5000/team/box:v1', 'mybox:latest']);
  assert.equal(berthOk(root, ['images', '-q']).trim().split('\n').length, 1, '-q lists an image once');

  const conflict = berth(root, ['rmi', busyboxId.slice(7, 19)]);
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /unable to delete [a-f0-9]{12} \(must be forced\) - image is referenced in multiple repositories/);

  assert.equal(berthOk(root, ['rmi', 'mybox']), 'Untagged: mybox:latest\n');
  assert.equal(berthOk(root, ['rmi', 'example.com:5000/team/box:v1']), 'Untagged: example.com:5000/team/box:v1\n');
  const badRef = berth(root, ['tag', 'busybox', 'Bad/Name']);
  assert.equal(badRef.code, 1);
  assert.match(badRef.stderr, /invalid reference format/);
  const missing = berth(root, ['rmi', 'nothing-here']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such image: nothing-here/);
  const usage = berth(root, ['images', '--no-such-flag']);
  assert.equal(usage.code, 125);
});

test('inspect and history', () => {
  assert.equal(berthOk(root, ['image', 'inspect', '-f', '{{.Os}}/{{.Architecture}}', 'busybox']).trim().split('/')[0], 'linux');
  const [img] = JSON.parse(berthOk(root, ['inspect', 'busybox']));
  assert.equal(img.Id, busyboxId);
  assert.deepEqual(img.RepoTags, ['busybox:latest']);
  assert.deepEqual(img.Config.Cmd, ['sh']);
  assert.equal(img.RootFS.Layers.length, 1);
  const missing = berth(root, ['image', 'inspect', 'busybox', 'nope']);
  assert.equal(missing.code, 1);
  assert.equal(JSON.parse(missing.stdout).length, 1);
  const history = berthOk(root, ['history', 'busybox']).trim().split('\n');
  assert.match(history[0], /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  assert.equal(history.length, 3);
  assert.ok(history[1].startsWith(busyboxId.slice(7, 19)));
  assert.ok(history[2].startsWith('<missing>'));
});

test('save, rmi, load round trip restores the same image', () => {
  const archive = join(root, 'busybox.tar');
  berthOk(root, ['save', '-o', archive, 'busybox']);
  assert.ok(statSync(archive).size > 100_000);
  const out = berthOk(root, ['rmi', 'busybox']).split('\n');
  assert.deepEqual(out.slice(0, 2), ['Untagged: busybox:latest', `Deleted: ${busyboxId}`]);
  assert.equal(berthOk(root, ['images', '-q']), '');
  assert.deepEqual(layerDirs(), [], 'no layer left once the image is gone');
  assert.deepEqual(blobs(), [], 'no blob left once the image is gone');
  assert.equal(berthOk(root, ['load', '-i', archive]), 'Loaded image: busybox:latest\n');
  assert.equal(berthOk(root, ['images', '-q', '--no-trunc']), busyboxId + '\n');
});

test('a truncated archive fails and leaves the store as it was', () => {
  const archive = join(root, 'busybox.tar');
  const broken = join(root, 'broken.tar');
  const bytes = readFileSync(archive);
  writeFileSync(broken, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const before = { blobs: blobs(), layers: layerDirs(), images: berthOk(root, ['images', '-q', '--no-trunc']) };
  const r = berth(root, ['load', '-i', broken]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error: .+/);
  assert.deepEqual({ blobs: blobs(), layers: layerDirs(), images: berthOk(root, ['images', '-q', '--no-trunc']) }, before);
  const missingFile = berth(root, ['load', '-i', join(root, 'does-not-exist.tar')]);
  assert.equal(missingFile.code, 1);
  assert.match(missingFile.stderr, /no such file/);
});

test('import with --change, then prune removes dangling, prune -a removes the rest', () => {
  const archive = join(root, 'busybox.tar');
  // Re-use the busybox layer as a rootfs tarball: save's layer tar is a plain rootfs.
  const rootfs = join(root, 'rootfs.tar');
  const exported = berthOk(root, ['image', 'inspect', '-f', '{{index .RootFS.Layers 0}}', 'busybox']).trim();
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' }));
  writeFileSync(rootfs, execFileSync('tar', ['-xOf', archive, manifest[0].Layers[0]], { maxBuffer: 64 << 20 }));
  assert.match(exported, /^sha256:/);
  const id = berthOk(root, ['import', '-c', 'CMD ["/bin/echo", "hi"]', '-c', 'ENV A=1', '-c', 'WORKDIR /tmp', '-m', 'note', rootfs]).trim();
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  const cfg = JSON.parse(berthOk(root, ['image', 'inspect', '-f', '{{json .Config}}', id]));
  assert.deepEqual(cfg.Cmd, ['/bin/echo', 'hi']);
  assert.ok(cfg.Env.includes('A=1'));
  assert.equal(cfg.WorkingDir, '/tmp');
  assert.equal(berthOk(root, ['images', '-q', '--filter', 'dangling=true', '--no-trunc']), id + '\n');
  const bad = berth(root, ['import', '-c', 'FROB x', rootfs]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /frob is not a valid change command/);

  const pruned = berthOk(root, ['image', 'prune', '-f']);
  assert.match(pruned, new RegExp(`deleted: ${id}`));
  assert.match(pruned, /Total reclaimed space: /);
  assert.equal(berthOk(root, ['images', '-q']).trim().split('\n').length, 1);
  berthOk(root, ['image', 'prune', '-a', '-f']);
  assert.equal(berthOk(root, ['images', '-q']), '');
  assert.deepEqual(layerDirs(), []);
});

test('image events as Docker 20.10 records them: IDs, name=, labels while the image exists', () => {
  const tmp = tempDir('berth-image-events-');
  try {
    const r = tmp.dir;
    const id = /\((sha256:[a-f0-9]{64})\)/.exec(berthOk(r, ['system', 'init']))![1];
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const archive = join(r, 'bb.tar');
    berthOk(r, ['save', '-o', archive, 'busybox', id]);
    berthOk(r, ['tag', 'busybox', 'ev']);
    berthOk(r, ['rmi', 'ev']);
    berthOk(r, ['rmi', 'busybox']);
    berthOk(r, ['load', '-i', archive]);
    const rootfs = join(r, 'rootfs.tar');
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' }));
    writeFileSync(rootfs, execFileSync('tar', ['-xOf', archive, manifest[0].Layers[0]], { maxBuffer: 64 << 20 }));
    const imp = berthOk(r, ['import', '-c', 'LABEL a=b', rootfs, 'imp']).trim();
    berthOk(r, ['rmi', 'imp']);
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const events = berthOk(r, ['events', '--since', since, '--until', until, '--filter', 'type=image', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}']);
    const name = (n: string) => JSON.stringify({ name: n });
    assert.deepEqual(events.trim().split('\n'), [
      `image save ${id} ${name(id)}`,
      `image tag ${id} ${name('ev:latest')}`,
      `image untag ${id} ${name(id)}`,
      `image untag ${id} ${name(id)}`,
      `image delete ${id} ${name(id)}`,
      `image load ${id} ${name(id)}`,
      `image tag ${imp} {"a":"b","name":"imp:latest"}`,
      `image import ${imp} {"a":"b","name":"${imp}"}`,
      `image untag ${imp} {"a":"b","name":"${imp}"}`,
      // Docker's daemon looks the image up for its labels: a deleted one has none.
      `image delete ${imp} ${name(imp)}`,
    ]);
    assert.equal(berthOk(r, ['events', '--since', since, '--until', until, '--filter', 'type=image', '--filter', 'event=tag', '--format', '{{.Status}} {{.ID}}']), `tag ${id}\ntag ${imp}\n`);
  } finally {
    tmp.cleanup();
  }
});
