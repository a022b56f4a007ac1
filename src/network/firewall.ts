// The iptables rules of a bridge network, derived from its record alone, as iptables-restore
// input. They are installed once, with the network's bridge, and stay until the network is
// removed (or, for the default bridge, pruned while unused): so starting a container on a
// network that is already set up runs no iptables process at all.
//
// Each network keeps its rules in chains of its own (BERTH-FWD-<id> and so on), jumped to from
// the built-in chains. Declaring a chain in iptables-restore --noflush empties it, so an install
// is idempotent: it rewrites the chains whole and adds only the jumps that iptables-save does not
// already show. A crash half-way through is repaired by the next install.
//
// Docker's FORWARD chain here ends in its own rules and a DROP policy. A network's filter chain
// is jumped to from the top: nothing new may enter its bridge from another interface unless it
// was DNATed by a published port, which keeps networks apart from each other and from docker0.
// What leaves the bridge is accepted by a rule appended to FORWARD, after every network's chain
// had its say, so one network's accept never lets a packet into another.
import type { PortBinding } from './ports.js';
import { parseCidr } from './ipam.js';
import type { NetworkRecord } from './store.js';

export function bridgeName(n: NetworkRecord): string {
  return n.options['com.docker.network.bridge.name'] ?? (n.name === 'bridge' ? 'berth0' : `br-${n.id.slice(0, 12)}`);
}

/** A network's chains; iptables allows 28 characters. */
export function chains(n: NetworkRecord) {
  const id = n.id.slice(0, 12);
  return { forward: `BERTH-FWD-${id}`, input: `BERTH-IN-${id}`, post: `BERTH-POST-${id}`, dnat: `BERTH-DNAT-${id}` };
}

interface TableScript {
  chains: string[];
  rules: string[];
  /** Jumps from built-in chains, written as iptables-save prints them (`-A FORWARD -j X`). */
  jumps: { line: string; first: boolean }[];
}

function tables(n: NetworkRecord, family: 4 | 6, published: { ip: string; ports: PortBinding[] }[]): { filter: TableScript; nat: TableScript } | null {
  const subnets = n.subnets.filter((s) => parseCidr(s.Subnet).family === family);
  if (subnets.length === 0) return null;
  const br = bridgeName(n);
  const c = chains(n);
  const filter: TableScript = { chains: [c.forward], rules: [], jumps: [{ line: `-A FORWARD -j ${c.forward}`, first: true }] };
  const nat: TableScript = { chains: [c.post, c.dnat], rules: [], jumps: [] };
  filter.rules.push(`-A ${c.forward} ! -i ${br} -o ${br} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`);
  if (n.internal) filter.rules.push(`-A ${c.forward} -i ${br} ! -o ${br} -j DROP`);
  filter.rules.push(`-A ${c.forward} -o ${br} -j ACCEPT`);
  if (!n.internal) {
    filter.jumps.push({ line: `-A FORWARD -i ${br} -j ACCEPT`, first: false });
    for (const s of subnets) {
      nat.rules.push(`-A ${c.post} -s ${s.Subnet} ! -o ${br} -j MASQUERADE`);
      // Hairpin: a container reaching a published port of its own network through the host's
      // address must see the answer come from where it sent the request.
      nat.rules.push(`-A ${c.post} -s ${s.Subnet} -o ${br} -m conntrack --ctstate DNAT -j MASQUERADE`);
    }
  }
  if (family === 4 && !n.internal) {
    // Published ports answer on 127.0.0.1 too: the OUTPUT DNAT sends such packets out the
    // bridge (route_localnet), so their source must be rewritten for the reply to come back,
    // and the bridge must not become a way into the host's loopback services.
    nat.rules.push(`-A ${c.post} -s 127.0.0.0/8 -o ${br} -j MASQUERADE`);
    filter.chains.push(c.input);
    filter.rules.push(`-A ${c.input} -i ${br} -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`);
    filter.jumps.push({ line: `-A INPUT -j ${c.input}`, first: true });
  }
  nat.jumps.push({ line: `-A POSTROUTING -j ${c.post}`, first: false });
  nat.jumps.push({ line: `-A PREROUTING -j ${c.dnat}`, first: false });
  nat.jumps.push({ line: `-A OUTPUT -j ${c.dnat}`, first: false });
  if (family === 4) for (const p of published) nat.rules.push(...publishLines(n, p.ip, p.ports, '-A'));
  return { filter, nat };
}

