// What the registry commands tell the user, against real registries (docker-registry, plain
// HTTP on loopback): Docker's error for a plain-HTTP registry not listed as insecure, "Pulling
// from" only for a pull that found its manifest, search's columns (from a small search index
// served here, as docker-registry has none), and the registry section of `info`.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { berthAsync } from '../helpers/cli.js';
import { freePort, registryAvailable, startRegistry, type TestRegistry, saveRegistryEnv } from '../helpers/registry.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = (!isRoot && 'needs root (layers are unpacked with their owners)') || (!registryAvailable && 'docker-registry is not installed');
const restoreEnv = saveRegistryEnv();
let work: { dir: string; cleanup: () => void };
let roots = 0;

function freshRoot(): string {
  return join(work.dir, `root-${roots++}`);
}

function setConfig(config: object): void {
  writeFileSync(process.env.BERTH_CONFIG!, JSON.stringify(config));
}

describe('registry messages', { skip }, () => {
  /** Plain HTTP on 127.0.0.1, insecure by Docker's rule. */
  let local: TestRegistry;
  /** Plain HTTP on ::1, which no rule makes insecure. */
  let v6: TestRegistry;
  before(async () => {
    work = tempDir('berth-registry-messages-');
    mkdirSync(join(work.dir, 'etc'));
    process.env.BERTH_CONFIG = join(work.dir, 'etc', 'config.json');
    process.env.DOCKER_CONFIG = join(work.dir, 'docker');
    setConfig({});
    local = await startRegistry(join(work.dir, 'local'));
    v6 = await startRegistry(join(work.dir, 'v6'), { listen: '::1' });
  });
  after(async () => {
    await local?.stop();
    await v6?.stop();
    work?.cleanup();
    restoreEnv();
  });

  it('says a plain-HTTP registry gave an HTTP response to an HTTPS client, and names the setting', async () => {
    setConfig({});
    const r = await berthAsync(freshRoot(), ['pull', `${v6.host}/app:v1`]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`GET "https://${v6.host}/v2/": http: server gave HTTP response to HTTPS client`), r.stderr);
    assert.ok(r.stderr.includes(`list ${v6.host} in "insecure-registries" in ${process.env.BERTH_CONFIG}`), r.stderr);
    assert.doesNotMatch(r.stderr, /EPROTO|wrong version number/);

    // Listed, it is reached over HTTP: the answer is now the registry's own.
    setConfig({ 'insecure-registries': [v6.host] });
    const listed = await berthAsync(freshRoot(), ['pull', `${v6.host}/app:v1`]);
    assert.equal(listed.code, 1);
    assert.match(listed.stderr, /manifest unknown|not found/);
    setConfig({});
  });

  it('prints "Pulling from" only once the registry has the manifest', async () => {
    const missingTag = await berthAsync(freshRoot(), ['pull', `${local.host}/nothing/here:v1`]);
    assert.equal(missingTag.code, 1);
    assert.match(missingTag.stderr, /not found|manifest unknown/);
    assert.equal(missingTag.stdout, '');

    const down = await berthAsync(freshRoot(), ['pull', `127.0.0.1:${await freePort()}/app`]);
    assert.equal(down.code, 1);
    assert.equal(down.stdout, 'Using default tag: latest\n');
  });

  it('search shows Docker\'s columns: NAME DESCRIPTION STARS OFFICIAL', async () => {
    const results = [
      { name: 'library/busybox', description: 'Busybox base image.', star_count: 3000, is_official: true, is_automated: false },
      { name: 'someone/busybox', description: 'Mine.', star_count: 2, is_official: false, is_automated: true },
    ];
    const index = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/v2/') return res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (url.pathname === '/v1/search') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ query: url.searchParams.get('q'), results }));
      res.writeHead(404).end();
    });
    const port = await freePort();
    await new Promise<void>((resolve) => index.listen(port, '127.0.0.1', resolve));
    try {
      const r = await berthAsync(freshRoot(), ['search', `127.0.0.1:${port}/busybox`]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.deepEqual(lines[0].split(/\s{2,}/), ['NAME', 'DESCRIPTION', 'STARS', 'OFFICIAL']);
      assert.deepEqual(lines[1].split(/\s{2,}/), ['library/busybox', 'Busybox base image.', '3000', '[OK]']);
      assert.deepEqual(lines[2].trimEnd().split(/\s{2,}/), ['someone/busybox', 'Mine.', '2']);
      const automated = await berthAsync(freshRoot(), ['search', '--format', '{{.Name}} {{.IsAutomated}}', `127.0.0.1:${port}/busybox`]);
      assert.equal(automated.stdout, 'library/busybox \nsomeone/busybox [OK]\n', 'templates still have IsAutomated');
    } finally {
      index.closeAllConnections();
      await new Promise((resolve) => index.close(resolve));
    }
  });

  it('info shows the insecure registries and mirrors, as text and as RegistryConfig', async () => {
    setConfig({
      'insecure-registries': ['myregistry.example:5000', '10.1.2.3/8', 'fd00:1::5/32'],
      'registry-mirrors': { 'docker.io': ['https://hub-mirror.example'], 'quay.io': ['http://10.0.0.9:5000'] },
    });
    try {
      const root = freshRoot();
      const text = await berthAsync(root, ['info']);
      assert.equal(text.code, 0, text.stderr);
      const section = text.stdout.slice(text.stdout.indexOf(' Insecure Registries:'));
      assert.equal(
        section,
        [
          ' Insecure Registries:',
          '  myregistry.example:5000',
          '  10.0.0.0/8',
          '  fd00:1::/32',
          '  127.0.0.0/8',
          ' Registry Mirrors:',
          '  https://hub-mirror.example/',
          '  http://10.0.0.9:5000/ (quay.io)',
          '',
        ].join('\n'),
      );
      const json = await berthAsync(root, ['info', '-f', '{{json .RegistryConfig}}']);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), {
        InsecureRegistryCIDRs: ['10.0.0.0/8', 'fd00:1::/32', '127.0.0.0/8'],
        IndexConfigs: {
          'myregistry.example:5000': { Name: 'myregistry.example:5000', Mirrors: [], Secure: false, Official: false },
          'quay.io': { Name: 'quay.io', Mirrors: ['http://10.0.0.9:5000/'], Secure: true, Official: false },
          'docker.io': { Name: 'docker.io', Mirrors: ['https://hub-mirror.example/'], Secure: true, Official: true },
        },
        Mirrors: ['https://hub-mirror.example/'],
      });

      setConfig({});
      const plain = await berthAsync(root, ['info']);
      assert.ok(plain.stdout.endsWith(' Insecure Registries:\n  127.0.0.0/8\n'), plain.stdout);
    } finally {
      setConfig({});
    }
  });
});
