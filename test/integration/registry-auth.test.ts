// Authenticated registries, for real: docker-registry with htpasswd (basic) auth behind TLS on
// [::1] (outside Docker's implicit insecure range, so the certificate is verified against the
// CA in certs.d), and docker-registry with token auth backed by a token server in this process.
// Logins go to a Docker config file in a temp dir (DOCKER_CONFIG), never ~/.docker.
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { berthAsync, berthBin, berthOkAsync } from '../helpers/cli.js';
import { craftImage, dockerArchive } from '../helpers/images.js';
import { registryAvailable, makeClientCert, makeSigningKey, makeTls, startRegistry, startTokenServer, writeHtpasswd, type TestRegistry, type TokenServer, saveRegistryEnv } from '../helpers/registry.js';
import { isRoot, tempDir } from '../helpers/root.js';
import { spawn, spawnSync } from 'node:child_process';

const haveTools = spawnSync('htpasswd', ['-h']).status !== null && spawnSync('openssl', ['version']).status === 0;
const havePython = spawnSync('python3', ['-c', 'import pty']).status === 0;
const skip =
  (!isRoot && 'needs root (layers are unpacked with their owners)') ||
  (!registryAvailable && 'docker-registry is not installed') ||
  (!haveTools && 'needs htpasswd (apache2-utils) and openssl');

const restoreEnv = saveRegistryEnv();
let work: { dir: string; cleanup: () => void };
let roots = 0;

function freshRoot(): string {
  return join(work.dir, `root-${roots++}`);
}

const ok = berthOkAsync;

function dockerConfig(): { auths?: Record<string, { auth?: string }> } {
  return JSON.parse(readFileSync(join(process.env.DOCKER_CONFIG!, 'config.json'), 'utf8'));
}

/**
 * Runs berth on a pseudo-terminal (python3's pty module), typing each answer once its prompt
 * has appeared; resolves with everything the terminal showed and berth's exit code.
 */
