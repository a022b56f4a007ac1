// `system df`, `system prune` and `container port`, end to end through the built CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { berth, berthOk, tearDownRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/root.js';
import { humanSize } from '../../src/cli/units.js';

let tmp: { dir: string; cleanup: () => void };
let root: string;

before(() => {
  tmp = tempDir('berth-system-cli-');
  root = tmp.dir;
});
after(() => tearDownRoot(tmp));

const emptyDf = [
  'TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE',
  'Images          0         0         0B        0B',
  'Containers      0         0         0B        0B',
  'Local Volumes   0         0         0B        0B',
  'Build Cache     0         0         0B        0B',
  '',
].join('\n');

test('system df: images, containers and volumes as Docker counts and sizes them', () => {
  assert.equal(berthOk(root, ['system', 'df']), emptyDf);
  // An exited container with 100 KiB in its writable layer and 6 bytes in a named volume, a
  // created one with an anonymous volume, and a running one.
  berthOk(root, ['run', '--network', 'none', '--name', 'writer', '-v', 'data:/data', 'busybox', 'sh', '-c', 'echo hello > /data/x; dd if=/dev/zero of=/big bs=1k count=100 2>/dev/null']);
  berthOk(root, ['create', '--network', 'none', '--name', 'idle', '-v', '/anon', 'busybox', 'true']);
  berthOk(root, ['run', '-d', '--network', 'none', '--name', 'busy', 'busybox', 'sleep', '60']);
  const imageSize = humanSize(Number(berthOk(root, ['image', 'inspect', '-f', '{{.Size}}', 'busybox']).trim()), 4);

  assert.equal(
    berthOk(root, ['system', 'df']),
    [
      'TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE',
      `Images          1         1         ${imageSize.padEnd(10)}0B (0%)`,
      'Containers      3         1         102.4kB   102.4kB (100%)',
      'Local Volumes   2         2         6B        0B (0%)',
      'Build Cache     0         0         0B        0B',
      '',
    ].join('\n'),
  );
  assert.equal(
    berthOk(root, ['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}']).split('\n')[1],
    'Containers|3|1|102.4kB|102.4kB (100%)',
  );
  assert.deepEqual(JSON.parse(berthOk(root, ['system', 'df', '--format', 'json']).split('\n')[2]), {
    Active: '2',
    Reclaimable: '0B (0%)',
    Size: '6B',
    TotalCount: '2',
    Type: 'Local Volumes',
  });

  const verbose = berthOk(root, ['system', 'df', '-v']);
  const sections = verbose.split(/\n(?=Containers space usage:|Local Volumes space usage:|Build cache usage:)/);
  assert.equal(sections.length, 4);
  assert.match(sections[0], /^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS\nbusybox +latest +[0-9a-f]{12} .* 0B +\S+ +3\n$/);
  const containers = sections[1].split('\n');
  assert.match(containers[2], /^CONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES$/);
  assert.match(containers.find((l) => l.endsWith(' writer'))!, /^[0-9a-f]{12} +busybox +"sh -c 'echo hello >…" +1 +102kB +.* Exited \(0\) .* writer$/);
  assert.match(containers.find((l) => l.endsWith(' idle'))!, / 1 +0B +.* Created +idle$/);
  assert.match(containers.find((l) => l.endsWith(' busy'))!, / 0 +0B +.* Up .* busy$/);
  assert.match(sections[2], /^Local Volumes space usage:\n\nVOLUME NAME +LINKS +SIZE\n/);
  assert.match(sections[2], /\ndata +1 +6B\n/);
  assert.match(sections[2], /\n[0-9a-f]{64} +1 +0B\n/);
  assert.equal(sections[3], 'Build cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n');

  const all = JSON.parse(berthOk(root, ['system', 'df', '-v', '--format', 'json']));
  assert.deepEqual(Object.keys(all), ['Images', 'Containers', 'Volumes', 'BuildCache']);
  assert.equal(all.Images[0].Containers, '3');
  assert.deepEqual(all.Volumes.map((v: { Name: string; Links: string }) => v.Links), ['1', '1']);
});

