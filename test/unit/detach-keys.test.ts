import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DetachKeyScanner, parseDetachKeys } from '../../src/container/detach-keys.js';

describe('detach keys', () => {
  it("parses Docker's syntax", () => {
    assert.deepEqual([...parseDetachKeys('')], [16, 17]);
    assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
    assert.deepEqual([...parseDetachKeys('ctrl-a,x')], [1, 120]);
    assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')], [0, 27, 28, 29, 30, 31]);
    assert.deepEqual([...parseDetachKeys('ctrl-Z')], [26]);
  });

  it('refuses what Docker refuses', () => {
    for (const bad of ['ctrl-', 'ctrl-1', 'ctrl-ab', 'foo', 'a,,b', ',', 'é']) {
      assert.throws(() => parseDetachKeys(bad), { message: `Invalid escape keys (${bad}) provided` }, bad);
    }
  });

  it('detaches on the sequence, holding back a prefix until it is decided', () => {
    const s = new DetachKeyScanner(parseDetachKeys('ctrl-p,ctrl-q'));
    assert.deepEqual(s.scan(Buffer.from('ab\x10')), { forward: Buffer.from('ab'), detach: false });
    assert.deepEqual(s.scan(Buffer.from('c')), { forward: Buffer.from('\x10c'), detach: false });
    assert.deepEqual(s.scan(Buffer.from('x\x10')), { forward: Buffer.from('x'), detach: false });
    assert.deepEqual(s.scan(Buffer.from('\x11rest')), { forward: Buffer.alloc(0), detach: true });
  });

  it('lets a byte that breaks a sequence start the next one', () => {
    const s = new DetachKeyScanner(parseDetachKeys('ctrl-p,ctrl-q'));
    assert.deepEqual(s.scan(Buffer.from('\x10\x10\x11')), { forward: Buffer.from('\x10'), detach: true });
    const one = new DetachKeyScanner(parseDetachKeys('x'));
    assert.deepEqual(one.scan(Buffer.from('abxc')), { forward: Buffer.from('ab'), detach: true });
  });
});
