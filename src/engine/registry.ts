// The engine's registry operations: pull, push, login, logout, search. Settings (insecure
// registries, mirrors, concurrency) come from berth's config file, credentials from Docker's;
// both are read when first needed, and registry endpoints and tokens live as long as the engine.
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { RegistryHost, RegistryPool, Repository } from '../image/registry/client.js';
import { credentialKey, dockerConfigDir, dockerHubKey, DockerCredentials } from '../image/registry/credentials.js';
import { responseError } from '../image/registry/errors.js';
import { listTags, pullImage, pullStatus, sourcesFor, type Progress } from '../image/registry/pull.js';
import { pushImage } from '../image/registry/push.js';
import { loadRegistrySettings, type RegistrySettings } from '../image/registry/settings.js';
import { readBody } from '../image/registry/transport.js';
import { familiarName, familiarString, formatReference, fullName, parseDockerRef, parseReference, type Reference } from '../image/reference.js';
import type { Filters, ImageSearchResult, LoginResult } from './engine.js';
import type { ImageEvents, ImageStores } from './images.js';

export interface PullOutcome {
  /** The image pulled (the last one, with allTags). */
  id: string;
  /** What Docker prints last: the full reference ('docker.io/library/busybox:latest'). */
  reference: string;
}

const noProgress: Progress = () => undefined;

export class RegistryService {
  private loaded?: { settings: RegistrySettings; credentials: DockerCredentials; pool: RegistryPool };

  constructor(
    private readonly stores: ImageStores,
    private readonly events: ImageEvents,
  ) {}

  private context(): NonNullable<RegistryService['loaded']> {
    if (!this.loaded) {
      const settings = loadRegistrySettings();
      const credentials = new DockerCredentials(dockerConfigDir());
      this.loaded = { settings, credentials, pool: new RegistryPool(settings, credentials) };
    }
    return this.loaded;
  }

  /**
   * Pulls `ref` (a tag, a digest, or with allTags every tag of a repository). Also what
   * `run --pull` calls: see ensureImage.
   */
  async pull(ref: string, opts: { platform?: string; allTags?: boolean; signal?: AbortSignal } = {}, progress: Progress = noProgress): Promise<PullOutcome> {
    const { settings, pool } = this.context();
    const pullOpts = { platform: opts.platform, maxConcurrentDownloads: settings.maxConcurrentDownloads, signal: opts.signal };
    if (!opts.allTags) {
      const parsed = parseDockerRef(ref);
      const result = await pullImage(parsed, pool, this.stores, pullOpts, progress);
      progress(pullStatus(parsed, result.updated));
      await this.events.record('pull', familiarString(parsed), familiarName(parsed));
      return { id: result.id, reference: formatReference(parsed) };
    }
    const parsed = parseReference(ref);
    if (parsed.tag !== undefined || parsed.digest !== undefined) {
      throw new InvalidArgumentError('tag_with_all_tags', 'tag can\'t be used with --all-tags/-a');
    }
    const tags = await this.tags(parsed, opts.signal);
    if (tags.length === 0) throw new NotFoundError('no_tags', `the repository ${fullName(parsed)} has no tags`);
    let updated = false;
    let id = '';
    for (const tag of tags) {
      const result = await pullImage({ ...parsed, tag }, pool, this.stores, pullOpts, progress);
      updated ||= result.updated;
      id = result.id;
    }
    progress(pullStatus(parsed, updated));
    await this.events.record('pull', familiarString(parsed), familiarName(parsed));
    return { id, reference: fullName(parsed) };
  }

  /** The repository's tags, from the first source (mirror, then registry) that lists them. */
  private async tags(ref: Reference, signal?: AbortSignal): Promise<string[]> {
    const sources = sourcesFor(ref, this.context().pool);
    for (const [i, host] of sources.entries()) {
      try {
        return await listTags(new Repository(host, ref.path, 'pull'), signal);
      } catch (err) {
        if (i === sources.length - 1) throw err;
      }
    }
    throw new Error('unreachable: no source to list tags from');
  }

  /**
   * The image `ref` names for a container: pulled when missing ('missing'), every time
   * ('always'), or never ('never', which fails when it is missing). Returns its ID.
   */
  async ensureImage(ref: string, policy: 'missing' | 'always' | 'never', opts: { platform?: string } = {}, progress: Progress = noProgress): Promise<string> {
    const local = policy === 'always' ? undefined : this.stores.images.lookup(ref);
    if (local) return local.id;
    if (policy === 'never') throw new NotFoundError('image_not_found', `No such image: ${ref}`);
    return (await this.pull(ref, opts, progress)).id;
  }

