// Pulled images and their names against a real registry (docker-registry, plain HTTP on
// loopback): an image whose layers another image brought in another compression can be pushed,
// `images` lists digest references as Docker does, and `rmi` of a repository's last tag takes
// its digest references along.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { packTree } from '../../src/storage/tree-tar.js';
import { berthAsync, berthOkAsync } from '../helpers/cli.js';
import { craftImage, dockerArchive, sha256, type CraftedImage } from '../helpers/images.js';
import { putManifest, registryAvailable, startRegistry, uploadBlob, type TestRegistry, saveRegistryEnv } from '../helpers/registry.js';
import { isRoot, tempDir } from '../helpers/root.js';

const zstdAvailable = spawnSync('zstd', ['--version']).status === 0;
const skip =
  (!isRoot && 'needs root (layers are unpacked with their owners)') ||
  (!registryAvailable && 'docker-registry is not installed') ||
  (!zstdAvailable && 'zstd is not installed');

let work: { dir: string; cleanup: () => void };
let registry: TestRegistry;
let roots = 0;
const restoreEnv = saveRegistryEnv();

/** Two layers packed the way berth packs a tree, so that berth can pack them again to the same tars. */
let tars: Buffer[];
let diffIds: string[];
/** The same layers as two images: gzip in share/one, zstd in share/two (configs differ by a label). */
let one: { config: Buffer; id: string; blobs: Buffer[]; digest: string };
let two: { config: Buffer; id: string; blobs: Buffer[]; digest: string };

function freshRoot(): string {
  return join(work.dir, `root-${roots++}`);
}

const ok = berthOkAsync;

function inspect(root: string, ref: string): Promise<{ Id: string; RepoTags: string[]; RepoDigests: string[]; RootFS: { Layers: string[] } }> {
  return ok(root, ['image', 'inspect', ref]).then((out) => JSON.parse(out)[0]);
}

/** A directory tree with fixed times, packed by berth's tree packer. */
async function packedLayer(dir: string, files: Record<string, string>): Promise<Buffer> {
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  const fixed = new Date('2024-05-06T07:08:09Z');
  const touch = (p: string): void => {
    for (const n of readdirSync(p, { withFileTypes: true })) {
      if (n.isDirectory()) touch(join(p, n.name));
      utimesSync(join(p, n.name), fixed, fixed);
    }
  };
  touch(dir);
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  const chunks: Buffer[] = [];
  try {
    for await (const c of packTree(fd, '', { name: '' })) chunks.push(c as Buffer);
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks);
}

/** Puts an image (config, blobs, manifest) into `repo` under `tag`; returns the manifest digest. */
async function putImage(repo: string, tag: string, config: Buffer, blobs: Buffer[], flavour: 'docker-gzip' | 'oci-zstd'): Promise<string> {
  for (const b of blobs) await uploadBlob(registry.url, repo, b, sha256(b));
  await uploadBlob(registry.url, repo, config, sha256(config));
  const docker = flavour === 'docker-gzip';
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: blobs.map((b) => ({
        mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+zstd',
        digest: sha256(b),
        size: b.length,
      })),
    }),
  );
  await putManifest(registry.url, repo, tag, manifest, docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json');
  return sha256(manifest);
}

async function registryLayers(repo: string, reference: string): Promise<string[]> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, {
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
}

/** A file as unpacked in some layer of `root`. */
function unpackedFile(root: string, path: string): string | undefined {
  for (const name of readdirSync(join(root, 'layers'))) {
    const p = join(root, 'layers', name, 'diff', path);
    if (existsSync(p)) return readFileSync(p, 'utf8');
  }
  return undefined;
}

function blobPath(root: string, digest: string): string {
  return join(root, 'content', 'blobs', 'sha256', digest.slice('sha256:'.length));
}

function storedBlobs(root: string): string[] {
  return readdirSync(join(root, 'content', 'blobs', 'sha256')).sort();
}

