import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainIds } from '../../src/storage/chain.js';

const a = 'sha256:' + 'a'.repeat(64);
const b = 'sha256:' + 'b'.repeat(64);
const c = 'sha256:' + 'c'.repeat(64);
// Computed independently: python3 hashlib.sha256((parent + ' ' + diff).encode()).
const ab = 'sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c';
const abc = 'sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588';

test('the base layer chain id is its diff id', () => {
  assert.deepEqual(chainIds([a]), [a]);
});

test('each chain id hashes the parent chain id, a space and the diff id', () => {
  assert.deepEqual(chainIds([a, b, c]), [a, ab, abc]);
});

test('the same diff on a different parent gives a different chain id', () => {
  assert.notEqual(chainIds([b, c])[1], chainIds([a, b, c])[2]);
  assert.notEqual(chainIds([a, b])[1], chainIds([b, a])[1]);
});

test('no layers, no chain ids', () => {
  assert.deepEqual(chainIds([]), []);
});

test('malformed diff ids are rejected', () => {
  assert.throws(() => chainIds([a, 'sha256:xyz']), { code: 'invalid_digest' });
  assert.throws(() => chainIds(['a'.repeat(64)]), { code: 'invalid_digest' });
});
