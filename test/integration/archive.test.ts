// Image archives in and out: crafted `docker save` archives and OCI layouts, round trips through
// fresh stores, broken archives that must leave nothing behind, and Docker itself as the oracle.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InvalidArgumentError } from '../../src/errors.js';
import { loadArchive, saveArchive } from '../../src/image/archive/index.js';
import { hostPlatform, mediaTypes } from '../../src/image/types.js';
import {
  busyboxRootfs,
  craftImage,
  dockerArchive,
  dockerAvailable,
  hex,
  ociLayout,
  openStores,
  readTar,
  run,
  sha256,
  storeState,
  tarBuffer,
  twoLayers,
  type Stores,
} from '../helpers/images.js';
import { isRoot, tempDir } from '../helpers/root.js';

const needsRoot = !isRoot && 'needs root (layers are unpacked with their owners and device nodes)';
const zstdAvailable = spawnSync('zstd', ['--version']).status === 0;

async function withStores<T>(fn: (s: Stores, root: string) => Promise<T>): Promise<T> {
  const { dir, cleanup } = tempDir();
  const s = await openStores(dir);
  try {
    return await fn(s, dir);
  } finally {
    s.db.close();
    cleanup();
  }
}

function load(s: Stores, data: Buffer) {
  return loadArchive(Readable.from([data]), s);
}

async function save(s: Stores, refs: string[], format: 'docker' | 'oci'): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await saveArchive(refs, out, s, { format });
  return Buffer.concat(chunks);
}

function json(files: Map<string, Buffer | null>, name: string): unknown {
  const f = files.get(name);
  assert.ok(f, `${name} missing from the archive`);
  return JSON.parse(f.toString('utf8'));
}

describe('load of a docker save archive', { skip: needsRoot }, () => {
  for (const variant of [
    { title: 'Docker 20.10 layout', opts: {} },
    { title: 'Docker 25 layout (blobs/sha256), manifest.json first', opts: { layout: 'blobs' as const, manifestFirst: true } },
  ]) {
    it(`registers the image with its tags and unpacks its layers (${variant.title})`, () =>
      withStores(async (s) => {
        const img = await craftImage({ layers: twoLayers, repoTags: ['crafted/app:1', 'localhost:5000/app'] });
        const { loaded } = await load(s, await dockerArchive([img], variant.opts));
        assert.deepEqual(loaded, [{ id: img.configDigest, tags: ['crafted/app:1', 'localhost:5000/app:latest'] }]);

        const rec = s.images.resolve('crafted/app:1');
        assert.equal(rec.id, img.configDigest);
        assert.deepEqual(rec.tags.sort(), ['docker.io/crafted/app:1', 'localhost:5000/app:latest']);
        const layers = s.images.imageLayers(rec.id);
        assert.deepEqual(layers.map((l) => l.diffId), img.diffIds);
        assert.deepEqual(layers.map((l) => l.blob), img.diffIds, 'uncompressed layer.tar blobs are their own diff IDs');
        assert.equal(readFileSync(join(s.layers.diffDir(layers[0].chainId), 'etc/hostname'), 'utf8'), 'one\n');
        assert.equal(readFileSync(join(s.layers.diffDir(layers[1].chainId), 'etc/motd'), 'utf8'), 'layer two\n');

        // The synthesized manifest describes exactly the stored blobs.
        assert.ok(rec.manifest);
        const manifest = JSON.parse((await s.content.read(rec.manifest)).toString());
        assert.equal(manifest.mediaType, mediaTypes.dockerManifest);
        assert.equal(manifest.config.digest, img.configDigest);
        assert.deepEqual(manifest.layers.map((l: { digest: string }) => l.digest), img.diffIds);
        // Nothing but the image's own blobs stays: no manifest.json, VERSION or json files.
        assert.deepEqual((await s.content.list()).sort(), [img.configDigest, rec.manifest, ...img.diffIds].sort());
      }));
  }

  it('accepts a gzip-compressed archive and gzip-compressed layer files', () =>
    withStores(async (s) => {
      const img = await craftImage({ layers: twoLayers, repoTags: ['gz:1'], compress: 'gzip' });
      const { loaded } = await load(s, gzipSync(await dockerArchive([img])));
      assert.deepEqual(loaded, [{ id: img.configDigest, tags: ['gz:1'] }]);
      const layers = s.images.imageLayers(img.configDigest);
      assert.deepEqual(layers.map((l) => l.diffId), img.diffIds);
      assert.deepEqual(layers.map((l) => l.blob), img.layers.map((l) => sha256(l)), 'compressed layers are kept as they came');
      assert.deepEqual(layers.map((l) => l.mediaType), [mediaTypes.dockerLayerGzip, mediaTypes.dockerLayerGzip]);
    }));

  it('accepts a zstd-compressed archive', { skip: !zstdAvailable && 'zstd is not installed' }, () =>
    withStores(async (s) => {
      const img = await craftImage({ layers: twoLayers, repoTags: ['zst:1'] });
      const zst = spawnSync('zstd', ['-c'], { input: await dockerArchive([img]) }).stdout;
      assert.deepEqual((await load(s, zst)).loaded, [{ id: img.configDigest, tags: ['zst:1'] }]);
    }));

  it('loading the same archive again changes nothing but the tags', () =>
    withStores(async (s) => {
      const img = await craftImage({ layers: twoLayers, repoTags: ['again:1'] });
      const archive = await dockerArchive([img]);
      await load(s, archive);
      const first = await storeState(s);
      s.images.untag('docker.io/library/again:1');
      assert.deepEqual((await load(s, archive)).loaded, [{ id: img.configDigest, tags: ['again:1'] }]);
      assert.deepEqual(await storeState(s), first);
    }));

  it('loads several images from one archive, sharing their common layer', () =>
    withStores(async (s) => {
      const a = await craftImage({ layers: twoLayers, repoTags: ['multi/a:1'] });
      const b = await craftImage({ layers: [twoLayers[0]], repoTags: ['multi/b:1'], config: { author: 'b' } });
      const { loaded } = await load(s, await dockerArchive([a, b]));
      assert.deepEqual(loaded.map((l) => l.id), [a.configDigest, b.configDigest]);
      assert.equal(s.images.imageLayers(b.configDigest)[0].chainId, s.images.imageLayers(a.configDigest)[0].chainId);
      assert.equal((s.db.prepare('SELECT count(*) AS n FROM layers').get() as { n: number }).n, 2);
    }));
});

