// The configuration aardvark-dns 1.4 reads for one user-defined network: a file named after the
// network, whose first line lists the gateway addresses the server listens on (comma-separated),
// and one line per running container: its id, IPv4 addresses, IPv6 addresses (each list
// comma-separated, possibly empty), the names it answers for, and the container's own --dns
// servers, to which the server forwards that container's other queries instead of the host's
// resolvers (Docker's embedded DNS does the same with --dns). Fields are separated by one space.
//
// aardvark answers a query with the names of the networks the asking container (known by its
// source address) is on, so a container never learns the names of a network it is not on.
import type { EndpointRecord, NetworkRecord } from './store.js';

/** A name aardvark can take in its comma-separated list (no separators, lower case as it matches). */
const usable = (name: string) => name !== '' && !/[\s,]/.test(name);

/**
 * The names a peer answers for, as Docker's DNS: the container's name, its aliases on the
 * network, its short id, and `<name>.<network>` for the name and each alias.
 */
export function dnsNames(network: NetworkRecord, e: EndpointRecord): string[] {
  const names = [e.name, ...e.aliases];
  return [...new Set([...names, e.containerId.slice(0, 12), ...names.map((n) => `${n}.${network.name}`)].filter(usable).map((n) => n.toLowerCase()))];
}

/** The network's file; `serversOf` gives a container's --dns servers (none: the host's resolvers). */
export function dnsConfig(network: NetworkRecord, endpoints: EndpointRecord[], serversOf: (containerId: string) => readonly string[]): string {
  const lines = [network.subnets.map((s) => s.Gateway).join(',')];
  for (const e of endpoints) {
    const servers = serversOf(e.containerId);
    lines.push([e.containerId, e.ip, e.ipv6 ?? '', dnsNames(network, e).join(','), ...(servers.length ? [servers.join(',')] : [])].join(' '));
  }
  return lines.join('\n') + '\n';
}
