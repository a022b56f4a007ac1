// `import`: a rootfs tarball (plain, gzip, zstd) becomes a one-layer image with --change applied.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InvalidArgumentError } from '../../src/errors.js';
import { importRootfs } from '../../src/image/import.js';
import { hostPlatform, mediaTypes } from '../../src/image/types.js';
import { openStores, sha256, storeState, tarBuffer, twoLayers, type Stores } from '../helpers/images.js';
import { isRoot, tempDir } from '../helpers/root.js';

const needsRoot = !isRoot && 'needs root (layers are unpacked with their owners and device nodes)';
const zstdAvailable = spawnSync('zstd', ['--version']).status === 0;

async function withStores<T>(fn: (s: Stores) => Promise<T>): Promise<T> {
  const { dir, cleanup } = tempDir();
  const s = await openStores(dir);
  try {
    return await fn(s);
  } finally {
    s.db.close();
    cleanup();
  }
}

const changes = [
  'CMD ["/bin/tool", "--serve"]',
  'ENTRYPOINT /entry.sh',
  'ENV A=1 B="two words"',
  'ENV C $A-x',
  'WORKDIR /srv',
  'USER 1000:1000',
  'EXPOSE 80 53/udp 8000-8001',
  'LABEL org.example.name="imported image" version=1',
  'VOLUME ["/data", "/cache"]',
  'STOPSIGNAL SIGQUIT',
  'ONBUILD RUN echo child',
];

describe('importRootfs', { skip: needsRoot }, () => {
  for (const compression of ['plain', 'gzip', 'zstd'] as const) {
    it(`turns a ${compression} rootfs tarball into a one-layer image with --change applied`, { skip: compression === 'zstd' && !zstdAvailable && 'zstd is not installed' }, () =>
      withStores(async (s) => {
        const rootfs = await tarBuffer(twoLayers[0]);
        const blob = compression === 'gzip' ? gzipSync(rootfs) : compression === 'zstd' ? spawnSync('zstd', ['-c'], { input: rootfs }).stdout : rootfs;
        const before = Date.now();
        const id = await importRootfs(Readable.from([blob]), s, { ref: 'imported/app:v1', changes });

        const rec = s.images.resolve('imported/app:v1');
        assert.equal(rec.id, id);
        assert.deepEqual(rec.tags, ['docker.io/imported/app:v1']);
        const config = await s.images.config(id);
        assert.equal(config.architecture, hostPlatform().architecture);
        assert.equal(config.os, 'linux');
        assert.ok(Date.parse(config.created!) >= before - 1000);
        assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [sha256(rootfs)] });
        assert.deepEqual(config.history, [{ created: config.created, created_by: '', comment: 'Imported from -' }]);
        assert.deepEqual(config.config, {
          Cmd: ['/bin/tool', '--serve'],
          Entrypoint: ['/bin/sh', '-c', '/entry.sh'],
          Env: ['A=1', 'B=two words', 'C=1-x'],
          WorkingDir: '/srv',
          User: '1000:1000',
          ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} },
          Labels: { 'org.example.name': 'imported image', version: '1' },
          Volumes: { '/data': {}, '/cache': {} },
          StopSignal: 'SIGQUIT',
          OnBuild: ['RUN echo child'],
        });

        // The tarball is kept as it came; the layer is unpacked.
        const [layer] = s.images.imageLayers(id);
        assert.equal(layer.blob, sha256(blob));
        assert.equal(layer.diffId, sha256(rootfs));
        assert.equal(layer.mediaType, { plain: mediaTypes.ociLayer, gzip: mediaTypes.ociLayerGzip, zstd: mediaTypes.ociLayerZstd }[compression]);
        assert.equal(readFileSync(join(s.layers.diffDir(layer.chainId), 'etc/hostname'), 'utf8'), 'one\n');
        const manifest = JSON.parse((await s.content.read(rec.manifest!)).toString());
        assert.deepEqual(manifest.layers, [{ mediaType: layer.mediaType, digest: layer.blob, size: blob.length }]);
        assert.deepEqual((await s.content.list()).sort(), [id, rec.manifest, layer.blob].sort());
      }));
  }

  it('takes the message, the platform and no name', () =>
    withStores(async (s) => {
      const id = await importRootfs(Readable.from([await tarBuffer(twoLayers[0])]), s, { message: 'from a backup', platform: 'linux/arm64/v8' });
      const config = await s.images.config(id);
      assert.equal(config.history![0].comment, 'from a backup');
      assert.equal(config.comment, 'from a backup');
      assert.deepEqual([config.os, config.architecture, config.variant], ['linux', 'arm64', 'v8']);
      assert.deepEqual(s.images.get(id)!.tags, []);
    }));

  const bad: { title: string; input: () => Promise<Buffer>; opts: Parameters<typeof importRootfs>[2]; error: RegExp }[] = [
    { title: 'an unknown --change instruction', input: () => tarBuffer(twoLayers[0]), opts: { changes: ['ENV A=1', 'RUN make'] }, error: /^run is not a valid change command$/ },
    { title: 'a malformed --change', input: () => tarBuffer(twoLayers[0]), opts: { changes: ['EXPOSE http'] }, error: /^Invalid containerPort: http$/ },
    { title: 'a digest reference', input: () => tarBuffer(twoLayers[0]), opts: { ref: `x@sha256:${'a'.repeat(64)}` }, error: /cannot import digest reference/ },
    { title: 'an invalid name', input: () => tarBuffer(twoLayers[0]), opts: { ref: 'UPPER:case' }, error: /invalid reference format/ },
    {
      title: 'a corrupt gzip stream',
      input: async () => {
        const gz = gzipSync(await tarBuffer(twoLayers[0]));
        return gz.subarray(0, gz.length - 20);
      },
      opts: { ref: 'broken:1' },
      error: /gzip stream is truncated or corrupt/,
    },
    { title: 'something that is not a tar', input: async () => Buffer.from('hello, this is not a tarball\n'.repeat(40)), opts: { ref: 'broken:1' }, error: /./ },
  ];
  for (const c of bad) {
    it(`rejects ${c.title} and stores nothing`, () =>
      withStores(async (s) => {
        await importRootfs(Readable.from([await tarBuffer(twoLayers[0])]), s, { ref: 'existing:1' });
        const before = await storeState(s);
        await assert.rejects(importRootfs(Readable.from([await c.input()]), s, c.opts), (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(err)}`);
          assert.match(err.message, c.error);
          return true;
        });
        assert.deepEqual(await storeState(s), before);
      }));
  }
});
