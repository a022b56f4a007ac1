// Bridge networks end to end through the built CLI, as root: real bridges, veths, network
// namespaces and iptables rules. Every test leaves the host's links, rules and netns exactly
// as it found them, which the last test checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { berth, berthAsync, berthOk } from '../helpers/cli.js';
import { isRoot, tempDir } from '../helpers/root.js';

let root: string;
let cleanup: () => void;
let hostBefore: HostState;

interface HostState {
  links: string[];
  rules: string;
  netns: string;
}

/** What berth may change on the host; counters and link indexes aside. */
function hostState(): HostState {
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1].trim().split('@')[0])
    .sort();
  const rules = execFileSync('iptables-save', { encoding: 'utf8' })
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/, ''))
    .join('\n');
  return { links, rules, netns: execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }) };
}

const opts = { skip: !isRoot && 'needs root' };

before(() => {
  ({ dir: root, cleanup } = tempDir('berth-net-'));
  if (isRoot) hostBefore = hostState();
});

after(() => {
  const ids = berth(root, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length) berth(root, ['rm', '-f', ...ids]);
  berth(root, ['network', 'prune', '-f']);
  cleanup();
});

test('network create, ls, inspect, rm through the CLI', opts, () => {
  const id = berthOk(root, ['network', 'create', '--subnet', '10.231.0.0/24', '--gateway', '10.231.0.254', '--ip-range', '10.231.0.128/25', '--label', 'team=a', '-o', 'mtu=1400', '--internal', 'alpha']).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const table = berthOk(root, ['network', 'ls']).split('\n');
  assert.match(table[0], /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
  assert.ok(table.some((l) => new RegExp(`^${id.slice(0, 12)}\\s+alpha\\s+bridge\\s+local$`).test(l)));
  assert.ok(table.some((l) => /^[0-9a-f]{12}\s+bridge\s+bridge\s+local$/.test(l)), 'the default bridge is listed');
  assert.equal(berthOk(root, ['network', 'ls', '-q', '--filter', 'label=team=a']), id.slice(0, 12) + '\n');
  assert.equal(berthOk(root, ['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}}']), 'alpha\n');
  const [n] = JSON.parse(berthOk(root, ['network', 'inspect', 'alpha']));
  assert.equal(n.Name, 'alpha');
  assert.equal(n.Id, id);
  assert.equal(n.Scope, 'local');
  assert.equal(n.Driver, 'bridge');
  assert.equal(n.Internal, true);
  assert.equal(n.EnableIPv6, false);
  assert.deepEqual(n.IPAM, { Driver: 'default', Options: null, Config: [{ Subnet: '10.231.0.0/24', Gateway: '10.231.0.254', IPRange: '10.231.0.128/25' }] });
  assert.deepEqual(n.Labels, { team: 'a' });
  assert.deepEqual(n.Options, { mtu: '1400' });
  assert.deepEqual(n.Containers, {});
  assert.equal(berthOk(root, ['network', 'inspect', '-f', '{{.Name}}', id.slice(0, 6)]), 'alpha\n');

  const [bridge] = JSON.parse(berthOk(root, ['network', 'inspect', 'bridge']));
  assert.notEqual(bridge.IPAM.Config[0].Subnet, '172.17.0.0/16', "docker0's subnet is taken");

  const overlap = berth(root, ['network', 'create', '--subnet', '10.231.0.0/16', 'beta']);
  assert.equal(overlap.code, 1);
  assert.match(overlap.stderr, /overlaps/);
  const dup = berth(root, ['network', 'create', 'alpha']);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /already exists/);
  assert.match(berth(root, ['network', 'rm', 'bridge']).stderr, /pre-defined network and cannot be removed/);
  assert.equal(berthOk(root, ['network', 'rm', 'alpha']), 'alpha\n');
  assert.match(berth(root, ['network', 'inspect', 'alpha']).stderr, /not found/);
});

