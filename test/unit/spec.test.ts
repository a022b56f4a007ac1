import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  CAPABILITIES,
  capabilitiesFromMask,
  capabilityMask,
  DEFAULT_CAPABILITIES,
  resolveCapabilities,
} from '../../src/runtime/capabilities.js';
import { parseDeviceFlag } from '../../src/runtime/device-flags.js';
import {
  buildSpec,
  MASKED_PATHS,
  mergeEnv,
  mergeTmpfsOptions,
  READONLY_PATHS,
  RLIM_INFINITY,
  specToJson,
  type ContainerSpecInput,
  type HostFacts,
} from '../../src/runtime/spec.js';

// This VM's facts: no CAP_SYS_RESOURCE in the bounding set, nofile hard limit 20000.
const host: HostFacts = {
  capabilities: capabilitiesFromMask(0x000001fffeffffffn),
  rlimitHard: { RLIMIT_NOFILE: 20000, RLIMIT_NPROC: 96365, RLIMIT_CORE: null, RLIMIT_MEMLOCK: 8388608 },
  arch: 'x64',
  kernel: '6.1.0',
  swapLimit: true,
  devices: [
    { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
    { path: '/dev/loop0', type: 'b', major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6 },
  ],
};

function spec(extra: Partial<ContainerSpecInput> = {}) {
  return buildSpec({ id: 'abc123', rootfs: '/rootfs', args: ['sh'], host, ...extra });
}

function rejectsWith(fn: () => unknown, message: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('capabilities', () => {
  it('maps CapBnd bits to names and back', () => {
    const names = capabilitiesFromMask(0x000001fffeffffffn);
    assert.equal(names.length, 40);
    assert.ok(!names.includes('CAP_SYS_RESOURCE'));
    assert.ok(names.includes('CAP_CHECKPOINT_RESTORE'));
    assert.equal(capabilityMask(names), 0x000001fffeffffffn);
  });

  it("Docker's default set is mask 0xa80425fb", () => {
    assert.equal(capabilityMask(DEFAULT_CAPABILITIES), 0xa80425fbn);
  });

  it('accepts names with or without CAP_, in any case, and ALL', () => {
    const caps = resolveCapabilities({ capAdd: ['sys_admin', 'CAP_NET_ADMIN'], capDrop: ['chown'], hostBounding: host.capabilities });
    assert.ok(caps.includes('CAP_SYS_ADMIN'));
    assert.ok(caps.includes('CAP_NET_ADMIN'));
    assert.ok(!caps.includes('CAP_CHOWN'));
    assert.deepEqual(resolveCapabilities({ capDrop: ['ALL'], capAdd: ['kill'], hostBounding: host.capabilities }), ['CAP_KILL']);
    const all = resolveCapabilities({ capAdd: ['all'], capDrop: ['MKNOD'], hostBounding: host.capabilities });
    assert.equal(all.length, 39);
    assert.ok(!all.includes('CAP_SYS_RESOURCE') && !all.includes('CAP_MKNOD'));
  });

  it("rejects unknown capabilities with Docker's wording", () => {
    rejectsWith(() => resolveCapabilities({ capAdd: ['foo'], hostBounding: host.capabilities }), /^unknown capability: "CAP_FOO"$/);
    rejectsWith(() => resolveCapabilities({ capDrop: ['CAP_BAR'], hostBounding: host.capabilities }), /unknown capability: "CAP_BAR"/);
  });

  it('refuses a capability the host cannot grant', () => {
    rejectsWith(
      () => resolveCapabilities({ capAdd: ['SYS_RESOURCE'], hostBounding: host.capabilities }),
      /CAP_SYS_RESOURCE.*bounding set/,
    );
  });

  it('covers every capability up to CAP_CHECKPOINT_RESTORE (40)', () => {
    assert.equal(CAPABILITIES.length, 41);
    assert.equal(CAPABILITIES[40], 'CAP_CHECKPOINT_RESTORE');
  });
});

describe('buildSpec defaults', () => {
  const s = spec({ hostname: 'abc123' });

  it("gives Docker's default capabilities to a root process", () => {
    assert.deepEqual(s.process.capabilities.bounding, [...DEFAULT_CAPABILITIES]);
    assert.deepEqual(s.process.capabilities.effective, [...DEFAULT_CAPABILITIES]);
    assert.deepEqual(s.process.capabilities.permitted, [...DEFAULT_CAPABILITIES]);
    assert.equal(s.process.noNewPrivileges, undefined);
  });

  it('clears effective and permitted for a non-root user, as execve would', () => {
    const u = spec({ user: { uid: 1000, gid: 1000, additionalGids: [10] } });
    assert.deepEqual(u.process.user, { uid: 1000, gid: 1000, additionalGids: [10] });
    assert.deepEqual(u.process.capabilities.effective, []);
    assert.deepEqual(u.process.capabilities.permitted, []);
    assert.deepEqual(u.process.capabilities.bounding, [...DEFAULT_CAPABILITIES]);
  });

  it('sets PATH, HOSTNAME and lets the image env override them', () => {
    assert.deepEqual(s.process.env, [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOSTNAME=abc123',
    ]);
    const t = spec({ tty: true, env: ['PATH=/x', 'FOO=bar'] });
    assert.deepEqual(t.process.env, ['PATH=/x', 'TERM=xterm', 'FOO=bar']);
    assert.equal(t.process.terminal, true);
    assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['B', 'C=3']), ['A=1', 'C=3']);
  });

  it("masks and write-protects Docker's paths", () => {
    assert.deepEqual(s.linux.maskedPaths, [...MASKED_PATHS]);
    assert.deepEqual(s.linux.readonlyPaths, [...READONLY_PATHS]);
    assert.deepEqual(READONLY_PATHS, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    assert.ok(MASKED_PATHS.includes('/proc/kcore') && MASKED_PATHS.includes('/sys/firmware'));
  });

  it('mounts the standard filesystems with /sys read-only and a 64m /dev/shm', () => {
    const byDest = Object.fromEntries(s.mounts.map((m) => [m.destination, m]));
    assert.deepEqual(
      s.mounts.map((m) => m.destination),
      ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm'],
    );
    assert.deepEqual(byDest['/proc'], { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] });
    assert.ok(byDest['/sys'].options!.includes('ro'));
    assert.ok(byDest['/sys/fs/cgroup'].options!.includes('ro'));
    assert.deepEqual(byDest['/dev/shm'].options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864']);
    assert.equal(byDest['/dev/pts'].type, 'devpts');
    assert.equal(byDest['/dev/mqueue'].type, 'mqueue');
    const big = spec({ shmSize: 256 * 1024 * 1024 });
    assert.ok(big.mounts.find((m) => m.destination === '/dev/shm')!.options!.includes('size=268435456'));
  });

  it('creates every namespace, including cgroup, and the cgroup path under /berth', () => {
    assert.deepEqual(s.linux.namespaces, [
      { type: 'mount' },
      { type: 'network' },
      { type: 'uts' },
      { type: 'pid' },
      { type: 'ipc' },
      { type: 'cgroup' },
    ]);
    assert.equal(s.linux.cgroupsPath, '/berth/abc123');
    assert.equal(s.hostname, 'abc123');
    assert.deepEqual(s.root, { path: '/rootfs', readonly: false });
  });

  it("allows Docker's default devices in the device cgroup", () => {
    const rules = s.linux.resources.devices;
    assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
    const allowed = rules.filter((r) => r.allow).map((r) => `${r.type} ${r.major}:${r.minor}`);
    assert.deepEqual(allowed, ['c 1:5', 'c 1:3', 'c 1:9', 'c 1:8', 'c 5:0', 'c 5:1']);
    assert.deepEqual(s.linux.devices, []);
  });

  it("applies berth's default seccomp profile (Docker's, native ABI only) for the host architecture", () => {
    assert.equal(s.linux.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
    assert.deepEqual(s.linux.seccomp!.architectures, ['SCMP_ARCH_X86_64']);
    assert.equal(spec({ seccomp: 'unconfined' }).linux.seccomp, undefined);
  });

  it('sets nofile and nproc limits clamped to the host hard limits', () => {
    assert.deepEqual(s.process.rlimits, [
      { type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 },
      { type: 'RLIMIT_NPROC', hard: 96365, soft: 96365 },
    ]);
  });
});

describe('buildSpec --privileged', () => {
  const p = spec({ privileged: true });

  it("grants every capability in the host's bounding set", () => {
    assert.deepEqual(p.process.capabilities.bounding, host.capabilities);
    assert.deepEqual(p.process.capabilities.effective, host.capabilities);
    assert.equal(capabilityMask(p.process.capabilities.effective), 0x000001fffeffffffn);
  });

  it('drops seccomp, masked and read-only paths, and makes sysfs writable', () => {
    assert.equal(p.linux.seccomp, undefined);
    assert.equal(p.linux.maskedPaths, undefined);
    assert.equal(p.linux.readonlyPaths, undefined);
    const sys = p.mounts.find((m) => m.destination === '/sys')!;
    assert.ok(!sys.options!.includes('ro'));
    assert.ok(!p.mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options!.includes('ro'));
  });

  it('hands over all host devices with an allow-all device cgroup', () => {
    assert.deepEqual(p.linux.devices.map((d) => d.path), ['/dev/null', '/dev/loop0']);
    assert.deepEqual(p.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  });
});

describe('buildSpec rlimits', () => {
  it('rejects a ulimit above the host hard limit with a clear message', () => {
    rejectsWith(
      () => spec({ ulimits: [{ name: 'nofile', soft: 1024, hard: 1048576 }] }),
      /ulimit nofile: hard limit 1048576 exceeds the host's hard limit 20000/,
    );
  });

  it('accepts limits within the host, and unlimited where the host is unlimited', () => {
    const s = spec({ ulimits: [{ name: 'nofile', soft: 1024, hard: 4096 }, { name: 'core', soft: -1, hard: -1 }] });
    assert.deepEqual(s.process.rlimits, [
      { type: 'RLIMIT_NOFILE', hard: 4096, soft: 1024 },
      { type: 'RLIMIT_NPROC', hard: 96365, soft: 96365 },
      { type: 'RLIMIT_CORE', hard: RLIM_INFINITY, soft: RLIM_INFINITY },
    ]);
    assert.match(specToJson(s), /"hard":18446744073709551615\b/);
    assert.equal(JSON.parse(specToJson(s).replace(/18446744073709551615/g, '-1')).process.rlimits[2].soft, -1);
  });

  it('rejects unknown names and soft above hard', () => {
    rejectsWith(() => spec({ ulimits: [{ name: 'bogus', soft: 1, hard: 1 }] }), /invalid ulimit type: bogus/);
    rejectsWith(() => spec({ ulimits: [{ name: 'nofile', soft: 10, hard: 5 }] }), /soft limit must be less than or equal to hard limit/);
    rejectsWith(() => spec({ ulimits: [{ name: 'memlock', soft: -1, hard: -1 }] }), /exceeds the host's hard limit 8388608/);
  });
});

describe('buildSpec mounts', () => {
  it('binds volumes and host paths rprivate, read-only on request, sorted parents first', () => {
    const s = spec({
      mounts: [
        { type: 'bind', source: '/srv/data/sub', destination: '/data/sub', readonly: true },
        { type: 'volume', source: '/var/lib/berth/volumes/v/_data', destination: '/data/' },
      ],
    });
    const user = s.mounts.slice(-2);
    assert.deepEqual(user, [
      { destination: '/data', type: 'bind', source: '/var/lib/berth/volumes/v/_data', options: ['rbind', 'rprivate'] },
      { destination: '/data/sub', type: 'bind', source: '/srv/data/sub', options: ['rbind', 'ro', 'rprivate'] },
    ]);
    assert.equal(s.linux.rootfsPropagation, undefined);
  });

  it('makes the rootfs shared for a shared bind', () => {
    const s = spec({ mounts: [{ type: 'bind', source: '/mnt', destination: '/mnt', propagation: 'rshared' }] });
    assert.equal(s.linux.rootfsPropagation, 'rshared');
  });

  it('merges tmpfs options the way Docker does', () => {
    const s = spec({ tmpfs: { '/run': 'exec,size=10m', '/tmp': '' } });
    const run = s.mounts.find((m) => m.destination === '/run')!;
    assert.deepEqual(run, { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'rprivate', 'exec', 'size=10m'] });
    assert.deepEqual(mergeTmpfsOptions(['size=1m', 'noexec', 'size=2m', 'exec']), ['size=2m', 'exec']);
  });

  it('lets a user mount replace a default one, and a /dev mount replace everything under /dev', () => {
    const shm = spec({ mounts: [{ type: 'bind', source: '/host/shm', destination: '/dev/shm' }] });
    assert.equal(shm.mounts.filter((m) => m.destination === '/dev/shm').length, 1);
    assert.equal(shm.mounts.find((m) => m.destination === '/dev/shm')!.type, 'bind');
    const dev = spec({ mounts: [{ type: 'bind', source: '/dev', destination: '/dev' }] });
    assert.deepEqual(dev.mounts.map((m) => m.destination), ['/proc', '/sys', '/sys/fs/cgroup', '/dev']);
  });

  it('rejects relative and duplicate destinations', () => {
    rejectsWith(() => spec({ mounts: [{ type: 'bind', source: '/a', destination: 'rel' }] }), /must be absolute/);
    rejectsWith(
      () => spec({ mounts: [{ type: 'bind', source: '/a', destination: '/x' }], tmpfs: { '/x/': '' } }),
      /Duplicate mount point: \/x/,
    );
    rejectsWith(() => spec({ mounts: [{ type: 'bind', source: 'a', destination: '/x' }] }), /source must be an absolute path/);
  });

  it('mounts the init binary and runs the command under it', () => {
    const s = spec({ init: '/usr/bin/tini-static', args: ['sleep', '5'] });
    assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sleep', '5']);
    assert.deepEqual(s.mounts.at(-1), { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/tini-static', options: ['bind', 'ro'] });
  });
});

describe('buildSpec namespaces and devices', () => {
  it('joins host or given namespaces', () => {
    const s = spec({ network: 'host', pid: 'host', ipc: { path: '/proc/42/ns/ipc' }, uts: 'host', cgroupns: 'host' });
    assert.deepEqual(s.linux.namespaces, [{ type: 'mount' }, { type: 'ipc', path: '/proc/42/ns/ipc' }]);
    assert.equal(s.hostname, undefined);
    assert.deepEqual(spec({ network: 'none' }).linux.namespaces[1], { type: 'network' });
  });

  it("binds the host /dev/shm and mounts the host IPC namespace's mqueue with --ipc=host, as Docker", () => {
    const s = spec({ ipc: 'host' });
    assert.deepEqual(s.mounts.find((m) => m.destination === '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
    // A host without /dev/mqueue mounted has nothing to bind there.
    assert.deepEqual(s.mounts.find((m) => m.destination === '/dev/mqueue'), { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] });
  });

  it('sets the NIS domain name of a private UTS namespace with its sysctl, over a --sysctl of it', () => {
    const s = spec({ hostname: 'foo', domainname: 'bar.com', sysctls: { 'kernel.domainname': 'other', 'net.ipv4.ip_forward': '1' } });
    assert.equal(s.hostname, 'foo');
    assert.deepEqual(s.linux.sysctl, { 'kernel.domainname': 'bar.com', 'net.ipv4.ip_forward': '1' });
    assert.equal(spec({ hostname: 'foo' }).linux.sysctl, undefined);
    assert.equal(spec({ domainname: 'bar.com', uts: 'host' }).linux.sysctl, undefined);
  });

  it('adds --device nodes and their cgroup rules', () => {
    assert.deepEqual(parseDeviceFlag('/dev/fuse'), { hostPath: '/dev/fuse', containerPath: '/dev/fuse', permissions: 'rwm' });
    assert.deepEqual(parseDeviceFlag('/dev/sda:/dev/xvda:r'), { hostPath: '/dev/sda', containerPath: '/dev/xvda', permissions: 'r' });
    assert.deepEqual(parseDeviceFlag('/dev/sda:rw'), { hostPath: '/dev/sda', containerPath: '/dev/sda', permissions: 'rw' });
    rejectsWith(() => parseDeviceFlag('/dev/sda:/x:rwx'), /invalid device mode: rwx/);
    const s = spec({
      devices: [{ host: { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }, permissions: 'rw' }],
    });
    assert.deepEqual(s.linux.devices, [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]);
    assert.deepEqual(s.linux.resources.devices.at(-1), { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' });
  });

  it('validates sysctls against the namespaces the container has', () => {
    assert.deepEqual(spec({ sysctls: { 'net.ipv4.ip_forward': '1' } }).linux.sysctl, { 'net.ipv4.ip_forward': '1' });
    rejectsWith(() => spec({ network: 'host', sysctls: { 'net.ipv4.ip_forward': '1' } }), /not allowed in host network namespace/);
    rejectsWith(() => spec({ sysctls: { 'vm.swappiness': '1' } }), /not in a separate kernel namespace/);
    rejectsWith(() => spec({ ipc: 'host', sysctls: { 'kernel.shmmax': '1' } }), /host IPC namespace/);
  });
});

describe('buildSpec resources', () => {
  it('maps memory, cpu, pids and blkio like Docker', () => {
    const s = spec({
      resources: {
        memory: 64 * 1024 * 1024,
        memoryReservation: 32 * 1024 * 1024,
        nanoCpus: 1.5e9,
        cpuShares: 512,
        cpusetCpus: '0',
        pidsLimit: 100,
        blkioWeight: 300,
        blkioDeviceReadBps: [{ major: 8, minor: 0, rate: 1048576 }],
        oomKillDisable: true,
      },
    });
    const r = s.linux.resources;
    assert.deepEqual(r.memory, { limit: 67108864, reservation: 33554432, swap: 134217728, disableOOMKiller: true });
    assert.deepEqual(r.cpu, { period: 100000, quota: 150000, shares: 512, cpus: '0' });
    assert.deepEqual(r.pids, { limit: 100 });
    assert.deepEqual(r.blockIO, { weight: 300, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] });
  });

  it('leaves swap alone when the host cannot limit it', () => {
    const s = buildSpec({ id: 'x', rootfs: '/r', args: ['sh'], host: { ...host, swapLimit: false }, resources: { memory: 8 << 20 } });
    assert.deepEqual(s.linux.resources.memory, { limit: 8 << 20 });
  });

  it("rejects Docker's invalid combinations", () => {
    rejectsWith(() => spec({ resources: { memory: 1024 } }), /Minimum memory limit allowed is 6MB/);
    rejectsWith(() => spec({ resources: { memory: 8 << 20, memorySwap: 4 << 20 } }), /memoryswap limit should be larger/);
    rejectsWith(() => spec({ resources: { nanoCpus: 1e9, cpuQuota: 50000 } }), /Conflicting options/);
    rejectsWith(() => spec({ resources: { blkioWeight: 5 } }), /blkio weight/);
  });
});

describe('buildSpec misc', () => {
  it('rejects an empty command and a hostname with --uts=host', () => {
    rejectsWith(() => spec({ args: [] }), /no command specified/);
    rejectsWith(() => spec({ hostname: 'h', uts: 'host' }), /hostname/);
  });

  it('carries read-only rootfs, no-new-privileges, oom score and annotations', () => {
    const s = spec({ readonlyRootfs: true, noNewPrivileges: true, oomScoreAdj: 500, annotations: { a: 'b' }, cwd: '/work' });
    assert.equal(s.root.readonly, true);
    assert.equal(s.process.noNewPrivileges, true);
    assert.equal(s.process.oomScoreAdj, 500);
    assert.deepEqual(s.annotations, { a: 'b' });
    assert.equal(s.process.cwd, '/work');
    assert.deepEqual(Object.keys(s), ['ociVersion', 'process', 'root', 'mounts', 'annotations', 'linux']);
  });

  it('produces JSON that round-trips', () => {
    const s = spec({ hostname: 'h' });
    assert.deepEqual(JSON.parse(specToJson(s)), s);
  });
});