test('system prune: Docker warning, sections, and only what is unused', () => {
  berthOk(root, ['rm', '-f', '-v', 'busy', 'writer', 'idle']);
  berthOk(root, ['volume', 'rm', 'data']);
  berthOk(root, ['tag', 'busybox', 'keep:me']);
  berthOk(root, ['create', '--network', 'none', '--name', 'old', '-v', '/scratch', 'busybox', 'true']);
  berthOk(root, ['run', '-d', '--network', 'none', '--name', 'live', 'busybox', 'sleep', '60']);
  berthOk(root, ['volume', 'create', 'named']);
  berthOk(root, ['network', 'create', '--label', 'tier=x', 'spare']);
  const anon = JSON.parse(berthOk(root, ['inspect', 'old']))[0].Mounts[0].Name as string;
  const oldId = berthOk(root, ['inspect', '-f', '{{.Id}}', 'old']).trim();

  const declined = berth(root, ['system', 'prune', '--volumes', '--filter', 'label=tier=x', '--filter', 'label!=b'], { input: 'n\n' });
  assert.equal(declined.code, 0);
  assert.equal(
    declined.stdout,
    [
      'WARNING! This will remove:',
      '  - all stopped containers',
      '  - all networks not used by at least one container',
      '  - all anonymous volumes not used by at least one container',
      '  - all dangling images',
      '  - unused build cache',
      '',
      '  Items to be pruned will be filtered with:',
      '  - label!=b',
      '  - label=tier=x',
      '',
      'Are you sure you want to continue? [y/N] ',
    ].join('\n'),
  );
  assert.match(berthOk(root, ['ps', '-aq', '--filter', 'name=old']), /\S/);

  const untilVolumes = berth(root, ['system', 'prune', '-f', '--volumes', '--filter', 'until=1h']);
  assert.equal(untilVolumes.code, 1);
  assert.equal(untilVolumes.stderr, 'ERROR: The "until" filter is not supported with "--volumes"\n');

  // Filtered: only the labelled network matches.
  assert.equal(berthOk(root, ['system', 'prune', '-f', '--filter', 'label=tier=x']), 'Deleted Networks:\nspare\n\nTotal reclaimed space: 0B\n');

  const pruned = berthOk(root, ['system', 'prune', '--volumes'], { input: 'y\n' });
  assert.equal(pruned.slice(pruned.indexOf('[y/N] ') + 6), `Deleted Containers:\n${oldId}\n\nDeleted Volumes:\n${anon}\n\nTotal reclaimed space: 0B\n`);
  // The running container, its image (tagged), and the named volume stay.
  assert.equal(berthOk(root, ['ps', '-a', '--format', '{{.Names}}']), 'live\n');
  assert.equal(berthOk(root, ['volume', 'ls', '-q']), 'named\n');

  berthOk(root, ['rm', '-f', 'live']);
  const id = berthOk(root, ['image', 'inspect', '-f', '{{.Id}}', 'busybox']).trim();
  const size = Number(berthOk(root, ['image', 'inspect', '-f', '{{.Size}}', 'busybox']).trim());
  assert.equal(
    berthOk(root, ['system', 'prune', '-a', '-f']),
    `Deleted Images:\nuntagged: busybox:latest\nuntagged: keep:me\ndeleted: ${id}\n\nTotal reclaimed space: ${humanSize(size, 4)}\n`,
  );
  assert.equal(berthOk(root, ['images', '-q']), '');
});

test('container port: the top-level port under the container group', () => {
  berthOk(root, ['create', '--network', 'none', '--name', 'ported', 'busybox', 'true']);
  assert.equal(berthOk(root, ['container', 'port', 'ported']), '');
  const none = berth(root, ['container', 'port', 'ported', '80']);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, "Error: No public port '80' published for ported\n");
});
