// Cold pull of a ~300 MB, six-layer gzip image from a local registry (docker-registry on
// loopback): berth (fresh --root each run) against podman and docker (which, like berth, verify,
// decompress and unpack every layer), skopeo to a dir: (which only downloads and verifies), and
// the floor, curl fetching every blob to /dev/null. Each tool starts with nothing of the image;
// runs are interleaved so machine noise hits all alike; medians are reported. The layers hold
// big incompressible files (media, compressed archives) and big compressible ones (binaries,
// libraries); SMALL_FILES=1 makes every third layer a tree of thousands of small text files
// (a distribution's /usr, node_modules) instead, whose per-file cost big files hide. berth runs
// through its launcher, as its users run it (bench/launcher.mjs). Needs root and a built dist/.
// Env: RUNS (default 3), LAYER_MB (default 50), SMALL_FILES.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { writeLauncher } from './launcher.mjs';

const runs = Number(process.env.RUNS ?? 3);
const layerMb = Number(process.env.LAYER_MB ?? 50);
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const sha256 = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-pull-'));
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
const launcher = writeLauncher(work);

/**
 * A layer of files: 5 MB files of random bytes (incompressible) or of text-like bytes
 * (compressible), or many small text files (0.5-8 KB, 100 to a directory).
 */
async function layerTar(index, kind) {
  const pack = tar.pack();
  const chunks = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(Buffer.from(c));
  })();
  const add = (header, data) => new Promise((resolve, reject) => pack.entry({ mode: 0o644, mtime: new Date(0), ...header }, data, (e) => (e ? reject(e) : resolve())));
  let files = 0;
  if (kind === 'small') {
    const pool = Buffer.from(randomBytes(4 << 20).toString('hex'));
    for (let bytes = 0, f = 0; bytes < layerMb << 20; f++) {
      if (f % 100 === 0) await add({ name: `layer${index}/dir${f / 100}/`, type: 'directory', mode: 0o755 });
      const size = 512 + ((f * 7919) % (8 << 10));
      const at = (f * 104729) % (pool.length - size);
      await add({ name: `layer${index}/dir${Math.floor(f / 100)}/file${f}.txt` }, pool.subarray(at, at + size));
      bytes += size;
      files++;
    }
  } else {
    const fileMb = 5;
    for (let f = 0; f < layerMb / fileMb; f++) {
      // Hex text of random bytes gzips to about half, like typical binaries and libraries.
      const data = kind === 'random' ? randomBytes(fileMb << 20) : Buffer.from(randomBytes(fileMb << 19).toString('hex'));
      await add({ name: `layer${index}/file${f}` }, data);
      files++;
    }
  }
  pack.finalize();
  await done;
  return { tar: Buffer.concat(chunks), files };
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function time(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', ...opts });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return s;
}

// ---- the image, as a docker save archive berth loads and pushes once ----
console.log(`building a ${6 * layerMb} MB image in 6 gzip layers...`);
const layers = [];
const kinds = process.env.SMALL_FILES === '1' ? ['random', 'text', 'small'] : ['random', 'text'];
let fileCount = 0;
for (let i = 0; i < 6; i++) {
  const { tar: t, files } = await layerTar(i, kinds[i % kinds.length]);
  fileCount += files;
  layers.push({ diffId: sha256(t), blob: gzipSync(t, { level: 6 }) });
}
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }));
const archive = tar.pack();
const archiveFile = join(work, 'image.tar');
const archiveOut = (await import('node:fs')).createWriteStream(archiveFile);
archive.pipe(archiveOut);
const entry = (name, data) => new Promise((resolve, reject) => archive.entry({ name }, data, (e) => (e ? reject(e) : resolve())));
await entry(`blobs/sha256/${sha256(config).slice(7)}`, config);
for (const l of layers) await entry(`blobs/sha256/${sha256(l.blob).slice(7)}`, l.blob);
await entry('manifest.json', JSON.stringify([{ Config: `blobs/sha256/${sha256(config).slice(7)}`, RepoTags: ['bench/pull:v1'], Layers: layers.map((l) => `blobs/sha256/${sha256(l.blob).slice(7)}`) }]));
archive.finalize();
await new Promise((resolve) => archiveOut.on('close', resolve));
const compressed = config.length + layers.reduce((n, l) => n + l.blob.length, 0);
console.log(`compressed size ${(compressed / 1e6).toFixed(1)} MB (${layers.map((l) => (l.blob.length / 1e6).toFixed(0)).join(' + ')} MB), ${fileCount} files`);

