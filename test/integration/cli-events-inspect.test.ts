// Docker's format contexts and object lookup through the built CLI: the fields an events
// template sees (Go's names) and its JSON (the API's keys), the attach event, ps's
// `.Label "key"`, and the generic inspect of networks and volumes.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventLog } from '../../src/events/log.js';
import { openDb } from '../../src/storage/db.js';
import { spawn } from 'node:child_process';
import { berth, berthBin, berthOk, tearDownRoot } from '../helpers/cli.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = !isRoot ? 'needs root' : !existsSync('/usr/sbin/runc') || !existsSync('/usr/bin/conmon') ? 'needs runc and conmon' : false;

describe('events fields, ps labels and the generic inspect', { skip }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let root: string;
  const ok = (args: string[]) => berthOk(root, args);

  before(() => {
    tmp = tempDir('berth-events-inspect-');
    root = tmp.dir;
  });
  after(() => tearDownRoot(tmp));

  it('events: Go field names in templates, the API keys in {{json .}}, attach for each attached client', () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    ok(['run', '--name', 'ev', '--network', 'none', 'busybox', 'true']);
    ok(['start', '-a', 'ev']);
    ok(['run', '-d', '--name', 'evd', '--network', 'none', 'busybox', 'true']);
    ok(['volume', 'create', 'evvol']);
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const events = (format: string, ...filters: string[]) =>
      ok(['events', '--since', since, '--until', until, '--format', format, ...filters.flatMap((f) => ['--filter', f])]).trim().split('\n');

    const id = ok(['inspect', '-f', '{{.Id}}', 'ev']).trim();
    // As Docker's daemon: run without -d and start -a attach before the start; run -d does not.
    assert.deepEqual(events('{{.Action}}', 'container=ev', 'event=create', 'event=attach', 'event=start'), ['create', 'attach', 'start', 'attach', 'start']);
    assert.deepEqual(events('{{.Action}}', 'container=evd', 'event=create', 'event=attach', 'event=start'), ['create', 'start']);

    const [line] = events('{{.Status}}|{{.ID}}|{{.From}}|{{.Type}}|{{.Action}}|{{.Actor.ID}}|{{.Scope}}|{{.Time}}|{{.TimeNano}}', 'container=ev', 'event=attach');
    const f = line.split('|');
    assert.deepEqual(f.slice(0, 7), ['attach', id, 'busybox', 'container', 'attach', id, 'local']);
    assert.match(f[7], /^\d{10}$/);
    assert.match(f[8], /^\d{19}$/);
    assert.equal(f[8].slice(0, 10), f[7]);

    const [json] = events('{{json .}}', 'container=ev', 'event=attach');
    assert.match(json, /"timeNano":\d{19}\}$/);
    assert.deepEqual(Object.keys(JSON.parse(json)), ['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
    assert.equal(BigInt(JSON.parse(json.replace(/"timeNano":(\d+)/, '"timeNano":"$1"')).timeNano), BigInt(f[8]));

    // Types other than containers and images have none of the legacy fields: "" in a template.
    assert.deepEqual(events('{{.Status}}|{{.ID}}|{{.From}}|{{.Actor.ID}}|{{.Scope}}', 'type=volume'), ['|||evvol|local']);
    assert.deepEqual(Object.keys(JSON.parse(events('{{json .}}', 'type=volume')[0])), ['Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
    ok(['rm', '-f', 'ev', 'evd']);
    ok(['volume', 'rm', 'evvol']);
  });

  it('the event log fills status and id for images too (no from), as Docker\'s daemon does', () => {
    const db = openDb(join(root, 'events-only.db'));
    try {
      const log = new EventLog(db);
      log.record('image', 'tag', 'sha256:abc', { name: 'x:1' });
      log.record('network', 'create', 'def', { name: 'n', type: 'bridge' });
      const [image, network] = log.read({}).map((r) => r.event);
      assert.deepEqual([image.status, image.id, image.from], ['tag', 'sha256:abc', undefined]);
      assert.deepEqual([network.status, network.id, network.from], [undefined, undefined, undefined]);
      assert.equal(typeof image.timeNano, 'bigint');
      assert.equal(image.timeNano / 1_000_000_000n, BigInt(image.time));
    } finally {
      db.close();
    }
  });

  it('ps: {{.Label "key"}} as Docker\'s container context, left out of {{json .}}', () => {
    ok(['create', '--name', 'lbl', '--network', 'none', '--label', 'com.example.some-key=1', '--label', 'foo=bar', 'busybox', 'true']);
    const ps = (format: string) => berth(root, ['ps', '-a', '--filter', 'name=lbl', '--format', format]);
    assert.equal(ps('{{.Label "foo"}}|{{.Label "nope"}}|{{"foo" | .Label}}').stdout, 'bar||bar\n');
    assert.equal(ps('table {{.Label "com.example.some-key"}}\t{{.Names}}').stdout, 'some key   NAMES\n1          lbl\n');
    assert.equal(JSON.parse(ps('{{json .}}').stdout).Label, undefined);
    const bad = ps('{{.Label}}');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /executing "" at <\.Label>: wrong number of args for Label: want 1 got 0/);
    ok(['rm', 'lbl']);
  });

  it('inspect: containers, images, networks, volumes in that order; --type any of them', () => {
    ok(['volume', 'create', 'MyVol']);
    ok(['volume', 'create', 'none']);
    ok(['network', 'create', 'insnet']);
    ok(['create', '--name', 'insnet', '--network', 'none', 'busybox', 'true']);
    const name = (args: string[]) => ok(['inspect', '-f', '{{if .Mountpoint}}volume{{else if .IPAM}}network{{else}}container{{end}} {{.Name}}', ...args]);
    // A volume name that is no image reference (upper case) is found, as Docker's lookup skips it.
    assert.equal(name(['MyVol']), 'volume MyVol\n');
    // The network none comes before the volume none, the container insnet before the network.
    assert.equal(name(['none', 'insnet']), 'network none\ncontainer /insnet\n');
    assert.equal(name(['--type', 'volume', 'none']), 'volume none\n');
    assert.equal(name(['--type', 'network', 'insnet']), 'network insnet\n');

    const sized = berth(root, ['inspect', '-s', '-f', '{{.Name}}', 'MyVol']);
    assert.equal(sized.stdout, 'MyVol\n');
    assert.equal(sized.stderr, 'WARNING: --size ignored for volume\n');

    const missing = berth(root, ['inspect', '--type', 'network', 'nope']);
    assert.deepEqual([missing.code, missing.stdout, missing.stderr], [1, '[]\n', 'Error: network nope not found\n']);
    const none = berth(root, ['inspect', 'nope']);
    assert.deepEqual([none.code, none.stderr], [1, 'Error: No such object: nope\n']);
    const badType = berth(root, ['inspect', '--type', 'plugin', 'x']);
    assert.equal(badType.code, 1);
    assert.match(badType.stderr, /unknown type: "plugin": must be one of "container", "image", "network", "volume"/);

    ok(['rm', 'insnet']);
    ok(['network', 'rm', 'insnet']);
    ok(['volume', 'rm', 'MyVol', 'none']);
  });

  it('container inspect as Docker 20.10: tmpfs mounts, NetworkMode default, IPAMConfig, Aliases, no Health without a check', () => {
    // Created, never started: nothing of a network is set up on the host.
    ok(['create', '--name', 'tm', '--network', 'none', '--mount', 'type=tmpfs,dst=/t1,tmpfs-size=1m,readonly', '--tmpfs', '/t2:size=2m', 'busybox']);
    const tm = JSON.parse(ok(['inspect', 'tm']))[0];
    // --mount type=tmpfs is a mount point, --tmpfs is not (only HostConfig.Tmpfs).
    assert.deepEqual(tm.Mounts, [{ Type: 'tmpfs', Source: '', Destination: '/t1', Mode: '', RW: false, Propagation: '' }]);
    assert.deepEqual(tm.HostConfig.Tmpfs, { '/t2': 'size=2m' });
    assert.ok(!('Health' in tm.State));
    assert.equal(tm.HostConfig.NetworkMode, 'none');
    assert.ok(tm.HostConfig.MaskedPaths.includes('/proc/kcore'));
    assert.deepEqual(tm.HostConfig.BlkioDeviceReadBps, []);

    ok(['create', '--name', 'dflt', 'busybox']);
    const dflt = JSON.parse(ok(['inspect', 'dflt']))[0];
    assert.equal(dflt.HostConfig.NetworkMode, 'default');
    assert.deepEqual([Object.keys(dflt.NetworkSettings.Networks), dflt.NetworkSettings.Networks.bridge.Aliases, dflt.NetworkSettings.Networks.bridge.IPAMConfig], [['bridge'], null, null]);
    assert.equal(JSON.parse(ok(['ps', '-a', '--filter', 'name=dflt', '--filter', 'network=bridge', '--format', '{{json .Names}}'])), 'dflt');

    ok(['network', 'create', '--subnet', '10.231.9.0/24', 'ipnet']);
    ok(['create', '--name', 'withip', '--network', 'ipnet', '--ip', '10.231.9.5', 'busybox']);
    ok(['create', '--name', 'withalias', '--network', 'ipnet', '--network-alias', 'foo', 'busybox']);
    const endpoint = (c: string) => JSON.parse(ok(['inspect', '-f', '{{json .NetworkSettings.Networks.ipnet}}', c]));
    assert.deepEqual([endpoint('withip').IPAMConfig, endpoint('withip').Aliases], [{ IPv4Address: '10.231.9.5' }, null]);
    assert.deepEqual([endpoint('withalias').IPAMConfig, endpoint('withalias').Aliases], [null, ['foo']]);
    ok(['rm', 'tm', 'dflt', 'withip', 'withalias']);
    ok(['network', 'rm', 'ipnet']);
  });

  it('logs --details: a space before each line (berth logs no attributes), after -t\'s timestamp, as Docker 20.10', () => {
    ok(['run', '--name', 'det', '--network', 'none', 'busybox', 'sh', '-c', 'echo a; echo b >&2']);
    const plain = berth(root, ['logs', '--details', 'det']);
    assert.deepEqual([plain.stdout, plain.stderr], [' a\n', ' b\n']);
    assert.match(ok(['logs', '--details', '-t', 'det']), /^\d{4}-\d\d-\d\dT[\d:.]+Z  a\n$/);
    ok(['rm', 'det']);
  });

  it('events ends quietly with exit 0 when its reader goes away (| head)', async () => {
    ok(['volume', 'create', 'pipevol1']);
    const child = spawn(process.execPath, [berthBin, '--root', root, '--runroot', root + '/run', 'events', '--since', '1h'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      // The first line read, the reader goes; the next events are written into a closed pipe.
      await new Promise((resolve) => child.stdout.once('data', resolve));
      child.stdout.destroy();
      for (let i = 0; i < 20 && child.exitCode === null; i++) {
        ok(['volume', 'create', `pipevol${i + 2}`]);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      assert.equal(await exited, 0);
      assert.equal(stderr, '');
    } finally {
      child.kill();
      ok(['volume', 'prune', '-a', '-f']);
    }
  });
});