test('containers on a user network reach each other by name; another network cannot reach them', opts, () => {
  berthOk(root, ['network', 'create', 'front']);
  berthOk(root, ['network', 'create', 'back']);
  berthOk(root, ['run', '-d', '--name', 'web1', '--network', 'front', 'busybox', 'sleep', '300']);
  berthOk(root, ['run', '-d', '--name', 'web2', '--network', 'front', 'busybox', 'sleep', '300']);
  const hostsBefore = berthOk(root, ['exec', 'web1', 'cat', '/etc/hosts']);
  assert.match(hostsBefore, /\tweb2 [0-9a-f]{12}\n/);

  berthOk(root, ['exec', 'web1', 'ping', '-c1', '-W1', 'web2']);
  berthOk(root, ['exec', 'web2', 'ping', '-c1', '-W1', 'web1']);

  const ip1 = berthOk(root, ['inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'web1']).trim();
  assert.match(ip1, /^\d+\.\d+\.\d+\.\d+$/);
  const [front] = JSON.parse(berthOk(root, ['network', 'inspect', 'front']));
  assert.equal(Object.keys(front.Containers).length, 2);

  // A later peer shows up in the running containers' hosts files (rewritten in place).
  berthOk(root, ['run', '-d', '--name', 'web3', '--network', 'front', 'busybox', 'sleep', '300']);
  assert.match(berthOk(root, ['exec', 'web1', 'cat', '/etc/hosts']), /\tweb3 /);
  berthOk(root, ['rm', '-f', 'web3']);
  assert.doesNotMatch(berthOk(root, ['exec', 'web1', 'cat', '/etc/hosts']), /web3/);

  const byName = berth(root, ['run', '--rm', '--network', 'back', 'busybox', 'ping', '-c1', '-W1', 'web1']);
  assert.notEqual(byName.code, 0, 'names of another network are unknown');
  const byIp = berth(root, ['run', '--rm', '--network', 'back', 'busybox', 'ping', '-c1', '-W1', ip1]);
  assert.notEqual(byIp.code, 0, 'another network cannot reach front');
  assert.match(byIp.stdout, /100% packet loss/);
  // The default bridge has no name resolution, but its containers get out through the gateway.
  const gw = berth(root, ['run', '--rm', '--network', 'bridge', 'busybox', 'sh', '-c', 'ping -c1 -W1 $(ip route | awk \'/default/ {print $3}\')']);
  assert.equal(gw.code, 0, gw.stdout + gw.stderr);

  const busy = berth(root, ['network', 'rm', 'front']);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /active endpoints/);
  berthOk(root, ['rm', '-f', 'web1', 'web2']);
  assert.match(berthOk(root, ['network', 'prune', '-f']), /Deleted Networks:\n(back\nfront|front\nback)\n/);
});

test('containers started in parallel on one network get distinct addresses', opts, async () => {
  berthOk(root, ['network', 'create', '--subnet', '10.232.0.0/24', 'many']);
  const runs = await Promise.all(
    Array.from({ length: 20 }, (_, i) => berthAsync(root, ['run', '-d', '--name', `m${i}`, '--network', 'many', 'busybox', 'sleep', '300'])),
  );
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const [many] = JSON.parse(berthOk(root, ['network', 'inspect', 'many']));
  const ips = Object.values(many.Containers as Record<string, { IPv4Address: string }>).map((c) => c.IPv4Address);
  assert.equal(ips.length, 20);
  assert.equal(new Set(ips).size, 20);
  assert.ok(ips.every((ip) => /^10\.232\.0\.\d+\/24$/.test(ip)));
  berthOk(root, ['rm', '-f', ...Array.from({ length: 20 }, (_, i) => `m${i}`)]);
  berthOk(root, ['network', 'rm', 'many']);
});

test('--ip, --network-alias, connect and disconnect of a running container', opts, () => {
  berthOk(root, ['network', 'create', '--subnet', '10.233.0.0/24', 'left']);
  berthOk(root, ['network', 'create', '--subnet', '10.234.0.0/24', '--ipv6', 'right']);
  berthOk(root, ['run', '-d', '--name', 'db', '--network', 'left', '--ip', '10.233.0.50', '--network-alias', 'database', 'busybox', 'sleep', '300']);
  assert.equal(berthOk(root, ['inspect', '-f', '{{.NetworkSettings.Networks.left.IPAddress}}', 'db']), '10.233.0.50\n');
  berthOk(root, ['run', '--rm', '--network', 'left', 'busybox', 'ping', '-c1', '-W1', 'database']);
  const taken = berth(root, ['run', '--rm', '--network', 'left', '--ip', '10.233.0.50', 'busybox', 'true']);
  assert.equal(taken.code, 125);
  assert.match(taken.stderr, /already in use/);
  assert.match(berth(root, ['run', '--rm', '--network', 'bridge', '--network-alias', 'x', 'busybox', 'true']).stderr, /user defined networks/);

  berthOk(root, ['network', 'connect', '--alias', 'store', 'right', 'db']);
  assert.match(berthOk(root, ['exec', 'db', 'ip', '-o', 'addr', 'show', 'eth1']), /inet 10\.234\.0\.2\/24/);
  berthOk(root, ['run', '--rm', '--network', 'right', 'busybox', 'ping', '-c1', '-W1', 'store']);
  const v6 = berthOk(root, ['inspect', '-f', '{{.NetworkSettings.Networks.right.GlobalIPv6Address}}', 'db']).trim();
  assert.match(v6, /^fd[0-9a-f:]+$/);
  berthOk(root, ['run', '--rm', '--network', 'right', 'busybox', 'ping6', '-c1', '-W1', v6]);

  berthOk(root, ['network', 'disconnect', 'right', 'db']);
  assert.notEqual(berth(root, ['exec', 'db', 'ip', 'link', 'show', 'eth1']).code, 0);
  assert.deepEqual(Object.keys(JSON.parse(berthOk(root, ['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'db']))), ['left']);
  berthOk(root, ['rm', '-f', 'db']);
  berthOk(root, ['network', 'rm', 'left', 'right']);
});

test('-p publishes a port on the host, 127.0.0.1 included, and to other networks through the host', opts, async () => {
  berthOk(root, ['network', 'create', 'pub']);
  berthOk(root, ['run', '-d', '--name', 'www', '--network', 'pub', '-p', '18481:80', '-p', '80', 'busybox', 'sh', '-c', 'mkdir /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www']);
  const ports = JSON.parse(berthOk(root, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'www']));
  assert.deepEqual(ports['80/tcp'][0], { HostIp: '0.0.0.0', HostPort: '18481' });
  assert.match(ports['80/tcp'][1].HostPort, /^\d+$/);
  const fetch = (url: string) => execFileSync('curl', ['-sS', '-m', '2', '--retry', '5', '--retry-connrefused', '--retry-delay', '0', url], { encoding: 'utf8' });
  assert.equal(fetch('http://127.0.0.1:18481/'), 'hello\n');
  assert.equal(fetch(`http://127.0.0.1:${ports['80/tcp'][1].HostPort}/`), 'hello\n');
  const clash = berth(root, ['run', '-d', '--network', 'pub', '-p', '18481:80', 'busybox', 'sleep', '1']);
  assert.equal(clash.code, 125);
  assert.match(clash.stderr, /port is already allocated/);
  const hostIp = execFileSync('ip', ['-4', '-o', 'route', 'get', '1.1.1.1'], { encoding: 'utf8' }).match(/ src (\S+)/)?.[1];
  assert.ok(hostIp);
  const other = berthOk(root, ['run', '--rm', '--network', 'bridge', 'busybox', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w2 ${hostIp} 18481 | tail -1`]);
  assert.equal(other, 'hello\n');
  berthOk(root, ['rm', '-f', ...berthOk(root, ['ps', '-aq']).split('\n').filter(Boolean)]);
  berthOk(root, ['network', 'rm', 'pub']);
});

test('the host is as before: links, iptables rules, netns', opts, () => {
  assert.deepEqual(hostState(), hostBefore);
});
