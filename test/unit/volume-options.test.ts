import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localOptionsError, needsMount, parseMountOptions, resolveNfsAddress } from '../../src/volume/options.js';

test('volume options: checked with the messages of Docker 20.10\'s local driver', () => {
  assert.equal(localOptionsError({}), undefined);
  assert.equal(localOptionsError({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m,uid=1000' }), undefined);
  assert.equal(localOptionsError({ type: 'none', device: '/srv', o: 'bind' }), undefined);
  assert.equal(localOptionsError({ size: '0' }), undefined);
  assert.equal(localOptionsError({ colour: 'red', type: 'tmpfs' }), 'invalid option: "colour"');
  assert.equal(localOptionsError({ size: 'abc', colour: '' }), 'invalid option: "colour"', 'unknown keys first');
  assert.equal(localOptionsError({ size: 'abc' }), "invalid size: 'abc'");
  assert.equal(localOptionsError({ size: '' }), "invalid size: ''");
  assert.equal(localOptionsError({ size: '1m', type: 'tmpfs' }), 'quota size requested but no quota support');
  assert.equal(localOptionsError({ type: 'tmpfs' }), 'missing required option: "device"');
  assert.equal(localOptionsError({ o: 'size=1m' }), 'missing required option: "device"');
  assert.equal(localOptionsError({ type: 'tmpfs', o: 'size=1m' }), 'missing required option: "device"');
  assert.equal(localOptionsError({ device: 'tmpfs' }), 'missing required option: "type"');
  assert.equal(localOptionsError({ device: 'tmpfs', o: 'size=1m' }), 'missing required option: "type"');
});

test('volume options: only a type or device makes a filesystem to mount', () => {
  assert.equal(needsMount({}), false);
  assert.equal(needsMount({ size: '0' }), false);
  assert.equal(needsMount({ type: 'tmpfs', device: 'tmpfs' }), true);
});

test('volume options: o splits into mount flags and filesystem data as moby/sys/mount does', () => {
  assert.deepEqual(parseMountOptions(''), { flags: 0, data: '' });
  assert.deepEqual(parseMountOptions('size=1m,uid=1000'), { flags: 0, data: 'size=1m,uid=1000' });
  assert.deepEqual(parseMountOptions('bind'), { flags: 0x1000, data: '' });
  assert.deepEqual(parseMountOptions('bind,ro'), { flags: 0x1001, data: '' });
  assert.deepEqual(parseMountOptions('ro,rw'), { flags: 0, data: '' }, 'a later clearing flag wins');
  assert.deepEqual(parseMountOptions('rbind,rslave,nosuid,nodev,noexec'), { flags: 0x1000 | 0x4000 | 0x80000 | 0x2 | 0x4 | 0x8, data: '' });
  assert.deepEqual(parseMountOptions('defaults,noatime,mode=1777'), { flags: 0x400, data: 'defaults,mode=1777' }, 'defaults is data, as in moby');
  assert.deepEqual(parseMountOptions('constructor,toString'), { flags: 0, data: 'constructor,toString' });
});

test('volume options: an NFS addr= that is a host name is resolved, anything else left as it is', async () => {
  const lookup = async (host: string) => (host === 'nas.lan' ? '192.0.2.7' : '2001:db8::1');
  assert.equal(await resolveNfsAddress('nfs', 'addr=nas.lan,rw,nfsvers=4', lookup), 'addr=192.0.2.7,rw,nfsvers=4');
  assert.equal(await resolveNfsAddress('nfs', 'rw,addr=192.0.2.1', lookup), 'rw,addr=192.0.2.1');
  assert.equal(await resolveNfsAddress('nfs', 'addr=v6host', lookup), 'addr=2001:db8::1');
  assert.equal(await resolveNfsAddress('nfs', 'rw', lookup), 'rw');
  assert.equal(await resolveNfsAddress('tmpfs', 'addr=nas.lan', lookup), 'addr=nas.lan');
});
