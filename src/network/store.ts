// Network and endpoint records in the state database. An endpoint is written before its veth
// exists and deleted after it is gone, so the table always covers what is on the host.
import type { Db } from '../storage/db.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { checkStatic, nextFree, parseCidr, type Pool } from './ipam.js';
import { allocatePorts, type HostPortProbe, type PortBinding } from './ports.js';

export interface SubnetConfig {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  subnets: SubnetConfig[];
  internal: boolean;
  ipv6: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  created: number;
}

export interface EndpointRecord {
  id: string;
  networkId: string;
  containerId: string;
  name: string;
  hostname: string;
  /** The interface in the container: eth0, eth1… */
  ifname: string;
  ip: string;
  ipv6: string | null;
  mac: string;
  aliases: string[];
  hostsPath: string;
  ports: PortBinding[];
}

/** A container's membership of a network, from create (or connect) to remove (or disconnect). */
export interface Attachment {
  containerId: string;
  networkId: string;
  aliases: string[];
  ipv4: string | null;
  ipv6: string | null;
}

interface NetworkRow {
  id: string;
  name: string;
  driver: string;
  subnets: string;
  internal: number;
  ipv6: number;
  labels: string;
  options: string;
  created: number;
}

interface EndpointRow {
  id: string;
  network_id: string;
  container_id: string;
  name: string;
  hostname: string;
  ifname: string;
  ip: string;
  ipv6: string | null;
  mac: string;
  aliases: string;
  hosts_path: string;
  ports: string;
}

const toNetwork = (r: NetworkRow): NetworkRecord => ({
  id: r.id,
  name: r.name,
  driver: r.driver,
  subnets: JSON.parse(r.subnets),
  internal: r.internal === 1,
  ipv6: r.ipv6 === 1,
  labels: JSON.parse(r.labels),
  options: JSON.parse(r.options),
  created: r.created,
});

const toEndpoint = (r: EndpointRow): EndpointRecord => ({
  id: r.id,
  networkId: r.network_id,
  containerId: r.container_id,
  name: r.name,
  hostname: r.hostname,
  ifname: r.ifname,
  ip: r.ip,
  ipv6: r.ipv6,
  mac: r.mac,
  aliases: JSON.parse(r.aliases),
  hostsPath: r.hosts_path,
  ports: JSON.parse(r.ports),
});

export function poolOf(s: SubnetConfig): Pool {
  return { subnet: parseCidr(s.Subnet), gateway: s.Gateway, ...(s.IPRange ? { range: parseCidr(s.IPRange) } : {}) };
}

export class NetworkStore {
  constructor(private readonly db: Db) {}

  list(): NetworkRecord[] {
    return (this.db.prepare('SELECT * FROM networks ORDER BY created').all() as NetworkRow[]).map(toNetwork);
  }

  get(id: string): NetworkRecord | undefined {
    const r = this.db.prepare('SELECT * FROM networks WHERE id = ?').get(id) as NetworkRow | undefined;
    return r && toNetwork(r);
  }

  /** Docker's lookup order: full id, exact name, then a unique id prefix. */
  resolve(ref: string): NetworkRecord {
    const exact = this.db.prepare('SELECT * FROM networks WHERE id = ? OR name = ? ORDER BY id = ? DESC').get(ref, ref, ref) as NetworkRow | undefined;
    if (exact) return toNetwork(exact);
    if (/^[0-9a-f]+$/.test(ref)) {
      const rows = this.db.prepare("SELECT * FROM networks WHERE id LIKE ? || '%'").all(ref) as NetworkRow[];
      if (rows.length === 1) return toNetwork(rows[0]);
      if (rows.length > 1) throw new ConflictError('network_ambiguous', `network ${ref} is ambiguous (${rows.length} matches found based on ID prefix)`);
    }
    throw new NotFoundError('network_not_found', `network ${ref} not found`);
  }

