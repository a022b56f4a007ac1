// Pull and push against a real registry (docker-registry, plain HTTP on loopback, no auth):
// round trips with digests preserved, by digest, all tags, multi-platform indexes, mirrors,
// chunked uploads, cross-repository mounts, and a proxy that corrupts, cuts and fails.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { berthAsync, berthBin, berthOkAsync } from '../helpers/cli.js';
import { craftImage, dockerArchive, dockerAvailable, run, sha256, tarBuffer, twoLayers, type CraftedImage, type TarFile } from '../helpers/images.js';
import { putManifest, registryAvailable, startProxy, startRegistry, uploadBlob, type TestRegistry, saveRegistryEnv } from '../helpers/registry.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = (!isRoot && 'needs root (layers are unpacked with their owners)') || (!registryAvailable && 'docker-registry is not installed');

const dockerUp = await dockerAvailable();
const zstdAvailable = spawnSync('zstd', ['--version']).status === 0;
let work: { dir: string; cleanup: () => void };
let registry: TestRegistry;
let image: CraftedImage;
/** The 1.5 MB of random bytes in the image's middle layer: big enough to cut a download in. */
const bigFile = randomBytes(1536 * 1024);
const layerFiles: TarFile[][] = [
  twoLayers[0],
  [{ name: 'data/', type: 'directory' }, { name: 'data/big.bin', data: bigFile }, { name: 'data/small.txt', data: 'compressible '.repeat(10000) }],
  twoLayers[1],
];
const restoreEnv = saveRegistryEnv();
let roots = 0;

function freshRoot(): string {
  return join(work.dir, `root-${roots++}`);
}

const ok = berthOkAsync;

function setConfig(config: object): void {
  writeFileSync(process.env.BERTH_CONFIG!, JSON.stringify(config));
}

/** A root holding the crafted image under `name`. */
async function rootWith(name: string): Promise<string> {
  const root = freshRoot();
  await ok(root, ['load'], await dockerArchive([image]));
  await ok(root, ['tag', image.configDigest, name]);
  return root;
}

async function registryManifest(repo: string, reference: string): Promise<{ digest: string; body: { config: { digest: string }; layers: { digest: string }[] } }> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(res.status, 200);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { digest: sha256(bytes), body: JSON.parse(bytes.toString()) };
}

function inspect(root: string, ref: string): Promise<{ Id: string; RepoTags: string[]; RepoDigests: string[]; Architecture: string; RootFS: { Layers: string[] } }> {
  return ok(root, ['image', 'inspect', ref]).then((out) => JSON.parse(out)[0]);
}

/** The big file as unpacked in some layer of `root`. */
function unpackedBigFile(root: string): Buffer | undefined {
  for (const name of readdirSync(join(root, 'layers'))) {
    const p = join(root, 'layers', name, 'diff', 'data', 'big.bin');
    if (existsSync(p)) return readFileSync(p);
  }
  return undefined;
}

function storeSummary(root: string): { blobs: string[]; layerDirs: string[]; tmp: string[]; partials: string[] } {
  const list = (p: string): string[] => (existsSync(p) ? readdirSync(p).sort() : []);
  return {
    blobs: list(join(root, 'content', 'blobs', 'sha256')),
    layerDirs: list(join(root, 'layers')).filter((n) => n !== 'l'),
    tmp: list(join(root, 'content', 'tmp')),
    partials: list(join(root, 'content', 'ingest')),
  };
}

