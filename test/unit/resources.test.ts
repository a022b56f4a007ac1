// The resource side of containers without root: run's throttle, health, expose and namespace
// flags, update's flags and merge rules, and docker's stats arithmetic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { addUpdateFlags, buildUpdateBody, type RunFlagValues, type RunRequest } from '../../src/cli/commands/run-flags.js';
import { parseRun } from '../helpers/run-flags.js';
import { cpuPercent, memoryUsage } from '../../src/cli/commands/resources.js';
import { mergeUpdate } from '../../src/engine/container-update.js';
import type { ContainerRecord } from '../../src/container/store.js';
import { initialBook, initialState } from '../../src/container/store.js';
import type { ContainerStats, HostConfig } from '../../src/engine/engine.js';
import { parseDeviceCgroupRule } from '../../src/runtime/device-flags.js';

const ctx = { env: {} as NodeJS.ProcessEnv, readFile: () => '' };

const parse = (argv: string[]): RunRequest => parseRun(argv, ctx);

function parseUpdate(argv: string[]) {
  const cmd = addUpdateFlags(new Command('update').exitOverride().argument('<container...>'));
  let o: RunFlagValues = {};
  cmd.action((_names: string[], opts: RunFlagValues) => {
    o = opts;
  });
  cmd.parse(argv, { from: 'user' });
  return buildUpdateBody(o);
}

const MiB = 1024 * 1024;

describe('run flags for resources, health and namespaces', () => {
  it('parses block I/O throttles with docker wording', () => {
    const hc = parse(['--device-read-bps', '/dev/sda:1mb', '--device-write-bps', '/dev/sda:512k', '--device-read-iops', '/dev/sdb:100', '--device-write-iops', '/dev/sdb:50', 'busybox']).body.HostConfig!;
    assert.deepEqual(hc.BlkioDeviceReadBps, [{ Path: '/dev/sda', Rate: MiB }]);
    assert.deepEqual(hc.BlkioDeviceWriteBps, [{ Path: '/dev/sda', Rate: 512 * 1024 }]);
    assert.deepEqual(hc.BlkioDeviceReadIOps, [{ Path: '/dev/sdb', Rate: 100 }]);
    assert.deepEqual(hc.BlkioDeviceWriteIOps, [{ Path: '/dev/sdb', Rate: 50 }]);
    assert.throws(() => parse(['--device-read-bps', '/dev/sda', 'busybox']), /invalid argument "\/dev\/sda" for "--device-read-bps" flag: bad format: \/dev\/sda/);
    assert.throws(() => parse(['--device-read-bps', 'sda:1mb', 'busybox']), /bad format for device path: sda:1mb/);
    assert.throws(() => parse(['--device-write-bps', '/dev/sda:fast', 'busybox']), /invalid rate for device: \/dev\/sda:fast. The correct format is <device-path>:<number>\[<unit>\]/);
    assert.throws(() => parse(['--device-read-iops', '/dev/sda:1k', 'busybox']), /invalid rate for device: \/dev\/sda:1k. The correct format is <device-path>:<number>. Number must be a positive integer/);
  });

  it('turns --health-* into Config.Healthcheck, in nanoseconds', () => {
    const body = parse(['--health-cmd', 'curl -f localhost', '--health-interval', '1s', '--health-timeout', '500ms', '--health-retries', '2', '--health-start-period', '1m', 'busybox']).body;
    assert.deepEqual(body.Healthcheck, { Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 1e9, Timeout: 5e8, StartPeriod: 60e9, Retries: 2 });
    assert.deepEqual(parse(['--health-interval', '5s', 'busybox']).body.Healthcheck, { Interval: 5e9 }, 'the test and the rest come from the image');
    assert.deepEqual(parse(['--no-healthcheck', 'busybox']).body.Healthcheck, { Test: ['NONE'] });
    assert.equal(parse(['busybox']).body.Healthcheck, undefined);
    assert.throws(() => parse(['--no-healthcheck', '--health-cmd', 'true', 'busybox']), /--no-healthcheck conflicts with --health-\* options/);
    assert.throws(() => parse(['--health-interval', '-1s', 'busybox']), /--health-interval cannot be negative/);
    assert.throws(() => parse(['--health-timeout', 'soon', 'busybox']), /invalid argument "soon" for "--health-timeout" flag: time: invalid duration "soon"/);
  });

  it('exposes ports and ranges as docker does', () => {
    const body = parse(['--expose', '80', '--expose', '9000-9002/udp', 'busybox']).body;
    assert.deepEqual(Object.keys(body.ExposedPorts ?? {}), ['80/tcp', '9000/udp', '9001/udp', '9002/udp']);
    assert.throws(() => parse(['--expose', '80:80', 'busybox']), /invalid port format for --expose: 80:80/);
    assert.throws(() => parse(['--expose', 'http', 'busybox']), /invalid range format for --expose: http, error: strconv.ParseUint: parsing "http": invalid syntax/);
    assert.throws(() => parse(['--expose', '90-80', 'busybox']), /invalid range specified for port: 90-80/);
  });

  it('takes cgroupns, userns, runtime, cidfile and device cgroup rules', () => {
    const r = parse(['--cgroupns', 'host', '--userns', 'host', '--runtime', 'runc', '--cidfile', '/tmp/x.cid', '--device-cgroup-rule', 'c 1:3 mr', '--device-cgroup-rule', 'b 8:* rw', 'busybox']);
    const hc = r.body.HostConfig!;
    assert.deepEqual([hc.CgroupnsMode, hc.UsernsMode, hc.Runtime, hc.ContainerIDFile, r.cidfile], ['host', 'host', 'runc', '/tmp/x.cid', '/tmp/x.cid']);
    assert.deepEqual(hc.DeviceCgroupRules, ['c 1:3 mr', 'b 8:* rw']);
    assert.throws(() => parse(['--cgroupns', 'shared', 'busybox']), /^InvalidArgumentError: --cgroupns: invalid CGROUP mode$/);
    assert.throws(() => parse(['--userns', 'keep-id', 'busybox']), /--userns: invalid USER mode/);
    assert.throws(() => parse(['--device-cgroup-rule', 'c 1:3', 'busybox']), /invalid argument "c 1:3" for "--device-cgroup-rule" flag: invalid device cgroup format 'c 1:3'/);
    assert.deepEqual(parseDeviceCgroupRule('c 1:3 mr'), { allow: true, type: 'c', major: 1, minor: 3, access: 'mr' });
    assert.deepEqual(parseDeviceCgroupRule('a *:* rwm'), { allow: true, type: 'a', access: 'rwm' });
  });
});

