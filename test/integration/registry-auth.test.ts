// Authenticated registries, for real: docker-registry with htpasswd (basic) auth behind TLS on
// [::1] (outside Docker's implicit insecure range, so the certificate is verified against the
// CA in certs.d), and docker-registry with token auth backed by a token server in this process.
// Logins go to a Docker config file in a temp dir (DOCKER_CONFIG), never ~/.docker.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { berthAsync } from '../helpers/cli.js';
import { registryAvailable, makeSigningKey, makeTls, startRegistry, startTokenServer, writeHtpasswd, type TestRegistry, type TokenServer } from '../helpers/registry.js';
import { isRoot, tempDir } from '../helpers/root.js';
import { spawnSync } from 'node:child_process';

const haveTools = spawnSync('htpasswd', ['-h']).status !== null && spawnSync('openssl', ['version']).status === 0;
const skip =
  (!isRoot && 'needs root (layers are unpacked with their owners)') ||
  (!registryAvailable && 'docker-registry is not installed') ||
  (!haveTools && 'needs htpasswd (apache2-utils) and openssl');

const savedEnv = { BERTH_CONFIG: process.env.BERTH_CONFIG, DOCKER_CONFIG: process.env.DOCKER_CONFIG };
let work: { dir: string; cleanup: () => void };
let roots = 0;

function freshRoot(): string {
  return join(work.dir, `root-${roots++}`);
}

