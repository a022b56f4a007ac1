// berth's registry settings and Docker's config.json: insecure registries, mirrors, and
// credentials in the file or in a credential helper (a fake one on PATH).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errors.js';
import { credentialKey, decodeAuthEntry, DockerCredentials, dockerHubKey, findAuthEntry, hostnameOf, parseDockerConfig } from '../../src/image/registry/credentials.js';
import { isInsecureRegistry, parseRegistrySettings, registryServiceConfig, splitHostPort } from '../../src/image/registry/settings.js';
import { tempDir } from '../helpers/root.js';

test('settings: defaults, Docker Hub mirrors as a list, any registry\'s as an object', () => {
  const d = parseRegistrySettings('{}', '/etc/berth/config.json');
  assert.deepEqual(d.insecureRegistries, []);
  assert.equal(d.maxConcurrentDownloads, 3);
  assert.equal(d.maxConcurrentUploads, 5);
  assert.equal(d.uploadChunkSize, 0);
  assert.deepEqual(d.certsDirs, ['/etc/berth/certs.d', '/etc/docker/certs.d']);
  const hub = parseRegistrySettings('{"registry-mirrors": ["https://mirror.example"]}', '/x/c.json');
  assert.deepEqual(hub.mirrors['docker.io'].map(String), ['https://mirror.example/']);
  const any = parseRegistrySettings('{"registry-mirrors": {"quay.io": ["http://10.0.0.1:5000"], "index.docker.io": ["https://m"]}, "max-concurrent-downloads": 6}', '/x/c.json');
  assert.deepEqual(any.mirrors['quay.io'].map(String), ['http://10.0.0.1:5000/']);
  assert.deepEqual(any.mirrors['docker.io'].map(String), ['https://m/']);
  assert.equal(any.maxConcurrentDownloads, 6);
});

test('settings as info\'s RegistryConfig: ranges as Go prints them, 127.0.0.0/8 once, names insecure, mirrors per registry', () => {
  const config = registryServiceConfig(
    parseRegistrySettings(
      JSON.stringify({
        'insecure-registries': ['127.0.0.0/8', '192.168.7.9/16', 'reg:5000', '2001:db8:0:0:1::/64', '2001:db8::1:0:0:1/128', '::/0', '1:0:0:2:0:0:0:3/128'],
        'registry-mirrors': ['https://m.example'],
      }),
      '/x/c.json',
    ),
  );
  assert.deepEqual(config.InsecureRegistryCIDRs, ['127.0.0.0/8', '192.168.0.0/16', '2001:db8::/64', '2001:db8::1:0:0:1/128', '::/0', '1:0:0:2::3/128']);
  assert.deepEqual(config.IndexConfigs, {
    'reg:5000': { Name: 'reg:5000', Mirrors: [], Secure: false, Official: false },
    'docker.io': { Name: 'docker.io', Mirrors: ['https://m.example/'], Secure: true, Official: true },
  });
  assert.deepEqual(config.Mirrors, ['https://m.example/']);
  assert.deepEqual(registryServiceConfig(parseRegistrySettings('{}', '/x/c.json')), {
    InsecureRegistryCIDRs: ['127.0.0.0/8'],
    IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } },
    Mirrors: [],
  });
});