function berthOnTty(root: string, args: string[], answers: [prompt: string, answer: string][], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  const driver = `
import json, os, pty, select, sys, time
answers = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b''
deadline = time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if not ready:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if answers and answers[0][0].encode() in out:
        os.write(fd, answers.pop(0)[1].encode())
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', driver, JSON.stringify(answers), process.execPath, berthBin, '--root', root, '--runroot', root + '/run', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
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
    restoreEnv();
  });

  describe('basic auth (htpasswd) behind TLS', () => {
    let registry: TestRegistry;
    let caCert: string;
    before(async () => {
      const tls = makeTls(join(work.dir, 'tls'));
      caCert = tls.caCert;
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
        // The certs.d berth reads: next to its config file, wherever BERTH_CONFIG puts it.
        assert.ok(r.stderr.includes(`put its CA certificate in ${join(other.dir, 'certs.d', registry.host, 'ca.crt')}`), r.stderr);
        assert.ok(r.stderr.includes(`list ${registry.host} in "insecure-registries" in ${join(other.dir, 'config.json')}`), r.stderr);
      } finally {
        other.cleanup();
      }
    });

    it('trusts the CA certificates named by NODE_EXTRA_CA_CERTS, also when the launcher sets them aside', async () => {
      const other = tempDir('berth-extra-ca-');
      try {
        // berth's launcher as scripts/setup.sh installs it, pointing at the built CLI.
        const launcher = join(other.dir, 'berth');
        writeFileSync(launcher, readFileSync(new URL('../../../scripts/launcher.sh.in', import.meta.url), 'utf8').replace('@BUNDLE@', berthBin), { mode: 0o755 });
        const env: NodeJS.ProcessEnv = { ...process.env, BERTH_CONFIG: join(other.dir, 'config.json'), NODE_EXTRA_CA_CERTS: caCert };
        delete env.BERTH_EXTRA_CA_CERTS;
        const root = freshRoot();
        for (const [cmd, args] of [[launcher, []], [process.execPath, [berthBin]]] as const) {
          // No certs.d for this registry: the certificate verifies only against the extra CA, and the
          // pull gets as far as the registry's refusal of an anonymous client.
          const r = spawnSync(cmd, [...args, '--root', root, '--runroot', join(root, 'run'), 'pull', `${registry.host}/x:1`], { env, encoding: 'utf8' });
          assert.equal(r.status, 1, r.stderr);
          assert.doesNotMatch(r.stderr, /certificate/i);
          assert.match(r.stderr, /unauthorized: authentication required/);
        }
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

    it('asks for the username and password on a terminal', { skip: !havePython && 'needs python3 for a pseudo-terminal' }, async () => {
      const env = { ...process.env, DOCKER_CONFIG: join(work.dir, 'docker-tty') };
      const r = await berthOnTty(freshRoot(), ['login', registry.host], [['Username: ', 'alice\r'], ['Password: ', 's3cret\r']], env);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /Login Succeeded/);
      assert.doesNotMatch(r.output, /Error|ExperimentalWarning/);
      const saved = JSON.parse(readFileSync(join(env.DOCKER_CONFIG, 'config.json'), 'utf8'));
      assert.equal(saved.auths[registry.host].auth, Buffer.from('alice:s3cret').toString('base64'));
    });

    it('writes a login through a symlinked config.json, which stays a link', async () => {
      const dir = join(work.dir, 'docker-linked');
      const dotfiles = join(work.dir, 'dotfiles');
      mkdirSync(dir);
      mkdirSync(dotfiles);
      const target = join(dotfiles, 'docker.json');
      writeFileSync(target, JSON.stringify({ auths: {}, detachKeys: 'ctrl-x' }), { mode: 0o644 });
      symlinkSync('../dotfiles/docker.json', join(dir, 'config.json'));
      const env = { ...process.env, DOCKER_CONFIG: dir };
      const login = await berthAsync(freshRoot(), ['login', '-u', 'alice', '--password-stdin', registry.host], { input: 's3cret\n', env });
      assert.equal(login.code, 0, login.stderr);
      assert.ok(lstatSync(join(dir, 'config.json')).isSymbolicLink(), 'config.json is still a symlink');
      const saved = JSON.parse(readFileSync(target, 'utf8'));
      assert.equal(saved.auths[registry.host].auth, Buffer.from('alice:s3cret').toString('base64'));
      assert.equal(saved.detachKeys, 'ctrl-x', 'the rest of the file is kept');
      assert.equal(statSync(target).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(dotfiles), ['docker.json'], 'the temp file was renamed in the target\'s directory');
      assert.deepEqual(readdirSync(dir), ['config.json']);

      const logout = await berthAsync(freshRoot(), ['logout', registry.host], { env });
      assert.equal(logout.code, 0, logout.stderr);
      assert.ok(lstatSync(join(dir, 'config.json')).isSymbolicLink());
      assert.deepEqual(JSON.parse(readFileSync(target, 'utf8')).auths, {});
    });
  });

  describe('mutual TLS (client certificates)', () => {
    let registry: TestRegistry;
    let tls: ReturnType<typeof makeTls>;
    before(async () => {
      tls = makeTls(join(work.dir, 'mtls'));
      registry = await startRegistry(join(work.dir, 'mtls-registry'), { listen: '::1', tls, clientCa: tls.caCert });
    });
    after(() => registry?.stop());

    it('says a client certificate is needed and where it goes, then uses the one put there', async () => {
      const certs = join(work.dir, 'berth', 'certs.d', registry.host);
      mkdirSync(certs, { recursive: true });
      copyFileSync(tls.caCert, join(certs, 'ca.crt'));
      const name = `${registry.host}/mtls/app:v1`;
      const src = await busyboxAs(name);

      const missing = await berthAsync(src, ['push', name]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /remote error: tls: (certificate required|bad certificate)/);
      assert.ok(missing.stderr.includes(`the registry asks for a client certificate: put it in ${join(certs, 'client.cert')} and its key in ${join(certs, 'client.key')}`), missing.stderr);
      assert.doesNotMatch(missing.stderr, /vouch|CA certificate/);

      // A certificate from a CA the registry does not know.
      const stranger = makeSigningKey(join(work.dir, 'stranger'));
      copyFileSync(stranger.cert, join(certs, 'client.cert'));
      copyFileSync(stranger.key, join(certs, 'client.key'));
      const refused = await berthAsync(src, ['push', name]);
      assert.equal(refused.code, 1);
      assert.ok(refused.stderr.includes(`the registry refused the client certificate in ${certs}`), refused.stderr);

      const client = makeClientCert(join(work.dir, 'mtls-client'), tls);
      copyFileSync(client.cert, join(certs, 'client.cert'));
      copyFileSync(client.key, join(certs, 'client.key'));
      await ok(src, ['push', name]);
      await ok(freshRoot(), ['pull', name]);
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

    it('fetches one token per scope for a many-layer push and pull, however many requests need it at once', async () => {
      const env = { ...process.env, DOCKER_CONFIG: join(work.dir, 'docker-layers') };
      const login = await berthAsync(freshRoot(), ['login', '-u', 'bob', '--password-stdin', registry.host], { input: 'hunter2\n', env });
      assert.equal(login.code, 0, login.stderr);
      const image = await craftImage({ layers: Array.from({ length: 7 }, (_, i) => [{ name: `layer-${i}.txt`, data: `layer ${i}\n`.repeat(1000 * (i + 1)) }]), compress: 'gzip' });
      const name = `${registry.host}/team/layers:v1`;
      const src = freshRoot();
      await ok(src, ['load'], await dockerArchive([image]));
      await ok(src, ['tag', image.configDigest, name]);

      const perScope = (): Record<string, number> => {
        const counts: Record<string, number> = {};
        for (const r of tokens.requests) counts[r.scopes.join(' ')] = (counts[r.scopes.join(' ')] ?? 0) + 1;
        return counts;
      };
      tokens.requests.length = 0;
      const push = await berthAsync(src, ['push', name], { env });
      assert.equal(push.code, 0, push.stderr);
      assert.deepEqual(perScope(), { 'repository:team/layers:pull,push': 1 });

      tokens.requests.length = 0;
      const pull = await berthAsync(freshRoot(), ['pull', name], { env });
      assert.equal(pull.code, 0, pull.stderr);
      assert.deepEqual(perScope(), { 'repository:team/layers:pull': 1 });
    });
  });
});
