// The pure parts of containers: merging the create body with the image config, HostConfig
// checks, users from passwd/group, status text, ps output filtering, k8s-file logs, and
// path resolution inside a rootfs.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { commandString, effectiveNetworkMode, mergeConfig, normalizeHostConfig } from '../../src/container/config.js';
import { readLog } from '../../src/container/logs.js';
import { mkdirInRoot, readFileInRoot } from '../../src/container/rootfs.js';
import { initialBook, initialState, type ContainerRecord } from '../../src/container/store.js';
import { filterPsOutput } from '../../src/container/top.js';
import { endpointAliases } from '../../src/engine/containers.js';
import { resolveUser } from '../../src/container/user.js';
import { parseSignal, statusText } from '../../src/container/status.js';
import { tempDir } from '../helpers/root.js';

const id = 'abcdef0123456789'.repeat(4);

describe('container config', () => {
  const image = { Env: ['PATH=/bin', 'LANG=C'], Cmd: ['sh'], WorkingDir: '/app', User: 'app', Labels: { a: '1' }, StopSignal: 'SIGQUIT' };

  it("merges the image's config as docker does", () => {
    const c = mergeConfig({ Image: 'img', Env: ['LANG=fr', 'X=1'], Labels: { b: '2' } }, image, id);
    assert.deepEqual(c.Env, ['PATH=/bin', 'LANG=fr', 'X=1']);
    assert.deepEqual(c.Cmd, ['sh']);
    assert.equal(c.Entrypoint, null);
    assert.equal(c.WorkingDir, '/app');
    assert.equal(c.User, 'app');
    assert.deepEqual(c.Labels, { a: '1', b: '2' });
    assert.equal(c.StopSignal, 'SIGQUIT');
    assert.equal(c.Hostname, id.slice(0, 12));
    assert.equal(c.Image, 'img');
  });

  it('drops the image command when an entrypoint is given, and --entrypoint "" clears it', () => {
    assert.deepEqual(mergeConfig({ Image: 'i', Entrypoint: ['/init'] }, image, id).Cmd, null);
    const c = mergeConfig({ Image: 'i', Entrypoint: [''], Cmd: ['echo', 'hi'] }, { ...image, Entrypoint: ['/old'] }, id);
    assert.equal(c.Entrypoint, null);
    assert.deepEqual(c.Cmd, ['echo', 'hi']);
    assert.throws(() => mergeConfig({ Image: 'i' }, {}, id), /No command specified/);
  });

  it("quotes arguments with spaces in the Command column, as docker's daemon does", () => {
    assert.equal(commandString({ Entrypoint: null, Cmd: ['sh', '-c', 'echo "a b"; exit 3'] }), `sh -c 'echo "a b"; exit 3'`);
  });

  it("fills HostConfig with docker's defaults and refuses what docker refuses", () => {
    const hc = normalizeHostConfig({});
    // Docker records "default" when no network was asked for; the container is on the default bridge.
    assert.equal(hc.NetworkMode, 'default');
    assert.equal(effectiveNetworkMode(hc), 'bridge');
    assert.deepEqual(hc.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
    assert.equal(hc.IpcMode, 'private');
    assert.equal(hc.ShmSize, 64 * 1024 * 1024);
    assert.deepEqual(hc.LogConfig, { Type: 'k8s-file', Config: {} });
    assert.equal(normalizeHostConfig({ NetworkMode: 'default' }).NetworkMode, 'default');
    assert.equal(effectiveNetworkMode({ NetworkMode: 'host' }), 'host');
    assert.equal(normalizeHostConfig({ NetworkMode: 'host' }).NetworkMode, 'host');
    // Networks by name pass through: the engine checks that they exist.
    assert.equal(normalizeHostConfig({ NetworkMode: 'bridge' }).NetworkMode, 'bridge');
    assert.equal(normalizeHostConfig({ NetworkMode: 'mynet' }).NetworkMode, 'mynet');
    // --add-host, --dns and friends reach the engine through the API too: checked there as well.
    assert.deepEqual([hc.ExtraHosts, hc.Dns, hc.DnsSearch, hc.DnsOptions], [null, [], [], []]);
    assert.deepEqual(normalizeHostConfig({ ExtraHosts: ['a:1.2.3.4', 'b=host-gateway'] }).ExtraHosts, ['a:1.2.3.4', 'b:host-gateway']);
    assert.throws(() => normalizeHostConfig({ ExtraHosts: ['a'] }), /bad format for add-host: "a"/);
    assert.throws(() => normalizeHostConfig({ Dns: ['1.2.3'] }), /IP address is not correctly formatted: 1.2.3/);
    assert.throws(() => normalizeHostConfig({ DnsSearch: ['-x'] }), /-x is not a valid domain/);
    assert.throws(() => normalizeHostConfig({ NetworkMode: 'container:db', Dns: ['1.1.1.1'] }), /conflicting options: dns and the network mode/);
    assert.throws(() => normalizeHostConfig({ NetworkMode: 'container:db', ExtraHosts: ['a:1.1.1.1'] }), /conflicting options: custom host-to-IP mapping and the network mode/);
    assert.equal(mergeConfig({ Image: 'i', Cmd: ['true'], MacAddress: '02:42:AC:11:00:02' }, undefined, 'x'.repeat(64)).MacAddress, '02:42:ac:11:00:02');
    assert.throws(() => mergeConfig({ Image: 'i', Cmd: ['true'], MacAddress: 'nope' }, undefined, 'x'.repeat(64)), /nope is not a valid mac address/);
    assert.throws(() => normalizeHostConfig({ AutoRemove: true, RestartPolicy: { Name: 'always' } }), /cannot specify both --restart and --rm/);
    assert.throws(() => normalizeHostConfig({ RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }), /maximum retry count can only be used with 'on-failure'/);
    assert.throws(() => normalizeHostConfig({ RestartPolicy: { Name: 'sometimes' as 'no' } }), /invalid restart policy 'sometimes'/);
    assert.doesNotThrow(() => normalizeHostConfig({ Binds: ['myvolume:/data', '/anon', 'v2:/x:ro,nocopy'], VolumesFrom: ['other:ro'] }));
    assert.throws(() => normalizeHostConfig({ Binds: ['/x:rw'] }), /invalid volume specification: '\/x:rw'/);
    assert.throws(() => normalizeHostConfig({ Binds: ['vol:/x:rprivate'] }), /type "volume": field BindOptions must not be specified/);
    assert.throws(() => normalizeHostConfig({ Binds: ['/h:/x:nocopy'] }), /type "bind": field VolumeOptions must not be specified/);
    assert.throws(() => normalizeHostConfig({ Binds: ['vol:x'] }), /invalid mount path: 'x' mount path must be absolute/);
    assert.throws(() => normalizeHostConfig({ VolumesFrom: ['other:rx'] }), /invalid mode: rx/);
    assert.throws(() => normalizeHostConfig({ Binds: ['/a:/b:bogus'] }), /invalid mode: bogus/);
    assert.throws(() => normalizeHostConfig({ SecurityOpt: ['apparmor=myprofile'] }), /AppArmor profiles are not supported/);
    assert.throws(() => normalizeHostConfig({ SecurityOpt: ['nonsense'] }), /Invalid --security-opt/);
    assert.throws(() => normalizeHostConfig({ IpcMode: 'weird' }), /invalid IPC mode: weird/);
    assert.doesNotThrow(() => normalizeHostConfig({ SecurityOpt: ['no-new-privileges:true', 'seccomp=unconfined', 'label=disable'], PidMode: 'container:x' }));
  });
});

describe('users', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\napp:x:1000:1000::/srv:/bin/sh\n';
  const group = 'root:x:0:\naudio:x:29:app\nnogroup:x:65534:\napp:x:1000:\nstaff:x:50:app,other\n';

  it("resolves names and ids through the image's files, the primary group first among the supplementary ones", () => {
    assert.deepEqual(resolveUser('', [], passwd, group), { uid: 0, gid: 0, additionalGids: [0], home: '/root' });
    assert.deepEqual(resolveUser('app', [], passwd, group), { uid: 1000, gid: 1000, additionalGids: [1000, 29, 50], home: '/srv' });
    assert.deepEqual(resolveUser('app:nogroup', [], passwd, group), { uid: 1000, gid: 65534, additionalGids: [65534], home: '/srv' });
    assert.deepEqual(resolveUser('4242:99', [], passwd, group), { uid: 4242, gid: 99, additionalGids: [99], home: '/' });
    assert.deepEqual(resolveUser('nobody', ['audio', '7', 'nogroup'], passwd, group).additionalGids, [65534, 29, 7]);
    assert.deepEqual(resolveUser('1000', [], null, null), { uid: 1000, gid: 0, additionalGids: [0], home: '/' });
  });

  it("fails as runc's user lookup does", () => {
    assert.throws(() => resolveUser('ghost', [], passwd, group), /unable to find user ghost: no matching entries in passwd file/);
    assert.throws(() => resolveUser('app:ghosts', [], passwd, group), /unable to find group ghosts/);
    assert.throws(() => resolveUser('app', ['ghosts'], passwd, group), /Unable to find group ghosts/);
  });
});

