// IPAM, subnet choice, firewall rules and the etc files of bridge networks: pure logic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStatic, chooseSubnet, defaultPools, formatIp, macFor, nextFree, parseCidr, parseIp } from '../../src/network/ipam.js';
import { bridgeName, installScript, uninstallScript } from '../../src/network/firewall.js';
import { containerResolvConf, dnsSettings, extraHostEntries, renderHosts } from '../../src/network/etc.js';
import type { NetworkRecord } from '../../src/network/store.js';

const pool = (subnet: string, gateway: string, range?: string) => ({ subnet: parseCidr(subnet), gateway, ...(range ? { range: parseCidr(range) } : {}) });

test('nextFree skips the network address, the gateway and used addresses, lowest first', () => {
  const p = pool('10.1.0.0/24', '10.1.0.1');
  assert.equal(nextFree(p, []), '10.1.0.2');
  assert.equal(nextFree(p, ['10.1.0.2', '10.1.0.4']), '10.1.0.3');
  const gwLast = pool('10.1.0.0/24', '10.1.0.254');
  assert.equal(nextFree(gwLast, []), '10.1.0.1');
});

test('nextFree never hands out the broadcast address, and says when the subnet is full', () => {
  const p = pool('10.2.0.0/30', '10.2.0.1');
  assert.equal(nextFree(p, []), '10.2.0.2');
  assert.equal(nextFree(p, ['10.2.0.2']), null);
});

test('nextFree allocates from --ip-range only', () => {
  const p = pool('10.3.0.0/16', '10.3.0.1', '10.3.5.128/25');
  assert.equal(nextFree(p, []), '10.3.5.128');
  assert.equal(nextFree(p, ['10.3.5.128']), '10.3.5.129');
});