async function ok(root: string, args: string[], input?: string): Promise<string> {
  const r = await berthAsync(root, args, { input });
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function dockerConfig(): { auths?: Record<string, { auth?: string }> } {
  return JSON.parse(readFileSync(join(process.env.DOCKER_CONFIG!, 'config.json'), 'utf8'));
}

/** A root with the embedded busybox tagged as `name`. */
async function busyboxAs(name: string): Promise<string> {
  const root = freshRoot();
  await ok(root, ['system', 'init']);
  await ok(root, ['tag', 'busybox:latest', name]);
  return root;
}

describe('registries with auth', { skip }, () => {
  before(() => {
    work = tempDir('berth-registry-auth-');
    process.env.BERTH_CONFIG = join(work.dir, 'berth', 'config.json');
    process.env.DOCKER_CONFIG = join(work.dir, 'docker');
    mkdirSync(join(work.dir, 'berth'), { recursive: true });
    writeFileSync(process.env.BERTH_CONFIG, '{}');
  });
  after(() => {
    work?.cleanup();
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  describe('basic auth (htpasswd) behind TLS', () => {
    let registry: TestRegistry;
    before(async () => {
      const tls = makeTls(join(work.dir, 'tls'));
      const htpasswd = join(work.dir, 'htpasswd');
      writeHtpasswd(htpasswd, 'alice', 's3cret');
      registry = await startRegistry(join(work.dir, 'basic'), { listen: '::1', tls, htpasswd });
      // berth's own certs.d sits next to its config file.
      const certs = join(work.dir, 'berth', 'certs.d', registry.host);
      mkdirSync(certs, { recursive: true });
      copyFileSync(tls.caCert, join(certs, 'ca.crt'));
    });
    after(() => registry?.stop());

    it('refuses a registry whose certificate it cannot verify, naming where a CA would go', async () => {
      const other = tempDir('berth-no-ca-');
      try {
        const r = await berthAsync(freshRoot(), ['pull', `${registry.host}/x:1`], { env: { ...process.env, BERTH_CONFIG: join(other.dir, 'config.json') } });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /certificate/i);
        assert.match(r.stderr, /certs\.d/);
      } finally {
        other.cleanup();
      }
    });

    it('rejects a wrong password with a clear error and exit 1, storing nothing', async () => {
      const r = await berthAsync(freshRoot(), ['login', '-u', 'alice', '--password-stdin', registry.host], { input: 'wrong\n' });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /unauthorized: incorrect username or password/);
      assert.doesNotMatch(r.stdout, /Login Succeeded/);
      assert.throws(() => dockerConfig(), /ENOENT/);
    });

    it('anonymous pushes and pulls are refused', async () => {
      const name = `${registry.host}/private/app:v1`;
      const r = await berthAsync(await busyboxAs(name), ['push', name]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /unauthorized: authentication required/);
    });

    it('logs in (0600 config, base64 auth), pushes and pulls, logs out', async () => {
      const root = freshRoot();
      const login = await berthAsync(root, ['login', '-u', 'alice', '-p', 's3cret', registry.host]);
      assert.equal(login.code, 0, login.stderr);
      assert.equal(login.stdout, 'Login Succeeded\n');
      assert.match(login.stderr, /WARNING! Using --password via the CLI is insecure/);
      assert.match(login.stderr, /WARNING! Your password will be stored unencrypted/);
      const file = join(process.env.DOCKER_CONFIG!, 'config.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(dockerConfig().auths?.[registry.host]?.auth, Buffer.from('alice:s3cret').toString('base64'));
      assert.equal(await ok(root, ['login', registry.host]), 'Authenticating with existing credentials...\nLogin Succeeded\n');

      const name = `${registry.host}/private/app:v1`;
      const src = await busyboxAs(name);
      await ok(src, ['push', name]);
      const dst = freshRoot();
      await ok(dst, ['pull', name]);
      const [img] = JSON.parse(await ok(dst, ['image', 'inspect', name]));
      assert.equal(img.RepoDigests.length, 1);
      assert.match(img.RepoDigests[0], new RegExp(`^\\[::1\\]:\\d+/private/app@sha256:[a-f0-9]{64}$`));

      assert.equal(await ok(root, ['logout', registry.host]), `Removing login credentials for ${registry.host}\n`);
      assert.deepEqual(dockerConfig().auths, {});
      assert.equal(await ok(root, ['logout', registry.host]), `Not logged in to ${registry.host}\n`);
      const denied = await berthAsync(freshRoot(), ['pull', name]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /pull access denied for .*private\/app/);
    });
  });

  describe('token auth', () => {
    let registry: TestRegistry;
    let tokens: TokenServer;
    before(async () => {
      const signing = makeSigningKey(join(work.dir, 'token'));
      const service = 'berth-test-registry';
      const issuer = 'berth-test-issuer';
      tokens = await startTokenServer({ users: { bob: 'hunter2' }, issuer, service, key: signing.key, cert: signing.cert });
      registry = await startRegistry(join(work.dir, 'token-registry'), { token: { realm: tokens.url, service, issuer, rootCertBundle: signing.cert } });
    });
    after(async () => {
      await registry?.stop();
      await tokens?.stop();
    });

    it('logs in with a token, pushes and pulls with scoped tokens, and refreshes a refused one', async () => {
      const root = freshRoot();
      const bad = await berthAsync(root, ['login', '-u', 'bob', '--password-stdin', registry.host], { input: 'nope' });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /unauthorized: incorrect username or password/);

      assert.equal((await berthAsync(root, ['login', '-u', 'bob', '--password-stdin', registry.host], { input: 'hunter2\n' })).stdout, 'Login Succeeded\n');
      const name = `${registry.host}/team/tool:v1`;
      const src = await busyboxAs(name);
      tokens.requests.length = 0;
      await ok(src, ['push', name]);
      assert.ok(tokens.requests.some((r) => r.authenticated && r.scopes.includes('repository:team/tool:pull,push')), JSON.stringify(tokens.requests));

      // The registry refuses the first token it sees (expired); berth gets a new one and carries on.
      tokens.requests.length = 0;
      tokens.expireNext = true;
      const dst = freshRoot();
      await ok(dst, ['pull', name]);
      const pulls = tokens.requests.filter((r) => r.scopes.includes('repository:team/tool:pull'));
      assert.equal(pulls.length, 2, `a second token after the refused one: ${JSON.stringify(tokens.requests)}`);
      const [img] = JSON.parse(await ok(dst, ['image', 'inspect', name]));
      assert.equal(img.RepoTags[0], name);

      await ok(root, ['logout', registry.host]);
      const anonymous = await berthAsync(freshRoot(), ['pull', name]);
      assert.equal(anonymous.code, 1);
      assert.match(anonymous.stderr, /pull access denied for .*team\/tool.*: (unauthorized|denied)/);
    });
  });
});
