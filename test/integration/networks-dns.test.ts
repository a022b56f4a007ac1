// A container's names and addresses through the built CLI, as root, with real containers:
// --add-host (host-gateway included), --dns, --dns-search, --dns-option and --mac-address on the
// default bridge, a user network, host and none, as the container's /etc/hosts, /etc/resolv.conf
// and interface show them, and as inspect reports them; peers' names after a rename and on an
// IPv6 network.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { berth, berthAsync, berthOk, removeContainersAndNetworks } from '../helpers/cli.js';
import { isRoot, tempDir } from '../helpers/root.js';

let root: string;
let cleanup: () => void;

const opts = { skip: !isRoot && 'needs root' };

before(() => {
  ({ dir: root, cleanup } = tempDir('berth-dns-'));
});

const removeAll = () => removeContainersAndNetworks(root);

after(() => {
  removeAll();
  cleanup();
});

const LOCALHOST = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';
const FLAGS = ['--add-host', 'db:10.1.2.3', '--add-host', 'gw:host-gateway', '--add-host', 'v6=[2001:db8::7]', '--dns', '9.9.9.9', '--dns', '2001:db8::53', '--dns-search', 'example.com', '--dns-option', 'ndots:2'];
const RESOLV = 'search example.com\nnameserver 9.9.9.9\nnameserver 2001:db8::53\noptions ndots:2\n';
const bridgeGateway = () => JSON.parse(berthOk(root, ['network', 'inspect', 'bridge']))[0].IPAM.Config[0].Gateway as string;