describe('status and signals', () => {
  const rec = (state: Partial<ContainerRecord['state']>): ContainerRecord => ({
    id,
    name: 'n',
    imageId: 'sha256:x',
    imageRef: 'busybox',
    config: mergeConfig({ Image: 'busybox', Cmd: ['true'] }, {}, id),
    hostConfig: {},
    state: { ...initialState(), ...state },
    book: initialBook(),
    created: 0,
    bootId: '',
    mounts: [],
  });
  const now = Date.parse('2024-01-01T00:10:00Z');

  it("reads like docker's STATUS column", () => {
    assert.equal(statusText(rec({}), now), 'Created');
    assert.equal(statusText(rec({ Status: 'running', StartedAt: '2024-01-01T00:09:57Z' }), now), 'Up 3 seconds');
    assert.equal(statusText(rec({ Status: 'paused', StartedAt: '2024-01-01T00:00:00Z' }), now), 'Up 10 minutes (Paused)');
    assert.equal(
      statusText(rec({ Status: 'exited', ExitCode: 3, StartedAt: '2024-01-01T00:00:00Z', FinishedAt: '2024-01-01T00:09:59.5Z' }), now),
      'Exited (3) Less than a second ago',
    );
    assert.equal(statusText(rec({ Status: 'removing' }), now), 'Removal In Progress');
  });

  it('parses signals by name or number', () => {
    assert.deepEqual(parseSignal('kill'), { name: 'SIGKILL', number: 9 });
    assert.deepEqual(parseSignal('SIGTERM'), { name: 'SIGTERM', number: 15 });
    assert.deepEqual(parseSignal('2'), { name: 'SIGINT', number: 2 });
    assert.throws(() => parseSignal('SIGNOPE'), /Invalid signal: SIGNOPE/);
    assert.throws(() => parseSignal('0'), /Invalid signal: 0/);
  });
});

