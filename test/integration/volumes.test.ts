import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../src/storage/db.js';
import { VolumeStore } from '../../src/volume/store.js';
import { VolumeService } from '../../src/engine/volumes.js';
import { tempDir } from '../helpers/root.js';

function setup(users: Record<string, string[]> = {}) {
  const { dir, cleanup } = tempDir('berth-vol-');
  const db = openDb(join(dir, 'berth.db'));
  const store = new VolumeStore(dir, db);
  const service = new VolumeService(store, { all: (name) => users[name] ?? [], active: () => [] }, join(dir, 'run'));
  return { dir, store, service, cleanup: () => { db.close(); cleanup(); } };
}

test('volumes: create, list with filters, inspect, remove', async () => {
  const { service, cleanup } = setup();
  try {
    const v = await service.create({ Name: 'data', Labels: { team: 'a' } });
    assert.equal(v.Name, 'data');
    assert.equal(v.Driver, 'local');
    assert.ok(existsSync(v.Mountpoint));
    assert.ok(v.Mountpoint.endsWith('/volumes/data/_data'));
    const again = await service.create({ Name: 'data' });
    assert.equal(again.CreatedAt, v.CreatedAt, 'creating an existing volume returns it');
    assert.equal((await service.create({ Name: 'data', DriverOpts: { colour: 'red' } })).Options, null, 'whatever options were asked for, as Docker');
    const anon = await service.create({});
    assert.match(anon.Name, /^[a-f0-9]{64}$/);
    assert.deepEqual(service.list().Volumes.map((x) => x.Name).sort(), [anon.Name, 'data'].sort());
    assert.deepEqual(service.list({ label: ['team=a'] }).Volumes.map((x) => x.Name), ['data']);
    assert.deepEqual(service.list({ name: ['dat'] }).Volumes.map((x) => x.Name), ['data']);
    assert.throws(() => service.list({ colour: ['red'] }), /invalid filter 'colour'/);
    assert.deepEqual(service.inspect('data').Labels, { team: 'a' });
    await service.remove('data', {});
    assert.ok(!existsSync(v.Mountpoint));
    assert.throws(() => service.inspect('data'), /no such volume/);
    await assert.rejects(service.remove('data', {}), /no such volume/);
    await service.remove('data', { force: true });
  } finally {
    cleanup();
  }
});

test('volumes: bad names and drivers are refused, nothing stored', async () => {
  const { service, store, cleanup } = setup();
  try {
    await assert.rejects(service.create({ Name: '/host/dir' }), /includes invalid characters for a local volume name/);
    await assert.rejects(service.create({ Name: 'x' }), /create x: volume name is too short, names should be at least two alphanumeric characters/);
    await assert.rejects(service.create({ Name: 'ok1', Driver: 'nfs' }), /driver "nfs" is not available/);
    await assert.rejects(service.create({ Name: 'ok2', DriverOpts: { colour: 'red' } }), /create ok2: invalid option: "colour"/);
    assert.deepEqual(store.list(), []);
  } finally {
    cleanup();
  }
});

test('volumes: in use cannot be removed; prune takes anonymous unless all, never used ones', async () => {
  const { service, cleanup } = setup({ busy: ['c0ffee'] });
  try {
    await service.create({ Name: 'busy' });
    await service.create({ Name: 'named' });
    const anon = await service.create({});
    writeFileSync(join(anon.Mountpoint, 'f'), Buffer.alloc(1000));
    await assert.rejects(service.remove('busy', {}), /volume is in use - \[c0ffee\]/);
    assert.deepEqual(service.list({ dangling: ['true'] }).Volumes.map((v) => v.Name).sort(), [anon.Name, 'named'].sort());
    const first = await service.prune({});
    assert.deepEqual(first.VolumesDeleted, [anon.Name]);
    assert.equal(first.SpaceReclaimed, 1000);
    const second = await service.prune({ all: true });
    assert.deepEqual(second.VolumesDeleted, ['named']);
    assert.deepEqual(service.list().Volumes.map((v) => v.Name), ['busy']);
  } finally {
    cleanup();
  }
});

test('volume prune takes label!= (key, or key=value) as Docker does', async () => {
  const { service, cleanup } = setup();
  try {
    await service.create({ Name: 'keep', Labels: { keep: '' } });
    await service.create({ Name: 'blue', Labels: { colour: 'blue' } });
    await service.create({ Name: 'red', Labels: { colour: 'red' } });
    await service.create({ Name: 'plain' });
    assert.deepEqual((await service.prune({ all: true, filters: { 'label!': ['keep', 'colour=blue'] } })).VolumesDeleted?.sort(), ['plain', 'red']);
    assert.deepEqual(service.list().Volumes.map((v) => v.Name).sort(), ['blue', 'keep']);
  } finally {
    cleanup();
  }
});
