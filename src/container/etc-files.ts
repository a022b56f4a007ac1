// The /etc/hostname, /etc/hosts and /etc/resolv.conf a container gets, bind-mounted from its
// userdata directory as Docker does, so that they can be changed without touching the image.
import { readFileSync } from 'node:fs';

export const LOCALHOST_ENTRIES = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** The name a container's own hosts entry gives first: Docker's FQDN, the host name with the --domainname. */
export function fqdn(hostname: string, domainname: string): string {
  return domainname ? `${hostname}.${domainname}` : hostname;
}

function hostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The host's network is the container's: so are its names, unless --add-host gives some (then,
 * as Docker, localhost and those only). `extra` are the --add-host lines.
 */
export function hostsFile(networkMode: string, extra: readonly string[] = []): string {
  if (networkMode === 'host' && extra.length === 0) return hostFile('/etc/hosts');
  return [...LOCALHOST_ENTRIES, ...extra].join('\n') + '\n';
}

/**
 * The host's resolver configuration. Without a network of its own the container cannot reach
 * a resolver anyway; with the host's network, a local resolver (127.0.0.53) works too.
 */
export function resolvConfFile(): string {
  return hostFile('/etc/resolv.conf');
}