describe('top, logs and rootfs paths', () => {
  it("keeps the container's rows of ps output", () => {
    const out = 'USER PID %CPU COMMAND\nroot 1 0.0 /sbin/init\nroot 42 0.1 sleep 1000 now\nroot 43 0.0 other\n';
    assert.deepEqual(filterPsOutput(out, [42]), { Titles: ['USER', 'PID', '%CPU', 'COMMAND'], Processes: [['root', '42', '0.1', 'sleep 1000 now']] });
    assert.throws(() => filterPsOutput('USER CMD\nroot x\n', [1]), /Couldn't find PID field/);
  });

  it('reads k8s-file logs: streams, partial lines, tail, since', async () => {
    const tmp = tempDir();
    try {
      const log = join(tmp.dir, 'ctr.log');
      writeFileSync(
        log,
        [
          '2024-01-01T00:00:01.000000001+00:00 stdout F one',
          '2024-01-01T00:00:02.5+00:00 stderr F two',
          '2024-01-01T00:00:03+00:00 stdout P thr',
          '2024-01-01T00:00:03+00:00 stdout F ee',
          '2024-01-01T00:00:04+00:00 stdout P no newline',
          '',
        ].join('\n'),
      );
      const all = async (opts: Parameters<typeof readLog>[1]) => {
        const out: string[] = [];
        for await (const e of readLog(log, opts, async () => false)) out.push(`${e.stream}:${e.line.toString()}`);
        return out;
      };
      assert.deepEqual(await all({}), ['stdout:one\n', 'stderr:two\n', 'stdout:three\n', 'stdout:no newline']);
      assert.deepEqual(await all({ stderr: false }), ['stdout:one\n', 'stdout:three\n', 'stdout:no newline']);
      assert.deepEqual(await all({ tail: 2 }), ['stdout:three\n', 'stdout:no newline']);
      assert.deepEqual(await all({ tail: 0 }), []);
      assert.deepEqual(await all({ since: Date.parse('2024-01-01T00:00:02Z') / 1000, until: Date.parse('2024-01-01T00:00:03Z') / 1000 }), ['stderr:two\n', 'stdout:three\n']);
    } finally {
      tmp.cleanup();
    }
  });

  it('reads and makes paths inside the rootfs, symlinks never leading outside it', () => {
    const tmp = tempDir();
    try {
      const root = join(tmp.dir, 'rootfs');
      mkdirSync(join(root, 'etc', 'real'), { recursive: true });
      writeFileSync(join(tmp.dir, 'secret'), 'host\n');
      writeFileSync(join(root, 'secret'), 'container\n');
      writeFileSync(join(root, 'etc', 'real', 'x'), 'x\n');
      symlinkSync(join(tmp.dir, 'secret'), join(root, 'etc', 'passwd'));
      symlinkSync('../../../..', join(root, 'up'));
      symlinkSync('real', join(root, 'etc', 'rel'));
      assert.equal(readFileInRoot(root, '/etc/passwd'), null, 'the absolute target is looked up in the rootfs, where it is missing');
      assert.equal(readFileInRoot(root, '/up/secret'), 'container\n', '".." stops at the rootfs');
      assert.equal(readFileInRoot(root, '/etc/rel/x'), 'x\n');
      mkdirInRoot(root, '/up/work/dir');
      assert.ok(existsSync(join(root, 'work', 'dir')));
      assert.ok(!existsSync(join(tmp.dir, 'work')));
    } finally {
      tmp.cleanup();
    }
  });

  it("shows an endpoint's aliases as Docker 20.10: the short ID on a user network once started, null for none", () => {
    const id = 'abcdef012345';
    assert.equal(endpointAliases([], { userNetwork: true, started: false, shortId: id }), null);
    assert.deepEqual(endpointAliases(['foo'], { userNetwork: true, started: false, shortId: id }), ['foo']);
    assert.deepEqual(endpointAliases([], { userNetwork: true, started: true, shortId: id }), [id]);
    assert.deepEqual(endpointAliases(['foo'], { userNetwork: true, started: true, shortId: id }), ['foo', id]);
    assert.deepEqual(endpointAliases([id], { userNetwork: true, started: true, shortId: id }), [id]);
    assert.equal(endpointAliases([], { userNetwork: false, started: true, shortId: id }), null);
  });

  it("has the HostConfig keys Docker's always has, at Docker's values", () => {
    const hc = normalizeHostConfig({});
    for (const [key, value] of Object.entries({
      ContainerIDFile: '', VolumeDriver: '', ConsoleSize: [0, 0], Cgroup: '', Links: null, OomScoreAdj: 0, Isolation: '',
      BlkioWeightDevice: [], BlkioDeviceReadBps: [], BlkioDeviceWriteBps: [], BlkioDeviceReadIOps: [], BlkioDeviceWriteIOps: [],
      CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetMems: '', DeviceCgroupRules: null, DeviceRequests: null,
      KernelMemory: 0, KernelMemoryTCP: 0, MemorySwappiness: null, CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0,
    })) {
      assert.deepEqual(hc[key], value, key);
    }
    assert.ok((hc.MaskedPaths as string[]).includes('/proc/kcore'));
    assert.deepEqual(hc.ReadonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    const privileged = normalizeHostConfig({ Privileged: true });
    assert.deepEqual([privileged.MaskedPaths, privileged.ReadonlyPaths], [null, null]);
    // Init, as Docker: only when --init or --init=false was given.
    assert.ok(!('Init' in JSON.parse(JSON.stringify(hc))));
    assert.equal(normalizeHostConfig({ Init: false }).Init, false);
    // Given values stay.
    assert.equal(normalizeHostConfig({ CpuPeriod: 50000 }).CpuPeriod, 50000);
    assert.deepEqual(normalizeHostConfig({ DeviceCgroupRules: ['c 1:3 r'] }).DeviceCgroupRules, ['c 1:3 r']);
  });
});
