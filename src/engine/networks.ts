// The engine's network operations in Docker API shapes, and the host side of a container's
// endpoints: its network namespace, veth, the bridge and the bridge's iptables rules.
//
// A network's bridge and rules are made by the first container that joins it and stay until
// the network is removed (the default bridge's: until `network prune` finds it unused), so
// starting a container on a network that is set up costs one process (the namespace and its
// veth) and no iptables process unless it publishes ports. With no containers and no networks
// left (`rm -f` of all, `network prune`), the host has nothing of berth's on it. Teardown is
// always "remove what this record implies", which also repairs a crash half-way through. Host
// changes are serialized by one host-wide lock, since bridges and iptables are shared by every
// berth state root.
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EventLog } from '../events/log.js';
import { ConflictError, ForbiddenError, InvalidArgumentError, NotFoundError, SystemError } from '../errors.js';
import { containerResolvConf, extraHostEntries, renderHosts, type DnsSettings, type HostEntry } from '../network/etc.js';
import { bridgeName, installScript, publishScript, uninstallScript } from '../network/firewall.js';
import { checkStatic, chooseSubnet, contains, defaultGateway, defaultPools, formatCidr, macFor, overlaps, parseCidr, parseIp } from '../network/ipam.js';
import { poolOf, type Attachment, type EndpointRecord, type NetworkRecord, type NetworkStore, type SubnetConfig } from '../network/store.js';
import type { PortBinding } from '../network/ports.js';
import { lock } from '../sys/lock.js';
import { addInterface, berthBridges, ensureBridge, hostRouteCidrs, hostRoutes, iptablesRestore, iptablesSave, linkExists, makeNetns, portBindRefusal, removeLink, removeNetns } from '../sys/net.js';
import { mark } from '../timing.js';
import type { Filters } from './engine.js';
import { checkFilterKeys, labelsExcluded, labelsMatch, parseTimestamp } from './filters.js';
import { dbFile, resolvePaths, type EnginePaths } from './paths.js';
import { lazy } from '../builtins.js';
import { randomBytes, randomId } from '../sys/random.js';

export interface NetworkCreateBody {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] };
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
}

export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: SubnetConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** What a container brings to each of its networks. */
export interface ContainerNetworkInfo {
  containerId: string;
  name: string;
  hostname: string;
  hostsPath: string;
  resolvConfPath: string;
  /** --dns, --dns-search, --dns-option: what of the host's resolv.conf they replace. */
  dns: DnsSettings;
  /** --mac-address: the MAC of its interface on its first network. */
  macAddress?: string;
  /** Published ports (-p): DNATed to the container's address on its first network. */
  ports: PortBinding[];
}

/** A container's wishes for one network: Docker's EndpointSettings, the parts berth honours. */
export interface EndpointConfig {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
}

export const DEFAULT_NETWORK = 'bridge';
/** Names that are network modes, not networks (host and none have no record in berth). */
const RESERVED = ['bridge', 'host', 'none', 'default'];
/** The network modes `network ls` lists beside the default bridge, as Docker does. */
const MODES = ['host', 'none'];
const BUILTIN = [DEFAULT_NETWORK, ...MODES];
const HOST_LOCK = '/run/lock/berth-network.lock';
const DEFAULT_ROOT = resolvePaths({}, {}).root;
const LOCK_WAIT_MS = 60_000;

export class NetworkService {
  constructor(
    private readonly store: NetworkStore,
    private readonly paths: EnginePaths,
    private readonly events?: EventLog,
    /** A container's HostConfig.ExtraHosts (--add-host), kept in its hosts file through rewrites. */
    private readonly extraHostsOf: (containerId: string) => readonly string[] | null | undefined = () => [],
  ) {}

  /** Where a container's network namespace is bind-mounted while it runs. */
  private netnsPath(containerId: string): string {
    return join(this.paths.runroot, 'netns', containerId);
  }