test('settings: mistakes are reported with the file and the key', () => {
  const bad = (text: string, pattern: RegExp): void => {
    assert.throws(() => parseRegistrySettings(text, '/x/c.json'), (e: unknown) => e instanceof InvalidArgumentError && pattern.test(e.message) && e.message.includes('/x/c.json'));
  };
  bad('{', /not valid JSON/);
  bad('[]', /not a JSON object/);
  bad('{"insecure-registries": "a"}', /insecure-registries/);
  bad('{"insecure-registries": ["http://a:5000"]}', /without a scheme/);
  bad('{"insecure-registries": ["10.0.0.0/99"]}', /not a valid CIDR/);
  bad('{"registry-mirrors": ["ftp://m"]}', /http:\/\/ or https:\/\//);
  bad('{"registry-mirrors": ["https://m/some/path"]}', /scheme:\/\/host\[:port\] only/);
  bad('{"registry-mirrors": "https://m"}', /registry-mirrors/);
  bad('{"max-concurrent-downloads": 0}', /at least 1/);
});

test('insecure registries: loopback as Docker has it, names, ranges; ::1 stays secure', () => {
  const none = { insecureRegistries: [] };
  assert.equal(isInsecureRegistry('127.0.0.1:5000', [], none), true);
  assert.equal(isInsecureRegistry('127.5.6.7', [], none), true);
  assert.equal(isInsecureRegistry('localhost:5000', ['127.0.0.1'], none), true);
  assert.equal(isInsecureRegistry('[::1]:5000', [], none), false);
  assert.equal(isInsecureRegistry('registry.example:5000', ['93.184.216.34'], none), false);
  const some = { insecureRegistries: ['registry.example:5000', 'plain.example', '10.0.0.0/8', 'fd00::/8'] };
  assert.equal(isInsecureRegistry('registry.example:5000', [], some), true);
  assert.equal(isInsecureRegistry('registry.example:5001', [], some), false);
  assert.equal(isInsecureRegistry('plain.example:443', [], some), true);
  assert.equal(isInsecureRegistry('internal.example', ['10.1.2.3'], some), true);
  assert.equal(isInsecureRegistry('[fd12::1]:5000', [], some), true);
  assert.equal(isInsecureRegistry('[fe80::1]:5000', [], some), false);
  assert.deepEqual(splitHostPort('[::1]:5000'), { host: '::1', port: '5000' });
  assert.deepEqual(splitHostPort('a.b:1'), { host: 'a.b', port: '1' });
  assert.deepEqual(splitHostPort('a.b'), { host: 'a.b' });
});

test('credential keys: Docker Hub\'s URL, else host[:port]', () => {
  assert.equal(credentialKey(undefined), dockerHubKey);
  assert.equal(credentialKey('docker.io'), dockerHubKey);
  assert.equal(credentialKey('https://index.docker.io/v1/'), dockerHubKey);
  assert.equal(credentialKey('registry-1.docker.io'), dockerHubKey);
  assert.equal(credentialKey('https://localhost:5000/v2/'), 'localhost:5000');
  assert.equal(credentialKey('[::1]:5000'), '[::1]:5000');
  assert.equal(hostnameOf('http://a.example:1/x/y'), 'a.example:1');
});

test('config.json: entries found by host whatever their spelling, auth decoded', () => {
  const config = parseDockerConfig(
    JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') }, 'http://reg.example:5000/v2/': { auth: Buffer.from('u:p:with:colons').toString('base64') }, 'other.example': {} } }),
    'config.json',
  );
  assert.deepEqual(decodeAuthEntry(findAuthEntry(config, dockerHubKey)!, 'f'), { username: 'hub', password: 'pw' });
  assert.deepEqual(decodeAuthEntry(findAuthEntry(config, 'reg.example:5000')!, 'f'), { username: 'u', password: 'p:with:colons' });
  assert.equal(decodeAuthEntry(findAuthEntry(config, 'other.example')!, 'f'), undefined);
  assert.equal(findAuthEntry(config, 'nowhere.example'), undefined);
  assert.deepEqual(decodeAuthEntry({ identitytoken: 'tok' }, 'f'), { username: '', password: '', identityToken: 'tok' });
  assert.throws(() => decodeAuthEntry({ auth: Buffer.from('nocolon').toString('base64') }, 'f'), InvalidArgumentError);
  assert.throws(() => parseDockerConfig('{"auths": []}', 'f'), InvalidArgumentError);
  assert.throws(() => parseDockerConfig('nope', 'f'), /not valid JSON/);
});

test('the file store: 0600, other keys kept, erase by any spelling', async () => {
  const { dir, cleanup } = tempDir('berth-dockercfg-');
  try {
    const store = new DockerCredentials(join(dir, 'docker'));
    assert.equal(await store.get('localhost:5000'), undefined);
    mkdirSync(join(dir, 'docker'));
    writeFileSync(join(dir, 'docker', 'config.json'), JSON.stringify({ psFormat: 'table {{.ID}}', auths: {} }));
    assert.deepEqual(await store.store('https://localhost:5000', { username: 'u', password: 'p' }), { key: 'localhost:5000', plaintext: true });
    const file = join(dir, 'docker', 'config.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const written = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(written.psFormat, 'table {{.ID}}');
    assert.deepEqual(written.auths, { 'localhost:5000': { auth: Buffer.from('u:p').toString('base64') } });
    assert.deepEqual(await store.get('localhost:5000'), { username: 'u', password: 'p' });
    assert.equal(await store.erase('http://localhost:5000/'), true);
    assert.equal(await store.erase('localhost:5000'), false);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).auths, {});
  } finally {
    cleanup();
  }
});

test('a credential helper keeps the secret; the file only remembers the login', async () => {
  const { dir, cleanup } = tempDir('berth-credhelper-');
  const path = process.env.PATH;
  try {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // A helper speaking Docker's protocol, keeping one secret per server in files.
    writeFileSync(
      join(bin, 'docker-credential-fake'),
      `#!/bin/sh
store="${dir}/secrets"; mkdir -p "$store"
case "$1" in
  store) cat > "$store/last"; server=$(sed 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/' "$store/last"); cp "$store/last" "$store/$(echo "$server" | tr '/:' '__')" ;;
  get) read -r server; f="$store/$(echo "$server" | tr '/:' '__')"; if [ -f "$f" ]; then sed 's/"ServerURL":"[^"]*",//' "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) read -r server; f="$store/$(echo "$server" | tr '/:' '__')"; [ -f "$f" ] || { echo "credentials not found in native keychain"; exit 1; }; rm "$f" ;;
esac
`,
    );
    chmodSync(join(bin, 'docker-credential-fake'), 0o755);
    process.env.PATH = `${bin}:${path}`;
    mkdirSync(join(dir, 'docker'));
    writeFileSync(join(dir, 'docker', 'config.json'), JSON.stringify({ credHelpers: { 'reg.example': 'fake' } }));
    const store = new DockerCredentials(join(dir, 'docker'));
    assert.equal(await store.get('reg.example'), undefined);
    assert.deepEqual(await store.store('reg.example', { username: 'u', password: 'secret' }), { key: 'reg.example', plaintext: false });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'docker', 'config.json'), 'utf8')).auths, { 'reg.example': {} });
    assert.deepEqual(await store.get('reg.example'), { username: 'u', password: 'secret' });
    assert.equal(await store.get('elsewhere.example'), undefined, 'other registries use the file');
    assert.equal(await store.erase('reg.example'), true);
    assert.equal(await store.get('reg.example'), undefined);
  } finally {
    process.env.PATH = path;
    cleanup();
  }
});