/** A root that pulled share/one, then share/two (whose layers then "Already exists"), then removed share/one. */
async function rootWithTwoOnly(): Promise<string> {
  const root = freshRoot();
  await ok(root, ['pull', `${registry.host}/share/one:v1`]);
  const pulled = await ok(root, ['pull', `${registry.host}/share/two:v1`]);
  assert.equal(pulled.split('\n').filter((l) => l.endsWith(': Already exists')).length, 2, pulled);
  await ok(root, ['rmi', `${registry.host}/share/one:v1`]);
  return root;
}

/** Pulls `ref` into a fresh root and checks it is the image of share/two, files and all. */
async function pullsBackIntact(ref: string): Promise<void> {
  const root = freshRoot();
  await ok(root, ['pull', ref]);
  const img = await inspect(root, ref);
  assert.equal(img.Id, two.id);
  assert.deepEqual(img.RootFS.Layers, diffIds);
  assert.equal(unpackedFile(root, 'srv/one.txt'), 'the first layer\n');
  assert.equal(unpackedFile(root, 'srv/deeper/two.txt'), 'the second layer\n');
}

describe('pulled images and their names', { skip }, () => {
  before(async () => {
    work = tempDir('berth-registry-images-');
    process.env.BERTH_CONFIG = join(work.dir, 'berth.json');
    process.env.DOCKER_CONFIG = join(work.dir, 'docker');
    writeFileSync(process.env.BERTH_CONFIG, '{}');
    registry = await startRegistry(join(work.dir, 'registry'));
    tars = [
      await packedLayer(join(work.dir, 'tree-1'), { 'srv/one.txt': 'the first layer\n', 'etc/os-release': 'ID=packed\n' }),
      await packedLayer(join(work.dir, 'tree-2'), { 'srv/deeper/two.txt': 'the second layer\n' }),
    ];
    diffIds = tars.map(sha256);
    const config = (which: string): Buffer =>
      Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-05-06T07:08:09Z', config: { Labels: { which } }, rootfs: { type: 'layers', diff_ids: diffIds } }));
    const image = async (which: string, blobs: Buffer[], flavour: 'docker-gzip' | 'oci-zstd') => {
      const c = config(which);
      return { config: c, id: sha256(c), blobs, digest: await putImage(`share/${which}`, 'v1', c, blobs, flavour) };
    };
    one = await image('one', tars.map((t) => gzipSync(t)), 'docker-gzip');
    two = await image('two', tars.map((t) => execFileSync('zstd', ['-q', '-c'], { input: t })), 'oci-zstd');
  });
  after(async () => {
    await registry?.stop();
    work?.cleanup();
    restoreEnv();
  });

  it('pushes an image whose layers were already there from another compression, with the blobs the store has', async () => {
    const root = await rootWithTwoOnly();
    // The gzip blobs share/one brought are now the blobs share/two's layers have.
    for (const b of one.blobs) assert.ok(existsSync(blobPath(root, sha256(b))), 'the layer blobs stay after rmi of the image that brought them');
    await ok(root, ['tag', `${registry.host}/share/two:v1`, `${registry.host}/share/three:v1`]);
    await ok(root, ['push', `${registry.host}/share/three:v1`]);
    assert.deepEqual(await registryLayers('share/three', 'v1'), one.blobs.map(sha256));
    await pullsBackIntact(`${registry.host}/share/three:v1`);
    // save has the blobs too.
    await ok(root, ['save', '-o', join(work.dir, 'two.tar'), `${registry.host}/share/two:v1`]);
  });

  it('packs a layer whose blob is gone again from its files when they make the same tar, and says so when they do not', async () => {
    const root = await rootWithTwoOnly();
    // As a root from before berth kept a blob for such layers: none is stored for them.
    for (const b of one.blobs) rmSync(blobPath(root, sha256(b)));
    await ok(root, ['tag', `${registry.host}/share/two:v1`, `${registry.host}/share/four:v1`]);
    await ok(root, ['push', `${registry.host}/share/four:v1`]);
    const pushed = await registryLayers('share/four', 'v1');
    for (const d of pushed) assert.ok(existsSync(blobPath(root, d)), 'the gzip blob made for the push is kept');
    await pullsBackIntact(`${registry.host}/share/four:v1`);
    // Recorded on the image: the next push knows where the registry has the blobs.
    await ok(root, ['tag', `${registry.host}/share/two:v1`, `${registry.host}/share/five:v1`]);
    const again = await ok(root, ['push', `${registry.host}/share/five:v1`]);
    assert.equal(again.split('\n').filter((l) => l.endsWith(': Mounted from share/four')).length, 2, again);

    // Layers packed by another tool (tar-stream here) do not come out the same: a clear error, nothing left behind.
    const other = freshRoot();
    const crafted: CraftedImage = await craftImage({ layers: [[{ name: 'crafted.txt', data: 'crafted\n' }]], compress: 'gzip', repoTags: [`${registry.host}/share/odd:v1`] });
    await ok(other, ['load'], await dockerArchive([crafted]));
    rmSync(blobPath(other, sha256(crafted.layers[0])));
    const before = storedBlobs(other);
    const failed = await berthAsync(other, ['push', `${registry.host}/share/odd:v1`]);
    assert.equal(failed.code, 1);
    assert.match(
      failed.stderr,
      new RegExp(`^Error: image ${crafted.configDigest}: the blob of layer ${crafted.diffIds[0]} is not in the content store, and its files pack to a different tar \\(sha256:[a-f0-9]{64}\\), so it cannot be pushed\n$`),
    );
    assert.deepEqual(storedBlobs(other), before);
  });

  it('lists a digest reference of another repository than the tags as a row of its own, as Docker', async () => {
    const root = freshRoot();
    const mine: CraftedImage = { config: one.config, configDigest: one.id, layers: one.blobs, diffIds, repoTags: ['mine:latest'] };
    await ok(root, ['load'], await dockerArchive([mine]));
    const byDigest = `${registry.host}/share/one@${one.digest}`;
    await ok(root, ['pull', byDigest]);
    assert.deepEqual((await inspect(root, 'mine')).RepoDigests, [byDigest]);
    const rows = async (args: string[]): Promise<string[]> => (await ok(root, ['images', ...args])).split('\n').filter(Boolean);
    const short = one.id.slice(7, 19);
    const table = (await rows(['--digests'])).map((l) => l.split(/\s{2,}/).slice(0, 4));
    assert.deepEqual(table, [
      ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID'],
      ['mine', 'latest', '<none>', short],
      [`${registry.host}/share/one`, '<none>', one.digest, short],
    ]);
    assert.deepEqual((await rows([])).map((l) => l.split(/\s{2,}/).slice(0, 3)), [
      ['REPOSITORY', 'TAG', 'IMAGE ID'],
      ['mine', 'latest', short],
      [`${registry.host}/share/one`, '<none>', short],
    ]);
    // Without --digests, a digest-only row has no digest even when the format asks for one.
    assert.deepEqual(await rows(['--format', '{{.Repository}} {{.Tag}} [{{.Digest}}]']), ['mine latest [<none>]', `${registry.host}/share/one <none> []`]);
    assert.deepEqual((await rows([`${registry.host}/share/one`])).map((l) => l.split(/\s{2,}/).slice(0, 3)), [
      ['REPOSITORY', 'TAG', 'IMAGE ID'],
      [`${registry.host}/share/one`, '<none>', short],
    ]);
    assert.deepEqual(await rows(['--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}', 'mine']), ['mine latest <none>']);
    assert.deepEqual(await rows(['-q', `${registry.host}/share/*`]), [short]);

    // Digest-only, the image is both dangling (no tag) and not (it has a name), as in Docker.
    assert.equal(await ok(root, ['rmi', 'mine']), 'Untagged: mine:latest\n');
    assert.deepEqual(await rows(['--filter', 'dangling=true', '--format', '{{.Repository}} {{.Tag}}']), [`${registry.host}/share/one <none>`]);
    assert.deepEqual(await rows(['--filter', 'dangling=false', '--format', '{{.Repository}} {{.Tag}}']), [`${registry.host}/share/one <none>`]);

    // A tag in the same repository shows the digest beside it, and no row of its own.
    await ok(root, ['tag', byDigest, `${registry.host}/share/one:v1`]);
    assert.deepEqual(await rows(['--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}']), [`${registry.host}/share/one v1 ${one.digest}`]);
  });

  it("rmi of a repository's last tag untags its digest references too, as Docker", async () => {
    const root = freshRoot();
    const repo = `${registry.host}/share/one`;
    await ok(root, ['pull', `${repo}:v1`]);
    await ok(root, ['tag', `${repo}:v1`, `${repo}:v2`]);
    await ok(root, ['tag', `${repo}:v1`, 'other:latest']);
    assert.equal(await ok(root, ['rmi', `${repo}:v1`]), `Untagged: ${repo}:v1\n`, 'another tag of the repository keeps its digest');
    assert.equal(await ok(root, ['rmi', `${repo}:v2`]), `Untagged: ${repo}:v2\nUntagged: ${repo}@${one.digest}\n`);
    const img = await inspect(root, 'other');
    assert.deepEqual(img.RepoTags, ['other:latest']);
    assert.deepEqual(img.RepoDigests, []);
    assert.equal(await ok(root, ['rmi', 'other']), `Untagged: other:latest\nDeleted: ${one.id}\n`);

    // By ID: one repository's tag and digest go unforced; names in two repositories need -f.
    await ok(root, ['pull', `${repo}:v1`]);
    assert.equal(await ok(root, ['rmi', one.id.slice(7, 19)]), `Untagged: ${repo}:v1\nUntagged: ${repo}@${one.digest}\nDeleted: ${one.id}\n`);
    await ok(root, ['pull', `${repo}@${one.digest}`]);
    await ok(root, ['tag', one.id, 'other:latest']);
    const refused = await berthAsync(root, ['rmi', one.id.slice(7, 19)]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `Error: conflict: unable to delete ${one.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories\n`);
    assert.equal(await ok(root, ['rmi', '-f', one.id.slice(7, 19)]), `Untagged: other:latest\nUntagged: ${repo}@${one.digest}\nDeleted: ${one.id}\n`);
  });

  it('records pull and push events as Docker: the reference as given, name= its repository, labels when it names an image', async () => {
    const root = freshRoot();
    const repo = `${registry.host}/share/one`;
    const ev = `${registry.host}/share/events`;
    const since = String(Math.floor(Date.now() / 1000) - 1);
    await ok(root, ['pull', `${repo}:v1`]);
    await ok(root, ['pull', `${repo}@${one.digest}`]);
    await ok(root, ['pull', '-a', repo]);
    await ok(root, ['tag', `${repo}:v1`, `${ev}:v1`]);
    await ok(root, ['push', `${ev}:v1`]);
    await ok(root, ['push', '-a', ev]);
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const events = await ok(root, ['events', '--since', since, '--until', until, '--filter', 'event=pull', '--filter', 'event=push', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}']);
    const parsed = events.trim().split('\n').map((l) => {
      const [type, action, id, attributes] = l.split(' ');
      return [type, action, id, JSON.parse(attributes)];
    });
    assert.deepEqual(parsed, [
      ['image', 'pull', `${repo}:v1`, { which: 'one', name: repo }],
      ['image', 'pull', `${repo}@${one.digest}`, { which: 'one', name: repo }],
      // With -a the reference is the repository's, which names no image (no :latest here).
      ['image', 'pull', repo, { name: repo }],
      ['image', 'push', `${ev}:v1`, { which: 'one', name: ev }],
      ['image', 'push', ev, { name: ev }],
    ]);
  });
});