  async create(body: NetworkCreateBody): Promise<{ Id: string; Warning: string }> {
    if (!body.Name) throw new InvalidArgumentError('invalid_name', 'network name is required');
    if (RESERVED.includes(body.Name)) throw predefined(body.Name, 'created');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(body.Name)) throw new InvalidArgumentError('invalid_name', `invalid network name "${body.Name}"`);
    const n = await this.build(body);
    this.store.insert(n);
    this.events?.record('network', 'create', n.id, { name: n.name, type: n.driver });
    return { Id: n.id, Warning: '' };
  }

  private async build(body: NetworkCreateBody, defaultBridge = false): Promise<NetworkRecord> {
    const driver = body.Driver || 'bridge';
    if (driver !== 'bridge') throw new InvalidArgumentError('invalid_driver', `plugin "${driver}" not found: berth supports the bridge driver only`);
    if (body.IPAM?.Driver && body.IPAM.Driver !== 'default') throw new InvalidArgumentError('invalid_ipam_driver', `IPAM driver "${body.IPAM.Driver}" not found`);
    const taken = [...(await hostRouteCidrs()), ...this.store.list().flatMap((x) => x.subnets.map((s) => s.Subnet))];
    const subnets: SubnetConfig[] = [];
    for (const c of body.IPAM?.Config ?? []) {
      if (!c.Subnet) {
        if (c.Gateway || c.IPRange) throw new InvalidArgumentError('invalid_subnet', 'gateway and ip-range need a subnet');
        continue;
      }
      const subnet = parseCidr(c.Subnet);
      const cidr = formatCidr(subnet);
      for (const t of taken) {
        if (overlaps(parseCidr(t), subnet)) {
          throw new ConflictError('subnet_overlap', `invalid pool request: Pool overlaps with other one on this address space (${cidr} overlaps ${t})`);
        }
      }
      const gw = c.Gateway ? parseIp(c.Gateway) : undefined;
      if (gw && !contains(subnet, gw.family, gw.value)) throw new InvalidArgumentError('invalid_gateway', `gateway ${c.Gateway} is not in subnet ${cidr}`);
      if (c.IPRange) {
        const range = parseCidr(c.IPRange);
        if (!contains(subnet, range.family, range.base) || range.prefix < subnet.prefix) {
          throw new InvalidArgumentError('invalid_ip_range', `ip-range ${c.IPRange} is not in subnet ${cidr}`);
        }
      }
      subnets.push({ Subnet: cidr, Gateway: c.Gateway ?? defaultGateway(subnet), ...(c.IPRange ? { IPRange: formatCidr(parseCidr(c.IPRange)) } : {}) });
      taken.push(cidr);
    }
    if (!subnets.some((s) => parseCidr(s.Subnet).family === 4)) {
      const pick = chooseSubnet(defaultPools(), taken);
      if (!pick) throw new ConflictError('no_subnet', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
      subnets.unshift({ Subnet: pick, Gateway: defaultGateway(parseCidr(pick)) });
    }
    if (body.EnableIPv6 && !subnets.some((s) => parseCidr(s.Subnet).family === 6)) {
      // A random unique-local /64 (RFC 4193): no coordination needed to avoid collisions.
      const r = randomBytes(5).toString('hex');
      const cidr = `fd${r.slice(0, 2)}:${r.slice(2, 6)}:${r.slice(6, 10)}::/64`;
      subnets.push({ Subnet: cidr, Gateway: defaultGateway(parseCidr(cidr)) });
    }
    subnets.sort((a, b) => parseCidr(a.Subnet).family - parseCidr(b.Subnet).family);
    const id = randomId();
    const options = { ...(body.Options ?? {}) };
    if (defaultBridge) options['com.docker.network.bridge.name'] = this.paths.root === DEFAULT_ROOT ? 'berth0' : `br-${id.slice(0, 12)}`;
    return {
      id,
      name: body.Name,
      driver,
      subnets,
      internal: body.Internal === true,
      ipv6: body.EnableIPv6 === true || subnets.some((s) => parseCidr(s.Subnet).family === 6),
      labels: body.Labels ?? {},
      options,
      created: Date.now(),
    };
  }

  /**
   * The default bridge, made on first use. Its bridge is berth0 for the default state root
   * only: bridges exist only while used, so a second root could not see that the name is taken.
   */
  async defaultNetwork(): Promise<NetworkRecord> {
    const existing = this.store.list().find((n) => n.name === DEFAULT_NETWORK);
    if (existing) return existing;
    const n = await this.build({ Name: DEFAULT_NETWORK }, true);
    return this.store.insert(n);
  }

  /**
   * `host-gateway` for a container without a network of its own (host, none): the default
   * bridge's gateway, as Docker's. The host holds that address only while the default bridge
   * is set up (while some container uses it).
   */
  async defaultGateway(): Promise<string> {
    return (await this.defaultNetwork()).subnets.find((s) => parseCidr(s.Subnet).family === 4)!.Gateway;
  }

  /** A network by name or id; `bridge` is the default network, made when first asked for. */
  async resolve(ref: string): Promise<NetworkRecord> {
    if (ref === DEFAULT_NETWORK) return this.defaultNetwork();
    return this.store.resolve(ref);
  }

  list(filters: Filters = {}): NetworkInspect[] {
    checkFilterKeys(filters, ['name', 'id', 'driver', 'label', 'type', 'dangling']);
    for (const t of filters.type ?? []) {
      if (t !== 'custom' && t !== 'builtin') throw new InvalidArgumentError('invalid_filter', `invalid filter: 'type'='${t}'`);
    }
    return [...this.store.list().map((n) => this.toInspect(n)), ...MODES.map((m) => this.modeInspect(m))].filter(
      (n) =>
        (!filters.name || filters.name.some((v) => n.Name.includes(v))) &&
        (!filters.id || filters.id.some((v) => n.Id.startsWith(v))) &&
        (!filters.driver || filters.driver.includes(n.Driver)) &&
        (!filters.type || filters.type.includes(BUILTIN.includes(n.Name) ? 'builtin' : 'custom')) &&
        labelsMatch(n.Labels, filters.label),
    );
  }

  async inspect(ref: string): Promise<NetworkInspect> {
    const mode = MODES.find((m) => m === ref || this.modeId(m) === ref);
    return mode ? this.modeInspect(mode) : this.toInspect(await this.resolve(ref));
  }

  async remove(ref: string): Promise<void> {
    if (MODES.includes(ref)) throw predefined(ref, 'removed');
    const n = this.store.resolve(ref);
    if (n.name === DEFAULT_NETWORK) throw predefined(n.name, 'removed');
    const inUse = () => new ConflictError('network_in_use', `error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    await this.withHostLock(async () => {
      if (this.store.attachmentsOf(n.id).length > 0) throw inUse();
      await this.uninstallLocked(n);
      if (!this.store.delete(n.id)) throw inUse();
    });
    this.events?.record('network', 'destroy', n.id, { name: n.name, type: n.driver });
  }

  /**
   * Removes the unused user-defined networks, and takes the default bridge's plumbing (bridge,
   * rules) off the host when no container uses it: its record stays, and the next container
   * on it sets it up again.
   */
  async prune(filters: Filters = {}): Promise<{ NetworksDeleted: string[] | null }> {
    checkFilterKeys(filters, ['label', 'label!', 'until']);
    const deleted: string[] = [];
    await this.withHostLock(async () => {
      for (const n of this.store.list()) {
        if (this.store.attachmentsOf(n.id).length > 0) continue;
        if (n.name === DEFAULT_NETWORK) {
          await this.uninstallLocked(n);
          continue;
        }
        if (!labelsMatch(n.labels, filters.label) || labelsExcluded(n.labels, filters['label!'])) continue;
        if (filters.until && n.created / 1000 >= parseTimestamp(filters.until[0])) continue;
        await this.uninstallLocked(n);
        if (!this.store.delete(n.id)) continue;
        this.events?.record('network', 'destroy', n.id, { name: n.name, type: n.driver });
        deleted.push(n.name);
      }
      await this.removeOrphanBridges();
    });
    return { NetworksDeleted: deleted.length ? deleted : null };
  }

  endpointsOf(containerId: string): { network: NetworkRecord; endpoint: EndpointRecord }[] {
    return this.store
      .endpointsOfContainer(containerId)
      .map((endpoint) => ({ network: this.store.get(endpoint.networkId)!, endpoint }))
      .filter((x) => x.network);
  }

  /**
   * Makes `ref` one of the container's networks (at create, or `network connect`). Static
   * addresses are checked against the subnet now; whether they are free, only at start.
   */
  async attach(containerId: string, ref: string, cfg: EndpointConfig = {}): Promise<NetworkRecord> {
    const network = await this.resolve(ref);
    const aliases = cfg.Aliases ?? [];
    const { IPv4Address: ipv4, IPv6Address: ipv6 } = cfg.IPAMConfig ?? {};
    if (network.name === DEFAULT_NETWORK && aliases.length) {
      throw new InvalidArgumentError('alias_on_default', 'network-scoped alias is supported only for containers in user defined networks');
    }
    if (network.name === DEFAULT_NETWORK && (ipv4 || ipv6)) {
      throw new InvalidArgumentError('ip_on_default', 'user specified IP address is supported on user defined networks only');
    }
    for (const ip of [ipv4, ipv6]) {
      if (!ip) continue;
      const conf = network.subnets.find((s) => parseCidr(s.Subnet).family === parseIp(ip).family);
      if (!conf) throw new InvalidArgumentError('invalid_ip', `network ${network.name} has no subnet for ${ip}`);
      checkStatic(poolOf(conf), ip, []);
    }
    this.store.attach({ containerId, networkId: network.id, aliases, ipv4: ipv4 || null, ipv6: ipv6 || null });
    return network;
  }

  /** Forgets one or all of the container's networks; the endpoints must be down already. */
  detach(containerId: string, networkId?: string): void {
    this.store.detach(containerId, networkId);
  }

  attachments(containerId: string): { network: NetworkRecord; aliases: string[]; ipv4: string | null; ipv6: string | null }[] {
    return this.store
      .attachmentsOfContainer(containerId)
      .map((a) => ({ network: this.store.get(a.networkId)!, aliases: a.aliases, ipv4: a.ipv4, ipv6: a.ipv6 }))
      .filter((x) => x.network);
  }

  /**
   * The container's network namespace, made empty, when it has networks to join: its path, for
   * the runtime, which needs no more. up() makes the interfaces in it meanwhile, so that the
   * `ip` it spawns and the address allocation do not hold conmon and `runc create` up.
   */
  makeNamespace(containerId: string): string | undefined {
    if (this.store.attachmentsOfContainer(containerId).length === 0) return undefined;
    const path = this.netnsPath(containerId);
    makeNetns(path);
    return path;
  }

  /**
   * Joins the container's networks in the namespace makeNamespace() made: one interface per
   * network (eth0 on the first, which also has the default route).
   */
  async up(info: ContainerNetworkInfo): Promise<void> {
    const attachments = this.store.attachmentsOfContainer(info.containerId);
    await this.withHostLock(async () => {
      for (const [i, a] of attachments.entries()) {
        const network = this.store.get(a.networkId);
        if (!network) throw new NotFoundError('network_not_found', `network ${a.networkId} not found`);
        await this.joinLocked(network, a, info, i === 0 ? info.ports : [], i === 0);
      }
    });
  }

  /** `network connect` of a running container: one more interface in its namespace. */
  async connectRunning(networkId: string, info: ContainerNetworkInfo): Promise<void> {
    const a = this.store.attachmentsOfContainer(info.containerId).find((x) => x.networkId === networkId);
    const network = this.store.get(networkId);
    if (!a || !network) throw new NotFoundError('network_not_found', `network ${networkId} not found`);
    await this.withHostLock(() => this.joinLocked(network, a, info, []));
  }

  /** Joins one network; `fresh`: the first interface of a namespace makeNetns just made. */
  private async joinLocked(network: NetworkRecord, a: Attachment, info: ContainerNetworkInfo, ports: PortBinding[], fresh = false): Promise<void> {
    network = await this.installLocked(network);
    const mine = this.store.endpointsOfContainer(info.containerId);
    const used = new Set(mine.map((e) => e.ifname));
    let n = 0;
    while (used.has(`eth${n}`)) n++;
    const ep = this.store.allocate(
      network,
      {
        id: randomId(),
        containerId: info.containerId,
        name: info.name,
        hostname: info.hostname,
        ifname: `eth${n}`,
        aliases: a.aliases,
        hostsPath: info.hostsPath,
        ports,
        ...(fresh && info.macAddress ? { mac: info.macAddress } : {}),
      },
      { ip: a.ipv4 ?? undefined, ipv6: a.ipv6 ?? undefined },
      macFor,
      portBindRefusal,
    );
    mark('network: address');
    const prefixOf = (family: 4 | 6) => parseCidr(network.subnets.find((s) => parseCidr(s.Subnet).family === family)!.Subnet).prefix;
    const iface = {
      name: ep.ifname,
      hostVeth: hostVeth(ep),
      bridge: bridgeName(network),
      mac: ep.mac,
      addresses: [`${ep.ip}/${prefixOf(4)}`, ...(ep.ipv6 ? [`${ep.ipv6}/${prefixOf(6)}`] : [])],
      // One default route per family, through the container's first network that has a way out.
      gateways: network.internal || mine.some((e) => !this.store.get(e.networkId)?.internal) ? [] : network.subnets.map((s) => s.Gateway),
    };
    await addInterface(this.netnsPath(info.containerId), iface, { loopback: fresh });
    mark('network: namespace and veth');
    if (ep.ports.length) {
      await iptablesRestore(4, publishScript(network, ep.ip, ep.ports, '-A'));
      mark('network: published ports');
    }
    writeFileSync(info.resolvConfPath, containerResolvConf(readHostFile('/etc/resolv.conf'), info.dns));
    if (network.name === DEFAULT_NETWORK) this.rewriteHostsOf(info.containerId);
    else this.rewriteHosts(network);
    this.events?.record('network', 'connect', network.id, { name: network.name, type: network.driver, container: info.containerId });
  }

  /**
   * The network's bridge and rules, unless its bridge exists already (the bridge is made last,
   * so it exists only once all is in place). A subnet that a host route claims meanwhile (another
   * state root's network, a VPN) is refused for user networks; the default bridge, when nothing
   * uses it, moves to a free one. Returns the network's record, updated if it moved.
   */
  private async installLocked(network: NetworkRecord): Promise<NetworkRecord> {
    const br = bridgeName(network);
    if (linkExists(br)) return network;
    const routes = (await hostRoutes()).filter((r) => r.dev !== br);
    const clash = network.subnets.map((s) => ({ s, r: routes.find((r) => overlaps(parseCidr(r.dst), parseCidr(s.Subnet))) })).find((x) => x.r);
    if (clash?.r) {
      if (network.name !== DEFAULT_NETWORK || this.store.endpointsOf(network.id).length > 0) {
        throw new ConflictError(
          'subnet_overlap',
          `network ${network.name}'s subnet ${clash.s.Subnet} overlaps the host's route to ${clash.r.dst} (dev ${clash.r.dev}); remove the network and create it with another --subnet`,
        );
      }
      const taken = [...routes.map((r) => r.dst), ...this.store.list().filter((x) => x.id !== network.id).flatMap((x) => x.subnets.map((s) => s.Subnet))];
      const pick = chooseSubnet(defaultPools(), taken);
      if (!pick) throw new ConflictError('no_subnet', `the default bridge's subnet ${clash.s.Subnet} overlaps the host's route to ${clash.r.dst} and no default pool is free`);
      network = { ...network, subnets: [{ Subnet: pick, Gateway: defaultGateway(parseCidr(pick)) }, ...network.subnets.filter((s) => parseCidr(s.Subnet).family === 6)] };
      this.store.updateSubnets(network.id, network.subnets);
    }
    const published = this.store.endpointsOf(network.id).map((e) => ({ ip: e.ip, ports: e.ports }));
    for (const family of this.families(network)) await iptablesRestore(family, installScript(network, family, await iptablesSave(family), published));
    await ensureBridge(br, network.subnets.map((s) => `${s.Gateway}/${parseCidr(s.Subnet).prefix}`), { networkId: network.id, root: resolve(this.paths.root) });
    mark('network: bridge and rules');
    return network;
  }

  /**
   * Bridges and rules that berth made for a state root that is gone (deleted without `network
   * prune`): nothing else would ever remove them. One with an interface still attached stays.
   * The caller holds the host lock.
   */
  private async removeOrphanBridges(): Promise<void> {
    for (const b of berthBridges()) {
      if (b.ports > 0 || existsSync(dbFile({ root: b.owner.root, runroot: '' }))) continue;
      // Its record is gone with its root: one that declares both families and no internal flag
      // names every rule and chain such a network can have, and removing is by what is there.
      // A sweep that fails (a host without ip6tables) leaves it for the next one, and the prune
      // the user asked for goes on.
      await this.uninstallLocked({
        id: b.owner.networkId,
        name: b.name,
        driver: 'bridge',
        subnets: [
          { Subnet: '0.0.0.0/0', Gateway: '' },
          { Subnet: '::/0', Gateway: '' },
        ],
        internal: false,
        ipv6: true,
        labels: {},
        options: { 'com.docker.network.bridge.name': b.name },
        created: 0,
      }).catch(() => undefined);
    }
  }

  /** Takes the network's bridge and rules off the host; nothing there is not an error. */
  private async uninstallLocked(network: NetworkRecord): Promise<void> {
    await removeLink(bridgeName(network));
    for (const family of this.families(network)) await iptablesRestore(family, uninstallScript(network, family, await iptablesSave(family)));
  }

  private families(network: NetworkRecord): (4 | 6)[] {
    return ([4, 6] as const).filter((f) => network.subnets.some((s) => parseCidr(s.Subnet).family === f));
  }

  /**
   * Takes the container's endpoints down: all of them and its namespace, or the one on
   * `networkId` (disconnect while running). Nothing to do is not an error. The veths of a
   * stopped container go with its namespace; only a disconnect deletes one.
   */
  async leave(containerId: string, networkId?: string): Promise<void> {
    await this.withHostLock(async () => {
      for (const { network, endpoint } of this.endpointsOf(containerId)) {
        if (networkId && network.id !== networkId) continue;
        if (endpoint.ports.length && !(await iptablesRestore(4, publishScript(network, endpoint.ip, endpoint.ports, '-D')))) {
          // Some of the rules were gone already (a crash, a hand edit): delete the others one by one.
          for (const line of publishScript(network, endpoint.ip, endpoint.ports, '-D').split('\n').filter((l) => l.startsWith('-D'))) {
            await iptablesRestore(4, `*nat\n${line}\nCOMMIT\n`);
          }
        }
        if (networkId) await removeLink(hostVeth(endpoint));
        this.store.deleteEndpoint(endpoint.id);
        if (network.name !== DEFAULT_NETWORK) this.rewriteHosts(network);
        if (networkId) this.rewriteHostsOf(containerId);
        this.events?.record('network', 'disconnect', network.id, { name: network.name, type: network.driver, container: containerId });
      }
      if (!networkId) removeNetns(this.netnsPath(containerId));
    });
    mark('network: teardown');
  }

  /**
   * `rename`: the container's endpoints take its new name, and the hosts files on its user
   * networks list that name instead of the old one, as Docker resolves it. A stopped container
   * has no endpoints; it joins under the new name when it starts.
   */
  async rename(containerId: string, name: string): Promise<void> {
    this.store.renameEndpoints(containerId, name);
    const named = this.endpointsOf(containerId).filter((x) => x.network.name !== DEFAULT_NETWORK);
    if (named.length) await this.withHostLock(async () => named.forEach((x) => this.rewriteHosts(x.network)));
  }

  private async withHostLock<T>(fn: () => Promise<T>): Promise<T> {
    const held = await lock(HOST_LOCK, LOCK_WAIT_MS);
    if (!held) throw new SystemError('network_lock', 'timed out waiting for the host network lock');
    try {
      return await fn();
    } finally {
      held.release();
    }
  }

  /** Every endpoint's hosts file on a user-defined `network`, in place. */
  private rewriteHosts(network: NetworkRecord): void {
    for (const containerId of new Set(this.store.endpointsOf(network.id).map((e) => e.containerId))) this.rewriteHostsOf(containerId);
  }

  /**
   * One container's hosts file: itself, and the peers of its user-defined networks (Docker
   * resolves names on those only). In place: it is bind-mounted, so the inode must stay.
   */
  private rewriteHostsOf(containerId: string): void {
    const mine = this.store.endpointsOfContainer(containerId);
    if (mine.length === 0) return;
    // An endpoint on an IPv6 network has a line per address, IPv4's first as in the container's
    // own lines of Docker's file, so that its name resolves in both families.
    const lines = (e: EndpointRecord, names: string[]): HostEntry[] => [{ ip: e.ip, names }, ...(e.ipv6 ? [{ ip: e.ipv6, names }] : [])];
    const self = mine.flatMap((m) => lines(m, [m.hostname]));
    const peers: HostEntry[] = [];
    for (const m of mine) {
      const net = this.store.get(m.networkId);
      if (!net || net.name === DEFAULT_NETWORK) continue;
      for (const p of this.store.endpointsOf(net.id)) {
        if (p.containerId === containerId) continue;
        // Docker's DNS also answers <name>.<network> (and the aliases' too).
        const names = [p.name, ...p.aliases];
        peers.push(...lines(p, [...names, p.containerId.slice(0, 12), ...names.map((n) => `${n}.${net.name}`)]));
      }
    }
    // host-gateway: the gateway of the first network, an address of the host that is there as
    // long as the container is on that network (Docker's default bridge address may not be).
    const first = this.store.get(mine[0].networkId);
    const gateway = first?.subnets.find((s) => parseCidr(s.Subnet).family === 4)?.Gateway;
    rewriteInPlace(mine[0].hostsPath, renderHosts(self, peers, extraHostEntries(this.extraHostsOf(containerId), gateway)));
  }

  /** A stable id per state root for the host and none modes, which have no record. */
  private modeId(mode: string): string {
    return lazy.crypto.createHash('sha256').update(`berth network ${mode} ${this.paths.root}`).digest('hex');
  }

  /** `host` and `none` as Docker lists them: pre-defined networks with the host and null drivers. */
  private modeInspect(mode: string): NetworkInspect {
    return {
      Name: mode,
      Id: this.modeId(mode),
      Created: new Date(0).toISOString(),
      Scope: 'local',
      Driver: mode === 'host' ? 'host' : 'null',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: [] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: {},
      Options: {},
      Labels: {},
    };
  }

  private toInspect(n: NetworkRecord): NetworkInspect {
    const containers: NetworkInspect['Containers'] = {};
    for (const ep of this.store.endpointsOf(n.id)) {
      const prefix = (family: 4 | 6) => parseCidr(n.subnets.find((s) => parseCidr(s.Subnet).family === family)!.Subnet).prefix;
      containers[ep.containerId] = {
        Name: ep.name,
        EndpointID: ep.id,
        MacAddress: ep.mac,
        IPv4Address: `${ep.ip}/${prefix(4)}`,
        IPv6Address: ep.ipv6 ? `${ep.ipv6}/${prefix(6)}` : '',
      };
    }
    return {
      Name: n.name,
      Id: n.id,
      Created: new Date(n.created).toISOString(),
      Scope: 'local',
      Driver: n.driver,
      EnableIPv6: n.ipv6,
      IPAM: { Driver: 'default', Options: null, Config: n.subnets },
      Internal: n.internal,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: n.options,
      Labels: n.labels,
    };
  }
}

function predefined(name: string, action: 'created' | 'removed'): ForbiddenError {
  return new ForbiddenError('network_predefined', `${name} is a pre-defined network and cannot be ${action}`);
}

/** The host end of an endpoint's veth: unique per endpoint, within IFNAMSIZ. */
function hostVeth(ep: EndpointRecord): string {
  return `veth${ep.id.slice(0, 11)}`;
}

function readHostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function rewriteInPlace(path: string, content: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    // The container is being removed and its files are gone: nothing to keep up to date.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, content, 0);
  } finally {
    closeSync(fd);
  }
}

/** Whether a container's NetworkMode names a network (bridge or user-defined) rather than a mode. */
export function isNetworkName(mode: string | undefined): mode is string {
  return !!mode && mode !== 'none' && mode !== 'host' && mode !== 'default' && !mode.startsWith('container:');
}
