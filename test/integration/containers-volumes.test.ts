// Named and anonymous volumes in real containers, through the built CLI on a throwaway state
// root: data that outlives containers, the image's content copied into a new volume, anonymous
// volumes that go with `rm -v` and `run --rm`, volumes in use that cannot be removed,
// --volumes-from, and volumes with a filesystem of their own (the local driver's type, device
// and o), mounted while containers use them. Everything a test makes is removed in `finally`,
// and `after` removes the root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MountPoint } from '../../src/engine/engine.js';
import { berth, berthAsync, berthOk, tearDownRoot } from '../helpers/cli.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = !isRoot ? 'needs root' : !existsSync('/usr/sbin/runc') || !existsSync('/usr/bin/conmon') ? 'needs runc and conmon' : false;

describe('container volumes', { skip }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let root: string;

  const run = (args: string[], input?: string) => berth(root, args, { input });
  const ok = (args: string[], input?: string) => berthOk(root, args, { input });
  const volumes = () => ok(['volume', 'ls', '-q']).split('\n').filter(Boolean).sort();
  const mounts = (ref: string) => JSON.parse(ok(['inspect', '-f', '{{json .Mounts}}', ref])) as MountPoint[];
  const dataDir = (name: string) => join(root, 'volumes', name, '_data');
  /** What this process's mount table has below the root's volumes. */
  const volumeMounts = () => {
    const under = realpathSync(root) + '/volumes/';
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4])
      .filter((point) => point?.startsWith(under));
  };

  /** Removes containers, then volumes, whatever state a failed test left them in. */
  const cleanUp = (containers: string[], vols: string[] = []) => {
    if (containers.length) run(['rm', '-f', ...containers]);
    if (vols.length) run(['volume', 'rm', '-f', ...vols]);
  };

  before(() => {
    tmp = tempDir('berth-vol-');
    root = tmp.dir;
    ok(['system', 'init']);
  });

  after(() =>
    tearDownRoot(tmp, () => {
      run(['volume', 'prune', '-af']);
      run(['image', 'prune', '-af']);
      assert.deepEqual(volumes(), [], 'no volume left behind');
    }),
  );

  it('keeps a named volume\'s data from one container to the next, and shows it in inspect as docker does', () => {
    try {
      assert.equal(ok(['run', '--rm', '-v', 'keep:/data', 'busybox', 'sh', '-c', 'echo kept > /data/file']), '');
      assert.deepEqual(volumes(), ['keep'], 'created on first use');
      assert.equal(ok(['run', '--rm', '-v', 'keep:/data:ro', 'busybox', 'cat', '/data/file']), 'kept\n');
      const ro = run(['run', '--rm', '--mount', 'type=volume,source=keep,target=/data,readonly', 'busybox', 'sh', '-c', 'echo x > /data/file']);
      assert.notEqual(ro.code, 0);
      assert.match(ro.stderr, /Read-only file system/);
      ok(['create', '--name', 'v1', '-v', 'keep:/data', '-v', 'keep2:/d2:ro,nocopy', 'busybox', 'true']);
      assert.deepEqual(mounts('v1').sort((a, b) => a.Destination.localeCompare(b.Destination)), [
        { Type: 'volume', Name: 'keep2', Source: dataDir('keep2'), Destination: '/d2', Driver: 'local', Mode: 'ro,nocopy', RW: false, Propagation: '' },
        { Type: 'volume', Name: 'keep', Source: dataDir('keep'), Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
      ]);
      assert.equal(ok(['ps', '-a', '--filter', 'name=v1', '--format', '{{.Mounts}}']).trim().split(',').sort().join(','), 'keep,keep2');
    } finally {
      cleanUp(['v1'], ['keep', 'keep2']);
    }
  });

  it('refuses to remove a volume any container uses, running or not', () => {
    try {
      const id = ok(['create', '--name', 'user', '-v', 'busy:/data', 'busybox', 'true']).trim();
      const r = run(['volume', 'rm', 'busy']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `Error: remove busy: volume is in use - [${id}]\n`);
      ok(['rm', 'user']);
      assert.equal(ok(['volume', 'rm', 'busy']), 'busy\n');
    } finally {
      cleanUp(['user'], ['busy']);
    }
  });

  it("copies the image's content into a new empty volume once, keeping modes, owners and symlinks", () => {
    try {
      // An image with content at /data and a VOLUME there, made by commit.
      ok(['run', '--name', 'maker', 'busybox', 'sh', '-c', 'mkdir /data && echo hello > /data/f && ln -s f /data/link && chmod 600 /data/f && chown -R 1000:1001 /data && chmod 750 /data']);
      ok(['commit', '-c', 'VOLUME /data', 'maker', 'withdata']);
      const id = ok(['create', '--name', 'fill', 'withdata', 'cat', '/data/f']).trim();
      const [anon] = mounts(id);
      assert.equal(anon.Type, 'volume');
      assert.match(anon.Name!, /^[0-9a-f]{64}$/, 'the VOLUME is an anonymous volume');
      assert.equal(anon.Mode, '');
      assert.equal(ok(['start', '-a', id]), 'hello\n');
      const dir = dataDir(anon.Name!);
      const top = lstatSync(dir);
      assert.deepEqual([top.mode & 0o7777, top.uid, top.gid], [0o750, 1000, 1001], "the directory's own mode and owner too");
      const f = lstatSync(join(dir, 'f'));
      assert.deepEqual([f.mode & 0o7777, f.uid, f.gid], [0o600, 1000, 1001]);
      assert.equal(readlinkSync(join(dir, 'link')), 'f');
      // A named volume that already has data keeps it.
      ok(['run', '--rm', '-v', 'prefilled:/data', 'busybox', 'sh', '-c', 'echo mine > /data/other']);
      assert.equal(ok(['run', '--rm', '-v', 'prefilled:/data', 'withdata', 'ls', '/data']), 'other\n');
      // Emptied by the user after the first start: not filled again.
      ok(['run', '--name', 'once', '-v', 'emptied:/data', 'withdata', 'rm', '-rf', '/data/f', '/data/link']);
      ok(['start', '-a', 'once']);
      assert.deepEqual(readdirSync(dataDir('emptied')), []);
      // nocopy, and --mount's volume-nocopy, leave a new volume empty.
      assert.equal(ok(['run', '--rm', '-v', 'nocopy1:/data:nocopy', 'withdata', 'ls', '/data']), '');
      assert.equal(ok(['run', '--rm', '--mount', 'type=volume,src=nocopy2,dst=/data,volume-nocopy', 'withdata', 'ls', '/data']), '');
      // The busybox image's /etc, into a named volume.
      assert.match(ok(['run', '--rm', '-v', 'etc:/etc', 'busybox', 'cat', '/etc/passwd']), /^root:x:0:0:/);
      assert.ok(readFileSync(join(dataDir('etc'), 'group'), 'utf8').startsWith('root:x:0:'));
    } finally {
      cleanUp(['maker', 'fill', 'once'], ['prefilled', 'emptied', 'nocopy1', 'nocopy2', 'etc']);
      run(['volume', 'prune', '-f']);
      run(['rmi', 'withdata']);
    }
  });

  it('removes anonymous volumes with rm -v and run --rm, never named ones; prune takes the rest', () => {
    try {
      const before = volumes();
      ok(['run', '--name', 'anon', '-v', '/data', '-v', 'named:/named', 'busybox', 'sh', '-c', 'echo x > /data/x']);
      const [anon] = mounts('anon').filter((m) => m.Destination === '/data');
      assert.match(anon.Name!, /^[0-9a-f]{64}$/);
      assert.deepEqual(JSON.parse(ok(['inspect', '-f', '{{json .Config.Volumes}}', 'anon'])), { '/data': {} });
      ok(['rm', '-v', 'anon']);
      assert.deepEqual(volumes(), [...before, 'named'].sort(), 'rm -v took the anonymous volume only');

      ok(['run', '--rm', '-v', '/scratch', 'busybox', 'true']);
      assert.deepEqual(volumes(), [...before, 'named'].sort(), 'run --rm took its anonymous volume');

      ok(['run', '--name', 'kept', '-v', '/data', 'busybox', 'true']);
      const [left] = mounts('kept');
      ok(['rm', 'kept']);
      assert.ok(volumes().includes(left.Name!), 'plain rm leaves it');
      const pruned = ok(['volume', 'prune', '-f']);
      assert.match(pruned, new RegExp(left.Name!));
      assert.deepEqual(volumes(), [...before, 'named'].sort(), 'prune removed the unused anonymous volume, not the named one');
    } finally {
      cleanUp(['anon', 'kept'], ['named']);
      run(['volume', 'prune', '-f']);
    }
  });

  it('mounts another container\'s volumes and binds with --volumes-from, read-only on request', () => {
    const host = tempDir('berth-vol-bind-');
    try {
      ok(['create', '--name', 'source', '-v', 'shared:/shared', '-v', `${host.dir}:/bind`, '-v', '/anon', 'busybox', 'true']);
      assert.equal(ok(['run', '--rm', '--volumes-from', 'source', 'busybox', 'sh', '-c', 'echo hi > /shared/f; echo b > /bind/f; ls -d /anon']), '/anon\n');
      assert.equal(readFileSync(join(host.dir, 'f'), 'utf8'), 'b\n');
      const ro = run(['run', '--rm', '--volumes-from', 'source:ro', 'busybox', 'sh', '-c', 'cat /shared/f; echo x > /shared/g']);
      assert.equal(ro.stdout, 'hi\n');
      assert.match(ro.stderr, /Read-only file system/);
      ok(['create', '--name', 'reader', '--volumes-from', 'source:ro', 'busybox', 'true']);
      for (const m of mounts('reader')) assert.deepEqual([m.RW, m.Mode], [false, ''], m.Destination);
      const r = run(['volume', 'rm', 'shared']);
      assert.match(r.stderr, /volume is in use/);
      ok(['rm', 'source']);
      assert.match(run(['volume', 'rm', 'shared']).stderr, /volume is in use/, 'the copy of the mount counts too');
    } finally {
      cleanUp(['source', 'reader'], ['shared']);
      run(['volume', 'prune', '-f']);
      host.cleanup();
    }
  });

  it('refuses bad volume specifications as docker does', () => {
    assert.match(run(['run', '--rm', '-v', 'a/b:/x', 'busybox', 'true']).stderr, /"a\/b" includes invalid characters for a local volume name/);
    assert.match(run(['run', '--rm', '-v', 'v:/x', 'busybox', 'true']).stderr, /volume name is too short/);
    assert.match(run(['run', '--rm', '-v', 'vv:/x', '-v', 'ww:/x', 'busybox', 'true']).stderr, /Duplicate mount point: \/x/);
    assert.match(run(['run', '--rm', '-v', 'vv:/x:rprivate', 'busybox', 'true']).stderr, /field BindOptions must not be specified/);
    assert.match(run(['run', '--rm', '--volumes-from', 'nosuch', 'busybox', 'true']).stderr, /No such container: nosuch/);
    assert.deepEqual(volumes(), [], 'failed creates leave no volume');
    assert.equal(run(['ps', '-aq']).stdout, '');
  });

  it("mounts a volume's tmpfs (type, device, o) from the first container's start to the last one's end, as docker does", async () => {
    try {
      assert.equal(ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m,uid=1000', 'scratch']), 'scratch\n');
      assert.deepEqual(JSON.parse(ok(['volume', 'inspect', '-f', '{{json .Options}}', 'scratch'])), { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,uid=1000' });
      assert.deepEqual(volumeMounts(), [], 'nothing mounted before a container starts');
      const seen = ok(['run', '--rm', '--network', 'none', '-v', 'scratch:/x', 'busybox', 'sh', '-c', 'stat -c %u /x; grep " /x " /proc/mounts']);
      assert.match(seen, /^1000\ntmpfs \/x tmpfs rw,(.*,)?size=1024k,uid=1000/);
      assert.deepEqual(volumeMounts(), [], 'unmounted after its only container');

      // Two berth processes at once start two containers on it: one mount, which both see.
      const started = await Promise.all(['t1', 't2'].map((name) => berthAsync(root, ['run', '-d', '--name', name, '--network', 'none', '-v', 'scratch:/x', 'busybox', 'sleep', '60'])));
      for (const r of started) assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(volumeMounts(), [dataDir('scratch')]);
      ok(['exec', 't1', 'sh', '-c', 'echo shared > /x/f']);
      assert.equal(ok(['exec', 't2', 'cat', '/x/f']), 'shared\n');
      assert.match(run(['volume', 'rm', 'scratch']).stderr, /volume is in use/);
      ok(['rm', '-f', 't1']);
      assert.deepEqual(volumeMounts(), [dataDir('scratch')], 'still mounted while t2 runs');
      assert.equal(ok(['exec', 't2', 'cat', '/x/f']), 'shared\n');
      ok(['stop', '-t', '0', 't2']);
      assert.deepEqual(volumeMounts(), [], 'unmounted when the last user stopped');
      // cp of a stopped container mounts it for the copy (the tar shows the tmpfs root's uid), then takes it down.
      assert.equal(parseInt(ok(['cp', 't2:/x', '-']).slice(108, 116), 8), 1000);
      assert.deepEqual(volumeMounts(), [], 'unmounted after the copy');
      ok(['start', 't2']);
      assert.equal(ok(['exec', 't2', 'ls', '/x']), '', 'a new tmpfs at the next start');
      ok(['rm', '-f', 't2']);
      assert.deepEqual(volumeMounts(), []);

      // A container that exits by itself: conmon's exit command takes the mount down.
      ok(['run', '-d', '--name', 't3', '--network', 'none', '-v', 'scratch:/x', 'busybox', 'true']);
      for (let i = 0; i < 100 && volumeMounts().length > 0; i++) await sleep(100);
      assert.deepEqual(volumeMounts(), [], 'unmounted after the exit');
      ok(['rm', 't3']);
      assert.equal(ok(['volume', 'rm', 'scratch']), 'scratch\n');
    } finally {
      cleanUp(['t1', 't2', 't3'], ['scratch']);
    }
  });

  it("bind-mounts a volume's device with type=none and o=bind; removing the volume leaves the device's files", () => {
    const host = tempDir('berth-vol-device-');
    try {
      writeFileSync(join(host.dir, 'f'), 'from the host\n');
      ok(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${host.dir}`, 'hostdir']);
      assert.equal(ok(['run', '--rm', '--network', 'none', '-v', 'hostdir:/x', 'busybox', 'sh', '-c', 'cat /x/f; echo back > /x/g']), 'from the host\n');
      assert.equal(readFileSync(join(host.dir, 'g'), 'utf8'), 'back\n');
      assert.deepEqual(volumeMounts(), []);
      assert.deepEqual(readdirSync(dataDir('hostdir')), [], "the volume's own directory stays empty");
      // ro in o makes a read-only bind.
      ok(['volume', 'create', '-o', 'type=none', '-o', 'o=bind,ro', '-o', `device=${host.dir}`, 'hostro']);
      const ro = run(['run', '--rm', '--network', 'none', '-v', 'hostro:/x', 'busybox', 'sh', '-c', 'cat /x/f; touch /x/h']);
      assert.equal(ro.stdout, 'from the host\n');
      assert.match(ro.stderr, /Read-only file system/);
      // A mount left without a container (a crash at the wrong moment): rm takes it down, never deletes through it.
      assert.equal(spawnSync('mount', ['--bind', host.dir, dataDir('hostdir')]).status, 0);
      assert.equal(ok(['volume', 'rm', 'hostdir', 'hostro']), 'hostdir\nhostro\n');
      assert.deepEqual(volumeMounts(), []);
      assert.deepEqual(readdirSync(host.dir).sort(), ['f', 'g']);
    } finally {
      cleanUp([], ['hostdir', 'hostro']);
      host.cleanup();
    }
  });

  it("checks the local driver's options at create and reports a failed mount at the start, as docker does", () => {
    try {
      const refused = (...opts: string[]) => {
        const r = run(['volume', 'create', ...opts.flatMap((o) => ['-o', o]), 'badopts']);
        assert.equal(r.code, 1, opts.join(' '));
        return r.stderr;
      };
      assert.equal(refused('foo=bar', 'type=tmpfs'), 'Error: create badopts: invalid option: "foo"\n');
      assert.equal(refused('type=tmpfs'), 'Error: create badopts: missing required option: "device"\n');
      assert.equal(refused('device=tmpfs', 'o=size=1m'), 'Error: create badopts: missing required option: "type"\n');
      assert.equal(refused('size=1m'), 'Error: create badopts: quota size requested but no quota support\n');
      assert.equal(refused('size=abc'), "Error: create badopts: invalid size: 'abc'\n");
      assert.ok(!volumes().includes('badopts'));

      ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=lots', 'badsize']);
      const mp = dataDir('badsize');
      const message = `error while mounting volume '${mp}': failed to mount local volume: mount tmpfs:${mp}, data: size=lots: invalid argument`;
      const r = run(['run', '--rm', '--network', 'none', '-v', 'badsize:/x', 'busybox', 'true']);
      assert.deepEqual([r.code, r.stderr], [125, `Error: ${message}\n`]);
      ok(['create', '--name', 'nomount', '--network', 'none', '-v', 'badsize:/x', 'busybox', 'true']);
      const s = run(['start', 'nomount']);
      assert.deepEqual([s.code, s.stderr], [1, `Error: ${message}\n`]);
      assert.equal(ok(['inspect', '-f', '{{.State.Status}} {{.State.Error}}', 'nomount']), `created ${message}\n`);

      ok(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', 'device=/nonexistent/berth-test', 'nodevice']);
      const nd = dataDir('nodevice');
      assert.equal(
        run(['run', '--rm', '--network', 'none', '-v', 'nodevice:/x', 'busybox', 'true']).stderr,
        `Error: error while mounting volume '${nd}': failed to mount local volume: mount /nonexistent/berth-test:${nd}, flags: 0x1000: no such file or directory\n`,
      );
      assert.deepEqual(volumeMounts(), []);
    } finally {
      cleanUp(['nomount'], ['badsize', 'nodevice', 'badopts']);
    }
  });

  it("creates a volume that --mount names on first use with its volume-opt and volume-label; an existing one keeps its own", () => {
    try {
      const spec = 'type=volume,src=mountopts,dst=/x,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=1m,volume-label=team=a';
      assert.equal(ok(['run', '--rm', '--network', 'none', '--mount', spec, 'busybox', 'sh', '-c', "grep ' /x ' /proc/mounts | cut -d' ' -f1,3"]), 'tmpfs tmpfs\n');
      assert.equal(ok(['volume', 'inspect', '-f', '{{.Options.type}} {{.Options.o}} {{.Labels.team}}', 'mountopts']), 'tmpfs size=1m a\n');
      // As Docker: options and labels only make a new volume.
      ok(['run', '--rm', '--network', 'none', '--mount', 'src=mountopts,dst=/x,volume-opt=o=size=2m,volume-label=team=b', 'busybox', 'true']);
      assert.equal(ok(['volume', 'inspect', '-f', '{{.Options.o}} {{.Labels.team}}', 'mountopts']), 'size=1m a\n');
      const bad = run(['run', '--rm', '--network', 'none', '--mount', 'src=badmountopts,dst=/x,volume-opt=foo=bar', 'busybox', 'true']);
      assert.deepEqual([bad.code, bad.stderr], [125, 'Error: create badmountopts: invalid option: "foo"\n']);
      assert.ok(!volumes().includes('badmountopts'));
      assert.equal(ok(['ps', '-aq']), '');
      const malformed = run(['run', '--rm', '--network', 'none', '--mount', 'src=v2,dst=/x,volume-opt=novalue', 'busybox', 'true']);
      assert.equal(malformed.code, 125);
      assert.match(malformed.stderr, /invalid volume-opt 'novalue': must be a key=value pair/);
      assert.deepEqual(volumeMounts(), []);
    } finally {
      cleanUp([], ['mountopts', 'badmountopts']);
    }
  });
});