  /** Pushes a tag, or with allTags every local tag of the repository. Returns what was pushed. */
  async push(ref: string, opts: { allTags?: boolean; signal?: AbortSignal } = {}, progress: Progress = noProgress): Promise<{ reference: string; pushed: { tag: string; digest: string; size: number }[] }> {
    const { settings, pool } = this.context();
    const parsed = parseReference(ref);
    if (parsed.digest !== undefined) throw new InvalidArgumentError('push_by_digest', `cannot push a digest reference (${ref}): push a tag`);
    if (opts.allTags && parsed.tag !== undefined) throw new InvalidArgumentError('tag_with_all_tags', 'tag can\'t be used with --all-tags/-a');
    const repoName = fullName(parsed);
    let tags: string[];
    if (opts.allTags) {
      tags = this.stores.images
        .list()
        .flatMap((img) => img.tags.map((t) => parseReference(t)))
        .filter((t) => fullName(t) === repoName && t.tag !== undefined)
        .map((t) => t.tag!)
        .sort();
      if (tags.length === 0) throw new NotFoundError('image_not_found', `An image does not exist locally with the tag: ${repoName}`);
    } else {
      tags = [parsed.tag ?? 'latest'];
    }
    progress({ status: `The push refers to repository [${repoName}]` });
    const pushOpts = { maxConcurrentUploads: settings.maxConcurrentUploads, uploadChunkSize: settings.uploadChunkSize, signal: opts.signal };
    const pushed = [];
    for (const tag of tags) pushed.push(await pushImage({ ...parsed, tag }, pool, this.stores, pushOpts, progress));
    // As Docker's: one event for the reference pushed (the repository's, with allTags).
    await this.events.record('push', familiarString(opts.allTags ? parsed : { ...parsed, tag: tags[0] }), familiarName(parsed));
    return { reference: opts.allTags ? repoName : formatReference({ ...parsed, tag: tags[0] }), pushed };
  }

  /**
   * Checks credentials against the registry and saves them in Docker's config file. Without a
   * user and password, the saved ones are checked again (as `docker login` does).
   */
  async login(server: string | undefined, username?: string, password?: string): Promise<LoginResult> {
    const { settings, credentials } = this.context();
    const key = credentialKey(server);
    const domain = key === dockerHubKey ? 'docker.io' : key;
    const reused = username === undefined && password === undefined;
    const creds = reused ? await credentials.get(domain) : { username: username ?? '', password: password ?? '' };
    if (!creds) throw new NotFoundError('no_credentials', `no saved credentials for ${key}: give a username and password`);
    if (!creds.identityToken && !creds.username) throw new InvalidArgumentError('no_username', 'Username is required');
    if (!creds.identityToken && !creds.password) throw new InvalidArgumentError('no_password', 'Password is required');
    // A host of its own: a failed check must not leave these credentials in the shared pool.
    const host = new RegistryHost(domain, settings, credentials);
    host.useCredentials(creds);
    await host.checkLogin();
    const stored = reused ? { plaintext: !credentials.helperFor(await credentials.read(), key) } : await credentials.store(server, creds);
    return { Status: 'Login Succeeded', serverAddress: key, configFile: credentials.file, plaintext: stored.plaintext, reused };
  }

  /** Forgets the saved login for a registry (Docker Hub by default). */
  async logout(server: string | undefined): Promise<{ removed: boolean; serverAddress: string }> {
    const key = credentialKey(server);
    return { removed: await this.context().credentials.erase(server), serverAddress: key };
  }

  /**
   * Searches a registry's index (Docker Hub's by default; "host/term" searches that host),
   * where the registry has the /v1/search endpoint Docker Hub and some others offer.
   */
  async search(term: string, opts: { limit?: number; filters?: Filters } = {}): Promise<ImageSearchResult[]> {
    const limit = opts.limit ?? 25;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new InvalidArgumentError('invalid_limit', `invalid limit ${limit}: it must be between 1 and 100`);
    const filters = opts.filters ?? {};
    for (const key of Object.keys(filters)) {
      if (!['stars', 'is-official', 'is-automated'].includes(key)) throw new InvalidArgumentError('invalid_filter', `invalid filter '${key}'`);
    }
    const slash = term.indexOf('/');
    const first = slash > 0 ? term.slice(0, slash) : '';
    const onOtherHost = first.includes('.') || first.includes(':') || first === 'localhost';
    const domain = onOtherHost ? first : 'docker.io';
    const query = onOtherHost ? term.slice(slash + 1) : term;
    const { settings, credentials } = this.context();
    const host = domain === 'docker.io' ? new RegistryHost('docker.io', settings, credentials, new URL('https://index.docker.io')) : this.context().pool.host(domain);
    const path = `/v1/search?q=${encodeURIComponent(query)}&n=${limit}`;
    const res = await host.request({ method: 'GET', path, scopes: [], retry: true });
    if (res.statusCode === 404 || res.statusCode === 405) {
      await readBody(res, 1 << 20).catch(() => undefined);
      throw new InvalidArgumentError('search_unsupported', `the registry ${host.displayName} does not support search (GET ${path} answered ${res.statusCode}): only registries with Docker Hub's /v1/search endpoint can be searched`);
    }
    if (res.statusCode !== 200) throw await responseError(res, `searching ${host.displayName}`);
    const body = JSON.parse((await readBody(res, 16 << 20)).toString('utf8')) as { results?: Partial<ImageSearchResult>[] };
    const stars = filters.stars?.map(Number) ?? [];
    const want = (key: string): boolean | undefined => (filters[key] ? filters[key].at(-1) === 'true' : undefined);
    return (body.results ?? [])
      .map((r) => ({ name: r.name ?? '', description: r.description ?? '', star_count: r.star_count ?? 0, is_official: r.is_official === true, is_automated: r.is_automated === true }))
      .filter((r) => stars.every((s) => r.star_count >= s))
      .filter((r) => want('is-official') === undefined || r.is_official === want('is-official'))
      .filter((r) => want('is-automated') === undefined || r.is_automated === want('is-automated'))
      .slice(0, limit);
  }
}
