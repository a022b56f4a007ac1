// A state root deleted without `network prune` leaves its bridges and iptables chains on the
// host, where nothing of its own would remove them: the next `network prune` of any state root
// finds them by the owner berth wrote into each bridge's alias and takes them off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { berthOk, removeContainersAndNetworks } from '../helpers/cli.js';
import { isRoot, tempDir } from '../helpers/root.js';

const links = () => execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
const rules = () => execFileSync('iptables-save', { encoding: 'utf8' });

test('network prune removes the bridges and rules of a state root that is gone', { skip: !isRoot && 'needs root' }, () => {
  const gone = tempDir('berth-orphan-');
  const other = tempDir('berth-orphan-prune-');
  const ids: string[] = [];
  try {
    berthOk(gone.dir, ['run', '--rm', 'busybox', 'true']);
    ids.push(berthOk(gone.dir, ['network', 'inspect', '-f', '{{.Id}}', 'bridge']).trim());
    ids.push(berthOk(gone.dir, ['network', 'create', 'orphaned']).trim());
    berthOk(gone.dir, ['run', '--rm', '--network', 'orphaned', '-p', '127.0.0.1::80', 'busybox', 'true']);
    const bridges = ids.map((id) => `br-${id.slice(0, 12)}`);
    for (const br of bridges) {
      assert.match(links(), new RegExp(`: ${br}:`));
      assert.equal(readFileSync(`/sys/class/net/${br}/ifalias`, 'utf8').trim(), `berth-network ${ids[bridges.indexOf(br)]} ${gone.dir}`);
    }
    gone.cleanup();

    berthOk(other.dir, ['network', 'prune', '-f']);
    for (const [i, br] of bridges.entries()) {
      assert.ok(!existsSync(`/sys/class/net/${br}`), `${br} is removed`);
      assert.ok(!rules().includes(ids[i].slice(0, 12)), `the chains of ${br} are removed`);
    }
  } finally {
    // Whatever the assertions left: the sweep again, then the roots.
    removeContainersAndNetworks(other.dir);
    gone.cleanup();
    other.cleanup();
  }
});
