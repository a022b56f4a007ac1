// A real registry for tests: Debian's docker-registry (CNCF distribution) on a free loopback
// port with its storage in a temp dir, optionally behind TLS, htpasswd or token auth; a token
// server issuing JWTs the registry trusts; a proxy in front of the registry that misbehaves on
// purpose (corrupts, cuts, fails); and TLS material made with the openssl CLI.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { dirname, join } from 'node:path';

export const registryBinary = '/usr/bin/docker-registry';
export const registryAvailable = existsSync(registryBinary);

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** host:port as an image reference spells it (IPv6 in brackets). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface TlsFiles {
  caCert: string;
  cert: string;
  key: string;
}

/** A CA and a server certificate it signed, valid for ::1, 127.0.0.1 and localhost. */
export function makeTls(dir: string): TlsFiles {
  mkdirSync(dir, { recursive: true });
  const f = (name: string): string => join(dir, name);
  const openssl = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=berth test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:::1,IP:127.0.0.1,DNS:localhost\n');
  openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { caCert: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

/** A client certificate (and its key) that the CA of `tls` signed, for mutual TLS. */
export function makeClientCert(dir: string, tls: TlsFiles): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const f = (name: string): string => join(dir, name);
  const caKey = join(dirname(tls.caCert), 'ca.key');
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=berth test client'], { stdio: 'pipe' });
  execFileSync('openssl', ['x509', '-req', '-in', f('client.csr'), '-CA', tls.caCert, '-CAkey', caKey, '-CAcreateserial', '-out', f('client.cert'), '-days', '2'], { stdio: 'pipe' });
  return { cert: f('client.cert'), key: f('client.key') };
}

/** A self-signed RSA key and certificate for signing tokens. */
export function makeSigningKey(dir: string): { key: string; cert: string } {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, 'token.key');
  const cert = join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=berth test token issuer'], { stdio: 'pipe' });
  return { key, cert };
}

