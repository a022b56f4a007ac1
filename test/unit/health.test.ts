// Health-check rules (Docker's daemon/health.go): merging with the image, the probe command,
// the status moves, the start period, the log's length, and how durations print.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyProbe,
  checkHealthcheck,
  goDuration,
  healthOnStart,
  healthText,
  mergeHealthcheck,
  probeCommand,
} from '../../src/container/health.js';
import type { HealthState } from '../../src/engine/engine.js';

const S = 1e9;
const started = '2024-01-01T00:00:00.000Z';
const at = (secondsAfterStart: number) => new Date(Date.parse(started) + secondsAfterStart * 1000);
const result = (exitCode: number, t = 100, output = '') => ({ start: at(t), end: at(t), exitCode, output });

describe('health checks', () => {
  it('merges the container settings over the image', () => {
    const image = { Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 30 * S, Retries: 5 };
    assert.deepEqual(mergeHealthcheck({ Interval: 2 * S }, image), { Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 2 * S, Retries: 5 });
    assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image)?.Test, ['NONE']);
    assert.equal(mergeHealthcheck(undefined, image), image);
    assert.deepEqual(mergeHealthcheck({ Test: ['CMD', 'true'] }, undefined), { Test: ['CMD', 'true'] });
  });

  it('turns Test into a command line; NONE and unknown types mean no check', () => {
    assert.deepEqual(probeCommand({ Test: ['CMD', 'pg_isready', '-q'] }), ['pg_isready', '-q']);
    assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'exit 1'] }), ['/bin/sh', '-c', 'exit 1']);
    assert.equal(probeCommand({ Test: ['NONE'] }), null);
    assert.equal(probeCommand({ Test: ['WHAT', 'x'] }), null);
    assert.equal(probeCommand({}), null);
    assert.equal(probeCommand(undefined), null);
  });

  it("refuses what Docker's daemon refuses", () => {
    assert.throws(() => checkHealthcheck({ Interval: 1000 }), /Interval in Healthcheck cannot be less than 1ms/);
    assert.throws(() => checkHealthcheck({ Timeout: 10 }), /Timeout in Healthcheck cannot be less than 1ms/);
    assert.throws(() => checkHealthcheck({ StartPeriod: 5 }), /StartPeriod in Healthcheck cannot be less than 1ms/);
    assert.throws(() => checkHealthcheck({ Retries: -1 }), /Retries in Healthcheck cannot be negative/);
    checkHealthcheck({ Interval: 0, Timeout: 1e6 });
  });

  it('becomes healthy on success and unhealthy after the retries', () => {
    const hc = { Retries: 2 };
    let h: HealthState = healthOnStart(undefined);
    h = applyProbe(h, result(1), hc, started);
    assert.deepEqual([h.Status, h.FailingStreak], ['starting', 1]);
    h = applyProbe(h, result(1), hc, started);
    assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 2]);
    h = applyProbe(h, result(0), hc, started);
    assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 0]);
    h = applyProbe(h, result(-1, 100, 'Health check exceeded timeout (1s)'), hc, started);
    assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 1], 'one failure under the retries keeps it healthy');
    assert.equal(h.Log.at(-1)?.Output, 'Health check exceeded timeout (1s)');
    assert.equal(applyProbe(healthOnStart(undefined), result(1), {}, started).FailingStreak, 1, 'three retries by default');
  });

  it('does not count failures of a starting container within its start period', () => {
    const hc = { Retries: 1, StartPeriod: 10 * S };
    const h = applyProbe(healthOnStart(undefined), result(1, 5), hc, started);
    assert.deepEqual([h.Status, h.FailingStreak, h.Log.length], ['starting', 0, 1]);
    assert.equal(applyProbe(h, result(1, 11), hc, started).Status, 'unhealthy');
  });

  it('keeps the last five probes and at most 4096 bytes of output', () => {
    let h = healthOnStart(undefined);
    for (let i = 0; i < 7; i++) h = applyProbe(h, result(0, i, `run ${i}`), {}, started);
    assert.deepEqual(h.Log.map((l) => l.Output), ['run 2', 'run 3', 'run 4', 'run 5', 'run 6']);
    assert.match(h.Log[0].Start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    h = applyProbe(h, result(0, 8, 'x'.repeat(5000)), {}, started);
    assert.equal(h.Log.at(-1)?.Output.length, 4096);
    assert.deepEqual(healthOnStart(h).Log, h.Log, 'a restart keeps the log');
    assert.equal(healthOnStart(h).Status, 'starting');
  });

  it('reads as ps shows it', () => {
    assert.equal(healthText({ Status: 'starting', FailingStreak: 0, Log: [] }), 'health: starting');
    assert.equal(healthText({ Status: 'unhealthy', FailingStreak: 3, Log: [] }), 'unhealthy');
  });

  it("prints durations as Go's time.Duration does", () => {
    assert.equal(goDuration(30 * S), '30s');
    assert.equal(goDuration(0.5 * S), '500ms');
    assert.equal(goDuration(1.5 * S), '1.5s');
    assert.equal(goDuration(90 * S), '1m30s');
    assert.equal(goDuration(3600 * S), '1h0m0s');
    assert.equal(goDuration(2500), '2.5µs');
    assert.equal(goDuration(0), '0s');
  });
});
