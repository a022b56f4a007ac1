// Registry credentials in Docker's own config file ($DOCKER_CONFIG/config.json, else
// ~/.docker/config.json), so that a `docker login` serves berth and a `berth login` serves
// docker. Passwords are kept as Docker keeps them: base64 "user:password" under `auths`, or in
// a credential helper (`credsStore` for all registries, `credHelpers` per registry), with an
// empty `auths` entry remembering that a login happened.
import { randomBytes } from '../../sys/random.js';
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, SystemError, errnoCode } from '../../errors.js';
import { runCredentialHelper } from '../../sys/credential-helper.js';
import { canonicalDomain } from './settings.js';

/** The key Docker files Docker Hub's credentials under. */
export const dockerHubKey = 'https://index.docker.io/v1/';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth refresh token some registries hand out instead of keeping the password. */
  identityToken?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [extra: string]: unknown;
}

export interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [extra: string]: unknown;
}

export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(homedir(), '.docker');
}

/** Docker's ConvertToHostname: a config key or login argument without scheme and path. */
export function hostnameOf(server: string): string {
  return server.replace(/^https?:\/\//, '').split('/')[0];
}

/** The config key for a login argument or registry domain: Docker Hub's URL, else host[:port]. */
export function credentialKey(server: string | undefined): string {
  if (!server) return dockerHubKey;
  const host = hostnameOf(server);
  return canonicalDomain(host) === 'docker.io' ? dockerHubKey : host;
}

export function parseDockerConfig(text: string, file: string): DockerConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError('invalid_docker_config', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidArgumentError('invalid_docker_config', `${file} is not a JSON object`);
  const config = raw as DockerConfigFile;
  if (config.auths !== undefined && (typeof config.auths !== 'object' || config.auths === null || Array.isArray(config.auths))) {
    throw new InvalidArgumentError('invalid_docker_config', `${file}: "auths" is not an object`);
  }
  return config;
}

/** The entry for a registry: its key exactly, else a key that names the same host (with scheme or path). */
export function findAuthEntry(config: DockerConfigFile, key: string): AuthEntry | undefined {
  const auths = config.auths ?? {};
  if (auths[key]) return auths[key];
  const host = hostnameOf(key);
  for (const [k, entry] of Object.entries(auths)) {
    if (credentialKey(k) === key || hostnameOf(k) === host) return entry;
  }
  return undefined;
}

export function decodeAuthEntry(entry: AuthEntry, where: string): Credentials | undefined {
  let username = entry.username ?? '';
  let password = entry.password ?? '';
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new InvalidArgumentError('invalid_docker_config', `${where}: the "auth" entry is not base64 of user:password`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (!username && !entry.identitytoken) return undefined;
  return { username, password, ...(entry.identitytoken ? { identityToken: entry.identitytoken } : {}) };
}

export function encodeAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

/** A credential helper answers this when it has nothing for the server. */
const helperNotFound = /credentials not found/i;

export class DockerCredentials {
  readonly file: string;

  constructor(readonly dir: string = dockerConfigDir()) {
    this.file = join(dir, 'config.json');
  }

  async read(): Promise<DockerConfigFile> {
    try {
      return parseDockerConfig(await fsp.readFile(this.file, 'utf8'), this.file);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return {};
      throw err;
    }
  }

  /** The helper that keeps `key`'s credentials, if any. */
  helperFor(config: DockerConfigFile, key: string): string | undefined {
    return config.credHelpers?.[hostnameOf(key)] ?? config.credHelpers?.[key] ?? (config.credsStore || undefined);
  }

  /** Credentials for a registry domain ('docker.io', 'localhost:5000'), or undefined for anonymous access. */
  async get(domain: string): Promise<Credentials | undefined> {
    const key = credentialKey(domain);
    const config = await this.read();
    const helper = this.helperFor(config, key);
    if (helper) {
      const r = await runCredentialHelper(helper, 'get', key);
      if (!r.ok) {
        if (helperNotFound.test(r.stdout + r.stderr)) return undefined;
        throw new SystemError('credential_helper_failed', `docker-credential-${helper} get ${key}: ${r.stderr || r.stdout}`);
      }
      let answer: { Username?: string; Secret?: string };
      try {
        answer = JSON.parse(r.stdout) as typeof answer;
      } catch {
        throw new SystemError('credential_helper_failed', `docker-credential-${helper} get ${key} did not answer JSON`);
      }
      if (!answer.Username && !answer.Secret) return undefined;
      // Docker's convention: the user "<token>" means the secret is an identity token.
      if (answer.Username === '<token>') return { username: '', password: '', identityToken: answer.Secret ?? '' };
      return { username: answer.Username ?? '', password: answer.Secret ?? '' };
    }
    const entry = findAuthEntry(config, key);
    return entry ? decodeAuthEntry(entry, this.file) : undefined;
  }

  /** Saves a login; says where it went and whether the password sits in the file in plain base64. */
  async store(server: string | undefined, creds: Credentials): Promise<{ key: string; plaintext: boolean }> {
    const key = credentialKey(server);
    const config = await this.read();
    const helper = this.helperFor(config, key);
    config.auths ??= {};
    if (helper) {
      const secret = creds.identityToken ?? creds.password;
      const r = await runCredentialHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: creds.identityToken ? '<token>' : creds.username, Secret: secret }));
      if (!r.ok) throw new SystemError('credential_helper_failed', `docker-credential-${helper} store: ${r.stderr || r.stdout}`);
      config.auths[key] = {};
    } else {
      config.auths[key] = { auth: encodeAuth(creds.username, creds.password), ...(creds.identityToken ? { identitytoken: creds.identityToken } : {}) };
    }
    await this.write(config);
    return { key, plaintext: !helper };
  }

  /** Forgets a login; false when there was none. */
  async erase(server: string | undefined): Promise<boolean> {
    const key = credentialKey(server);
    const config = await this.read();
    const helper = this.helperFor(config, key);
    let found = false;
    if (helper) {
      const r = await runCredentialHelper(helper, 'erase', key);
      if (r.ok) found = true;
      else if (!helperNotFound.test(r.stdout + r.stderr)) throw new SystemError('credential_helper_failed', `docker-credential-${helper} erase: ${r.stderr || r.stdout}`);
    }
    for (const k of Object.keys(config.auths ?? {})) {
      if (k === key || credentialKey(k) === key) {
        delete config.auths![k];
        found = true;
      }
    }
    if (found) await this.write(config);
    return found;
  }

  /**
   * Atomically, with mode 0600 (it holds passwords); a tab-indented JSON as Docker writes it. A
   * symlinked config.json (dotfiles kept elsewhere) stays a link: its target is replaced, by a
   * rename in the target's own directory, as Docker does.
   */
  private async write(config: DockerConfigFile): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = await followLinks(this.file);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await fsp.writeFile(tmp, JSON.stringify(config, null, '\t') + '\n', { mode: 0o600, flag: 'wx' });
      await fsp.rename(tmp, file);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }
}

/** The file a chain of symlinks ends at (which need not exist yet); `file` itself when it is no link. */
async function followLinks(file: string): Promise<string> {
  let current = file;
  // The kernel's own limit on links followed in one lookup.
  for (let hops = 0; hops < 40; hops++) {
    let target: string;
    try {
      target = await fsp.readlink(current);
    } catch (err) {
      if (errnoCode(err) === 'EINVAL' || errnoCode(err) === 'ENOENT') return current;
      throw err;
    }
    current = resolve(dirname(current), target);
  }
  throw new SystemError('symlink_loop', `${file}: too many levels of symbolic links`);
}