describe('save', { skip: needsRoot }, () => {
  it('writes what docker save writes and loads back into a fresh root with the same ID and diff IDs', () =>
    withStores(async (s) => {
      const img = await craftImage({ layers: twoLayers, repoTags: ['crafted/app:1'], compress: 'gzip' });
      await load(s, await dockerArchive([img]));
      const archive = await save(s, ['crafted/app:1'], 'docker');
      const files = await readTar(archive);

      const manifest = json(files, 'manifest.json') as { Config: string; RepoTags: string[]; Layers: string[] }[];
      assert.equal(manifest.length, 1);
      assert.equal(manifest[0].Config, `${hex(img.configDigest)}.json`);
      assert.deepEqual(manifest[0].RepoTags, ['crafted/app:1']);
      assert.equal(manifest[0].Layers.length, 2);
      // layer.tar is the uncompressed layer even though the stored blobs are gzip.
      manifest[0].Layers.forEach((path, i) => assert.equal(sha256(files.get(path)!), img.diffIds[i]));
      for (const path of manifest[0].Layers) {
        const dir = path.replace(/\/layer\.tar$/, '');
        assert.equal(files.get(`${dir}/VERSION`)!.toString(), '1.0');
        assert.equal((json(files, `${dir}/json`) as { id: string }).id, dir);
      }
      const top = manifest[0].Layers[1].replace(/\/layer\.tar$/, '');
      assert.deepEqual(json(files, 'repositories'), { 'crafted/app': { '1': top } });
      assert.deepEqual(files.get(manifest[0].Config), img.config);
      assert.deepEqual([...files.keys()], [...files.keys()].sort(), 'entries come in lexical order, as Docker writes them');

      await withStores(async (s2) => {
        const { loaded } = await load(s2, archive);
        assert.deepEqual(loaded, [{ id: img.configDigest, tags: ['crafted/app:1'] }]);
        assert.deepEqual(s2.images.imageLayers(img.configDigest).map((l) => l.diffId), img.diffIds);
      });
    }));

  it('names images as Docker does: by ID without tags, a bare name with all its tags', () =>
    withStores(async (s) => {
      const a = await craftImage({ layers: twoLayers, repoTags: ['repo/x:1', 'repo/x:2'] });
      const b = await craftImage({ layers: [twoLayers[0]], repoTags: ['other:1'] });
      await load(s, await dockerArchive([a, b]));

      const byId = await readTar(await save(s, [hex(b.configDigest).slice(0, 12)], 'docker'));
      const idManifest = json(byId, 'manifest.json') as { Config: string; RepoTags: string[] | null; Layers: string[] }[];
      assert.equal(idManifest.length, 1);
      assert.equal(idManifest[0].Config, `${hex(b.configDigest)}.json`);
      assert.equal(idManifest[0].RepoTags, null);
      assert.equal(byId.has('repositories'), false);

      const both = await readTar(await save(s, ['repo/x', 'other:1'], 'docker'));
      const m = json(both, 'manifest.json') as { Config: string; RepoTags: string[] }[];
      assert.deepEqual(m.map((e) => [e.Config, e.RepoTags.sort()]), [
        [`${hex(a.configDigest)}.json`, ['repo/x:1', 'repo/x:2']],
        [`${hex(b.configDigest)}.json`, ['other:1']],
      ]);
      const layerDirs = [...both.keys()].filter((n) => n.endsWith('/layer.tar'));
      assert.equal(layerDirs.length, 3, 'a layer is written once per distinct v1 ID');

      await assert.rejects(save(s, ['nope:1'], 'docker'), /No such image/);
    }));

  it('refuses to save an image whose layer blob is gone, before writing anything', () =>
    withStores(async (s) => {
      const img = await craftImage({ layers: twoLayers, repoTags: ['gone:1'] });
      await load(s, await dockerArchive([img]));
      await s.content.delete(img.diffIds[1]);
      for (const format of ['docker', 'oci'] as const) {
        const out = new PassThrough();
        let bytes = 0;
        out.on('data', (c: Buffer) => (bytes += c.length));
        out.on('error', () => undefined);
        await assert.rejects(saveArchive(['gone:1'], out, s, { format }), /is not in the content store; it cannot be saved/);
        assert.equal(bytes, 0, format);
      }
    }));

  it('round-trips through the OCI image layout', () =>
    withStores(async (s) => {
      const img = await craftImage({ layers: twoLayers, repoTags: ['crafted/oci:1'], compress: 'gzip' });
      await load(s, await dockerArchive([img]));
      const archive = await save(s, ['crafted/oci:1'], 'oci');
      const files = await readTar(archive);
      assert.deepEqual(json(files, 'oci-layout'), { imageLayoutVersion: '1.0.0' });
      const index = json(files, 'index.json') as { manifests: { digest: string; mediaType: string; annotations: Record<string, string> }[] };
      assert.equal(index.manifests.length, 1);
      assert.deepEqual(index.manifests[0].annotations, {
        'io.containerd.image.name': 'docker.io/crafted/oci:1',
        'org.opencontainers.image.ref.name': '1',
      });
      const manifestDigest = index.manifests[0].digest;
      assert.equal(manifestDigest, s.images.get(img.configDigest)!.manifest, 'the stored manifest is reused');
      for (const l of img.layers) assert.ok(files.get(`blobs/sha256/${hex(sha256(l))}`)?.equals(l), 'layers stay compressed');

      await withStores(async (s2) => {
        const { loaded } = await load(s2, archive);
        assert.deepEqual(loaded, [{ id: img.configDigest, tags: ['crafted/oci:1'] }]);
        const rec = s2.images.get(img.configDigest)!;
        assert.equal(rec.manifest, manifestDigest);
        assert.deepEqual(s2.images.imageLayers(rec.id).map((l) => l.diffId), img.diffIds);
        // And back to Docker's format from there.
        const again = await readTar(await save(s2, [img.configDigest], 'docker'));
        const m = json(again, 'manifest.json') as { Layers: string[] }[];
        assert.deepEqual(m[0].Layers.map((p) => sha256(again.get(p)!)), img.diffIds);
      });
    }));
});

