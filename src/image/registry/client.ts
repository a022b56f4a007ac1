// The distribution API client: one RegistryHost per registry (or mirror) per process, which
// finds the endpoint (HTTPS, or HTTP for an insecure registry), answers its auth challenges
// (basic, or bearer tokens fetched once per scope, that fetch shared by the requests waiting
// for it, and cached until they expire or are refused),
// follows redirects to blob storage, and retries transient failures.
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { lazy } from '../../builtins.js';
import { ForbiddenError, UnavailableError, errnoCode } from '../../errors.js';
import { parseWwwAuthenticate, type Challenge } from './challenge.js';
import type { Credentials, DockerCredentials } from './credentials.js';
import { describeErrorBody, responseError } from './errors.js';
import { canonicalDomain, isInsecureRegistry, splitHostPort, type RegistrySettings } from './settings.js';
import { drain, isTransientNetworkError, readBody, send, tlsConfigFor, type Body, type TlsConfig } from './transport.js';

export interface RequestOptions {
  method: string;
  /** A path below the endpoint ("/v2/…") or an absolute URL (an upload's Location). */
  path: string | URL;
  headers?: Record<string, string>;
  /** Called once per attempt: a retry needs a fresh body stream. */
  body?: () => Body;
  /** Token scopes the request needs: "repository:<name>:pull[,push]". */
  scopes: string[];
  /** Retry on connection resets, 5xx and 429. Only for requests that are safe to repeat. */
  retry?: boolean;
  signal?: AbortSignal;
}