  /**
   * Inserts the network unless one has its name already. The check and the insert are one
   * transaction, so the default bridge is made once even when several berths race to it.
   */
  insert(n: NetworkRecord): NetworkRecord {
    const tx = this.db.transaction(() => {
      const existing = this.db.prepare('SELECT * FROM networks WHERE name = ?').get(n.name) as NetworkRow | undefined;
      if (existing) return { network: toNetwork(existing), inserted: false };
      this.db
        .prepare('INSERT INTO networks (id, name, driver, subnets, internal, ipv6, labels, options, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(n.id, n.name, n.driver, JSON.stringify(n.subnets), n.internal ? 1 : 0, n.ipv6 ? 1 : 0, JSON.stringify(n.labels), JSON.stringify(n.options), n.created);
      return { network: n, inserted: true };
    });
    const { network, inserted } = tx.immediate();
    if (!inserted && network.id !== n.id) throw new ConflictError('network_exists', `network with name ${n.name} already exists`);
    return network;
  }

  /** A new subnet for a network with no endpoints (the default bridge, moved off a host route). */
  updateSubnets(id: string, subnets: SubnetConfig[]): void {
    this.db.prepare('UPDATE networks SET subnets = ? WHERE id = ?').run(JSON.stringify(subnets), id);
  }

  /** Deletes the network if no container is attached to it; false when one is. */
  delete(id: string): boolean {
    const tx = this.db.transaction(() => {
      if (this.attachmentsOf(id).length > 0) return false;
      this.db.prepare('DELETE FROM networks WHERE id = ?').run(id);
      return true;
    });
    return tx.immediate();
  }

  endpointsOf(networkId: string): EndpointRecord[] {
    return (this.db.prepare('SELECT * FROM endpoints WHERE network_id = ? ORDER BY rowid').all(networkId) as EndpointRow[]).map(toEndpoint);
  }

  endpointsOfContainer(containerId: string): EndpointRecord[] {
    return (this.db.prepare('SELECT * FROM endpoints WHERE container_id = ? ORDER BY rowid').all(containerId) as EndpointRow[]).map(toEndpoint);
  }

  /**
   * Allocates the endpoint's addresses and host ports (`probe` tells which the host has free)
   * and records it in one IMMEDIATE transaction: two berth processes never see the same free
   * address or port.
   */
  allocate(
    network: NetworkRecord,
    ep: Omit<EndpointRecord, 'ip' | 'ipv6' | 'mac' | 'networkId'> & { mac?: string },
    wanted: { ip?: string; ipv6?: string },
    macOf: (ip: string) => string,
    probe?: HostPortProbe,
  ): EndpointRecord {
    const tx = this.db.transaction((): EndpointRecord => {
      const used = this.endpointsOf(network.id);
      const pick = (family: 4 | 6, want?: string): string | null => {
        const conf = network.subnets.find((s) => parseCidr(s.Subnet).family === family);
        if (!conf) return null;
        const pool = poolOf(conf);
        const taken = used.map((u) => (family === 4 ? u.ip : u.ipv6)).filter((x): x is string => !!x);
        if (want) return checkStatic(pool, want, taken);
        const ip = nextFree(pool, taken);
        if (!ip) throw new ConflictError('network_full', `no available IPv${family} addresses on network ${network.name}`);
        return ip;
      };
      const ip = pick(4, wanted.ip);
      if (!ip) throw new ConflictError('no_ipv4', `network ${network.name} has no IPv4 subnet`);
      // Host ports are the host's, shared by every network and state root's endpoint here.
      const taken = (this.db.prepare('SELECT ports FROM endpoints').all() as { ports: string }[]).flatMap((r) => JSON.parse(r.ports) as PortBinding[]);
      const ports = allocatePorts(ep.ports, taken, probe, `${ep.name} (${ep.id})`);
      const rec: EndpointRecord = { ...ep, ports, networkId: network.id, ip, ipv6: network.ipv6 ? pick(6, wanted.ipv6) : null, mac: ep.mac ?? macOf(ip) };
      this.db
        .prepare('INSERT INTO endpoints (id, network_id, container_id, name, hostname, ifname, ip, ipv6, mac, aliases, hosts_path, ports) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(rec.id, rec.networkId, rec.containerId, rec.name, rec.hostname, rec.ifname, rec.ip, rec.ipv6, rec.mac, JSON.stringify(rec.aliases), rec.hostsPath, JSON.stringify(rec.ports));
      return rec;
    });
    return tx.immediate();
  }

  /** A renamed container's endpoints: the name its peers know it by. */
  renameEndpoints(containerId: string, name: string): void {
    this.db.prepare('UPDATE endpoints SET name = ? WHERE container_id = ?').run(name, containerId);
  }

  deleteEndpoint(id: string): void {
    this.db.prepare('DELETE FROM endpoints WHERE id = ?').run(id);
  }

  attach(a: Attachment): void {
    const tx = this.db.transaction(() => {
      const exists = this.db.prepare('SELECT 1 FROM attachments WHERE container_id = ? AND network_id = ?').get(a.containerId, a.networkId);
      if (exists) throw new ConflictError('already_attached', `endpoint with name ${a.containerId.slice(0, 12)} already exists in network`);
      const { n } = this.db.prepare('SELECT count(*) AS n FROM attachments WHERE container_id = ?').get(a.containerId) as { n: number };
      this.db
        .prepare('INSERT INTO attachments (container_id, network_id, idx, aliases, ipv4, ipv6) VALUES (?, ?, ?, ?, ?, ?)')
        .run(a.containerId, a.networkId, n, JSON.stringify(a.aliases), a.ipv4, a.ipv6);
    });
    tx.immediate();
  }

  /** Removes one attachment, or all of a container's when no network is given. */
  detach(containerId: string, networkId?: string): void {
    if (networkId) this.db.prepare('DELETE FROM attachments WHERE container_id = ? AND network_id = ?').run(containerId, networkId);
    else this.db.prepare('DELETE FROM attachments WHERE container_id = ?').run(containerId);
  }

  attachmentsOfContainer(containerId: string): Attachment[] {
    return (this.db.prepare('SELECT * FROM attachments WHERE container_id = ? ORDER BY idx').all(containerId) as AttachmentRow[]).map(toAttachment);
  }

  attachmentsOf(networkId: string): Attachment[] {
    return (this.db.prepare('SELECT * FROM attachments WHERE network_id = ?').all(networkId) as AttachmentRow[]).map(toAttachment);
  }
}

interface AttachmentRow {
  container_id: string;
  network_id: string;
  aliases: string;
  ipv4: string | null;
  ipv6: string | null;
}

const toAttachment = (r: AttachmentRow): Attachment => ({
  containerId: r.container_id,
  networkId: r.network_id,
  aliases: JSON.parse(r.aliases),
  ipv4: r.ipv4,
  ipv6: r.ipv6,
});
