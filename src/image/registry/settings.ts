// berth's registry settings, from its config file (/etc/berth/config.json, or the file named
// by $BERTH_CONFIG). The keys are daemon.json's where Docker has one, so a daemon.json's
// registry part can be copied over as is:
//
//   {
//     "insecure-registries": ["myregistry:5000", "10.0.0.0/8"],
//     "registry-mirrors": ["https://mirror.example"]            (Docker Hub's mirrors, as Docker)
//     "registry-mirrors": {"docker.io": [...], "quay.io": [...]} (mirrors for any registry)
//     "max-concurrent-downloads": 3,
//     "max-concurrent-uploads": 5,
//     "upload-chunk-size": 0                                    (berth's own: bytes per PATCH, 0 = one request)
//   }
//
// TLS material per registry lives in certs.d/<host:port>/ next to the config file and in
// Docker's /etc/docker/certs.d, as Docker lays it out: *.crt CA certificates, *.cert client
// certificates with their *.key.
import { readFileSync } from 'node:fs';
import { lazy } from '../../builtins.js';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, errnoCode } from '../../errors.js';
import { formatIp } from '../../network/ipam.js';

export interface RegistrySettings {
  configFile: string;
  /** Hosts (host or host:port) and CIDR ranges whose registries may use plain HTTP or unverified TLS. */
  insecureRegistries: string[];
  /** Mirror base URLs per registry domain ('docker.io' for Docker Hub), tried in order before it. */
  mirrors: Record<string, URL[]>;
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  /** Blob uploads larger than this go up in PATCH chunks of this size; 0 sends each blob in one request. */
  uploadChunkSize: number;
  /** Directories holding one certs.d/<host:port>/ directory per registry, searched in order. */
  certsDirs: string[];
}

export const defaultConfigFile = '/etc/berth/config.json';

export function loadRegistrySettings(env: NodeJS.ProcessEnv = process.env): RegistrySettings {
  const file = env.BERTH_CONFIG || defaultConfigFile;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw new InvalidArgumentError('invalid_config', `cannot read berth's config file ${file}: ${(err as Error).message}`);
  }
  return parseRegistrySettings(text ?? '{}', file);
}