interface Endpoint {
  url: URL;
  tls: TlsConfig;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * A token for one set of scopes, fetched or being fetched: the requests that need it while it
 * is on its way (a push's layers, checked and uploaded side by side) wait for the same fetch.
 */
interface TokenEntry {
  promise: Promise<CachedToken>;
  /** Set once the token is in. */
  expiresAt?: number;
}

const maxAttempts = 5;
const maxRedirects = 10;
/** Docker's floor: a token is good for at least a minute, whatever expires_in says. */
const minTokenLifetimeS = 60;
/** Tokens are renewed this long before they expire, so that none expires in flight. */
const tokenMarginMs = 5_000;

export function backoffMs(attempt: number): number {
  return Math.min(200 * 2 ** attempt, 5_000);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/** Waits for `promise` unless `signal` aborts first. */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Merges scopes per resource ("repository:a:pull" + "repository:a:push" →
 * "repository:a:pull,push") and sorts them, so equal needs share one cached token.
 */
export function mergeScopes(scopes: string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const scope of scopes) {
    for (const s of scope.split(' ').filter(Boolean)) {
      const colon = s.lastIndexOf(':');
      if (colon < 0) continue;
      const resource = s.slice(0, colon);
      const actions = byResource.get(resource) ?? new Set<string>();
      for (const a of s.slice(colon + 1).split(',').filter(Boolean)) actions.add(a);
      byResource.set(resource, actions);
    }
  }
  return [...byResource].map(([r, a]) => `${r}:${[...a].sort().join(',')}`).sort();
}

export function repositoryScope(path: string, actions: string): string {
  return `repository:${path}:${actions}`;
}

/**
 * What went wrong with a connection, in Docker's words where Docker has some, with a hint at
 * the setting that would fix it: the certs.d directory berth reads for the host (`settings`
 * says where, next to berth's config file) or the config file's insecure-registries.
 */
function networkErrorDetail(url: URL, err: unknown, tls: TlsConfig, settings: RegistrySettings): string {
  const e = err as Error & { code?: string };
  if (url.protocol !== 'https:') return e.message;
  const text = `${e.message} ${e.code ?? ''}`;
  const dir = tls.source ?? join(settings.certsDirs[0], url.host);
  const insecure = `list ${url.host} in "insecure-registries" in ${settings.configFile}`;
  // OpenSSL's reading of an HTTP answer as a TLS record.
  if (/wrong version number|WRONG_VERSION_NUMBER|packet length too long|PACKET_LENGTH_TOO_LONG/i.test(text)) {
    // Unverified TLS means the host is insecure already, and its HTTP endpoint is tried next.
    const hint = tls.rejectUnauthorized ? ` (if ${url.host} serves plain HTTP, ${insecure})` : '';
    return `http: server gave HTTP response to HTTPS client${hint}`;
  }
  // The server's alerts about the client's certificate (missing, or not one it accepts), as Go
  // names them.
  const alert = /alert (bad certificate|certificate required|unknown ca)/i.exec(text)?.[1].toLowerCase();
  if (alert) {
    const remote = `remote error: tls: ${alert === 'unknown ca' ? 'unknown certificate authority' : alert}`;
    return tls.cert
      ? `${remote} (the registry refused the client certificate in ${dir})`
      : `${remote} (the registry asks for a client certificate: put it in ${join(dir, 'client.cert')} and its key in ${join(dir, 'client.key')})`;
  }
  if (/certificate|self.signed|CERT_|unable to verify/i.test(text)) {
    return tls.ca
      ? `${e.message} (the CAs in ${dir} do not vouch for it)`
      : `${e.message} (put its CA certificate in ${join(dir, 'ca.crt')}, or ${insecure})`;
  }
  return e.message;
}

export class RegistryHost {
  /** Where requests go for Docker Hub's name. */
  static hubEndpoint = 'registry-1.docker.io';

  private endpoint?: Endpoint;
  private connecting?: Promise<Endpoint>;
  private challenge?: Challenge;
  private credentials?: Promise<Credentials | undefined>;
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly tlsByHost = new Map<string, Promise<TlsConfig>>();

  /**
   * `domain` names the registry as references do (docker.io, host:port) and picks the
   * credentials; `fixed` is a mirror's URL, used instead of working the endpoint out.
   */
  constructor(
    readonly domain: string,
    private readonly settings: RegistrySettings,
    private readonly store: DockerCredentials,
    private readonly fixed?: URL,
  ) {}

  /** The name as messages show it. */
  get displayName(): string {
    return this.fixed ? this.fixed.host : this.domain;
  }

  private get hostport(): string {
    if (this.fixed) return this.fixed.host;
    return canonicalDomain(this.domain) === 'docker.io' ? RegistryHost.hubEndpoint : this.domain;
  }

  private creds(): Promise<Credentials | undefined> {
    this.credentials ??= this.store.get(this.fixed ? this.fixed.host : this.domain);
    return this.credentials;
  }

  /** Uses these credentials instead of the stored ones (a login being checked). */
  useCredentials(creds: Credentials): void {
    this.credentials = Promise.resolve(creds);
    this.tokens.clear();
  }

  private tlsFor(hostport: string, verify: boolean): Promise<TlsConfig> {
    const key = `${hostport}|${verify}`;
    let tls = this.tlsByHost.get(key);
    if (!tls) {
      tls = tlsConfigFor(hostport, this.settings.certsDirs, verify);
      this.tlsByHost.set(key, tls);
    }
    return tls;
  }

  private async insecure(hostport: string): Promise<boolean> {
    const { host } = splitHostPort(hostport);
    let addresses: string[] = [];
    try {
      addresses = (await lazy.dns.promises.lookup(host, { all: true })).map((a) => a.address);
    } catch {
      // An unresolvable name is judged by its name alone; the connection will say the rest.
    }
    return isInsecureRegistry(hostport, addresses, this.settings);
  }

  /** The endpoints to try, as Docker tries them: HTTPS, then for an insecure registry unverified HTTPS and HTTP. */
  private async candidates(): Promise<Endpoint[]> {
    if (this.fixed) {
      const verify = this.fixed.protocol === 'http:' || !(await this.insecure(this.fixed.host));
      return [{ url: new URL(this.fixed.origin), tls: await this.tlsFor(this.fixed.host, verify) }];
    }
    const hostport = this.hostport;
    if (!(await this.insecure(hostport))) return [{ url: new URL(`https://${hostport}`), tls: await this.tlsFor(hostport, true) }];
    return [
      { url: new URL(`https://${hostport}`), tls: await this.tlsFor(hostport, false) },
      { url: new URL(`http://${hostport}`), tls: { rejectUnauthorized: false } },
    ];
  }

  /** Pings /v2/ once per process: picks the endpoint and learns the auth challenge. */
  private connect(): Promise<Endpoint> {
    if (this.endpoint) return Promise.resolve(this.endpoint);
    this.connecting ??= (async () => {
      const failures: string[] = [];
      for (const candidate of await this.candidates()) {
        const url = new URL('/v2/', candidate.url);
        try {
          const res = await send({ method: 'GET', url, headers: {}, tls: candidate.tls });
          const status = res.statusCode ?? 0;
          const challenges = parseWwwAuthenticate(res.headers['www-authenticate']);
          await drain(res);
          if (status !== 401 && (status < 200 || status >= 300)) {
            failures.push(`GET "${url.href}": answered ${status}, which is not the registry API v2`);
            continue;
          }
          if (status === 401) this.challenge = pickChallenge(challenges);
          this.endpoint = candidate;
          return candidate;
        } catch (err) {
          failures.push(`GET "${url.href}": ${networkErrorDetail(url, err, candidate.tls, this.settings)}`);
        }
      }
      throw new UnavailableError('registry_unreachable', `cannot reach the registry ${this.displayName}: ${failures.join('; ')}`);
    })();
    this.connecting.catch(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** The base URL requests go to (after the first successful contact). */
  async baseUrl(): Promise<URL> {
    return (await this.connect()).url;
  }

  /**
   * Sends a request with authentication, retrying a refused token once with a fresh one and,
   * when asked, transient failures with backoff. Resolves with any response the registry gave
   * (the caller judges the status); rejects only on network failure.
   */
  async request(opts: RequestOptions): Promise<IncomingMessage> {
    let scopes = mergeScopes(opts.scopes);
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      const endpoint = await this.connect();
      const url = typeof opts.path === 'string' ? new URL(opts.path, endpoint.url) : opts.path;
      const headers: Record<string, string> = { ...opts.headers };
      const auth = await this.authorization(scopes, opts.signal);
      if (auth) headers.authorization = auth.header;
      let res: IncomingMessage;
      try {
        res = await this.sendFollowing(opts.method, url, headers, opts.body, endpoint, opts.signal);
      } catch (err) {
        if (opts.retry && attempt + 1 < maxAttempts && isTransientNetworkError(err) && !opts.signal?.aborted) {
          await sleep(backoffMs(attempt), opts.signal);
          continue;
        }
        if (err instanceof Error && err.name === 'AbortError') throw err;
        throw new UnavailableError('registry_unreachable', `${opts.method} "${url.href}": ${networkErrorDetail(url, err, endpoint.tls, this.settings)}`, { cause: err });
      }
      const status = res.statusCode ?? 0;
      if (status === 401 && !authRetried) {
        // A token the registry refuses (expired, or short of a scope it names) is replaced once.
        const challenge = pickChallenge(parseWwwAuthenticate(res.headers['www-authenticate']));
        await drain(res);
        authRetried = true;
        // Only the token this request sent: another request may have replaced it already.
        const key = this.tokenKey(scopes);
        if (auth?.token && this.tokens.get(key) === auth.token) this.tokens.delete(key);
        if (challenge) this.challenge = challenge;
        if (challenge?.params.scope) scopes = mergeScopes([...scopes, challenge.params.scope]);
        attempt--;
        continue;
      }
      if (opts.retry && (status >= 500 || status === 429) && attempt + 1 < maxAttempts) {
        await drain(res);
        await sleep(backoffMs(attempt), opts.signal);
        continue;
      }
      return res;
    }
  }

  /** GET and HEAD follow redirects (blob storage); credentials never go to another host. */
  private async sendFollowing(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: (() => Body) | undefined,
    endpoint: Endpoint,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    let current = url;
    let h = headers;
    for (let hops = 0; ; hops++) {
      const tls = current.host === endpoint.url.host ? endpoint.tls : await this.tlsFor(current.host, !(await this.insecure(current.host)));
      const res = await send({ method, url: current, headers: h, body: body?.(), tls, signal });
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if ((method !== 'GET' && method !== 'HEAD') || ![301, 302, 303, 307, 308].includes(status) || !location) return res;
      await drain(res);
      if (hops >= maxRedirects) throw new UnavailableError('too_many_redirects', `${method} "${url.href}": more than ${maxRedirects} redirects`);
      const next = new URL(location, current);
      if (next.host !== current.host) {
        const { authorization: _dropped, ...rest } = h;
        h = rest;
      }
      current = next;
    }
  }

  private tokenKey(scopes: string[]): string {
    return scopes.join(' ');
  }

  /** The Authorization header for a request, and the token entry it came from (bearer). */
  private async authorization(scopes: string[], signal?: AbortSignal): Promise<{ header: string; token?: TokenEntry } | undefined> {
    const challenge = this.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const creds = await this.creds();
      return creds ? { header: 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } : undefined;
    }
    if (challenge.scheme !== 'bearer') return undefined;
    const key = this.tokenKey(scopes);
    let entry = this.tokens.get(key);
    if (!entry || (entry.expiresAt !== undefined && Date.now() >= entry.expiresAt - tokenMarginMs)) {
      // The fetch is shared, so no one request's signal may cut it short: each waiter stops
      // waiting on its own signal instead.
      const fresh: TokenEntry = { promise: this.fetchToken(challenge, scopes) };
      fresh.promise.then(
        (t) => (fresh.expiresAt = t.expiresAt),
        () => {
          if (this.tokens.get(key) === fresh) this.tokens.delete(key);
        },
      );
      this.tokens.set(key, fresh);
      entry = fresh;
    }
    const token = await abortable(entry.promise, signal);
    return { header: `Bearer ${token.token}`, token: entry };
  }

  /** The token flow of the distribution spec: GET realm?service&scope with basic auth, or an OAuth refresh token. */
  private async fetchToken(challenge: Challenge, scopes: string[]): Promise<CachedToken> {
    const realm = challenge.params.realm;
    if (!realm) throw new UnavailableError('invalid_challenge', `the registry ${this.displayName} asks for a bearer token but names no realm to get it from`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new UnavailableError('invalid_challenge', `the registry ${this.displayName} names an invalid token realm "${realm}"`);
    }
    const creds = await this.creds();
    const params = new URLSearchParams();
    if (challenge.params.service) params.set('service', challenge.params.service);
    for (const s of scopes) params.append('scope', s);
    const endpoint = await this.connect();
    const tls = url.host === endpoint.url.host ? endpoint.tls : await this.tlsFor(url.host, !(await this.insecure(url.host)));
    let res: IncomingMessage;
    try {
      if (creds?.identityToken) {
        params.set('grant_type', 'refresh_token');
        params.set('refresh_token', creds.identityToken);
        params.set('client_id', 'berth');
        res = await send({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(params.toString()), tls });
      } else {
        if (creds?.username) params.set('account', creds.username);
        const tokenUrl = new URL(url);
        for (const [k, v] of params) tokenUrl.searchParams.append(k, v);
        const headers: Record<string, string> = creds?.username ? { authorization: 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } : {};
        res = await send({ method: 'GET', url: tokenUrl, headers, tls });
      }
    } catch (err) {
      throw new UnavailableError('token_unreachable', `getting a token from ${url.origin}${url.pathname}: ${networkErrorDetail(url, err, tls, this.settings)}`, { cause: err });
    }
    const status = res.statusCode ?? 0;
    const body = await readBody(res, 1 << 20);
    if (status === 401 || status === 403) {
      const detail = creds ? 'incorrect username or password' : describeErrorBody(body, status);
      throw new ForbiddenError('unauthorized', `getting a token for ${this.displayName} from ${url.origin}${url.pathname}: unauthorized: ${detail}`);
    }
    if (status < 200 || status >= 300) {
      throw new UnavailableError('token_failed', `getting a token for ${this.displayName} from ${url.origin}${url.pathname}: ${describeErrorBody(body, status)}`);
    }
    let answer: { token?: string; access_token?: string; expires_in?: number };
    try {
      answer = JSON.parse(body.toString('utf8')) as typeof answer;
    } catch {
      throw new UnavailableError('token_failed', `the token server ${url.origin}${url.pathname} did not answer JSON`);
    }
    const token = answer.access_token || answer.token;
    if (!token) throw new UnavailableError('token_failed', `the token server ${url.origin}${url.pathname} answered no token`);
    const lifetime = Math.max(typeof answer.expires_in === 'number' ? answer.expires_in : minTokenLifetimeS, minTokenLifetimeS);
    return { token, expiresAt: Date.now() + lifetime * 1000 };
  }

  /**
   * Checks credentials the way `docker login` does: a token for no scope (bearer), or /v2/
   * itself (basic). Anonymous registries accept anything.
   */
  async checkLogin(): Promise<void> {
    await this.connect();
    const challenge = this.challenge;
    if (!challenge) return;
    if (challenge.scheme === 'bearer') {
      await this.fetchToken(challenge, []);
      return;
    }
    const res = await this.request({ method: 'GET', path: '/v2/', scopes: [], retry: true });
    if (res.statusCode === 401) {
      await drain(res);
      throw new ForbiddenError('unauthorized', `login to ${this.displayName} failed: unauthorized: incorrect username or password`);
    }
    if ((res.statusCode ?? 0) >= 300) throw await responseError(res, `login to ${this.displayName} failed`);
    await drain(res);
  }
}

/** Of several challenges, the one berth can answer (bearer preferred). */
function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

/** Registry hosts by name, for one process: endpoints and tokens are worked out once. */
export class RegistryPool {
  private readonly hosts = new Map<string, RegistryHost>();

  constructor(
    readonly settings: RegistrySettings,
    readonly credentials: DockerCredentials,
  ) {}

  host(domain: string): RegistryHost {
    const key = canonicalDomain(domain);
    let host = this.hosts.get(key);
    if (!host) {
      host = new RegistryHost(key, this.settings, this.credentials);
      this.hosts.set(key, host);
    }
    return host;
  }

  /** The configured mirrors of a registry, in order. */
  mirrors(domain: string): RegistryHost[] {
    return (this.settings.mirrors[canonicalDomain(domain)] ?? []).map((url) => {
      const key = `mirror:${url.origin}`;
      let host = this.hosts.get(key);
      if (!host) {
        host = new RegistryHost(url.host, this.settings, this.credentials, url);
        this.hosts.set(key, host);
      }
      return host;
    });
  }
}

/** A repository on a registry: the requests of the distribution API, scoped to it. */
export class Repository {
  constructor(
    readonly host: RegistryHost,
    /** The path within the registry: 'library/busybox'. */
    readonly path: string,
    /** Actions the token must allow: 'pull' or 'pull,push'. */
    private readonly actions: string,
  ) {}

  /** What messages call it: "localhost:5000/app". */
  get name(): string {
    return `${this.host.displayName}/${this.path}`;
  }

  request(opts: Omit<RequestOptions, 'scopes'> & { extraScopes?: string[] }): Promise<IncomingMessage> {
    return this.host.request({ ...opts, scopes: [repositoryScope(this.path, this.actions), ...(opts.extraScopes ?? [])] });
  }

  url(suffix: string): string {
    return `/v2/${this.path}/${suffix}`;
  }
}

export function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || errnoCode(err) === 'ABORT_ERR');
}