describe('load of an OCI image layout', { skip: needsRoot }, () => {
  it('takes names from containerd and full ref.name annotations, ignoring bare tags', () =>
    withStores(async (s) => {
      const a = await craftImage({ layers: twoLayers });
      const b = await craftImage({ layers: [twoLayers[0]] });
      const c = await craftImage({ layers: [twoLayers[1]] });
      const { manifests } = await ociLayout([a, b, c]);
      const desc = (i: number, annotations?: Record<string, string>) => ({ mediaType: mediaTypes.ociManifest, ...manifests[i], ...(annotations ? { annotations } : {}) });
      const { tar } = await ociLayout([a, b, c], {
        index: () => ({
          schemaVersion: 2,
          manifests: [
            desc(0, { 'io.containerd.image.name': 'docker.io/library/busybox:1.36', 'org.opencontainers.image.ref.name': '1.36' }),
            desc(1, { 'org.opencontainers.image.ref.name': 'quay.io/x/y:2' }),
            desc(2, { 'org.opencontainers.image.ref.name': 'latest' }),
          ],
        }),
      });
      const { loaded } = await load(s, tar);
      assert.deepEqual(loaded, [
        { id: a.configDigest, tags: ['busybox:1.36'] },
        { id: b.configDigest, tags: ['quay.io/x/y:2'] },
        { id: c.configDigest, tags: [] },
      ]);
    }));

  it("picks the host's platform from a nested index and skips attestations", () =>
    withStores(async (s) => {
      const host = hostPlatform();
      const other = host.architecture === 'amd64' ? 'arm64' : 'amd64';
      const mine = await craftImage({ layers: twoLayers, config: { architecture: host.architecture } });
      const theirs = await craftImage({ layers: [twoLayers[1]], config: { architecture: other } });
      const { manifests } = await ociLayout([theirs, mine]);
      const nested = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: mediaTypes.ociIndex,
          manifests: [
            { mediaType: mediaTypes.ociManifest, ...manifests[0], platform: { os: 'linux', architecture: other } },
            { mediaType: mediaTypes.ociManifest, ...manifests[1], platform: { os: 'linux', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
            { mediaType: mediaTypes.ociManifest, ...manifests[1], platform: { os: 'linux', architecture: host.architecture } },
          ],
        }),
      );
      const { tar } = await ociLayout([theirs, mine], {
        extraBlobs: [nested],
        index: () => ({
          schemaVersion: 2,
          manifests: [{ mediaType: mediaTypes.ociIndex, digest: sha256(nested), size: nested.length, annotations: { 'io.containerd.image.name': 'docker.io/library/multi:1' } }],
        }),
      });
      const { loaded } = await load(s, tar);
      assert.deepEqual(loaded, [{ id: mine.configDigest, tags: ['multi:1'] }]);
      // The other platform's blobs and the index itself are not kept.
      assert.equal(await s.content.has(theirs.configDigest), false);
      assert.equal(await s.content.has(sha256(nested)), false);
    }));
});