// ---- the registry ----
const port = await freePort();
const host = `127.0.0.1:${port}`;
mkdirSync(join(work, 'registry'));
writeFileSync(join(work, 'registry.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\nhttp:\n  addr: ${host}\n`);
const registry = spawn('/usr/bin/docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
children.push(registry);
for (let i = 0; i < 100 && spawnSync('curl', ['-sf', `http://${host}/v2/`]).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
const ref = `${host}/bench/pull:v1`;
const seed = join(work, 'seed-root');
execFileSync(launcher, ['--root', seed, 'load', '-i', archiveFile], { stdio: 'ignore' });
execFileSync(launcher, ['--root', seed, 'tag', 'bench/pull:v1', ref], { stdio: 'ignore' });
execFileSync(launcher, ['--root', seed, 'push', '-q', ref], { stdio: 'ignore' });
rmSync(seed, { recursive: true, force: true });
rmSync(archiveFile);

// ---- the contenders ----
const blobUrls = [sha256(config), ...layers.map((l) => sha256(l.blob))].map((d) => `http://${host}/v2/bench/pull/blobs/${d}`);
const cases = [
  {
    name: 'curl (floor, 3 parallel)',
    run: () => time('curl', ['-sf', '--parallel', '--parallel-max', '3', ...blobUrls.flatMap((u) => ['-o', '/dev/null', u])]),
  },
  {
    name: 'berth pull',
    run: () => {
      const root = join(work, 'berth-root');
      rmSync(root, { recursive: true, force: true });
      const s = time(launcher, ['--root', root, '--runroot', join(work, 'berth-run'), 'pull', '-q', ref], { env: { ...process.env, BERTH_CONFIG: join(work, 'berth.json') } });
      rmSync(root, { recursive: true, force: true });
      return s;
    },
  },
];
if (which('skopeo')) {
  cases.push({
    name: 'skopeo copy (dir:, no unpack)',
    run: () => {
      const dir = join(work, 'skopeo');
      rmSync(dir, { recursive: true, force: true });
      const s = time('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `dir:${dir}`]);
      rmSync(dir, { recursive: true, force: true });
      return s;
    },
  });
}
if (which('podman')) {
  cases.push({
    name: 'podman pull',
    run: () => {
      spawnSync('podman', ['rmi', '-f', ref], { stdio: 'ignore' });
      const s = time('podman', ['pull', '-q', '--tls-verify=false', ref]);
      spawnSync('podman', ['rmi', '-f', ref], { stdio: 'ignore' });
      return s;
    },
  });
}
if (which('docker') && spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0) {
  cases.push({
    name: 'docker pull',
    run: () => {
      spawnSync('docker', ['rmi', '-f', ref], { stdio: 'ignore' });
      const s = time('docker', ['pull', '-q', ref]);
      spawnSync('docker', ['rmi', '-f', ref], { stdio: 'ignore' });
      return s;
    },
  });
}

const times = new Map(cases.map((c) => [c.name, []]));
for (let i = 0; i < runs; i++) {
  for (const c of cases) {
    spawnSync('sync');
    times.get(c.name).push(c.run());
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const results = cases.map((c) => ({ name: c.name, s: median(times.get(c.name)) }));
const floor = results[0].s;
const berth = results.find((r) => r.name === 'berth pull');
const fastest = (list) => (list.length ? list.reduce((a, b) => (a.s <= b.s ? a : b)) : undefined);
const unpacking = fastest(results.filter((r) => r.name === 'podman pull' || r.name === 'docker pull'));
const any = fastest(results.filter((r) => r !== berth && r !== results[0]));
console.log(`\ncold pull of ${(compressed / 1e6).toFixed(0)} MB compressed (${6 * layerMb} MB unpacked, ${fileCount} files), median of ${runs} runs`);
for (const r of results) {
  console.log(`${r.name.padEnd(30)} ${r.s.toFixed(2).padStart(6)} s  ${(compressed / 1e6 / r.s).toFixed(0).padStart(5)} MB/s   x${(r.s / floor).toFixed(2)} the curl floor`);
}
if (unpacking) console.log(`berth / fastest that unpacks (${unpacking.name}): x${(berth.s / unpacking.s).toFixed(2)}`);
if (any) console.log(`berth / fastest of all (${any.name}): x${(berth.s / any.s).toFixed(2)}`);
console.log(`berth / curl floor: x${(berth.s / floor).toFixed(2)}`);
// The registry child keeps the event loop alive; exiting runs the cleanup above.
process.exit(0);