/** The lines of one table in `iptables-save` output, for finding the jumps already there. */
function savedLines(saved: string, table: string): Set<string> {
  const out = new Set<string>();
  let current = '';
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) current = line.slice(1);
    else if (current === table && line.startsWith('-A ')) out.add(line.trim());
  }
  return out;
}

const insertForm = (jump: { line: string; first: boolean }) => (jump.first ? jump.line.replace(/^-A /, '-I ') : jump.line);

/**
 * iptables-restore --noflush input that sets the network up for one family, with the DNAT rules
 * of the endpoints already published on it; '' when the network has no subnet of that family.
 * `saved` is the family's current `iptables-save` output.
 */
export function installScript(n: NetworkRecord, family: 4 | 6, saved: string, published: { ip: string; ports: PortBinding[] }[] = []): string {
  const t = tables(n, family, published);
  if (!t) return '';
  let out = '';
  for (const [name, s] of Object.entries(t)) {
    const have = savedLines(saved, name);
    out += `*${name}\n`;
    for (const ch of s.chains) out += `:${ch} - [0:0]\n`;
    for (const r of s.rules) out += r + '\n';
    for (const j of s.jumps) if (!have.has(j.line)) out += insertForm(j) + '\n';
    out += 'COMMIT\n';
  }
  return out;
}

/** The input that removes what installScript made (whatever of it `saved` still shows); '' when nothing is left. */
export function uninstallScript(n: NetworkRecord, family: 4 | 6, saved: string): string {
  const t = tables(n, family, []);
  if (!t) return '';
  let out = '';
  for (const [name, s] of Object.entries(t)) {
    const have = savedLines(saved, name);
    const declared = new Set(saved.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]));
    const lines = [
      ...s.jumps.filter((j) => have.has(j.line)).map((j) => j.line.replace(/^-A /, '-D ')),
      ...s.chains.filter((ch) => declared.has(ch)).flatMap((ch) => [`-F ${ch}`]),
    ];
    // A chain can go only once no rule of any chain jumps to it: after every flush.
    lines.push(...s.chains.filter((ch) => declared.has(ch)).map((ch) => `-X ${ch}`));
    if (lines.length) out += `*${name}\n${lines.join('\n')}\nCOMMIT\n`;
  }
  return out;
}

/**
 * The DNAT rules of a container's published ports, in its network's DNAT chain, jumped to from
 * PREROUTING (traffic from elsewhere) and OUTPUT (the host's own, 127.0.0.1 included; see the
 * bridge's route_localnet). `op` is -A to add them and -D to delete them.
 */
export function publishLines(n: NetworkRecord, containerIp: string, bindings: PortBinding[], op: '-A' | '-D'): string[] {
  const c = chains(n);
  return bindings.map((b) => {
    const dst = b.hostIp ? `-d ${b.hostIp}/32` : '-m addrtype --dst-type LOCAL';
    return `${op} ${c.dnat} ${dst} -p ${b.proto} -m ${b.proto} --dport ${b.hostPort} -j DNAT --to-destination ${containerIp}:${b.containerPort}`;
  });
}

export function publishScript(n: NetworkRecord, containerIp: string, bindings: PortBinding[], op: '-A' | '-D'): string {
  if (bindings.length === 0) return '';
  return `*nat\n${publishLines(n, containerIp, bindings, op).join('\n')}\nCOMMIT\n`;
}