/** Uploads a crafted gzip image's blobs to `repo`; returns its OCI manifest, for the caller to put. */
async function uploadOciImage(repo: string, img: CraftedImage): Promise<Buffer> {
  for (const l of img.layers) await uploadBlob(registry.url, repo, l, sha256(l));
  await uploadBlob(registry.url, repo, img.config, img.configDigest);
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.configDigest, size: img.config.length },
    layers: img.layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l), size: l.length })),
  }));
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('registry without auth', { skip }, () => {
  before(async () => {
    work = tempDir('berth-registry-');
    process.env.BERTH_CONFIG = join(work.dir, 'berth.json');
    process.env.DOCKER_CONFIG = join(work.dir, 'docker');
    setConfig({});
    registry = await startRegistry(join(work.dir, 'registry'));
    image = await craftImage({ layers: layerFiles, compress: 'gzip' });
  });
  after(async () => {
    await registry?.stop();
    work?.cleanup();
    restoreEnv();
  });

  it('pushes a multi-layer image and pulls it back with its digests, RepoDigests and files intact', async () => {
    const name = `${registry.host}/round/trip:v1`;
    const src = await rootWith(name);
    const pushOut = await ok(src, ['push', name]);
    const lines = pushOut.trim().split('\n');
    assert.equal(lines[0], `The push refers to repository [${registry.host}/round/trip]`);
    const diffShort = image.diffIds.map((d) => d.slice(7, 19)).reverse();
    assert.deepEqual(lines.filter((l) => l.endsWith(': Preparing')).map((l) => l.split(':')[0]), diffShort, 'layers are listed top first, by diff ID');
    for (const id of diffShort) assert.ok(lines.includes(`${id}: Pushed`), `${id} pushed`);
    const manifest = await registryManifest('round/trip', 'v1');
    assert.match(lines.at(-1)!, new RegExp(`^v1: digest: ${manifest.digest} size: \\d+$`));
    assert.equal(manifest.body.config.digest, image.configDigest);
    assert.deepEqual(manifest.body.layers.map((l) => l.digest), image.layers.map((l) => sha256(l)), 'the compressed layer blobs went up as they were');
    assert.deepEqual((await inspect(src, name)).RepoDigests, [`${registry.host}/round/trip@${manifest.digest}`]);

    const dst = freshRoot();
    const pullOut = await ok(dst, ['pull', name]);
    const layerIds = image.layers.map((l) => sha256(l).slice(7, 19));
    const out = pullOut.split('\n').filter(Boolean);
    assert.equal(out[0], 'v1: Pulling from round/trip');
    assert.deepEqual(out.slice(1, 1 + layerIds.length), layerIds.map((id) => `${id}: Pulling fs layer`));
    assert.deepEqual(out.filter((l) => l.endsWith(': Pull complete')), layerIds.map((id) => `${id}: Pull complete`), 'layers are unpacked in order');
    assert.deepEqual(out.slice(-3), [`Digest: ${manifest.digest}`, `Status: Downloaded newer image for ${name}`, name]);
    assert.ok(!out.some((l) => l.includes('Downloading')), 'no byte counts when the output is not a terminal');
    const pulled = await inspect(dst, name);
    assert.equal(pulled.Id, image.configDigest);
    assert.deepEqual(pulled.RepoTags, [name]);
    assert.deepEqual(pulled.RepoDigests, [`${registry.host}/round/trip@${manifest.digest}`]);
    assert.deepEqual(pulled.RootFS.Layers, image.diffIds);
    for (const l of manifest.body.layers) assert.ok(storeSummary(dst).blobs.includes(l.digest.slice(7)), `blob ${l.digest} stored`);
    assert.ok(storeSummary(dst).blobs.includes(manifest.digest.slice(7)), 'the manifest is stored');
    assert.deepEqual(unpackedBigFile(dst), bigFile);

    const again = await ok(dst, ['pull', name]);
    assert.equal(again, `v1: Pulling from round/trip\nDigest: ${manifest.digest}\nStatus: Image is up to date for ${name}\n${name}\n`);
    assert.equal(await ok(freshRoot(), ['pull', '-q', name]), `${name}\n`);

    // An image sharing the two lower layers: those are not fetched again.
    const sibling = await craftImage({ layers: [layerFiles[0], layerFiles[1], [{ name: 'etc/', type: 'directory' }, { name: 'etc/sibling', data: 'yes\n' }]], compress: 'gzip' });
    const siblingName = `${registry.host}/round/sibling:v1`;
    const siblingSrc = freshRoot();
    await ok(siblingSrc, ['load'], await dockerArchive([sibling]));
    await ok(siblingSrc, ['tag', sibling.configDigest, siblingName]);
    await ok(siblingSrc, ['push', '-q', siblingName]);
    const shared = await ok(dst, ['pull', siblingName]);
    for (const l of sibling.layers.slice(0, 2)) assert.ok(shared.includes(`${sha256(l).slice(7, 19)}: Already exists\n`), shared);
    assert.ok(shared.includes(`${sha256(sibling.layers[2]).slice(7, 19)}: Pull complete\n`), shared);
  });

  it('pulls by digest, keeping the image untagged with its RepoDigest', async () => {
    const name = `${registry.host}/by/digest:v1`;
    await ok(await rootWith(name), ['push', '-q', name]);
    const { digest } = await registryManifest('by/digest', 'v1');
    const dst = freshRoot();
    const out = await ok(dst, ['pull', `${registry.host}/by/digest@${digest}`]);
    assert.match(out, new RegExp(`^${digest}: Pulling from by/digest\n`));
    assert.ok(out.endsWith(`Status: Downloaded newer image for ${registry.host}/by/digest@${digest}\n${registry.host}/by/digest@${digest}\n`));
    const img = await inspect(dst, `${registry.host}/by/digest@${digest}`);
    assert.deepEqual(img.RepoTags, []);
    assert.deepEqual(img.RepoDigests, [`${registry.host}/by/digest@${digest}`]);
    const wrong = await berthAsync(dst, ['pull', `${registry.host}/by/digest@sha256:${'0'.repeat(64)}`]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /not found: manifest unknown/);
  });

  it('push -a and pull -a move every tag; a missing repository is a clear error', async () => {
    const repo = `${registry.host}/all/tags`;
    const src = await rootWith(`${repo}:one`);
    await ok(src, ['tag', `${repo}:one`, `${repo}:two`]);
    assert.equal(await ok(src, ['push', '-a', '-q', repo]), `${repo}\n`);
    const dst = freshRoot();
    const out = await ok(dst, ['pull', '-a', repo]);
    assert.match(out, /^one: Pulling from all\/tags\n/);
    assert.match(out, /\ntwo: Pulling from all\/tags\n/);
    assert.ok(out.endsWith(`Status: Downloaded newer image for ${repo}\n${repo}\n`));
    assert.deepEqual((await inspect(dst, `${repo}:two`)).RepoTags.sort(), [`${repo}:one`, `${repo}:two`]);
    const bad = await berthAsync(dst, ['pull', '-a', `${repo}:one`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /tag can't be used with --all-tags/);
    const missing = await berthAsync(dst, ['pull', `${registry.host}/no/such:thing`]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `Error: manifest for ${registry.host}/no/such:thing not found: manifest unknown: manifest unknown\n`);
  });

  it('selects each platform of a multi-platform index and says which exist when none fits', async () => {
    const repo = 'multi/platform';
    const manifests = [];
    for (const arch of ['amd64', 'arm64']) {
      const img = await craftImage({ layers: [[{ name: `arch-${arch}`, data: arch }]], compress: 'gzip', config: { architecture: arch, os: 'linux' } });
      const m = await uploadOciImage(repo, img);
      await putManifest(registry.url, repo, sha256(m), m, 'application/vnd.oci.image.manifest.v1+json');
      manifests.push({ arch, id: img.configDigest, desc: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(m), size: m.length, platform: { os: 'linux', architecture: arch, ...(arch === 'arm64' ? { variant: 'v8' } : {}) } } });
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: manifests.map((m) => m.desc) }));
    await putManifest(registry.url, repo, 'latest', index, 'application/vnd.oci.image.index.v1+json');
    const indexDigest = sha256(index);
    const name = `${registry.host}/${repo}:latest`;

    for (const { arch, id } of manifests) {
      const dst = freshRoot();
      await ok(dst, ['pull', '--platform', `linux/${arch}`, name]);
      const img = await inspect(dst, name);
      assert.equal(img.Id, id);
      assert.equal(img.Architecture, arch);
      assert.deepEqual(img.RepoDigests, [`${registry.host}/${repo}@${indexDigest}`], 'the repo digest is the index digest, as Docker records it');
      assert.ok(storeSummary(dst).blobs.includes(indexDigest.slice(7)), 'the index is stored');
      if (arch === 'amd64') continue;
      // As Docker: another platform's image warns, unless --platform asked for it.
      const asked = await berthAsync(dst, ['create', '--network', 'none', '--platform', `linux/${arch}`, name, 'true']);
      assert.equal(asked.code, 0, asked.stderr);
      assert.equal(asked.stderr, '');
      const unasked = await berthAsync(dst, ['create', '--network', 'none', name, 'true']);
      assert.equal(unasked.code, 0, unasked.stderr);
      assert.match(unasked.stderr, /^WARNING: The requested image's platform \(linux\/arm64\) does not match the detected host platform \(linux\/amd64\) and no specific platform was requested\n$/);
      await ok(dst, ['rm', asked.stdout.trim(), unasked.stdout.trim()]);
    }
    const none = await berthAsync(freshRoot(), ['pull', '--platform', 'linux/s390x', name]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no matching manifest for linux\/s390x .*\(available: linux\/amd64, linux\/arm64\/v8\)/);
  });

  it('refuses a pulled layer that climbs out of the layer, with the unpacker error, storing no image or layer', async () => {
    // Layers unpack on a worker thread: its errors must reach the user as they are, and a
    // failed unpack must leave nothing behind, the other layers' work included.
    const repo = 'evil/escape';
    const img = await craftImage({
      layers: [twoLayers[0], [{ name: 'ok.txt', data: 'fine' }, { name: '../../escape.txt', data: 'evil' }], twoLayers[1]],
      compress: 'gzip',
    });
    const m = await uploadOciImage(repo, img);
    await putManifest(registry.url, repo, 'v1', m, 'application/vnd.oci.image.manifest.v1+json');
    const dst = freshRoot();
    const r = await berthAsync(dst, ['pull', `${registry.host}/${repo}:v1`]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: layer entry "../../escape.txt" points outside the layer\n');
    assert.equal((await berthAsync(dst, ['images', '-q'])).stdout, '');
    const state = storeSummary(dst);
    assert.deepEqual(state.layerDirs, [], 'no layer is left unpacked');
    assert.ok(!existsSync(join(dst, 'escape.txt')) && !existsSync(join(dst, 'layers', 'escape.txt')), 'nothing is written outside the layer');
  });

  it('pulls zstd and uncompressed layers', { skip: !zstdAvailable && 'zstd is not installed' }, async () => {
    const repo = 'mixed/compression';
    const tars = [await tarBuffer([{ name: 'zstd.txt', data: 'from a zstd layer\n' }]), await tarBuffer([{ name: 'plain.txt', data: 'from a plain layer\n' }])];
    const blobs = [execFileSync('zstd', ['-q', '-c'], { input: tars[0] }), tars[1]];
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256(t)) } }));
    for (const b of [...blobs, config]) await uploadBlob(registry.url, repo, b, sha256(b));
    const m = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha256(blobs[0]), size: blobs[0].length },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(blobs[1]), size: blobs[1].length },
      ],
    }));
    await putManifest(registry.url, repo, 'v1', m, 'application/vnd.oci.image.manifest.v1+json');
    const dst = freshRoot();
    await ok(dst, ['pull', `${registry.host}/${repo}:v1`]);
    const img = await inspect(dst, `${registry.host}/${repo}:v1`);
    assert.deepEqual(img.RootFS.Layers, tars.map((t) => sha256(t)));
    assert.deepEqual(img.RepoDigests, [`${registry.host}/${repo}@${sha256(m)}`]);
    const files = readdirSync(join(dst, 'layers')).flatMap((d) => (existsSync(join(dst, 'layers', d, 'diff')) ? readdirSync(join(dst, 'layers', d, 'diff')) : []));
    assert.deepEqual(files.sort(), ['plain.txt', 'zstd.txt']);
    // Pushed elsewhere, the manifest stays what it was: OCI, zstd and all.
    const again = `${registry.host}/mixed/again:v1`;
    await ok(dst, ['tag', `${registry.host}/${repo}:v1`, again]);
    await ok(dst, ['push', '-q', again]);
    assert.equal((await registryManifest('mixed/again', 'v1')).digest, sha256(m));
  });

  it('pulls through a mirror configured for any registry', async () => {
    const name = `${registry.host}/mirrored/app:v1`;
    await ok(await rootWith(name), ['push', '-q', name]);
    const dead = '127.0.0.1:1';
    setConfig({ 'registry-mirrors': { [dead]: [registry.url] } });
    try {
      const dst = freshRoot();
      await ok(dst, ['pull', `${dead}/mirrored/app:v1`]);
      assert.equal((await inspect(dst, `${dead}/mirrored/app:v1`)).Id, image.configDigest);
    } finally {
      setConfig({});
    }
  });

  it('uploads in chunks when configured, and mounts blobs from another repository', async () => {
    setConfig({ 'upload-chunk-size': 256 * 1024 });
    try {
      const first = `${registry.host}/chunked/one:v1`;
      const src = await rootWith(first);
      await ok(src, ['push', first]);
      const patches = await fetch(`${registry.url}/v2/chunked/one/blobs/${sha256(image.layers[1])}`, { method: 'HEAD' });
      assert.equal(patches.status, 200);
      const second = `${registry.host}/chunked/two:v1`;
      await ok(src, ['tag', first, second]);
      const out = await ok(src, ['push', second]);
      for (const d of image.diffIds) assert.ok(out.includes(`${d.slice(7, 19)}: Mounted from chunked/one\n`), out);
      const dst = freshRoot();
      await ok(dst, ['pull', second]);
      assert.deepEqual(unpackedBigFile(dst), bigFile);
    } finally {
      setConfig({});
    }
  });

  it('sends a failed chunk again from the offset the registry reports, without starting the upload over', async () => {
    setConfig({ 'upload-chunk-size': 256 * 1024 });
    let patches = 0;
    const proxy = await startProxy(registry.url, [{ match: (r) => r.method === 'PATCH' && ++patches === 3, failWith: 503 }]);
    try {
      const name = `${proxy.host}/chunk/retry:v1`;
      const src = await rootWith(name);
      await ok(src, ['push', name]);
      // The big layer is the only blob larger than a chunk: its upload is the only one patched.
      const failed = proxy.log.find((l) => l.method === 'PATCH' && l.contentRange === `${2 * 256 * 1024}-${3 * 256 * 1024 - 1}`);
      assert.ok(failed, JSON.stringify(proxy.log));
      const upload = proxy.log.filter((l) => l.path.split('?')[0] === failed.path.split('?')[0]);
      const failedAt = upload.indexOf(failed);
      assert.equal(upload[failedAt + 1].method, 'GET', 'the upload status is asked for after the failed chunk');
      assert.equal(upload[failedAt + 2].contentRange, upload[failedAt].contentRange, 'the chunk goes again from where the registry stands');
      const posts = proxy.log.filter((l) => l.method === 'POST').length;
      assert.equal(posts, image.layers.length + 1, 'one upload per blob: the failed chunk did not restart its blob');
      const dst = freshRoot();
      await ok(dst, ['pull', name]);
      assert.deepEqual(unpackedBigFile(dst), bigFile);
    } finally {
      setConfig({});
      await proxy.stop();
    }
  });

  it('pushes an uncompressed layer gzip-compressed, as Docker does, and skips it on the next push', async () => {
    const rootfs = await tarBuffer([{ name: 'data/', type: 'directory' }, { name: 'data/big.bin', data: bigFile }, { name: 'data/small.txt', data: 'compressible '.repeat(10000) }]);
    const src = freshRoot();
    const name = `${registry.host}/gzip/on-push:v1`;
    await ok(src, ['import', '-', name], rootfs);
    const local = await inspect(src, name);
    assert.deepEqual(local.RootFS.Layers, [sha256(rootfs)], 'the imported layer is stored as it came, uncompressed');

    const first = await ok(src, ['push', name]);
    const layerId = sha256(rootfs).slice(7, 19);
    assert.ok(first.includes(`${layerId}: Pushed\n`), first);
    const manifest = await registryManifest('gzip/on-push', 'v1');
    const layer = (manifest.body as unknown as { layers: { mediaType: string; digest: string; size: number }[] }).layers[0];
    assert.equal(layer.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    const blob = Buffer.from(await (await fetch(`${registry.url}/v2/gzip/on-push/blobs/${layer.digest}`)).arrayBuffer());
    assert.equal(sha256(blob), layer.digest);
    assert.equal(blob.length, layer.size);
    assert.ok(blob.length < rootfs.length, 'compressed');
    assert.equal(sha256(gunzipSync(blob)), sha256(rootfs), 'the diff ID stays the digest of the uncompressed tar');

    // Pushed again, under another tag: the compressed blob is found, not sent again.
    await ok(src, ['tag', name, `${registry.host}/gzip/on-push:v2`]);
    const second = await ok(src, ['push', `${registry.host}/gzip/on-push:v2`]);
    assert.ok(second.includes(`${layerId}: Layer already exists\n`), second);
    assert.equal((await registryManifest('gzip/on-push', 'v2')).digest, manifest.digest, 'the same manifest both times');

    const dst = freshRoot();
    await ok(dst, ['pull', name]);
    const pulled = await inspect(dst, name);
    assert.equal(pulled.Id, local.Id);
    assert.deepEqual(pulled.RootFS.Layers, [sha256(rootfs)]);
    assert.deepEqual(unpackedBigFile(dst), bigFile);

    if (dockerUp) {
      const r = await run('docker', ['pull', '-q', name]);
      try {
        assert.equal(r.code, 0, r.stderr);
        assert.equal((await run('docker', ['image', 'inspect', '-f', '{{.Id}}', name])).stdout.trim(), local.Id);
      } finally {
        await run('docker', ['rmi', '-f', name]);
      }
    }
  });

  it('retries a push on 5xx answers and connection resets, but not on 4xx', async () => {
    const proxy = await startProxy(registry.url, [
      { match: (r) => r.method === 'PUT' && /\/blobs\/uploads\//.test(r.url ?? ''), failWith: 503, times: 2 },
      { match: (r) => r.method === 'HEAD' && /\/blobs\//.test(r.url ?? ''), cutAfter: 0, times: 1 },
    ]);
    try {
      const name = `${proxy.host}/retry/push:v1`;
      const src = await rootWith(name);
      await ok(src, ['push', name]);
      assert.equal((await registryManifest('retry/push', 'v1')).body.config.digest, image.configDigest);
      assert.ok(proxy.log.filter((l) => l.method === 'POST').length > image.layers.length + 1, 'failed uploads were started again');
    } finally {
      await proxy.stop();
    }
    const refusing = await startProxy(registry.url, [{ match: (r) => r.method === 'POST', failWith: 403 }]);
    try {
      const name = `${refusing.host}/retry/denied:v1`;
      const r = await berthAsync(await rootWith(name), ['push', name]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /unavailable: injected failure/);
      const posts = refusing.log.filter((l) => l.method === 'POST').length;
      assert.ok(posts >= 1 && posts <= image.layers.length, `at most one attempt per blob (${posts}): a 4xx is not retried`);
    } finally {
      await refusing.stop();
    }
  });

  it('fails a pull whose blob is corrupted in transit, storing no image, layer or bad blob', async () => {
    const name = `${registry.host}/corrupt/me:v1`;
    await ok(await rootWith(name), ['push', '-q', name]);
    const bad = sha256(image.layers[1]);
    const proxy = await startProxy(registry.url, [{ match: (r) => r.method === 'GET' && (r.url ?? '').endsWith(`/blobs/${bad}`), corruptAt: 1000 }]);
    try {
      const dst = freshRoot();
      const r = await berthAsync(dst, ['pull', `${proxy.host}/corrupt/me:v1`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^Error: filesystem layer verification failed for digest ${bad}`));
      assert.equal((await berthAsync(dst, ['images', '-q'])).stdout, '');
      const state = storeSummary(dst);
      assert.ok(!state.blobs.includes(bad.slice(7)), 'the corrupt blob is not stored');
      assert.deepEqual(state.layerDirs, [], 'no layer is left unpacked');
      assert.deepEqual(state.tmp, [], 'no temp file is left');

      // The next attempt fetches only what the failed one did not verify and keep.
      const clean = await startProxy(registry.url, []);
      try {
        await ok(dst, ['pull', `${clean.host}/corrupt/me:v1`]);
        const fetched = clean.log.filter((l) => l.method === 'GET' && l.path.includes('/blobs/')).map((l) => l.path.split('/blobs/sha256:')[1]);
        assert.ok(fetched.includes(bad.slice(7)));
        for (const hex of fetched) assert.ok(!state.blobs.includes(hex), `blob ${hex} was already stored and fetched again`);
        assert.deepEqual(unpackedBigFile(dst), bigFile);
      } finally {
        await clean.stop();
      }
    } finally {
      await proxy.stop();
    }
  });

  it('resumes a download cut mid-layer with a Range request and gets the image intact', async () => {
    const name = `${registry.host}/cut/me:v1`;
    await ok(await rootWith(name), ['push', '-q', name]);
    const big = sha256(image.layers[1]);
    const proxy = await startProxy(registry.url, [{ match: (r) => r.method === 'GET' && (r.url ?? '').endsWith(`/blobs/${big}`), cutAfter: 700 * 1024, times: 1 }]);
    try {
      const dst = freshRoot();
      await ok(dst, ['pull', `${proxy.host}/cut/me:v1`]);
      const ranges = proxy.log.filter((l) => l.path.endsWith(`/blobs/${big}`)).map((l) => l.range);
      assert.equal(ranges.length, 2, `one cut, one resume: ${JSON.stringify(ranges)}`);
      assert.equal(ranges[0], undefined);
      const from = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
      assert.ok(from > 0 && from <= 700 * 1024, `resumed from byte ${from}`);
      assert.equal((await inspect(dst, `${proxy.host}/cut/me:v1`)).Id, image.configDigest);
      assert.deepEqual(unpackedBigFile(dst), bigFile);
    } finally {
      await proxy.stop();
    }
  });

  it('resumes, in the next pull, a layer download that a killed berth left half done', async () => {
    const name = `${registry.host}/killed/pull:v1`;
    await ok(await rootWith(name), ['push', '-q', name]);
    const big = sha256(image.layers[1]);
    const stallAt = 600 * 1024;
    const proxy = await startProxy(registry.url, [{ match: (r) => r.method === 'GET' && (r.url ?? '').endsWith(`/blobs/${big}`), stallAfter: stallAt, times: 1 }]);
    const dst = freshRoot();
    const ref = `${proxy.host}/killed/pull:v1`;
    const first = spawn(process.execPath, [berthBin, '--root', dst, '--runroot', join(dst, 'run'), 'pull', ref], { stdio: 'ignore' });
    try {
      const partial = join(dst, 'content', 'ingest', big.slice(7));
      await waitFor(`${stallAt} bytes in ${partial}`, () => existsSync(partial) && statSync(partial).size === stallAt);
      first.kill('SIGKILL');
      await once(first, 'exit');
      // Other layers may have been mid-download too when it was killed.
      assert.ok(storeSummary(dst).partials.includes(big.slice(7)), 'the partial blob outlives the killed pull');

      await ok(dst, ['pull', ref]);
      const ranges = proxy.log.filter((l) => l.path.endsWith(`/blobs/${big}`)).map((l) => l.range);
      assert.deepEqual(ranges, [undefined, `bytes=${stallAt}-`], 'the second pull asked only for the missing bytes');
      assert.equal((await inspect(dst, ref)).Id, image.configDigest);
      assert.deepEqual(unpackedBigFile(dst), bigFile);
      assert.deepEqual(storeSummary(dst).partials, [], 'the partial became the blob');
    } finally {
      if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
      await proxy.stop();
    }

    // A partial nobody resumes is removed by image prune once it is old; a fresh one stays.
    const ingest = join(dst, 'content', 'ingest');
    mkdirSync(ingest, { recursive: true });
    const stale = join(ingest, 'a'.repeat(64));
    const fresh = join(ingest, 'b'.repeat(64));
    writeFileSync(stale, 'half a blob');
    writeFileSync(fresh, 'half a blob');
    const dayAgo = new Date(Date.now() - 24 * 3600 * 1000);
    utimesSync(stale, dayAgo, dayAgo);
    await ok(dst, ['image', 'prune', '-f']);
    assert.deepEqual(storeSummary(dst).partials, ['b'.repeat(64)]);
  });

  it('run and create pull a missing image; --pull always pulls again, --pull never never pulls, -q keeps it quiet', async () => {
    const name = `${registry.host}/run/busybox:v1`;
    // No network: a root's default bridge would outlive the test's roots on the host.
    const src = freshRoot();
    await ok(src, ['rm', (await ok(src, ['create', '--network', 'none', 'busybox'])).trim()]);
    await ok(src, ['tag', 'busybox', name]);
    await ok(src, ['push', '-q', name]);

    const dst = freshRoot();
    const never = await berthAsync(dst, ['run', '--rm', '--network', 'none', '--pull', 'never', name, 'true']);
    assert.equal(never.code, 125, never.stderr);
    assert.match(never.stderr, /No such image/);
    assert.doesNotMatch(never.stderr, /Pulling/);
    assert.equal((await ok(dst, ['images', '-q'])).trim(), '', 'nothing was pulled');

    const first = await berthAsync(dst, ['run', '--rm', '--network', 'none', name, 'echo', 'pulled']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'pulled\n', 'the pull progress is not on stdout');
    const lines = first.stderr.split('\n');
    assert.equal(lines[0], `Unable to find image '${name}' locally`);
    assert.equal(lines[1], 'v1: Pulling from run/busybox');
    assert.ok(lines.some((l) => l.endsWith(': Pull complete')), first.stderr);
    assert.ok(lines.includes(`Status: Downloaded newer image for ${name}`), first.stderr);

    const present = await berthAsync(dst, ['run', '--rm', '--network', 'none', name, 'true']);
    assert.equal(present.code, 0, present.stderr);
    assert.equal(present.stderr, '', 'a present image is not pulled');
    const always = await berthAsync(dst, ['run', '--rm', '--network', 'none', '--pull', 'always', name, 'true']);
    assert.equal(always.code, 0, always.stderr);
    assert.match(always.stderr, new RegExp(`Status: Image is up to date for ${name.replace(/[.]/g, '\\.')}`));
    const quiet = await berthAsync(dst, ['run', '--rm', '--network', 'none', '--pull', 'always', '-q', name, 'true']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '', '-q hides the pull');

    const other = freshRoot();
    const created = await berthAsync(other, ['create', '-q', '--network', 'none', name]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, `Unable to find image '${name}' locally\n`);
    await ok(other, ['rm', created.stdout.trim()]);
    const missing = await berthAsync(other, ['run', '--rm', '--network', 'none', `${registry.host}/run/absent:v1`, 'true']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /absent/);
  });

  it('says clearly that the registry cannot search', async () => {
    const r = await berthAsync(freshRoot(), ['search', `${registry.host}/busybox`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^Error: the registry ${registry.host} does not support search`));
  });

  it('interoperates with Docker both ways', { skip: !dockerUp && 'the Docker daemon is not available' }, async () => {
    const name = `${registry.host}/interop/berth:v1`;
    await ok(await rootWith(name), ['push', '-q', name]);
    const pulled = await run('docker', ['pull', '-q', name]);
    assert.equal(pulled.code, 0, pulled.stderr);
    try {
      const saved = await run('docker', ['image', 'inspect', '-f', '{{.Id}}', name]);
      assert.equal(saved.stdout.trim(), image.configDigest);
      const other = `${registry.host}/interop/docker:v1`;
      assert.equal((await run('docker', ['tag', name, other])).code, 0);
      const pushed = await run('docker', ['push', other]);
      assert.equal(pushed.code, 0, pushed.stderr);
      const dst = freshRoot();
      await ok(dst, ['pull', other]);
      assert.equal((await inspect(dst, other)).Id, image.configDigest);
      assert.deepEqual(unpackedBigFile(dst), bigFile);
    } finally {
      await run('docker', ['rmi', '-f', name, `${registry.host}/interop/docker:v1`]);
    }
  });
});