test('on the default bridge: --add-host entries before the container\'s own, Docker\'s resolv.conf, the MAC on eth0', opts, () => {
  const id = berthOk(root, ['run', '-d', ...FLAGS, '--mac-address', '02:42:0a:de:ad:01', 'busybox', 'sleep', '300']).trim();
  const ip = berthOk(root, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', id]).trim();
  const gw = bridgeGateway();
  assert.equal(berthOk(root, ['exec', id, 'cat', '/etc/hosts']), `${LOCALHOST}10.1.2.3\tdb\n${gw}\tgw\n2001:db8::7\tv6\n${ip}\t${id.slice(0, 12)}\n`);
  assert.equal(berthOk(root, ['exec', id, 'cat', '/etc/resolv.conf']), RESOLV);
  assert.equal(berthOk(root, ['exec', id, 'cat', '/sys/class/net/eth0/address']), '02:42:0a:de:ad:01\n');
  assert.match(berthOk(root, ['exec', id, 'ip', 'link', 'show', 'eth0']), /link\/ether 02:42:0a:de:ad:01 /);
  // host-gateway is the host: it answers there.
  berthOk(root, ['exec', id, 'ping', '-c1', '-W2', 'gw']);
  const [c] = JSON.parse(berthOk(root, ['inspect', id]));
  assert.deepEqual(c.HostConfig.ExtraHosts, ['db:10.1.2.3', 'gw:host-gateway', 'v6:2001:db8::7']);
  assert.deepEqual(c.HostConfig.Dns, ['9.9.9.9', '2001:db8::53']);
  assert.deepEqual(c.HostConfig.DnsSearch, ['example.com']);
  assert.deepEqual(c.HostConfig.DnsOptions, ['ndots:2']);
  assert.equal(c.Config.MacAddress, '02:42:0a:de:ad:01');
  assert.equal(c.NetworkSettings.MacAddress, '02:42:0a:de:ad:01');
  assert.equal(c.NetworkSettings.Networks.bridge.MacAddress, '02:42:0a:de:ad:01');
  // The container's files are its own: the next start writes them the same way.
  berthOk(root, ['restart', '-t', '0', id]);
  assert.equal(berthOk(root, ['exec', id, 'cat', '/sys/class/net/eth0/address']), '02:42:0a:de:ad:01\n');
  assert.equal(berthOk(root, ['exec', id, 'cat', '/etc/resolv.conf']), RESOLV);
  berthOk(root, ['rm', '-f', id]);

  // Without the flags: empty settings as Docker shows them, a MAC of berth's own, no loopback resolver.
  const plain = berthOk(root, ['run', '-d', 'busybox', 'sleep', '300']).trim();
  const [p] = JSON.parse(berthOk(root, ['inspect', plain]));
  assert.deepEqual([p.HostConfig.ExtraHosts, p.HostConfig.Dns, p.HostConfig.DnsSearch, p.HostConfig.DnsOptions], [null, [], [], []]);
  assert.equal(p.Config.MacAddress, undefined);
  assert.equal(berthOk(root, ['exec', plain, 'cat', '/sys/class/net/eth0/address']).trim(), p.NetworkSettings.MacAddress);
  const resolv = berthOk(root, ['exec', plain, 'cat', '/etc/resolv.conf']);
  assert.match(resolv, /^nameserver /m);
  assert.doesNotMatch(resolv, /^\s*nameserver\s+(127\.|::1)/m);
  berthOk(root, ['rm', '-f', plain]);
});

test('on a user network: --add-host entries survive the peers\' joins and leaves, host-gateway is the network\'s gateway and reaches the host', opts, async () => {
  berthOk(root, ['network', 'create', '--subnet', '10.237.0.0/24', 'dnsnet']);
  const gw = '10.237.0.1';
  berthOk(root, ['run', '-d', '--name', 'me', '--network', 'dnsnet', ...FLAGS, '--mac-address', '02:42:0a:de:ad:02', 'busybox', 'sleep', '300']);
  berthOk(root, ['run', '-d', '--name', 'peer', '--network', 'dnsnet', 'busybox', 'sleep', '300']);
  const ipOf = (name: string) => berthOk(root, ['inspect', '-f', '{{.NetworkSettings.Networks.dnsnet.IPAddress}}', name]).trim();
  const idOf = (name: string) => berthOk(root, ['inspect', '-f', '{{.Id}}', name]).trim().slice(0, 12);
  const extra = `10.1.2.3\tdb\n${gw}\tgw\n2001:db8::7\tv6\n`;
  assert.equal(berthOk(root, ['exec', 'me', 'cat', '/etc/hosts']), `${LOCALHOST}${extra}${ipOf('me')}\t${idOf('me')}\n${ipOf('peer')}\tpeer ${idOf('peer')} peer.dnsnet\n`);
  berthOk(root, ['rm', '-f', 'peer']);
  assert.equal(berthOk(root, ['exec', 'me', 'cat', '/etc/hosts']), `${LOCALHOST}${extra}${ipOf('me')}\t${idOf('me')}\n`);
  assert.equal(berthOk(root, ['exec', 'me', 'cat', '/etc/resolv.conf']), RESOLV);
  assert.equal(berthOk(root, ['exec', 'me', 'cat', '/sys/class/net/eth0/address']), '02:42:0a:de:ad:02\n');
  assert.equal(berthOk(root, ['inspect', '-f', '{{.NetworkSettings.Networks.dnsnet.MacAddress}}', 'me']), '02:42:0a:de:ad:02\n');
  assert.match(berthOk(root, ['network', 'inspect', '-f', '{{json .Containers}}', 'dnsnet']), /"MacAddress":"02:42:0a:de:ad:02"/);
  // A second network's interface gets a MAC of its own: --mac-address is the first network's.
  berthOk(root, ['network', 'create', '--subnet', '10.238.0.0/24', 'dnsnet2']);
  berthOk(root, ['network', 'connect', 'dnsnet2', 'me']);
  assert.notEqual(berthOk(root, ['exec', 'me', 'cat', '/sys/class/net/eth1/address']), '02:42:0a:de:ad:02\n');
  assert.match(berthOk(root, ['exec', 'me', 'cat', '/etc/hosts']), new RegExp(`\n${gw.replace(/\./g, '\\.')}\tgw\n`), 'still the first network\'s gateway');

  // A server on the host, on the gateway address only, answers the container at gw.
  const server = createServer((_req, res) => res.end('hello from the host\n'));
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, gw, resolve));
    const port = (server.address() as AddressInfo).port;
    const r = await berthAsync(root, ['exec', 'me', 'wget', '-qO-', `http://gw:${port}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello from the host\n');
  } finally {
    server.close();
  }
  berthOk(root, ['rm', '-f', 'me']);
  berthOk(root, ['network', 'rm', 'dnsnet', 'dnsnet2']);
});

test('rename: the peers resolve the new name and no longer the old one; a stopped container joins under its new name', opts, () => {
  berthOk(root, ['network', 'create', '--subnet', '10.246.0.0/24', 'renames']);
  berthOk(root, ['run', '-d', '--name', 'n1', '--network', 'renames', 'busybox', 'sleep', '300']);
  berthOk(root, ['run', '-d', '--name', 'n3', '--network', 'renames', '--network-alias', 'third', 'busybox', 'sleep', '300']);
  berthOk(root, ['exec', 'n1', 'ping', '-c1', '-W1', 'n3']);
  berthOk(root, ['rename', 'n3', 'n3new']);
  berthOk(root, ['exec', 'n1', 'ping', '-c1', '-W1', 'n3new']);
  berthOk(root, ['exec', 'n1', 'ping', '-c1', '-W1', 'third']);
  const old = berth(root, ['exec', 'n1', 'ping', '-c1', '-W1', 'n3']);
  assert.notEqual(old.code, 0);
  assert.match(old.stderr, /bad address 'n3'/);
  assert.match(berthOk(root, ['network', 'inspect', '-f', '{{json .Containers}}', 'renames']), /"Name":"n3new"/);
  berthOk(root, ['stop', '-t', '0', 'n1']);
  berthOk(root, ['rename', 'n1', 'n1new']);
  berthOk(root, ['start', 'n1new']);
  berthOk(root, ['exec', 'n3new', 'ping', '-c1', '-W1', 'n1new']);
  assert.doesNotMatch(berthOk(root, ['exec', 'n3new', 'cat', '/etc/hosts']), /\tn1 /);
  berthOk(root, ['rm', '-f', 'n1new', 'n3new']);
  berthOk(root, ['network', 'rm', 'renames']);
});

test('on an IPv6 network, every name resolves in both families: an IPv4 and an IPv6 line each', opts, () => {
  berthOk(root, ['network', 'create', '--ipv6', '--subnet', 'fd35:2::/64', '--subnet', '10.247.0.0/24', 'v6names']);
  berthOk(root, ['run', '-d', '--name', 'v6a', '--network', 'v6names', '--network-alias', 'six', 'busybox', 'sleep', '300']);
  berthOk(root, ['run', '-d', '--name', 'v6b', '--network', 'v6names', 'busybox', 'sleep', '300']);
  const field = (name: string, f: string) => berthOk(root, ['inspect', '-f', `{{.NetworkSettings.Networks.v6names.${f}}}`, name]).trim();
  const [a, b] = ['v6a', 'v6b'].map((n) => ({ ip: field(n, 'IPAddress'), ip6: field(n, 'GlobalIPv6Address'), id: berthOk(root, ['inspect', '-f', '{{.Id}}', n]).trim().slice(0, 12) }));
  assert.match(a.ip6, /^fd35:2::/);
  assert.equal(berthOk(root, ['exec', 'v6b', 'cat', '/etc/hosts']), `${LOCALHOST}${b.ip}\t${b.id}\n${b.ip6}\t${b.id}\n${a.ip}\tv6a six ${a.id} v6a.v6names six.v6names\n${a.ip6}\tv6a six ${a.id} v6a.v6names six.v6names\n`);
  berthOk(root, ['exec', 'v6b', 'ping6', '-c1', '-W2', 'v6a']);
  berthOk(root, ['exec', 'v6b', 'ping6', '-c1', '-W2', 'six']);
  berthOk(root, ['exec', 'v6b', 'ping', '-c1', '-W2', 'v6a']);
  berthOk(root, ['exec', 'v6a', 'sh', '-c', 'ping6 -c1 -W2 v6b && ping6 -c1 -W2 $(hostname)']);
  berthOk(root, ['rm', '-f', 'v6a', 'v6b']);
  berthOk(root, ['network', 'rm', 'v6names']);
});

test('with --network host and none: localhost and the --add-host entries, Docker\'s resolv.conf', opts, () => {
  const gw = bridgeGateway();
  const host = berthOk(root, ['run', '--rm', '--network', 'host', ...FLAGS, 'busybox', 'sh', '-c', 'cat /etc/hosts; echo --; cat /etc/resolv.conf']);
  assert.equal(host, `${LOCALHOST}10.1.2.3\tdb\n${gw}\tgw\n2001:db8::7\tv6\n--\n${RESOLV}`);
  const none = berthOk(root, ['run', '--rm', '--network', 'none', '--add-host', 'gw:host-gateway', '--dns-search', 'a.example', 'busybox', 'sh', '-c', 'cat /etc/hosts; echo --; cat /etc/resolv.conf']);
  const [hosts, resolv] = none.split('--\n');
  assert.equal(hosts, `${LOCALHOST}${gw}\tgw\n`);
  assert.match(resolv, /^search a\.example\nnameserver /);
  // Publishing means nothing on the host's network: Docker warns and drops the ports.
  const published = berth(root, ['run', '--rm', '--network', 'host', '-p', '8080:80', 'busybox', 'true']);
  assert.equal(published.code, 0, published.stderr);
  assert.match(published.stderr, /^WARNING: Published ports are discarded when using host network mode$/m);
  // Without flags, the host network's container has the host's own files.
  const plain = berthOk(root, ['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'cat /etc/hosts; echo --; cat /etc/resolv.conf']);
  assert.equal(plain, `${readFileSync('/etc/hosts', 'utf8')}--\n${readFileSync('/etc/resolv.conf', 'utf8')}`);
});

test('bad --add-host, --dns, --dns-search and --mac-address values: Docker\'s errors, exit 125, nothing created', opts, () => {
  const cases: [string[], RegExp][] = [
    [['--add-host', 'db'], /invalid argument "db" for "--add-host" flag: bad format for add-host: "db"/],
    [['--add-host', 'db:300.1.1.1'], /invalid IP address in add-host: "300.1.1.1"/],
    [['--dns', '1.2.3'], /invalid argument "1.2.3" for "--dns" flag: IP address is not correctly formatted: 1.2.3/],
    [['--dns-search', '-x'], /invalid argument "-x" for "--dns-search" flag: -x is not a valid domain/],
    [['--mac-address', '02:42:zz:00:00:01'], /02:42:zz:00:00:01 is not a valid mac address/],
    [['--network', 'host', '--mac-address', '02:42:0a:00:00:01'], /conflicting options: mac-address and the network mode/],
    [['--network', 'container:nothere', '--dns', '1.1.1.1'], /conflicting options: dns and the network mode/],
    [['--network', 'container:nothere', '-p', '8080:80'], /conflicting options: port publishing and the container type network mode/],
  ];
  for (const [flags, message] of cases) {
    for (const cmd of ['create', 'run']) {
      const r = berth(root, [cmd, ...flags, 'busybox', 'true']);
      assert.equal(r.code, 125, `${cmd} ${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  }
  assert.equal(berthOk(root, ['ps', '-a', '--format', '{{.Names}} {{.Command}}']), '');
});