test('checkStatic accepts a free address of the subnet and refuses reserved, foreign and used ones', () => {
  const p = pool('10.4.0.0/24', '10.4.0.1', '10.4.0.128/25');
  // Outside the range is fine for --ip, as in Docker: the range only bounds dynamic addresses.
  assert.equal(checkStatic(p, '10.4.0.9', []), '10.4.0.9');
  assert.throws(() => checkStatic(p, '10.4.0.1', []), /reserved/);
  assert.throws(() => checkStatic(p, '10.4.0.255', []), /reserved/);
  assert.throws(() => checkStatic(p, '10.4.0.0', []), /reserved/);
  assert.throws(() => checkStatic(p, '10.5.0.9', []), /not in the network's subnet/);
  assert.throws(() => checkStatic(p, '10.4.0.9', ['10.4.0.9']), /already in use/);
  assert.throws(() => checkStatic(p, '10.4.0.300', []), /invalid IP address/);
});

test('IPv6: parse, format (RFC 5952) and allocate', () => {
  assert.equal(formatIp(6, parseIp('fd00:0:0:0:0:0:0:1').value), 'fd00::1');
  assert.equal(formatIp(6, parseIp('2001:db8:0:1:0:0:0:0').value), '2001:db8:0:1::');
  assert.equal(formatIp(6, parseIp('2001:db8::1:0:0:1').value), '2001:db8::1:0:0:1');
  const p = pool('fd12:3456:789a::/64', 'fd12:3456:789a::1');
  assert.equal(nextFree(p, ['fd12:3456:789a::2']), 'fd12:3456:789a::3');
  assert.equal(checkStatic(p, 'fd12:3456:789a:0::10', []), 'fd12:3456:789a::10');
  assert.deepEqual(parseCidr('10.9.8.7/16'), { family: 4, base: parseIp('10.9.0.0').value, prefix: 16 });
  assert.throws(() => parseCidr('10.0.0.0/33'), /invalid CIDR/);
});

test('chooseSubnet skips pools that overlap host routes and other networks', () => {
  const pools = defaultPools();
  assert.equal(chooseSubnet(pools, ['172.17.0.0/16', '192.0.2.0/24']), '10.88.0.0/16');
  assert.equal(chooseSubnet(pools, ['10.88.3.0/24', '172.17.0.0/16']), '172.18.0.0/16');
  assert.equal(chooseSubnet(pools, ['10.0.0.0/8', '172.16.0.0/12']), '192.168.0.0/20');
  assert.equal(chooseSubnet(['10.0.0.0/24'], ['0.0.0.0/0']), null);
  // An IPv6 route never blocks an IPv4 pool.
  assert.equal(chooseSubnet(['10.88.0.0/16'], ['fe80::/64']), '10.88.0.0/16');
});

test('macFor derives a locally administered address from the IPv4 address', () => {
  assert.equal(macFor('10.88.0.2'), '02:42:0a:58:00:02');
});

const network = (over: Partial<NetworkRecord> = {}): NetworkRecord => ({
  id: 'c1056386dbe226f8254c41c99ef87d648b430c6359a38ff5db9a552060da22ee',
  name: 'n1',
  driver: 'bridge',
  subnets: [{ Subnet: '10.88.0.0/16', Gateway: '10.88.0.1' }],
  internal: false,
  ipv6: false,
  labels: {},
  options: {},
  created: 0,
  ...over,
});

test('bridge names: br-<12 hex> for user networks, the recorded name otherwise', () => {
  assert.equal(bridgeName(network()), 'br-c1056386dbe2');
  assert.equal(bridgeName(network({ name: 'bridge', options: { 'com.docker.network.bridge.name': 'berth0' } })), 'berth0');
});

test('firewall: one restore per family, own chains, isolation jumped to first, only missing jumps added', () => {
  const n = network();
  const script = installScript(n, 4, '', [{ ip: '10.88.0.2', ports: [{ proto: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }] }]);
  assert.equal(
    script,
    [
      '*filter',
      ':BERTH-FWD-c1056386dbe2 - [0:0]',
      ':BERTH-IN-c1056386dbe2 - [0:0]',
      '-A BERTH-FWD-c1056386dbe2 ! -i br-c1056386dbe2 -o br-c1056386dbe2 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
      '-A BERTH-FWD-c1056386dbe2 -o br-c1056386dbe2 -j ACCEPT',
      '-A BERTH-IN-c1056386dbe2 -i br-c1056386dbe2 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
      '-I FORWARD -j BERTH-FWD-c1056386dbe2',
      '-A FORWARD -i br-c1056386dbe2 -j ACCEPT',
      '-I INPUT -j BERTH-IN-c1056386dbe2',
      'COMMIT',
      '*nat',
      ':BERTH-POST-c1056386dbe2 - [0:0]',
      ':BERTH-DNAT-c1056386dbe2 - [0:0]',
      '-A BERTH-POST-c1056386dbe2 -s 10.88.0.0/16 ! -o br-c1056386dbe2 -j MASQUERADE',
      '-A BERTH-POST-c1056386dbe2 -s 10.88.0.0/16 -o br-c1056386dbe2 -m conntrack --ctstate DNAT -j MASQUERADE',
      '-A BERTH-POST-c1056386dbe2 -s 127.0.0.0/8 -o br-c1056386dbe2 -j MASQUERADE',
      '-A BERTH-DNAT-c1056386dbe2 -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80',
      '-A POSTROUTING -j BERTH-POST-c1056386dbe2',
      '-A PREROUTING -j BERTH-DNAT-c1056386dbe2',
      '-A OUTPUT -j BERTH-DNAT-c1056386dbe2',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.equal(installScript(n, 6, ''), '', 'no IPv6 subnet, no ip6tables rules');
  // What iptables-save shows is not added twice; the chains are rewritten whole.
  const saved = '*filter\n:BERTH-FWD-c1056386dbe2 - [0:0]\n-A FORWARD -j BERTH-FWD-c1056386dbe2\n-A FORWARD -i br-c1056386dbe2 -j ACCEPT\nCOMMIT\n*nat\n-A OUTPUT -j BERTH-DNAT-c1056386dbe2\nCOMMIT\n';
  const again = installScript(n, 4, saved);
  assert.doesNotMatch(again, /FORWARD/);
  assert.doesNotMatch(again, /-A OUTPUT/);
  assert.match(again, /-A PREROUTING -j BERTH-DNAT-c1056386dbe2/);
  assert.equal(
    uninstallScript(n, 4, saved),
    '*filter\n-D FORWARD -j BERTH-FWD-c1056386dbe2\n-D FORWARD -i br-c1056386dbe2 -j ACCEPT\n-F BERTH-FWD-c1056386dbe2\n-X BERTH-FWD-c1056386dbe2\nCOMMIT\n*nat\n-D OUTPUT -j BERTH-DNAT-c1056386dbe2\nCOMMIT\n',
  );
  assert.equal(uninstallScript(n, 4, '*filter\nCOMMIT\n'), '');
  const internal = installScript(network({ internal: true }), 4, '');
  assert.doesNotMatch(internal, /MASQUERADE/);
  assert.match(internal, /-A BERTH-FWD-c1056386dbe2 -i br-c1056386dbe2 ! -o br-c1056386dbe2 -j DROP/);
  assert.doesNotMatch(internal, /-A FORWARD -i br-c1056386dbe2 -j ACCEPT/);
});

test('hosts file: localhost, the container itself, then its peers with aliases and short id', () => {
  const text = renderHosts([{ ip: '10.88.0.4', names: ['web'] }], [{ ip: '10.88.0.2', names: ['db', 'database', 'db'] }]);
  assert.match(text, /^127\.0\.0\.1\tlocalhost\n/);
  assert.ok(text.endsWith('10.88.0.4\tweb\n10.88.0.2\tdb database\n'));
});

test('resolv.conf: loopback stub resolvers are dropped, with Google DNS as the fallback', () => {
  assert.equal(containerResolvConf('nameserver 10.0.0.53\nsearch example.com\n'), 'nameserver 10.0.0.53\nsearch example.com\n');
  assert.equal(containerResolvConf('nameserver 127.0.0.53\noptions edns0\n'), 'options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(containerResolvConf('nameserver ::1\nnameserver 1.1.1.1\n'), 'nameserver 1.1.1.1\n');
});

test('hosts file: --add-host entries after localhost and before the container, host-gateway resolved', () => {
  const extra = extraHostEntries(['db:10.0.0.5', 'gw:host-gateway', 'v6:::1'], '172.19.0.1');
  assert.deepEqual(extra, [
    { ip: '10.0.0.5', names: ['db'] },
    { ip: '172.19.0.1', names: ['gw'] },
    { ip: '::1', names: ['v6'] },
  ]);
  assert.deepEqual(extraHostEntries(['gw:host-gateway'], undefined), [], 'no gateway known: no entry');
  assert.deepEqual(extraHostEntries(null, '172.19.0.1'), []);
  const text = renderHosts([{ ip: '10.88.0.4', names: ['web'] }], [{ ip: '10.88.0.2', names: ['db'] }], extra);
  assert.ok(text.endsWith('ff02::2\tip6-allrouters\n10.0.0.5\tdb\n172.19.0.1\tgw\n::1\tv6\n10.88.0.4\tweb\n10.88.0.2\tdb\n'), text);
});

test('resolv.conf: --dns, --dns-search and --dns-option each replace the host\'s part, as Docker rebuilds it', () => {
  const host = '# managed\nnameserver 127.0.0.53\nnameserver 10.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n';
  const dns = (servers: string[], search: string[], options: string[]) => containerResolvConf(host, dnsSettings({ Dns: servers, DnsSearch: search, DnsOptions: options }));
  assert.equal(dns([], [], []), '# managed\nnameserver 10.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n', 'nothing given: the filtered host file');
  assert.equal(dns(['9.9.9.9', '2001:db8::53'], [], []), 'search corp.example\nnameserver 9.9.9.9\nnameserver 2001:db8::53\noptions edns0 trust-ad\n');
  assert.equal(dns([], ['a.example', 'b.example'], []), 'search a.example b.example\nnameserver 10.0.0.53\noptions edns0 trust-ad\n');
  assert.equal(dns([], ['.'], ['ndots:2']), 'nameserver 10.0.0.53\noptions ndots:2\n', '`.` means no search list');
  assert.equal(containerResolvConf('nameserver 127.0.0.53\n', dnsSettings({ DnsOptions: ['rotate'] })), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions rotate\n');
});
