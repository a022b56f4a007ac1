// How a container's -v, --mount, --volumes-from and image VOLUME paths become its mounts, as
// Docker's daemon resolves them (checked against Docker 20.10's inspect output).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inheritedMounts, mountInputs, parseBind, resolveMounts, type ContainerMount } from '../../src/container/mounts.js';

describe('container mounts', () => {
  it('reads -v as docker does: host paths bind, names are volumes, a lone path is anonymous', () => {
    assert.deepEqual(parseBind('/host:/data:ro'), { type: 'bind', source: '/host', destination: '/data', options: ['ro'] });
    assert.deepEqual(parseBind('vol:/data'), { type: 'volume', source: 'vol', destination: '/data', options: [] });
    assert.deepEqual(parseBind('/data'), { type: 'volume', source: '', destination: '/data', options: [] });
    assert.throws(() => parseBind('/data:ro'), /invalid volume specification: '\/data:ro'/);
    assert.throws(() => parseBind('a:b:c:d'), /invalid volume specification/);
    assert.throws(() => parseBind('vol:/x:ro,rw'), /invalid mode: ro,rw/);
    assert.throws(() => parseBind('vol:/'), /destination can't be '\/'/);
  });

  it("gives each mount docker's Mode, RW and propagation", () => {
    const mounts = resolveMounts(
      {
        Binds: ['named:/a', 'nc:/b:ro,nocopy', '/host:/c', '/host2:/d:ro,rshared'],
        Mounts: [
          { Type: 'volume', Source: 'mv', Target: '/e', ReadOnly: true, VolumeOptions: { NoCopy: true } },
          { Type: 'bind', Source: '/h', Target: '/f/' },
          { Type: 'tmpfs', Target: '/g' },
        ],
      },
      { '/image': {}, '/a': {}, '/g': {} },
      [],
    );
    assert.deepEqual(mounts, [
      { type: 'volume', source: 'named', destination: '/a', rw: true, mode: 'z', copyData: true },
      { type: 'volume', source: 'nc', destination: '/b', rw: false, mode: 'ro,nocopy', copyData: false },
      { type: 'bind', source: '/host', destination: '/c', rw: true, mode: '', propagation: 'rprivate' },
      { type: 'bind', source: '/host2', destination: '/d', rw: false, mode: 'ro,rshared', propagation: 'rshared' },
      { type: 'volume', source: 'mv', destination: '/e', rw: false, mode: 'z', copyData: false },
      { type: 'bind', source: '/h', destination: '/f', rw: true, mode: '', propagation: 'rprivate' },
      { type: 'volume', source: '', destination: '/image', rw: true, mode: '', copyData: true },
    ]);
  });

  it('lets -v and --mount replace --volumes-from, but not each other', () => {
    const from: ContainerMount[] = [
      { type: 'volume', source: 'shared', destination: '/x', rw: true, mode: 'z', copyData: true },
      { type: 'bind', source: '/host', destination: '/h', rw: true, mode: 'ro', propagation: 'rprivate' },
    ];
    const inherited = inheritedMounts(from, 'ro');
    assert.deepEqual(inherited, [
      { type: 'volume', source: 'shared', destination: '/x', rw: false, mode: '' },
      { type: 'bind', source: '/host', destination: '/h', rw: false, mode: '', propagation: 'rprivate' },
    ]);
    const mounts = resolveMounts({ Binds: ['mine:/x'] }, { '/h': {} }, inherited);
    assert.deepEqual(
      mounts.map((m) => `${m.destination}=${m.source}`),
      ['/x=mine', '/h=/host'],
    );
    assert.throws(() => resolveMounts({ Binds: ['a1:/x'], Mounts: [{ Type: 'volume', Source: 'b1', Target: '/x' }] }, null, []), /Duplicate mount point: \/x/);
  });

  it('mounts volumes from their data directories', () => {
    const inputs = mountInputs(
      [
        { type: 'volume', source: 'v', destination: '/v', rw: false, mode: 'ro' },
        { type: 'bind', source: '/h', destination: '/b', rw: true, mode: '', propagation: 'rslave', nonRecursive: true },
      ],
      (name) => `/var/lib/berth/volumes/${name}/_data`,
    );
    assert.deepEqual(inputs, [
      { type: 'volume', source: '/var/lib/berth/volumes/v/_data', destination: '/v', readonly: true },
      { type: 'bind', source: '/h', destination: '/b', readonly: false, propagation: 'rslave', nonRecursive: true },
    ]);
  });
});
