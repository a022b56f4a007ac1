// Image references parsed the way Docker parses them (distribution/reference's
// ParseNormalizedNamed, ParseDockerRef and the familiar forms), with Docker's error wording, so a
// name that Docker accepts or rejects is accepted or rejected here too.
import { InvalidArgumentError } from '../errors.js';

export interface Reference {
  /** Registry host, with port if any; 'docker.io' for Docker Hub. */
  domain: string;
  /** Repository path within the registry, e.g. 'library/busybox'. */
  path: string;
  tag?: string;
  digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
const MAX_PATH_LENGTH = 255;

// The grammar, built from the same pieces as distribution/reference's regexp.go. The domain
// component is written as `x(?:[x-]*x)?` rather than `x|x[x-]*x`: the same language, without the
// alternation that makes a backtracking engine retry every split of a long component.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainComponent = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const ipv6Host = '\\[[a-fA-F0-9:]+\\]';
const domainAndPort = `(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6Host})(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const referenceRe = new RegExp(
  `^((?:${domainAndPort}/)?${remoteName})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`,
);
const nameRe = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const identifierRe = /^[a-f0-9]{64}$/;
// go-digest's own (looser) shape, consulted only to tell an unknown algorithm from garbage.
const anyDigestRe = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const hexLengthByAlgorithm: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

function invalid(message: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_reference', message);
}

/**
 * Parses a familiar or full reference ('busybox', 'user/app:1', 'localhost:5000/x@sha256:…')
 * into its normalized parts. No tag is implied: see withDefaultTag.
 */
export function parseReference(s: string): Reference {
  if (identifierRe.test(s)) {
    throw invalid(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(s);
  // Docker checks case on everything before the first ':' of the remainder, so a digest's
  // algorithm ('@SHA256') counts as part of the name here, exactly as it does there.
  const colon = remainder.indexOf(':');
  const remote = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw invalid(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  return parseCanonical(`${domain}/${remainder}`);
}

/** Docker Hub's rules for deciding whether the first component names a registry. */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_PREFIX + name };
  const first = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (first === 'localhost') {
    [domain, remainder] = [first, rest];
  } else if (first === LEGACY_DEFAULT_DOMAIN) {
    [domain, remainder] = [DEFAULT_DOMAIN, rest];
  } else if (first.includes('.') || first.includes(':')) {
    [domain, remainder] = [first, rest];
  } else if (first.toLowerCase() !== first) {
    // Namespaces cannot hold uppercase letters, so such a component can only be a host.
    [domain, remainder] = [first, rest];
  } else {
    [domain, remainder] = [DEFAULT_DOMAIN, name];
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return { domain, remainder };
}

function parseCanonical(s: string): Reference {
  const m = referenceRe.exec(s);
  if (!m) throw invalid('invalid reference format');
  const [, name, tag, digest] = m;
  // A first component that failed as a host may still be a valid path component
  // ('a_b.c/foo'); Docker then keeps it as a domain-less path, and so do we.
  const n = nameRe.exec(name)!;
  const ref: Reference = { domain: n[1] ?? '', path: n[2] };
  if (ref.path.length > MAX_PATH_LENGTH) {
    throw invalid(`repository name must not be more than ${MAX_PATH_LENGTH} characters`);
  }
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) {
    validateDigest(digest);
    ref.digest = digest;
  }
  return ref;
}

function validateDigest(d: string): void {
  const colon = d.indexOf(':');
  const algorithm = d.slice(0, colon);
  const encoded = d.slice(colon + 1);
  const length = hexLengthByAlgorithm[algorithm];
  if (length === undefined) {
    throw invalid(anyDigestRe.test(d) ? 'unsupported digest algorithm' : 'invalid checksum digest format');
  }
  if (encoded.length !== length || !/^[a-f0-9]+$/.test(encoded)) throw invalid('invalid checksum digest format');
}

/**
 * Docker's ParseDockerRef: a reference carrying both a tag and a digest keeps only the digest
 * (the digest is what gets pulled), and a bare name gets ':latest'.
 */
export function parseDockerRef(s: string): Reference {
  const ref = parseReference(s);
  if (ref.tag !== undefined && ref.digest !== undefined) {
    return { domain: ref.domain, path: ref.path, digest: ref.digest };
  }
  return withDefaultTag(ref);
}

export function withDefaultTag(r: Reference): Reference {
  if (r.tag !== undefined || r.digest !== undefined) return r;
  return { ...r, tag: DEFAULT_TAG };
}

/** The normalized repository name: 'docker.io/library/busybox'. */
export function fullName(r: Reference): string {
  return r.domain === '' ? r.path : `${r.domain}/${r.path}`;
}

function withSuffixes(name: string, r: Reference): string {
  let s = name;
  if (r.tag !== undefined) s += ':' + r.tag;
  if (r.digest !== undefined) s += '@' + r.digest;
  return s;
}

/** The full normalized reference: 'docker.io/library/busybox:latest'. */
export function formatReference(r: Reference): string {
  return withSuffixes(fullName(r), r);
}

/** The name as Docker shows it: Hub's domain and the 'library/' namespace dropped. */
export function familiarName(r: Reference): string {
  if (r.domain !== DEFAULT_DOMAIN) return fullName(r);
  if (r.path.startsWith(OFFICIAL_PREFIX)) {
    const rest = r.path.slice(OFFICIAL_PREFIX.length);
    // Only a single component under library/ is an official image; deeper paths keep the prefix.
    if (!rest.includes('/')) return rest;
  }
  return r.path;
}

/** 'busybox:latest', 'user/app@sha256:…', 'localhost:5000/app:1'. */
export function familiarString(r: Reference): string {
  return withSuffixes(familiarName(r), r);
}

/**
 * Whether s may name an image by ID rather than by reference: a full 'sha256:<hex>' or any
 * lowercase hex prefix of an ID, with or without the 'sha256:' algorithm (Docker's image lookup
 * accepts both spellings of a short ID).
 */
export function isImageIdLike(s: string): boolean {
  return /^(?:sha256:)?[a-f0-9]{1,64}$/.test(s);
}