describe('update', () => {
  const record = (hc: HostConfig): ContainerRecord =>
    ({ id: 'c'.repeat(64), name: 'c', imageId: '', imageRef: 'busybox', config: {} as ContainerRecord['config'], hostConfig: hc, state: initialState(), book: initialBook(), created: 0, bootId: '' }) as ContainerRecord;

  it('parses the flags and refuses an update without any', () => {
    assert.deepEqual(parseUpdate(['-m', '128m', '--memory-swap', '-1', '--cpus', '0.5', '--pids-limit', '-1', '--restart', 'on-failure:2', 'c']), {
      Memory: 128 * MiB,
      MemorySwap: -1,
      NanoCpus: 5e8,
      PidsLimit: -1,
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 },
    });
    assert.throws(() => parseUpdate(['c']), /you must provide one or more flags when using this command/);
    assert.throws(() => parseUpdate(['--blkio-weight', 'x', 'c']), /invalid argument "x" for "--blkio-weight" flag/);
  });

  it("merges by Docker's rules", () => {
    const hc = { Memory: 64 * MiB, MemorySwap: 0, NanoCpus: 1e9, RestartPolicy: { Name: 'no' as const }, AutoRemove: false };
    const next = mergeUpdate(record(hc), { Memory: 100 * MiB, CpuShares: 512 }, true);
    assert.equal(next.Memory, 100 * MiB);
    assert.equal(next.MemorySwap, 128 * MiB, 'the default swap of the old memory stays, as Docker stores it');
    assert.equal(next.CpuShares, 512);
    assert.equal(next.NanoCpus, 1e9);
    assert.throws(() => mergeUpdate(record(hc), { Memory: 256 * MiB }, true), /Cannot update container c+: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/);
    assert.equal(mergeUpdate(record(hc), { Memory: 256 * MiB, MemorySwap: 512 * MiB }, true).MemorySwap, 512 * MiB);
    assert.throws(() => mergeUpdate(record(hc), { CpuQuota: 50000 }, true), /CPU Quota cannot be updated as NanoCPUs has already been set/);
    assert.throws(() => mergeUpdate(record({ CpuPeriod: 100000 }), { NanoCpus: 1e9 }, true), /Nano CPUs cannot be updated as CPU Period has already been set/);
    assert.throws(() => mergeUpdate(record({ AutoRemove: true }), { RestartPolicy: { Name: 'always' } }, true), /Restart policy cannot be updated because AutoRemove is enabled for the container/);
    assert.deepEqual(mergeUpdate(record({}), { RestartPolicy: { Name: 'always' } }, true).RestartPolicy, { Name: 'always', MaximumRetryCount: 0 });
    assert.equal(mergeUpdate(record({ Memory: 0 }), { Memory: 32 * MiB }, true).MemorySwap, undefined, 'no limit before: no swap limit to keep');
  });
});

describe('stats arithmetic (docker CLI)', () => {
  const stats = (total: number, pretotal: number, system: number, presystem: number): ContainerStats =>
    ({
      cpu_stats: { cpu_usage: { total_usage: total, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: system, online_cpus: 2, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
      precpu_stats: { cpu_usage: { total_usage: pretotal, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: presystem, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    }) as ContainerStats;

  it('computes CPU % over the host time between two readings, times the CPUs', () => {
    assert.equal(cpuPercent(stats(1.5e9, 1e9, 3e9, 2e9)), 100);
    assert.equal(cpuPercent(stats(1e9, 1e9, 3e9, 2e9)), 0);
    assert.equal(cpuPercent(stats(2e9, 1e9, 2e9, 2e9)), 0, 'no host time passed');
  });

  it('leaves the inactive page cache out of memory usage', () => {
    assert.equal(memoryUsage({ usage: 100, stats: { total_inactive_file: 30 } }), 70);
    assert.equal(memoryUsage({ usage: 100, stats: { inactive_file: 40 } }), 60);
    assert.equal(memoryUsage({ usage: 100, stats: { total_inactive_file: 300 } }), 100);
    assert.equal(memoryUsage({}), 0);
  });
});