export function parseRegistrySettings(text: string, file: string): RegistrySettings {
  const bad = (message: string): InvalidArgumentError => new InvalidArgumentError('invalid_config', `berth's config file ${file}: ${message}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad(`not valid JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad('not a JSON object');
  const c = raw as Record<string, unknown>;

  const insecure = c['insecure-registries'] ?? [];
  if (!Array.isArray(insecure) || !insecure.every((h) => typeof h === 'string')) throw bad('"insecure-registries" must be a list of host[:port] or CIDR strings');
  for (const entry of insecure as string[]) {
    if (entry.includes('://')) throw bad(`"insecure-registries" entry "${entry}" must be host[:port] or a CIDR, without a scheme`);
    if (entry.includes('/') && parseCidr(entry) === undefined) throw bad(`"insecure-registries" entry "${entry}" is not a valid CIDR`);
  }

  const mirrors: Record<string, URL[]> = {};
  const rawMirrors = c['registry-mirrors'] ?? [];
  const mirrorLists: [string, unknown][] = Array.isArray(rawMirrors)
    ? [['docker.io', rawMirrors]]
    : rawMirrors && typeof rawMirrors === 'object'
      ? Object.entries(rawMirrors)
      : [['', null]];
  for (const [domain, list] of mirrorLists) {
    if (!Array.isArray(list) || !list.every((u) => typeof u === 'string')) {
      throw bad('"registry-mirrors" must be a list of URLs (Docker Hub mirrors) or an object mapping registries to lists of URLs');
    }
    mirrors[canonicalDomain(domain)] = (list as string[]).map((u) => {
      let url: URL;
      try {
        url = new URL(u);
      } catch {
        throw bad(`registry mirror "${u}" is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`registry mirror "${u}" must be an http:// or https:// URL`);
      if (url.pathname !== '/' || url.search || url.username) throw bad(`registry mirror "${u}" must be scheme://host[:port] only`);
      return url;
    });
  }

  const count = (key: string, dflt: number, min: number): number => {
    const v = c[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw bad(`"${key}" must be an integer of at least ${min}`);
    return v;
  };

  return {
    configFile: file,
    insecureRegistries: insecure as string[],
    mirrors,
    maxConcurrentDownloads: count('max-concurrent-downloads', 3, 1),
    maxConcurrentUploads: count('max-concurrent-uploads', 5, 1),
    uploadChunkSize: count('upload-chunk-size', 0, 0),
    certsDirs: [join(dirname(file), 'certs.d'), '/etc/docker/certs.d'],
  };
}

/** One registry in `info`'s RegistryConfig.IndexConfigs, in Docker's shape. */
export interface IndexInfo {
  Name: string;
  Mirrors: string[];
  /** False for a registry listed by name in insecure-registries. */
  Secure: boolean;
  /** True for Docker Hub only. */
  Official: boolean;
}

/** `info`'s RegistryConfig, in the Docker API's shape (RegistryServiceConfig). */
export interface RegistryServiceConfig {
  InsecureRegistryCIDRs: string[];
  IndexConfigs: Record<string, IndexInfo>;
  /** Docker Hub's mirrors. */
  Mirrors: string[];
}

/**
 * The settings as Docker's daemon reports its own: the insecure ranges (127.0.0.0/8 always),
 * the registries insecure by name, and each registry's mirrors (Docker Hub's also as Mirrors;
 * berth's mirrors for other registries under their own IndexConfigs entry).
 */
export function registryServiceConfig(settings: Pick<RegistrySettings, 'insecureRegistries' | 'mirrors'>): RegistryServiceConfig {
  const cidrs: string[] = [];
  const indexConfigs: Record<string, IndexInfo> = {};
  for (const entry of [...settings.insecureRegistries, '127.0.0.0/8']) {
    const cidr = entry.includes('/') ? parseCidr(entry) : undefined;
    if (cidr) {
      const text = formatCidr(cidr);
      if (!cidrs.includes(text)) cidrs.push(text);
    } else {
      indexConfigs[entry] = { Name: entry, Mirrors: [], Secure: false, Official: false };
    }
  }
  for (const [domain, urls] of Object.entries(settings.mirrors)) {
    if (domain === 'docker.io') continue;
    indexConfigs[domain] = { Name: domain, Mirrors: urls.map((u) => u.href), Secure: indexConfigs[domain]?.Secure ?? true, Official: false };
  }
  const hub = (settings.mirrors['docker.io'] ?? []).map((u) => u.href);
  indexConfigs['docker.io'] = { Name: 'docker.io', Mirrors: hub, Secure: true, Official: true };
  return { InsecureRegistryCIDRs: cidrs, IndexConfigs: indexConfigs, Mirrors: hub };
}

/** Docker Hub goes by several names; mirrors and credentials know it as docker.io. */
export function canonicalDomain(domain: string): string {
  return domain === 'index.docker.io' || domain === 'registry-1.docker.io' ? 'docker.io' : domain;
}

/** Splits "host:port", "[v6]:port", "host" into the host (brackets dropped) and port. */
export function splitHostPort(hostport: string): { host: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostport);
  if (v6) return { host: v6[1], port: v6[2] };
  const colon = hostport.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(hostport.slice(colon + 1)) && !hostport.slice(0, colon).includes(':')) {
    return { host: hostport.slice(0, colon), port: hostport.slice(colon + 1) };
  }
  return { host: hostport };
}

interface Cidr {
  family: 4 | 6;
  bits: bigint;
  prefix: number;
}

function ipBits(ip: string): { family: 4 | 6; bits: bigint } | undefined {
  const family = lazy.net.isIP(ip);
  if (family === 4) return { family, bits: ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  if (family !== 6) return undefined;
  // Expand "::" and a trailing dotted IPv4 part into eight 16-bit groups.
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipBits(v4[1])!.bits;
    text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return { family: 6, bits: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

function parseCidr(s: string): Cidr | undefined {
  const [ip, len] = s.split('/');
  const addr = ipBits(ip);
  if (!addr || !/^\d+$/.test(len ?? '')) return undefined;
  const prefix = Number(len);
  if (prefix > (addr.family === 4 ? 32 : 128)) return undefined;
  return { ...addr, prefix };
}

/** A range as Go prints a net.IPNet: its network address (host bits cleared), IPv6 compressed. */
function formatCidr(cidr: Cidr): string {
  const shift = BigInt((cidr.family === 4 ? 32 : 128) - cidr.prefix);
  return `${formatIp(cidr.family, (cidr.bits >> shift) << shift)}/${cidr.prefix}`;
}

function inCidr(ip: string, cidr: Cidr): boolean {
  const addr = ipBits(ip);
  if (!addr || addr.family !== cidr.family) return false;
  const width = BigInt(cidr.family === 4 ? 32 : 128);
  const shift = width - BigInt(cidr.prefix);
  return addr.bits >> shift === cidr.bits >> shift;
}

/** Docker treats 127.0.0.0/8 as insecure whatever the configuration says. */
const loopbackV4 = parseCidr('127.0.0.0/8')!;

/**
 * Whether a registry (host[:port], as in an image reference) may be reached without verified
 * TLS: listed by name, or one of its addresses inside a listed range or 127.0.0.0/8.
 * `addresses` are what the host resolves to.
 */
export function isInsecureRegistry(hostport: string, addresses: string[], settings: Pick<RegistrySettings, 'insecureRegistries'>): boolean {
  const { host } = splitHostPort(hostport);
  const ranges = [loopbackV4];
  for (const entry of settings.insecureRegistries) {
    if (entry === hostport || entry === host) return true;
    const cidr = entry.includes('/') ? parseCidr(entry) : undefined;
    if (cidr) ranges.push(cidr);
  }
  const ips = lazy.net.isIP(host) ? [host] : addresses;
  return ips.some((ip) => ranges.some((r) => inCidr(ip, r)));
}