export interface RegistryOptions {
  /** Loopback address to listen on; '::1' is not in Docker's implicit insecure range, so TLS is verified. */
  listen?: '127.0.0.1' | '::1';
  tls?: TlsFiles;
  /** With tls: a CA whose certificates clients must present (mutual TLS). */
  clientCa?: string;
  htpasswd?: string;
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export interface TestRegistry {
  /** host:port, as references spell it. */
  host: string;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startRegistry(dir: string, opts: RegistryOptions = {}): Promise<TestRegistry> {
  const listen = opts.listen ?? '127.0.0.1';
  const port = await freePort(listen);
  const host = hostPort(listen, port);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: "${host}"`,
  ];
  if (opts.tls) lines.push('  tls:', `    certificate: ${opts.tls.cert}`, `    key: ${opts.tls.key}`);
  if (opts.tls && opts.clientCa) lines.push('    clientcas:', `      - ${opts.clientCa}`);
  if (opts.htpasswd) lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${opts.htpasswd}`);
  if (opts.token) {
    lines.push('auth:', '  token:', `    realm: ${opts.token.realm}`, `    service: ${opts.token.service}`, `    issuer: ${opts.token.issuer}`, `    rootcertbundle: ${opts.token.rootCertBundle}`);
  }
  const config = join(dir, 'config.yml');
  writeFileSync(config, lines.join('\n') + '\n');
  const child = spawn(registryBinary, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `${opts.tls ? 'https' : 'http'}://${host}`;
  await waitUntilServing(url, child, () => stderr, opts.clientCa !== undefined);
  return {
    host,
    url,
    dir,
    stop: () => stopProcess(child),
  };
}

/** Up once it answers; with `alertIsAnswer`, a TLS alert (a registry that wants a client certificate) is one too. */
async function waitUntilServing(url: string, child: ChildProcess, stderr: () => string, alertIsAnswer = false): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const mod = url.startsWith('https') ? https : http;
      const req = mod.get(`${url}/v2/`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', (err) => resolve(alertIsAnswer && /alert/i.test(err.message)));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`docker-registry did not come up at ${url}: ${stderr()}`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** htpasswd's bcrypt ($2y$), which the registry's Go bcrypt reads. */
export function writeHtpasswd(file: string, user: string, password: string): void {
  execFileSync('htpasswd', ['-Bbc', file, user, password], { stdio: 'pipe' });
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export interface TokenServer {
  url: string;
  /** Every token request: its scopes and whether it carried valid credentials. */
  requests: { scopes: string[]; account?: string; authenticated: boolean }[];
  /** When set, the next token issued for a non-empty scope is already expired (beyond the registry's leeway). */
  expireNext: boolean;
  stop(): Promise<void>;
}

/**
 * The registry's token auth: Basic credentials checked against `users`, a JWT (RS256, the signing
 * certificate in x5c) granting what was asked for to a known user and nothing to anyone else.
 */
export async function startTokenServer(opts: { users: Record<string, string>; issuer: string; service: string; key: string; cert: string }): Promise<TokenServer> {
  const key = createPrivateKey(readFileSync(opts.key));
  const der = new X509Certificate(readFileSync(opts.cert)).raw;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const auth = req.headers.authorization ?? '';
    let user: string | undefined;
    let authenticated = false;
    if (auth.startsWith('Basic ')) {
      const [u, ...rest] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (opts.users[u] !== rest.join(':')) {
        state.requests.push({ scopes, account: u, authenticated: false });
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = u;
      authenticated = true;
    }
    state.requests.push({ scopes, account: user, authenticated });
    const now = Math.floor(Date.now() / 1000);
    const expired = state.expireNext && scopes.length > 0;
    if (expired) state.expireNext = false;
    const access = authenticated
      ? scopes.map((s) => {
          const [type, ...restParts] = s.split(':');
          const actions = restParts.pop()!.split(',');
          return { type, name: restParts.join(':'), actions };
        })
      : [];
    const header = { typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] };
    const claims = {
      iss: opts.issuer,
      sub: user ?? '',
      aud: opts.service,
      exp: expired ? now - 600 : now + 300,
      nbf: expired ? now - 900 : now - 10,
      iat: expired ? now - 900 : now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${signingInput}.${b64url(sign('sha256', Buffer.from(signingInput), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const state: TokenServer = {
    url: `http://127.0.0.1:${port}/token`,
    requests: [],
    expireNext: false,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
  server.on('connection', (s) => s.unref());
  return state;
}

export interface ProxyRule {
  /** Which requests the rule applies to. */
  match: (req: IncomingMessage) => boolean;
  /** Flip one byte of the response body at this offset. */
  corruptAt?: number;
  /** Send this many body bytes, then cut the connection (0: cut it before any response). */
  cutAfter?: number;
  /** Send this many body bytes, then nothing more, keeping the connection open. */
  stallAfter?: number;
  /** Answer with this status instead of forwarding. */
  failWith?: number;
  /** How many matching requests the rule applies to (then it stops): default every one. */
  times?: number;
}

export interface TestProxy {
  host: string;
  /** Every request seen: method, path, Range and Content-Range headers. */
  log: { method: string; path: string; range?: string; contentRange?: string }[];
  stop(): Promise<void>;
}

/** An HTTP proxy in front of a plain-HTTP registry that applies `rules` to what passes. */
export async function startProxy(target: string, rules: ProxyRule[]): Promise<TestProxy> {
  const targetUrl = new URL(target);
  const log: TestProxy['log'] = [];
  const used = new Map<ProxyRule, number>();
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const contentRange = req.headers['content-range'];
    log.push({ method: req.method ?? '', path: req.url ?? '', range: req.headers.range, contentRange: typeof contentRange === 'string' ? contentRange : undefined });
    const rule = rules.find((r) => r.match(req) && (r.times === undefined || (used.get(r) ?? 0) < r.times));
    if (rule) used.set(rule, (used.get(rule) ?? 0) + 1);
    if (rule?.cutAfter === 0) {
      req.socket.destroy();
      return;
    }
    if (rule?.failWith) {
      req.resume();
      res.writeHead(rule.failWith, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"injected failure"}]}');
      return;
    }
    const upstream = http.request(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (!rule || (rule.corruptAt === undefined && rule.cutAfter === undefined && rule.stallAfter === undefined)) {
          up.pipe(res);
          return;
        }
        let offset = 0;
        up.on('data', (chunk: Buffer) => {
          if (rule.cutAfter !== undefined && offset + chunk.length >= rule.cutAfter) {
            res.write(chunk.subarray(0, rule.cutAfter - offset), () => res.socket?.destroy());
            up.destroy();
            offset = Infinity;
            return;
          }
          if (rule.stallAfter !== undefined && offset + chunk.length >= rule.stallAfter) {
            res.write(chunk.subarray(0, rule.stallAfter - offset));
            up.destroy();
            offset = Infinity;
            return;
          }
          if (rule.corruptAt !== undefined && rule.corruptAt >= offset && rule.corruptAt < offset + chunk.length) {
            chunk = Buffer.from(chunk);
            chunk[rule.corruptAt - offset] ^= 0xff;
          }
          offset += chunk.length;
          res.write(chunk);
        });
        up.on('end', () => res.end());
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  server.on('connection', (s) => s.unref());
  return {
    host: `127.0.0.1:${port}`,
    log,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Uploads a blob to a plain-HTTP registry the simple way (POST, then PUT with the bytes). */
export async function uploadBlob(registryUrl: string, repo: string, data: Buffer, digest: string): Promise<void> {
  const start = await fetch(`${registryUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`POST upload: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location')!, registryUrl);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: new Uint8Array(data), headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`PUT blob: ${put.status} ${await put.text()}`);
}

export async function putManifest(registryUrl: string, repo: string, reference: string, data: Buffer, mediaType: string): Promise<void> {
  const res = await fetch(`${registryUrl}/v2/${repo}/manifests/${reference}`, { method: 'PUT', body: new Uint8Array(data), headers: { 'content-type': mediaType } });
  if (res.status !== 201) throw new Error(`PUT manifest: ${res.status} ${await res.text()}`);
}

/** The registry tests point BERTH_CONFIG and DOCKER_CONFIG at files of their own: this puts the process's own back. */
export function saveRegistryEnv(): () => void {
  const saved = { BERTH_CONFIG: process.env.BERTH_CONFIG, DOCKER_CONFIG: process.env.DOCKER_CONFIG };
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
