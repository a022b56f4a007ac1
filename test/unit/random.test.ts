// IDs and generated names draw on the kernel's generator: the right shapes, and every value of
// a range reachable with none outside it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes, randomId, randomInt } from '../../src/sys/random.js';
import { randomName } from '../../src/container/names.js';

describe('random', () => {
  it('gives as many bytes as asked, different each time', () => {
    assert.equal(randomBytes(0).length, 0);
    assert.equal(randomBytes(100).length, 100);
    assert.notDeepEqual(randomBytes(16), randomBytes(16));
  });

  it('makes 64-hex-digit IDs', () => {
    const ids = new Set(Array.from({ length: 50 }, () => randomId()));
    assert.equal(ids.size, 50);
    for (const id of ids) assert.match(id, /^[0-9a-f]{64}$/);
  });

  it('draws integers in [0, max), reaching each', () => {
    for (const max of [1, 3, 10, 1000]) {
      const seen = new Set<number>();
      for (let i = 0; i < 20 * max; i++) {
        const v = randomInt(max);
        assert.ok(Number.isInteger(v) && v >= 0 && v < max, `${v} out of [0, ${max})`);
        seen.add(v);
      }
      if (max <= 10) assert.equal(seen.size, max);
    }
    assert.throws(() => randomInt(0), RangeError);
  });

  it('names containers adjective_scientist, with a digit after a clash', () => {
    assert.match(randomName(0), /^[a-z]+_[a-z]+$/);
    assert.match(randomName(1), /^[a-z]+_[a-z]+\d$/);
  });
});
