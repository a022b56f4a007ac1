// `run`/`create` flags to Docker's create body: parsing through commander as the CLI does it,
// Docker's value syntax and error wording, and the files some flags read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeBoolFlags, parseKeyValueFile, parseMountFlag, type RunRequest } from '../../src/cli/commands/run-flags.js';
import { parseRun } from '../helpers/run-flags.js';

const files: Record<string, string> = {
  '/env.list': '# comment\n\nA=1\n  B=two words\nFROM_HOST\nUNSET_HERE\n',
  '/labels': 'team=core\nflag\n',
  '/seccomp.json': '{ "defaultAction": "SCMP_ACT_ALLOW" }',
};
const ctx = {
  env: { FROM_HOST: 'h', HOME: '/root' } as NodeJS.ProcessEnv,
  readFile: (p: string) => {
    if (!(p in files)) throw Object.assign(new Error(`open ${p}`), { code: 'ENOENT' });
    return files[p];
  },
};

const parse = (argv: string[]): RunRequest => parseRun(argv, ctx);

describe('run flags', () => {
  it('keeps the command after the image, options and all', () => {
    const r = parse(['-d', '--rm', '--name', 'web', 'busybox', 'sh', '-c', 'exit 3', '-e', 'x']);
    assert.equal(r.body.Image, 'busybox');
    assert.deepEqual(r.body.Cmd, ['sh', '-c', 'exit 3', '-e', 'x']);
    assert.equal(r.name, 'web');
    assert.equal(r.detach, true);
    assert.equal(r.body.HostConfig?.AutoRemove, true);
    assert.equal(r.body.AttachStdout, false, 'detached: nothing attached');
  });

  it('sets the attach and stdin fields as docker run does', () => {
    const it1 = parse(['-it', 'busybox']);
    assert.equal(it1.body.Tty, true);
    assert.equal(it1.body.OpenStdin, true);
    assert.equal(it1.body.StdinOnce, true);
    assert.equal(it1.body.AttachStdin, true);
    assert.equal(it1.body.Cmd, undefined, 'the image command is used');
    const d = parse(['-dit', 'busybox']);
    assert.equal(d.body.OpenStdin, true);
    assert.equal(d.body.StdinOnce, false);
    assert.equal(d.body.AttachStdin, false);
    const a = parse(['-a', 'stderr', 'busybox']);
    assert.deepEqual([a.body.AttachStdin, a.body.AttachStdout, a.body.AttachStderr], [false, false, true]);
    assert.throws(() => parse(['-d', '-a', 'stdout', 'busybox']), /Conflicting options: -a and -d/);
  });

  it('accepts --flag=false for booleans, as docker does', () => {
    assert.equal(parse(['--sig-proxy=false', 'busybox']).sigProxy, false);
    assert.equal(parse(['busybox']).sigProxy, true);
    assert.equal(parse(['--rm=true', 'busybox']).body.HostConfig?.AutoRemove, true);
    assert.equal(parse(['--rm=false', 'busybox']).body.HostConfig?.AutoRemove, false);
    assert.deepEqual(normalizeBoolFlags(['-e', '--rm=false', 'img', '--rm=false']), ['-e', '--rm=false', 'img', '--rm=false'], 'a value is not a flag');
    assert.deepEqual(normalizeBoolFlags(['-eA=1', '--rm=1', 'img']), ['-eA=1', '--rm', 'img']);
    assert.throws(() => normalizeBoolFlags(['--rm=maybe', 'img']), /invalid argument "maybe" for "--rm" flag/);
  });

  it('reads env and label files, and takes bare -e names from the environment', () => {
    const r = parse(['--env-file', '/env.list', '-e', 'C=3', '-e', 'FROM_HOST', '-e', 'NOT_SET', '--label-file', '/labels', '-l', 'x=y', 'busybox']);
    assert.deepEqual(r.body.Env, ['A=1', 'B=two words', 'FROM_HOST=h', 'C=3', 'FROM_HOST=h', 'NOT_SET']);
    assert.deepEqual(r.body.Labels, { team: 'core', flag: '', x: 'y' });
    assert.throws(() => parse(['--env-file', '/missing', 'busybox']), /--env-file: open \/missing: no such file or directory/);
    assert.throws(() => parse(['-e', 'A B=1', 'busybox']), /variable 'A B' contains whitespaces/);
    assert.throws(() => parse(['-e', '=x', 'busybox']), /invalid environment variable: =x/);
    assert.deepEqual(parseKeyValueFile('K\n', 'f', {}, false), ['K']);
  });

  it('parses resources with docker units and error wording', () => {
    const r = parse(['-m', '64m', '--memory-swap', '-1', '--memory-reservation', '32m', '--cpus', '1.5', '-c', '512', '--cpuset-cpus', '0', '--pids-limit', '100', '--blkio-weight', '300', '--shm-size', '1g', '--oom-kill-disable', 'busybox']);
    const hc = r.body.HostConfig!;
    assert.equal(hc.Memory, 64 * 1024 * 1024);
    assert.equal(hc.MemorySwap, -1);
    assert.equal(hc.MemoryReservation, 32 * 1024 * 1024);
    assert.equal(hc.NanoCpus, 1_500_000_000);
    assert.equal(hc.CpuShares, 512);
    assert.equal(hc.CpusetCpus, '0');
    assert.equal(hc.PidsLimit, 100);
    assert.equal(hc.BlkioWeight, 300);
    assert.equal(hc.ShmSize, 1024 ** 3);
    assert.equal(hc.OomKillDisable, true);
    assert.throws(() => parse(['--memory', 'lots', 'busybox']), /invalid argument "lots" for "--memory" flag/);
    assert.throws(() => parse(['--cpus', 'two', 'busybox']), /failed to parse two as a rational number/);
    assert.throws(() => parse(['--stop-timeout', 'soon', 'busybox']), /strconv.ParseInt: parsing "soon": invalid syntax/);
  });

  it('parses security, devices, ulimits, sysctls, tmpfs and namespaces', () => {
    const r = parse([
      '--privileged', '--read-only', '--cap-add', 'NET_ADMIN', '--cap-drop', 'ALL',
      '--security-opt', 'no-new-privileges', '--security-opt', 'seccomp=/seccomp.json',
      '--device', '/dev/fuse', '--device', '/dev/sda:/dev/xvda:r',
      '--ulimit', 'nofile=1024:2048', '--ulimit', 'core=0', '--sysctl', 'net.ipv4.ip_forward=1',
      '--tmpfs', '/run:size=1m', '--tmpfs', '/tmp', '--group-add', 'audio', '--ipc', 'host', '--pid', 'container:db', '--uts', 'host',
      '--network', 'host', '--init', '--stop-signal', 'SIGINT', '--stop-timeout', '3', '-u', 'nobody:nogroup', '-w', '/srv',
      '--entrypoint', '/bin/sh', '-h', 'box', '--restart', 'on-failure:3', 'busybox',
    ]);
    const hc = r.body.HostConfig!;
    assert.equal(hc.Privileged, true);
    assert.equal(hc.ReadonlyRootfs, true);
    assert.deepEqual(hc.CapAdd, ['NET_ADMIN']);
    assert.deepEqual(hc.CapDrop, ['ALL']);
    assert.deepEqual(hc.SecurityOpt, ['no-new-privileges', 'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']);
    assert.deepEqual(hc.Devices, [
      { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' },
      { PathOnHost: '/dev/sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'r' },
    ]);
    assert.deepEqual(hc.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'core', Soft: 0, Hard: 0 }]);
    assert.deepEqual(hc.Sysctls, { 'net.ipv4.ip_forward': '1' });
    assert.deepEqual(hc.Tmpfs, { '/run': 'size=1m', '/tmp': '' });
    assert.deepEqual(hc.GroupAdd, ['audio']);
    assert.deepEqual([hc.IpcMode, hc.PidMode, hc.UTSMode, hc.NetworkMode], ['host', 'container:db', 'host', 'host']);
    assert.equal(hc.Init, true);
    assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
    assert.equal(r.body.StopSignal, 'SIGINT');
    assert.equal(r.body.StopTimeout, 3);
    assert.equal(r.body.User, 'nobody:nogroup');
    assert.equal(r.body.WorkingDir, '/srv');
    assert.deepEqual(r.body.Entrypoint, ['/bin/sh']);
    assert.equal(r.body.Hostname, 'box');
    assert.deepEqual(parse(['--entrypoint', '', 'busybox']).body.Entrypoint, ['']);
    assert.throws(() => parse(['--ulimit', 'nofile=2048:1024', 'busybox']), /soft limit must be less than or equal to hard limit: 2048 > 1024/);
    assert.throws(() => parse(['--ulimit', 'nofile', 'busybox']), /invalid ulimit argument: nofile/);
    assert.throws(() => parse(['--restart', 'on-failure:x', 'busybox']), /maximum retry count must be an integer/);
    assert.throws(() => parse(['--device', 'sda', 'busybox']), /invalid device specification/);
    assert.throws(() => parse(['--security-opt', 'seccomp=/nope.json', 'busybox']), /opening seccomp profile \(\/nope.json\) failed/);
    assert.equal(parse(['-P', 'busybox']).body.HostConfig?.PublishAllPorts, true);
  });

  it('parses volumes and --mount', () => {
    const r = parse(['-v', '/host:/data:ro', '--mount', 'type=bind,src=/a,dst=/b,readonly,bind-propagation=rslave', '--mount', 'type=tmpfs,target=/cache,tmpfs-size=64m,tmpfs-mode=1770', 'busybox']);
    assert.deepEqual(r.body.HostConfig?.Binds, ['/host:/data:ro']);
    assert.deepEqual(r.body.HostConfig?.Mounts, [
      { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true, BindOptions: { Propagation: 'rslave' } },
      { Type: 'tmpfs', Target: '/cache', TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1770 } },
    ]);
    assert.equal(parseMountFlag('source=vol,target=/x').Type, 'volume', 'a volume by default, as docker');
    assert.deepEqual(parseMountFlag('type=volume,src=vol,dst=/x,volume-nocopy'), { Type: 'volume', Source: 'vol', Target: '/x', VolumeOptions: { NoCopy: true } });
    const anon = parse(['-v', '/anon', '-v', 'named:/n', '--volumes-from', 'other:ro', 'busybox']);
    assert.deepEqual(anon.body.Volumes, { '/anon': {} }, "as docker's CLI: a lone path is an anonymous volume in Config.Volumes");
    assert.deepEqual(anon.body.HostConfig?.Binds, ['named:/n']);
    assert.deepEqual(anon.body.HostConfig?.VolumesFrom, ['other:ro']);
    assert.throws(() => parseMountFlag('type=bind,src=/a'), /target is required/);
    assert.throws(() => parseMountFlag('type=bind,src=/a,dst=/b,color=red'), /unexpected key 'color'/);
  });

  it('parses --add-host, --dns, --dns-search, --dns-option and --mac-address as docker does', () => {
    const r = parse([
      '--add-host', 'db:10.0.0.5', '--add-host', 'gw=host-gateway', '--add-host', 'v6:[::1]', '--add-host', 'v6b:fe80::2',
      '--dns', '9.9.9.9', '--dns', '2001:db8::53', '--dns-search', 'example.com.', '--dns-search', '.', '--dns-option', 'ndots:2', '--dns-option', 'rotate',
      '--mac-address', '02:42:AC:11:00:99', 'busybox',
    ]);
    const hc = r.body.HostConfig!;
    assert.deepEqual(hc.ExtraHosts, ['db:10.0.0.5', 'gw:host-gateway', 'v6:::1', 'v6b:fe80::2']);
    assert.deepEqual(hc.Dns, ['9.9.9.9', '2001:db8::53']);
    assert.deepEqual(hc.DnsSearch, ['example.com', '.']);
    assert.deepEqual(hc.DnsOptions, ['ndots:2', 'rotate']);
    assert.equal(r.body.MacAddress, '02:42:AC:11:00:99');
    const plain = parse(['busybox']);
    for (const k of ['ExtraHosts', 'Dns', 'DnsSearch', 'DnsOptions'] as const) assert.equal(plain.body.HostConfig![k], undefined, k);
    assert.equal(plain.body.MacAddress, undefined);
    assert.throws(() => parse(['--add-host', 'db', 'busybox']), /: invalid argument "db" for "--add-host" flag: bad format for add-host: "db"$/);
    assert.throws(() => parse(['--add-host', ':1.2.3.4', 'busybox']), /bad format for add-host: ":1.2.3.4"/);
    assert.throws(() => parse(['--add-host', 'db:10.0.0', 'busybox']), /invalid argument "db:10.0.0" for "--add-host" flag: invalid IP address in add-host: "10.0.0"/);
    assert.throws(() => parse(['--dns', '1.2.3', 'busybox']), /invalid argument "1.2.3" for "--dns" flag: IP address is not correctly formatted: 1.2.3/);
    assert.throws(() => parse(['--dns', 'dns.google', 'busybox']), /IP address is not correctly formatted: dns.google/);
    assert.throws(() => parse(['--dns-search', '-a', 'busybox']), /invalid argument "-a" for "--dns-search" flag: -a is not a valid domain/);
    assert.throws(() => parse(['--dns-search', '1example.com', 'busybox']), /1example.com is not a valid domain/);
    assert.throws(() => parse(['--mac-address', '02:42', 'busybox']), /: 02:42 is not a valid mac address$/);
    assert.throws(() => parse(['--mac-address', '01:00:5e:00:00:01', 'busybox']), /01:00:5e:00:00:01 is not a valid mac address/, 'multicast');
    assert.throws(() => parse(['--mac-address', '02:42:ac:11:00:zz', 'busybox']), /is not a valid mac address/);
  });

  it('checks --pull values', () => {
    assert.equal(parse(['--pull', 'never', 'busybox']).pull, 'never');
    assert.equal(parse(['busybox']).pull, 'missing');
    assert.throws(() => parse(['--pull', 'sometimes', 'busybox']), /invalid pull option: 'sometimes'/);
  });
});
