// The iptables rules a bridge network needs while it has endpoints, derived from its record
// alone, so teardown removes exactly what setup made without remembering rule positions.
//
// Docker's FORWARD chain here ends in its own rules and a DROP policy. Isolation rules go on
// top (inserted): nothing new may enter a berth bridge from another interface unless it was
// DNATed by a published port, which keeps networks apart from each other and from docker0.
// The accepts are appended: they only have to come before the DROP policy.
import type { IptablesRule } from '../sys/net.js';
import { parseCidr } from './ipam.js';
import type { NetworkRecord } from './store.js';

export function bridgeName(n: NetworkRecord): string {
  return n.options['com.docker.network.bridge.name'] ?? (n.name === 'bridge' ? 'berth0' : `br-${n.id.slice(0, 12)}`);
}

export function firewallRules(n: NetworkRecord): IptablesRule[] {
  const br = bridgeName(n);
  const rules: IptablesRule[] = [];
  for (const family of [4, 6] as const) {
    const subnets = n.subnets.filter((s) => parseCidr(s.Subnet).family === family);
    if (subnets.length === 0) continue;
    const filter = (first: boolean, spec: string[]): IptablesRule => ({ family, table: 'filter', chain: 'FORWARD', first, spec });
    rules.push(filter(true, ['!', '-i', br, '-o', br, '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP']));
    if (n.internal) {
      rules.push(filter(true, ['-i', br, '!', '-o', br, '-j', 'DROP']));
    } else {
      for (const s of subnets) {
        rules.push({ family, table: 'nat', chain: 'POSTROUTING', spec: ['-s', s.Subnet, '!', '-o', br, '-j', 'MASQUERADE'] });
      }
    }
    if (family === 4 && !n.internal) {
      // Published ports answer on 127.0.0.1 too: the OUTPUT DNAT sends such packets out the
      // bridge (route_localnet), so their source must be rewritten for the reply to come back,
      // and the bridge must not become a way into the host's loopback services.
      rules.push({ family, table: 'nat', chain: 'POSTROUTING', spec: ['-s', '127.0.0.0/8', '-o', br, '-j', 'MASQUERADE'] });
      rules.push({ family, table: 'filter', chain: 'INPUT', first: true, spec: ['-i', br, '-d', '127.0.0.0/8', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP'] });
    }
    rules.push(filter(false, ['-i', br, '-j', 'ACCEPT']));
    rules.push(filter(false, ['-o', br, '-j', 'ACCEPT']));
  }
  return rules;
}
