// HTTP(S) for registry traffic on Node's own http/https: one keep-alive agent per host and TLS
// configuration, TLS material from certs.d, and the system's CA bundle rather than Node's
// built-in copy of Mozilla's, so that a CA the administrator installed is trusted here too.
import { promises as fsp, readFileSync } from 'node:fs';
import type { Agent, IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { lazy } from '../../builtins.js';
import { InvalidArgumentError, errnoCode } from '../../errors.js';

export interface TlsConfig {
  /** CA certificates to trust; undefined means the system's. */
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  /** Where the material came from, for error messages. */
  source?: string;
}

export type Body = Buffer | Readable;

export interface SendOptions {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Body;
  tls: TlsConfig;
  signal?: AbortSignal;
}

/** A connection that carries no byte for this long is given up (and retried by the caller). */
const idleTimeoutMs = 60_000;
const systemBundles = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

let systemCas: string[] | undefined;

function systemCertificates(): string[] {
  if (systemCas) return systemCas;
  let cas: string[] | undefined;
  for (const file of systemBundles) {
    try {
      cas = [readFileSync(file, 'utf8')];
      break;
    } catch {
      // next candidate
    }
  }
  systemCas = [...(cas ?? lazy.tls.rootCertificates), ...extraCertificates()];
  return systemCas;
}

/**
 * The certificates named by NODE_EXTRA_CA_CERTS, which berth's launcher passes on as
 * BERTH_EXTRA_CA_CERTS (scripts/launcher.sh.in): Node would add them to its own built-in store,
 * but berth trusts the system's store instead, so it adds them itself. An unreadable file is
 * ignored with a warning, as Node does.
 */
function extraCertificates(): string[] {
  const file = process.env.BERTH_EXTRA_CA_CERTS || process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [readFileSync(file, 'utf8')];
  } catch (err) {
    process.stderr.write(`WARNING: ignoring the extra CA certificates in ${file}: ${(err as Error).message}\n`);
    return [];
  }
}

/**
 * TLS settings for a registry from certs.d/<host:port>/ in each of `dirs`, as Docker reads
 * them: every *.crt is a CA, every *.cert a client certificate whose key is the same name with
 * .key. The first directory that exists for the host wins.
 */
export async function tlsConfigFor(hostport: string, dirs: string[], verify: boolean): Promise<TlsConfig> {
  for (const base of dirs) {
    const dir = join(base, hostport);
    let names: string[];
    try {
      names = (await fsp.readdir(dir)).sort();
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') continue;
      throw err;
    }
    const config: TlsConfig = { rejectUnauthorized: verify, source: dir };
    const cas: string[] = [];
    for (const name of names) {
      if (name.endsWith('.crt')) cas.push(await fsp.readFile(join(dir, name), 'utf8'));
      if (name.endsWith('.cert')) {
        const keyName = name.slice(0, -'.cert'.length) + '.key';
        if (!names.includes(keyName)) throw new InvalidArgumentError('invalid_certs_dir', `missing key ${keyName} for client certificate ${join(dir, name)}`);
        config.cert = await fsp.readFile(join(dir, name));
        config.key = await fsp.readFile(join(dir, keyName));
      }
      if (name.endsWith('.key') && !names.includes(name.slice(0, -'.key'.length) + '.cert')) {
        throw new InvalidArgumentError('invalid_certs_dir', `missing client certificate ${name.slice(0, -'.key'.length)}.cert for key ${join(dir, name)}`);
      }
    }
    if (cas.length > 0) config.ca = [...systemCertificates(), ...cas];
    return config;
  }
  return { rejectUnauthorized: verify };
}

const agents = new Map<string, Agent>();

function agentFor(url: URL, tls: TlsConfig): Agent {
  const key = url.protocol === 'https:' ? `${url.host}|${tls.source ?? ''}|${tls.rejectUnauthorized}` : url.protocol;
  let agent = agents.get(key);
  if (!agent) {
    agent =
      url.protocol === 'https:'
        ? new lazy.https.Agent({
            keepAlive: true,
            // Unverified (an insecure registry), CAs would go unused: parsing the system's costs
            // about 25 ms, and an empty list keeps Node from loading its own.
            ca: tls.rejectUnauthorized ? tls.ca ?? systemCertificates() : [],
            cert: tls.cert,
            key: tls.key,
            rejectUnauthorized: tls.rejectUnauthorized,
          })
        : new lazy.http.Agent({ keepAlive: true });
    agents.set(key, agent);
  }
  return agent;
}

/** One HTTP exchange; resolves with the response head, its body still to be read. */
export function send(opts: SendOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = opts.url.protocol === 'https:' ? lazy.https : lazy.http;
    const headers: Record<string, string> = { 'user-agent': 'berth', ...opts.headers };
    if (Buffer.isBuffer(opts.body)) headers['content-length'] = String(opts.body.length);
    const req = mod.request(opts.url, { method: opts.method, headers, agent: agentFor(opts.url, opts.tls), signal: opts.signal });
    req.setTimeout(idleTimeoutMs, () => req.destroy(Object.assign(new Error(`no response for ${idleTimeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
    req.on('response', (res) => {
      // The idle timeout keeps watching the body: a stalled download errors instead of hanging.
      res.socket?.setTimeout(idleTimeoutMs);
      // A server that answers before taking the whole body (an error to an upload) may never
      // read the rest: stop sending, and drop the connection once its answer has been read.
      if (!req.writableFinished && opts.body !== undefined && !Buffer.isBuffer(opts.body)) {
        opts.body.unpipe(req);
        opts.body.destroy();
        res.once('end', () => req.destroy());
      }
      resolve(res);
    });
    req.on('error', reject);
    const body = opts.body;
    if (body === undefined || Buffer.isBuffer(body)) {
      req.end(body);
      return;
    }
    body.on('error', (err) => req.destroy(err));
    body.pipe(req);
  });
}

/** Reads a whole (small) response body; a larger one than `limit` is refused. */
export async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.destroy();
      throw new InvalidArgumentError('response_too_large', `the registry's response is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Discards a response body so that its connection can serve the next request. */
export function drain(res: IncomingMessage): Promise<void> {
  return readBody(res, 1 << 20).then(
    () => undefined,
    () => undefined,
  );
}

/** Network failures worth another try: the peer went away or stalled, not a refusal on purpose. */
export function isTransientNetworkError(err: unknown): boolean {
  const code = errnoCode(err);
  return (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT' ||
    code === 'ECONNREFUSED' ||
    code === 'EAI_AGAIN' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'UND_ERR_SOCKET' ||
    (err instanceof Error && /socket hang up|aborted/i.test(err.message) && (err as Error).name !== 'AbortError')
  );
}