describe('broken archives leave the stores as they were', { skip: needsRoot }, () => {
  const cases: { title: string; archive: () => Promise<Buffer>; error: RegExp }[] = [
    {
      title: 'truncated archive',
      archive: async () => {
        const a = await dockerArchive([await craftImage({ layers: twoLayers, repoTags: ['bad:1'] })]);
        return a.subarray(0, Math.floor(a.length / 2) + 100);
      },
      error: /invalid image archive: .*(truncated|corrupt|unexpected end)/i,
    },
    {
      title: 'corrupt gzip',
      archive: async () => {
        const gz = gzipSync(await dockerArchive([await craftImage({ layers: twoLayers, repoTags: ['bad:1'] })]));
        for (let i = 40; i < 60; i++) gz[i] ^= 0xff;
        return gz;
      },
      error: /invalid image archive: the gzip stream is truncated or corrupt/,
    },
    {
      title: 'truncated gzip',
      archive: async () => {
        const gz = gzipSync(await dockerArchive([await craftImage({ layers: twoLayers, repoTags: ['bad:1'] })]));
        return gz.subarray(0, gz.length - 30);
      },
      error: /invalid image archive: the gzip stream is truncated or corrupt/,
    },
    {
      title: 'truncated zstd',
      archive: async () => {
        if (!zstdAvailable) return gzipSync(Buffer.from('zstd is not installed')).subarray(0, 10);
        const zst = spawnSync('zstd', ['-c'], { input: await dockerArchive([await craftImage({ layers: twoLayers, repoTags: ['bad:1'] })]) }).stdout;
        return zst.subarray(0, Math.floor(zst.length * 0.7));
      },
      error: /invalid image archive: the (zstd|gzip) stream is truncated or corrupt/,
    },
    {
      title: 'not a tar at all',
      archive: async () => randomBytes(4096),
      error: /invalid image archive: the tar stream is truncated or corrupt/,
    },
    {
      title: 'neither manifest.json nor index.json',
      archive: async () => dockerArchive([await craftImage({ layers: twoLayers })], { noManifest: true }),
      error: /neither manifest\.json .* nor index\.json/,
    },
    {
      title: 'manifest.json names a layer that is not in the archive',
      archive: async () => dockerArchive([await craftImage({ layers: twoLayers, repoTags: ['bad:1'] })], { omit: ['layer-0-1/layer.tar'] }),
      error: /manifest\.json names the layer layer-0-1\/layer\.tar, which is not in the archive/,
    },
    {
      title: 'a layer whose bytes do not match its diff ID',
      archive: async () =>
        dockerArchive([await craftImage({ layers: twoLayers, repoTags: ['bad:1'] })], {
          replace: { 'layer-0-1/layer.tar': await tarBuffer([{ name: 'evil', data: 'x' }]) },
        }),
      error: /layer-0-1\/layer\.tar does not match the image config: its content hashes to sha256:\w+, but the config's diff ID is sha256:/,
    },
    {
      title: 'a config with the wrong number of diff IDs',
      archive: async () => dockerArchive([await craftImage({ layers: twoLayers, repoTags: ['bad:1'], diffIds: (d) => d.slice(0, 1) })]),
      error: /lists 1 layers \(rootfs\.diff_ids\) but manifest\.json lists 2/,
    },
    {
      title: 'a good image followed by a broken one',
      archive: async () =>
        dockerArchive([await craftImage({ layers: twoLayers, repoTags: ['good:1'] }), await craftImage({ layers: [twoLayers[1]], repoTags: ['bad:1'] })], {
          omit: ['layer-1-0/layer.tar'],
        }),
      error: /layer-1-0\/layer\.tar, which is not in the archive/,
    },
    {
      title: 'a layer that hashes right but is not a tar (found only when unpacking, after a first image is in)',
      archive: async () => {
        const junk = randomBytes(3000);
        const good = await craftImage({ layers: twoLayers, repoTags: ['good:1'] });
        const bad = await craftImage({ layers: [twoLayers[0]], repoTags: ['bad:1'], diffIds: () => [sha256(junk)] });
        bad.layers = [junk];
        return dockerArchive([good, bad]);
      },
      error: /./,
    },
    {
      title: 'an OCI blob whose bytes do not match its name',
      archive: async () => {
        const img = await craftImage({ layers: twoLayers, repoTags: ['bad:1'] });
        const blob = `blobs/sha256/${hex(img.diffIds[1])}`;
        return (await ociLayout([img], { names: [['bad:1']], replace: { [blob]: Buffer.from('not the layer') } })).tar;
      },
      error: /blobs\/sha256\/\w+ does not match its name \(content digest mismatch: expected sha256:\w+, got sha256:\w+\)/,
    },
    {
      title: 'an OCI manifest naming a blob that is not in the layout',
      archive: async () => {
        const img = await craftImage({ layers: twoLayers });
        return (await ociLayout([img], { omit: [`blobs/sha256/${hex(img.diffIds[0])}`] })).tar;
      },
      error: /names the blob sha256:\w+, which is not in the archive/,
    },
    {
      title: 'an OCI config with the wrong number of diff IDs',
      archive: async () => (await ociLayout([await craftImage({ layers: twoLayers, diffIds: (d) => [...d, d[0]] })])).tar,
      error: /lists 3 layers \(rootfs\.diff_ids\) but manifest sha256:\w+ lists 2/,
    },
  ];

  for (const c of cases) {
    it(`rejects ${c.title}`, () =>
      withStores(async (s) => {
        // An image already there shares the first layer with the broken archives: its blobs
        // must survive the failed load even though the archive brought them again.
        const existing = await craftImage({ layers: [twoLayers[0]], repoTags: ['existing:1'], config: { author: 'existing' } });
        await load(s, await dockerArchive([existing]));
        const before = await storeState(s);
        await assert.rejects(load(s, await c.archive()), (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(err)}`);
          assert.match(err.message, c.error);
          return true;
        });
        assert.deepEqual(await storeState(s), before);
      }));
  }
});

describe('interop with Docker', { skip: needsRoot }, () => {
  it('docker save → berth load → berth save → docker load keeps the image ID', async (t) => {
    if (!(await dockerAvailable())) return t.skip('docker is not reachable (docker info failed)');
    const rootfs = await busyboxRootfs();
    if (!rootfs) return t.skip('no static busybox on this host');
    const name = `berth-test-interop:${randomBytes(6).toString('hex')}`;
    const derived = `${name}-derived`;
    const { dir, cleanup } = tempDir();
    try {
      const imported = await run('docker', ['import', '--change', 'CMD ["/bin/busybox","echo","ok"]', '-', name], rootfs);
      assert.equal(imported.code, 0, imported.stderr);
      const id = imported.stdout.trim();
      // A second image with layers on top, when the classic builder can make one offline.
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${name}\nCOPY Dockerfile /a\nENV X=1\nCOPY Dockerfile /b\n`);
      const built = await run('env', ['DOCKER_BUILDKIT=0', 'docker', 'build', '-q', '-t', derived, dir]);
      const refs = built.code === 0 ? [name, derived] : [name];
      if (built.code !== 0) t.diagnostic(`docker build failed, checking the single-layer image only: ${built.stderr.trim()}`);

      const dockerTar = join(dir, 'docker.tar');
      const saved = await run('docker', ['save', '-o', dockerTar, ...refs]);
      assert.equal(saved.code, 0, saved.stderr);
      const dockerFiles = await readTar(readFileSync(dockerTar));

      await withStores(async (s) => {
        const { loaded } = await load(s, readFileSync(dockerTar));
        assert.ok(loaded.some((l) => l.id === id && l.tags.includes(name)), JSON.stringify(loaded));
        const ours = await save(s, refs, 'docker');
        const berthTar = join(dir, 'berth.tar');
        writeFileSync(berthTar, ours);

        // Same files with the same bytes as Docker's own save: v1 layer IDs, json, manifest.
        const ourFiles = await readTar(ours);
        assert.deepEqual([...ourFiles.keys()].sort(), [...dockerFiles.keys()].sort());
        for (const [n, data] of dockerFiles) {
          if (n === 'manifest.json') {
            const order = (b: Buffer) => (JSON.parse(b.toString()) as { Config: string }[]).sort((x, y) => x.Config.localeCompare(y.Config));
            assert.deepEqual(order(ourFiles.get(n)!), order(data!));
          } else {
            assert.deepEqual(ourFiles.get(n), data, `${n} differs from docker save's`);
          }
        }

        const removed = await run('docker', ['rmi', '-f', ...refs]);
        assert.equal(removed.code, 0, removed.stderr);
        const dockerLoad = await run('docker', ['load', '-i', berthTar]);
        assert.equal(dockerLoad.code, 0, dockerLoad.stderr);
        const inspect = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', name]);
        assert.equal(inspect.stdout.trim(), id);
        const ran = await run('docker', ['run', '--rm', '--network', 'none', name]);
        if (ran.code === 0) assert.equal(ran.stdout.trim(), 'ok');
        else t.diagnostic(`docker run is not usable here: ${ran.stderr.trim()}`);
      });
    } finally {
      await run('docker', ['rmi', '-f', name, derived]);
      cleanup();
      assert.equal(existsSync(dir), false);
    }
  });
});
