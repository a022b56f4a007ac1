// Resource usage and limits through the built CLI with real containers: `stats` (one-shot,
// --format, streaming), `update` of a live cgroup and of a stopped container, the OOM killer,
// block I/O throttles, and the run flags that shape the cgroup (device rules, cgroupns).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { berth, berthBin, berthOk, tearDownRoot } from '../helpers/cli.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = !isRoot ? 'needs root' : !existsSync('/usr/sbin/runc') || !existsSync('/usr/bin/conmon') ? 'needs runc and conmon' : false;
const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const MiB = 1024 * 1024;

/** The block device of the root filesystem (/dev/vda…), or null when / is not on one (overlay, tmpfs). */
function rootBlockDevice(): string | null {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
  const majMin = line?.split(' ')[2];
  if (!majMin || majMin.startsWith('0:')) return null;
  try {
    const name = /^DEVNAME=(.+)$/m.exec(readFileSync(`/sys/dev/block/${majMin}/uevent`, 'utf8'))?.[1];
    return name && existsSync(`/dev/${name}`) ? `/dev/${name}` : null;
  } catch {
    return null;
  }
}


describe('container stats, update and limits', { skip }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let root: string;
  const run = (args: string[]) => berth(root, args);
  const ok = (args: string[]) => berthOk(root, args);
  const idOf = (ref: string) => ok(['inspect', '-f', '{{.Id}}', ref]).trim();
  const removeAll = () => {
    const ids = run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (ids.length) run(['rm', '-f', ...ids]);
  };
  /** A file of the container's cgroup: the v1 controller's, or the unified one's on v2. */
  const cgroup = (id: string, v1: [string, string], v2file: string) =>
    readFileSync(v2 ? join('/sys/fs/cgroup/berth', id, v2file) : join('/sys/fs/cgroup', v1[0], 'berth', id, v1[1]), 'utf8').trim();

  before(() => {
    tmp = tempDir('berth-stats-');
    root = tmp.dir;
  });

  after(() => tearDownRoot(tmp));

  it('stats --no-stream shows usage against the limit, in the table and in --format', () => {
    try {
      const id = ok(['run', '-d', '--name', 'st', '-m', '64m', 'busybox', 'sleep', '300']).trim();
      ok(['run', '-d', '--name', 'busy', '--cpus', '0.5', 'busybox', 'sh', '-c', 'while :; do :; done']);
      ok(['create', '--name', 'idle', 'busybox', 'true']);
      const table = ok(['stats', '--no-stream', 'st']).split('\n');
      assert.match(table[0], /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
      assert.match(table[1], new RegExp(`^${id.slice(0, 12)}\\s+st\\s+\\d+\\.\\d\\d%\\s+[\\d.]+[KMG]?i?B / 64MiB\\s+\\d+\\.\\d\\d%\\s+\\S+ / \\S+\\s+\\S+ / \\S+\\s+1$`));

      const json = JSON.parse(ok(['stats', '--no-stream', '--format', '{{json .}}', 'st'])) as Record<string, string>;
      assert.deepEqual(Object.keys(json), ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']);
      assert.equal(json.Container, 'st');
      assert.equal(json.ID, id.slice(0, 12));
      assert.match(json.MemUsage, / \/ 64MiB$/);
      assert.ok(Number(json.PIDs) >= 1, json.PIDs);

      const busy = ok(['stats', '--no-stream', '--no-trunc', '--format', '{{.ID}} {{.Name}} {{.CPUPerc}}', 'busy']).trim().split(' ');
      assert.equal(busy[0], idOf('busy'), '--no-trunc: the full ID');
      const cpu = parseFloat(busy[2]);
      assert.ok(cpu > 5 && cpu < 75, `a busy loop under --cpus 0.5 uses up to half a CPU, got ${busy[2]}`);

      const all = ok(['stats', '--no-stream', '-a', '--format', '{{.Name}}:{{.PIDs}}:{{.MemUsage}}']).split('\n').filter(Boolean).sort();
      assert.deepEqual(all.map((l) => l.split(':')[0]), ['busy', 'idle', 'st']);
      assert.ok(all.includes('idle:0:0B / 0B'), all.join(' '));
      assert.deepEqual(ok(['stats', '--no-stream', '--format', '{{.Name}}']).split('\n').filter(Boolean).sort(), ['busy', 'st'], 'without -a only running ones');

      const missing = run(['stats', '--no-stream', 'st', 'nosuch']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /No such container: nosuch/);
    } finally {
      removeAll();
    }
  });

  it('stats streams a reading every second until stopped', async () => {
    try {
      ok(['run', '-d', '--name', 'streamed', 'busybox', 'sleep', '300']);
      const child = spawn(process.execPath, [berthBin, '--root', root, '--runroot', root + '/run', 'stats', '--format', '{{.Name}} {{.PIDs}}', 'streamed']);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      await sleep(3500);
      child.kill('SIGINT');
      await new Promise((resolve) => child.on('close', resolve));
      const frames = out.split('\n').filter((l) => l === 'streamed 1');
      assert.ok(frames.length >= 2 && frames.length <= 5, `frames: ${JSON.stringify(out)}`);
    } finally {
      removeAll();
    }
  });

  it('update changes the live cgroup and HostConfig, with docker errors', () => {
    try {
      const id = ok(['run', '-d', '--name', 'up', '-m', '64m', 'busybox', 'sleep', '300']).trim();
      assert.equal(cgroup(id, ['memory', 'memory.limit_in_bytes'], 'memory.max'), String(64 * MiB));
      assert.equal(ok(['update', '-m', '96m', '--pids-limit', '50', '-c', '512', 'up']), 'up\n');
      assert.equal(cgroup(id, ['memory', 'memory.limit_in_bytes'], 'memory.max'), String(96 * MiB));
      assert.equal(cgroup(id, ['pids', 'pids.max'], 'pids.max'), '50');
      if (!v2) assert.equal(cgroup(id, ['cpu', 'cpu.shares'], ''), '512');
      const hc = JSON.parse(ok(['inspect', '-f', '{{json .HostConfig}}', 'up'])) as Record<string, unknown>;
      assert.deepEqual([hc.Memory, hc.MemorySwap, hc.PidsLimit, hc.CpuShares], [96 * MiB, 128 * MiB, 50, 512], 'the swap limit stays twice the old memory, as docker keeps it');

      ok(['update', '--cpus', '0.5', '--pids-limit', '-1', '--restart', 'on-failure:3', 'up']);
      assert.equal(cgroup(id, ['cpu', 'cpu.cfs_quota_us'], 'cpu.max'), v2 ? '50000 100000' : '50000');
      assert.equal(cgroup(id, ['pids', 'pids.max'], 'pids.max'), 'max');
      assert.equal(ok(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'up']), 'on-failure:3\n');

      const reservation = run(['update', '--memory-reservation', '200m', 'up']);
      assert.equal(reservation.code, 1);
      assert.match(reservation.stderr, /^Error: Minimum memory limit can not be less than memory reservation limit, see usage\n$/);
      const swap = run(['update', '-m', '200m', 'up']);
      assert.equal(swap.code, 1);
      assert.match(swap.stderr, /Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/);
      const quota = run(['update', '--cpu-quota', '20000', 'up']);
      assert.match(quota.stderr, /CPU Quota cannot be updated as NanoCPUs has already been set/);
      const none = run(['update', 'up']);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /you must provide one or more flags when using this command/);
      const missing = run(['update', '-m', '32m', 'up', 'nosuch']);
      assert.equal(missing.code, 1);
      assert.equal(missing.stdout, 'up\n');
      assert.match(missing.stderr, /No such container: nosuch/);
      assert.equal(cgroup(id, ['memory', 'memory.limit_in_bytes'], 'memory.max'), String(32 * MiB), 'the update of the first one went through');
    } finally {
      removeAll();
    }
  });

  it('update of a stopped container applies at its next start', () => {
    try {
      const id = ok(['create', '--name', 'later', 'busybox', 'sleep', '300']).trim();
      assert.equal(ok(['update', '-m', '48m', '--memory-swap', '96m', 'later']), 'later\n');
      ok(['start', 'later']);
      assert.equal(cgroup(id, ['memory', 'memory.limit_in_bytes'], 'memory.max'), String(48 * MiB));
      assert.equal(ok(['stats', '--no-stream', '--format', '{{.MemUsage}}', 'later']).trim().split(' / ')[1], '48MiB');
    } finally {
      removeAll();
    }
  });

  it('reports an OOM kill: exit 137, State.OOMKilled, and the oom event before die', () => {
    try {
      const since = String(Math.floor(Date.now() / 1000) - 1);
      const strayBefore = existsSync('oom');
      const r = run(['run', '--name', 'oom', '-m', '8m', '--memory-swap', '8m', 'busybox', 'sh', '-c', 'x=$(head -c 64m /dev/zero | tr "\\0" a); echo survived']);
      assert.equal(r.code, 137, r.stderr);
      assert.doesNotMatch(r.stdout, /survived/);
      if (!strayBefore) assert.equal(existsSync('oom'), false, "conmon's oom file stays out of the caller's directory");
      const s = JSON.parse(ok(['inspect', '-f', '{{json .State}}', 'oom'])) as Record<string, unknown>;
      assert.deepEqual([s.OOMKilled, s.ExitCode, s.Status], [true, 137, 'exited']);
      const events = ok(['events', '--since', since, '--until', String(Math.floor(Date.now() / 1000) + 1), '--format', '{{.Action}} {{.Actor.Attributes.name}}'])
        .split('\n')
        .filter((l) => l.endsWith(' oom'))
        .map((l) => l.split(' ')[0]);
      assert.deepEqual(events.filter((a) => a === 'oom' || a === 'die'), ['oom', 'die']);
      const fine = run(['run', '--name', 'fine', '-m', '64m', 'busybox', 'true']);
      assert.equal(fine.code, 0);
      assert.equal(ok(['inspect', '-f', '{{.State.OOMKilled}}', 'fine']), 'false\n');
    } finally {
      removeAll();
    }
  });

  it('throttles block I/O of the root device (--device-read-bps, --device-write-iops)', (t) => {
    const dev = rootBlockDevice();
    if (!dev) return t.skip('the root filesystem is not on a block device');
    try {
      const majMin = readFileSync(`/sys/class/block/${dev.slice(5)}/dev`, 'utf8').trim();
      const id = ok(['run', '-d', '--device-read-bps', `${dev}:1mb`, '--device-write-iops', `${dev}:100`, 'busybox', 'sleep', '300']).trim();
      if (v2) {
        assert.match(cgroup(id, ['', ''], 'io.max'), new RegExp(`^${majMin} rbps=1048576 wbps=max riops=max wiops=100$`, 'm'));
      } else {
        assert.equal(cgroup(id, ['blkio', 'blkio.throttle.read_bps_device'], ''), `${majMin} 1048576`);
        assert.equal(cgroup(id, ['blkio', 'blkio.throttle.write_iops_device'], ''), `${majMin} 100`);
      }
      const hc = JSON.parse(ok(['inspect', '-f', '{{json .HostConfig.BlkioDeviceReadBps}}', id])) as unknown;
      assert.deepEqual(hc, [{ Path: dev, Rate: MiB }]);
      const bad = run(['run', '--rm', '--device-read-bps', 'vda:1mb', 'busybox', 'true']);
      assert.equal(bad.code, 125);
      assert.match(bad.stderr, /bad format for device path: vda:1mb/);
      const missing = run(['run', '--rm', '--device-read-bps', '/dev/nosuchdisk:1mb', 'busybox', 'true']);
      assert.equal(missing.code, 125);
      assert.match(missing.stderr, /"\/dev\/nosuchdisk": no such file or directory/);
    } finally {
      removeAll();
    }
  });

  it('applies device cgroup rules, cgroupns, --cidfile, --expose and refuses what it cannot run', () => {
    const cidfile = join(root, 'cid');
    try {
      const id = ok(['run', '-d', '--cidfile', cidfile, '--cgroupns', 'host', '--expose', '80', '--expose', '53/udp', '--device-cgroup-rule', 'c 42:* rm', 'busybox', 'sleep', '300']).trim();
      assert.equal(readFileSync(cidfile, 'utf8'), id);
      const again = run(['run', '--rm', '--cidfile', cidfile, 'busybox', 'true']);
      assert.equal(again.code, 125);
      assert.match(again.stderr, /container ID file found, make sure the other container isn't running or delete /);
      if (!v2) assert.match(cgroup(id, ['devices', 'devices.list'], ''), /^c 42:\* rm$/m);
      const pid = ok(['inspect', '-f', '{{.State.Pid}}', id]).trim();
      assert.equal(spawnSync('readlink', [`/proc/${pid}/ns/cgroup`]).stdout.toString(), spawnSync('readlink', ['/proc/self/ns/cgroup']).stdout.toString(), '--cgroupns host');
      assert.equal(ok(['inspect', '-f', '{{.HostConfig.CgroupnsMode}}', id]), 'host\n');
      assert.deepEqual(Object.keys(JSON.parse(ok(['inspect', '-f', '{{json .Config.ExposedPorts}}', id])) as object).sort(), ['53/udp', '80/tcp']);
      const hostNs = spawnSync('readlink', ['/proc/self/ns/cgroup']).stdout.toString();
      const privateNs = ok(['run', '--rm', '--cgroupns', 'private', 'busybox', 'readlink', '/proc/self/ns/cgroup']);
      assert.notEqual(privateNs, hostNs, '--cgroupns private');
      // Docker's default: a private namespace under cgroup v2, the host's under v1 and hybrid.
      const byDefault = ok(['run', '-d', 'busybox', 'sleep', '300']).trim();
      const defaultNs = spawnSync('readlink', [`/proc/${ok(['inspect', '-f', '{{.State.Pid}}', byDefault]).trim()}/ns/cgroup`]).stdout.toString();
      if (v2) assert.notEqual(defaultNs, hostNs, 'private by default on cgroup v2');
      else assert.equal(defaultNs, hostNs, 'the host namespace by default on cgroup v1');
      assert.equal(ok(['inspect', '-f', '{{.HostConfig.CgroupnsMode}}', byDefault]), v2 ? 'private\n' : 'host\n');
      ok(['rm', '-f', byDefault]);

      const badNs = run(['run', '--rm', '--cgroupns', 'shared', 'busybox', 'true']);
      assert.deepEqual([badNs.code, badNs.stderr], [125, 'Error: --cgroupns: invalid CGROUP mode\n']);
      const userns = run(['run', '--rm', '--userns', 'private', 'busybox', 'true']);
      assert.equal(userns.code, 125);
      assert.match(userns.stderr, /--userns: invalid USER mode/);
      assert.equal(run(['run', '--rm', '--userns', 'host', '--runtime', 'runc', 'busybox', 'true']).code, 0);
      const unknown = run(['run', '--rm', '--runtime', 'kata', 'busybox', 'true']);
      assert.equal(unknown.code, 125);
      assert.match(unknown.stderr, /unknown or invalid runtime name: kata/);
      const crun = run(['run', '--rm', '--runtime', 'crun', 'busybox', 'true']);
      if (existsSync('/sys/fs/cgroup/unified/cgroup.controllers')) {
        assert.equal(crun.code, 125);
        assert.match(crun.stderr, /crun refuses hybrid cgroup hosts/);
      }
      assert.equal(run(['ps', '-aq']).stdout.split('\n').filter(Boolean).length, 1, 'refused runs leave no container');
    } finally {
      removeAll();
      rmSync(cidfile, { force: true });
    }
  });
});
