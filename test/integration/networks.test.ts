// Bridge networks end to end through the built CLI, as root: real bridges, veths, network
// namespaces and iptables rules. After `rm -f` of every container and `network prune`, the
// host's links, rules and netns are exactly as the suite found them, which the last test checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { berth, berthAsync, berthOk, removeContainersAndNetworks } from '../helpers/cli.js';
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

const removeAll = () => removeContainersAndNetworks(root);

after(() => {
  removeAll();
  cleanup();
});

/** `server` listening on `port` of every address (IPv6 and IPv4, as most host services do). */
async function listening(server: Server, port: number): Promise<Server> {
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, resolve));
  return server;
}

/** The first port from `from` up that a TCP listener can take on the host now. */
async function firstFreePort(from: number): Promise<number> {
  for (let port = from; ; port++) {
    const free = await listening(createServer(), port).then(
      (s) => new Promise<boolean>((resolve) => s.close(() => resolve(true))),
      () => false,
    );
    if (free) return port;
  }
}

const hostIp = () => execFileSync('ip', ['-4', '-o', 'route', 'get', '1.1.1.1'], { encoding: 'utf8' }).match(/ src (\S+)/)?.[1];
const curl = (url: string) => execFileSync('curl', ['-sS', '-m', '2', '--retry', '5', '--retry-connrefused', '--retry-delay', '0', url], { encoding: 'utf8' });
const HTTPD = 'mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 80 -h /www';

test('network create, ls, inspect, rm through the CLI', opts, () => {
  const id = berthOk(root, ['network', 'create', '--subnet', '10.231.0.0/24', '--gateway', '10.231.0.254', '--ip-range', '10.231.0.128/25', '--label', 'team=a', '-o', 'mtu=1400', '--internal', 'alpha']).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const table = berthOk(root, ['network', 'ls']).split('\n');
  assert.match(table[0], /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
  assert.ok(table.some((l) => new RegExp(`^${id.slice(0, 12)}\\s+alpha\\s+bridge\\s+local$`).test(l)));
  assert.ok(table.some((l) => /^[0-9a-f]{12}\s+bridge\s+bridge\s+local$/.test(l)), 'the default bridge is listed');
  assert.ok(table.some((l) => /^[0-9a-f]{12}\s+host\s+host\s+local$/.test(l)), 'host is listed');
  assert.ok(table.some((l) => /^[0-9a-f]{12}\s+none\s+null\s+local$/.test(l)), 'none is listed');
  assert.deepEqual(berthOk(root, ['network', 'ls', '--format', '{{.Name}}']).split('\n').filter(Boolean), ['alpha', 'bridge', 'host', 'none']);
  assert.equal(berthOk(root, ['network', 'ls', '--filter', 'type=builtin', '--format', '{{.Name}} {{.Driver}}']), 'bridge bridge\nhost host\nnone null\n');
  assert.equal(berthOk(root, ['network', 'inspect', '-f', '{{.Driver}}', 'host']), 'host\n');
  assert.match(berth(root, ['network', 'rm', 'none']).stderr, /pre-defined network and cannot be removed/);
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
  berthOk(root, ['run', '-d', '--name', 'web2', '--hostname', 'web2', '--network', 'front', '--network-alias', 'www', 'busybox', 'sh', '-c', HTTPD]);
  const hostsBefore = berthOk(root, ['exec', 'web1', 'cat', '/etc/hosts']);
  assert.match(hostsBefore, /\tweb2 www [0-9a-f]{12} web2\.front www\.front\n/);

  berthOk(root, ['exec', 'web1', 'ping', '-c1', '-W1', 'web2']);
  berthOk(root, ['exec', 'web2', 'ping', '-c1', '-W1', 'web1']);
  berthOk(root, ['exec', 'web1', 'ping', '-c1', '-W1', 'www']);
  const get = (name: string) => berthOk(root, ['exec', 'web1', 'sh', '-c', `for i in 1 2 3 4 5; do wget -qO- http://${name}/ && exit; sleep 0.2; done; exit 1`]);
  assert.equal(get('web2'), 'hello from web2\n');
  assert.equal(get('www'), 'hello from web2\n');
  // As Docker's DNS: <name>.<network>.
  assert.equal(get('www.front'), 'hello from web2\n');

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
  const wgetOther = berth(root, ['run', '--rm', '--network', 'back', 'busybox', 'wget', '-T', '2', '-qO-', `http://${berthOk(root, ['inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'web2']).trim()}/`]);
  assert.notEqual(wgetOther.code, 0, 'nor reach its web server');
  // The default bridge has no name resolution, but its containers get out through the gateway.
  const gw = berth(root, ['run', '--rm', '--network', 'bridge', 'busybox', 'sh', '-c', 'ping -c1 -W1 $(ip route | awk \'/default/ {print $3}\')']);
  assert.equal(gw.code, 0, gw.stdout + gw.stderr);

  const busy = berth(root, ['network', 'rm', 'front']);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /active endpoints/);
  berthOk(root, ['rm', '-f', 'web1', 'web2']);
  assert.match(berthOk(root, ['network', 'prune', '-f']), /Deleted Networks:\n(back\nfront|front\nback)\n/);
});

test('50 containers started in parallel on one network get distinct addresses', opts, async () => {
  berthOk(root, ['network', 'create', '--subnet', '10.232.0.0/24', 'many']);
  const runs = await Promise.all(
    Array.from({ length: 50 }, (_, i) => berthAsync(root, ['run', '-d', '--name', `m${i}`, '--network', 'many', 'busybox', 'sleep', '300'])),
  );
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const [many] = JSON.parse(berthOk(root, ['network', 'inspect', 'many']));
  const ips = Object.values(many.Containers as Record<string, { IPv4Address: string }>).map((c) => c.IPv4Address);
  assert.equal(ips.length, 50);
  assert.equal(new Set(ips).size, 50);
  assert.ok(ips.every((ip) => /^10\.232\.0\.\d+\/24$/.test(ip)));
  berthOk(root, ['rm', '-f', ...Array.from({ length: 50 }, (_, i) => `m${i}`)]);
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

test('-p publishes a port on the host, 127.0.0.1 included, and to containers through the host (hairpin too)', opts, async () => {
  berthOk(root, ['network', 'create', 'pub']);
  berthOk(root, ['run', '-d', '--name', 'www', '--network', 'pub', '-p', '18481:80', '-p', '80', '--expose', '81', 'busybox', 'sh', '-c', 'mkdir /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www']);
  const ports = JSON.parse(berthOk(root, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'www']));
  assert.deepEqual(ports['80/tcp'][0], { HostIp: '0.0.0.0', HostPort: '18481' });
  assert.match(ports['80/tcp'][1].HostPort, /^\d+$/);
  assert.equal(ports['81/tcp'], null, 'exposed, not published');
  const random = ports['80/tcp'][1].HostPort;
  assert.equal(curl('http://127.0.0.1:18481/'), 'hello\n');
  assert.equal(curl(`http://127.0.0.1:${random}/`), 'hello\n');
  const ip = hostIp();
  assert.ok(ip);
  assert.equal(curl(`http://${ip}:18481/`), 'hello\n', "the host's own address");
  assert.equal(berthOk(root, ['port', 'www']), `80/tcp -> 0.0.0.0:18481\n80/tcp -> 0.0.0.0:${random}\n`);
  assert.equal(berthOk(root, ['port', 'www', '80/tcp']), `0.0.0.0:18481\n0.0.0.0:${random}\n`);
  const none = berth(root, ['port', 'www', '81']);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, "Error: No public port '81' published for www\n");
  assert.equal(berthOk(root, ['ps', '--filter', 'name=www', '--format', '{{.Ports}}']), `81/tcp, 0.0.0.0:18481->80/tcp, 0.0.0.0:${random}->80/tcp\n`);

  const clash = berth(root, ['run', '-d', '--network', 'pub', '-p', '18481:80', 'busybox', 'sleep', '1']);
  assert.equal(clash.code, 125);
  assert.match(clash.stderr, /port is already allocated/);
  const get = (from: string[]) => berthOk(root, ['run', '--rm', ...from, 'busybox', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w2 ${ip} 18481 | tail -1`]);
  assert.equal(get(['--network', 'bridge']), 'hello\n', 'from another network');
  assert.equal(get(['--network', 'pub']), 'hello\n', 'from its own network (hairpin NAT)');
  assert.equal(berthOk(root, ['exec', 'www', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w2 ${ip} 18481 | tail -1`]), 'hello\n', 'from itself');
  // The failed run left its container created, as Docker's does.
  berthOk(root, ['rm', '-f', ...berthOk(root, ['ps', '-aq']).split('\n').filter(Boolean)]);
  berthOk(root, ['network', 'rm', 'pub']);
  assert.equal(execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' }).includes('18481'), false, 'the DNAT rules are gone');
});

test('-p with a host range for one container port takes the first port of it that no container and no host process has (TCP, UDP)', opts, async () => {
  berthOk(root, ['run', '-d', '--name', 'range1', '-p', '18500-18502:80', 'busybox', 'sh', '-c', HTTPD]);
  assert.equal(berthOk(root, ['inspect', '-f', '{{json .HostConfig.PortBindings}}', 'range1']), '{"80/tcp":[{"HostIp":"","HostPort":"18500-18502"}]}\n');
  assert.equal(berthOk(root, ['port', 'range1']), '80/tcp -> 0.0.0.0:18500\n');
  assert.match(curl('http://127.0.0.1:18500/'), /^hello from /);
  const host = await listening(createServer(), 18501);
  try {
    berthOk(root, ['run', '-d', '--name', 'range2', '-p', '18500-18502:80', 'busybox', 'sleep', '300']);
    assert.equal(berthOk(root, ['port', 'range2']), '80/tcp -> 0.0.0.0:18502\n');
    const full = berth(root, ['run', '-d', '--name', 'range3', '-p', '18500-18502:80', 'busybox', 'sleep', '300']);
    assert.equal(full.code, 125);
    assert.match(full.stderr, /listen tcp4 0\.0\.0\.0:18501: bind: address already in use\n$/);
  } finally {
    host.close();
  }
  berthOk(root, ['run', '-d', '--name', 'range4', '-p', '18500-18502:80/udp', 'busybox', 'sleep', '300']);
  assert.equal(berthOk(root, ['port', 'range4']), '80/udp -> 0.0.0.0:18500\n');
  berthOk(root, ['rm', '-f', 'range1', 'range2', 'range3', 'range4']);
});

test('a host port a host process holds: start fails with Docker\'s error and leaves nothing behind; random ports pass over it', opts, async () => {
  berthOk(root, ['network', 'create', 'busy']);
  // Sets the network up, so that what the failed starts leave behind would show.
  berthOk(root, ['run', '-d', '--name', 'first', '--network', 'busy', 'busybox', 'sleep', '300']);
  // This network's part of the host only: other suites may be changing the rest meanwhile.
  const id = berthOk(root, ['network', 'inspect', '-f', '{{.Id}}', 'busy']).trim().slice(0, 12);
  const networkState = () => ({
    rules: execFileSync('iptables-save', { encoding: 'utf8' }).split('\n').filter((l) => l.includes(id)),
    ports: readdirSync(`/sys/class/net/br-${id}/brif`),
    netns: readdirSync(`${root}/run/netns`),
  });
  const before = networkState();
  // Host processes holding ports; whichever were opened are closed, even when one cannot be.
  const tcp = createServer();
  const udp = createSocket('udp4');
  const random = createServer();
  try {
    await listening(tcp, 18300);
    await new Promise<void>((resolve, reject) => udp.once('error', reject).bind(18301, '127.0.0.1', resolve));
    const lowest = await firstFreePort(49153);
    await listening(random, lowest);
    const endpoint = (name: string) => `Error: driver failed programming external connectivity on endpoint ${name} \\([0-9a-f]{64}\\): Error starting userland proxy: `;
    const refusals: [string[], string][] = [
      [['-p', '18300:80'], 'listen tcp4 0\\.0\\.0\\.0:18300: bind: address already in use'],
      [['-p', '127.0.0.1:18300:80'], 'listen tcp4 127\\.0\\.0\\.1:18300: bind: address already in use'],
      [['-p', '18301:53/udp'], 'listen udp4 0\\.0\\.0\\.0:18301: bind: address already in use'],
      [['-p', '10.9.9.9:18302:80'], 'listen tcp4 10\\.9\\.9\\.9:18302: bind: cannot assign requested address'],
    ];
    for (const [i, [flags, message]] of refusals.entries()) {
      const r = berth(root, ['run', '-d', '--name', `refused${i}`, '--network', 'busy', ...flags, 'busybox', 'sleep', '300']);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, new RegExp(`^${endpoint(`refused${i}`)}${message}\n$`));
      assert.equal(berthOk(root, ['inspect', '-f', '{{.State.Status}}', `refused${i}`]), 'created\n');
    }
    assert.deepEqual(networkState(), before);
    assert.deepEqual(Object.values(JSON.parse(berthOk(root, ['network', 'inspect', '-f', '{{json .Containers}}', 'busy']))).map((c) => (c as { Name: string }).Name), ['first']);
    // The same port for another protocol is free.
    berthOk(root, ['run', '-d', '--name', 'udp18300', '--network', 'busy', '-p', '18300:80/udp', 'busybox', 'sleep', '300']);
    berthOk(root, ['run', '-d', '--name', 'randomport', '--network', 'busy', '-p', '80', 'busybox', 'sleep', '300']);
    const port = Number(berthOk(root, ['port', 'randomport', '80']).trim().split(':')[1]);
    assert.ok(port > lowest, `${port} is past ${lowest}, which a host process holds`);
  } finally {
    tcp.close();
    random.close();
    try {
      udp.close();
    } catch {
      // never bound
    }
  }
  // Once the host process is gone, the container starts.
  berthOk(root, ['start', 'refused0']);
  assert.equal(berthOk(root, ['port', 'refused0']), '80/tcp -> 0.0.0.0:18300\n');
  berthOk(root, ['rm', '-f', 'first', 'refused0', 'refused1', 'refused2', 'refused3', 'udp18300', 'randomport']);
  berthOk(root, ['network', 'rm', 'busy']);
});

test('-P publishes the exposed ports (the image\'s and --expose) on random host ports', opts, () => {
  berthOk(root, ['run', '-d', '--name', 'all', '-P', '--expose', '80', '--expose', '7000-7001/udp', 'busybox', 'sh', '-c', HTTPD]);
  const ports = JSON.parse(berthOk(root, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'all'])) as Record<string, { HostIp: string; HostPort: string }[]>;
  assert.deepEqual(Object.keys(ports).sort(), ['7000/udp', '7001/udp', '80/tcp']);
  for (const list of Object.values(ports)) assert.ok(Number(list[0].HostPort) >= 49153);
  assert.equal(berthOk(root, ['inspect', '-f', '{{.HostConfig.PublishAllPorts}}', 'all']), 'true\n');
  assert.match(curl(`http://127.0.0.1:${ports['80/tcp'][0].HostPort}/`), /^hello from /);
  assert.equal(berthOk(root, ['port', 'all', '7001/udp']), `0.0.0.0:${ports['7001/udp'][0].HostPort}\n`);
  berthOk(root, ['rm', '-f', 'all']);
});

test('UDP publishing: an echo server in a container answers through its published port', opts, async () => {
  // busybox has no UDP server: the host's node, with the host's /usr mounted read-only, is one.
  const echo = "const s = require('dgram').createSocket('udp4'); s.on('message', (m, r) => s.send(m, r.port, r.address)); s.bind(9999, () => console.log('ready'))";
  berthOk(root, ['run', '-d', '--name', 'udp', '-p', '127.0.0.1:18482:9999/udp', '-p', '18483:9999/udp', '-v', '/usr:/usr:ro', '-v', '/usr/lib:/lib:ro', '-v', '/usr/lib64:/lib64:ro', 'busybox', process.execPath, '-e', echo]);
  const deadline = Date.now() + 10_000;
  while (!berthOk(root, ['logs', 'udp']).includes('ready') && Date.now() < deadline) await sleep(100);
  const ask = (host: string, port: number) =>
    new Promise<string>((resolve, reject) => {
      const sock = createSocket('udp4');
      const timer = setTimeout(() => {
        sock.close();
        reject(new Error(`no UDP answer from ${host}:${port}`));
      }, 3000);
      sock.on('message', (m) => {
        clearTimeout(timer);
        sock.close();
        resolve(m.toString());
      });
      sock.send(`ping ${host}`, port, host);
    });
  assert.equal(await ask('127.0.0.1', 18482), 'ping 127.0.0.1');
  assert.equal(await ask(hostIp()!, 18483), `ping ${hostIp()}`);
  assert.equal(berthOk(root, ['ps', '--filter', 'name=udp', '--format', '{{.Ports}}']), '0.0.0.0:18483->9999/udp, 127.0.0.1:18482->9999/udp\n');
  berthOk(root, ['rm', '-f', 'udp']);
});

test('the default network is bridge; once set up, a container on it costs no bridge or iptables work', opts, () => {
  assert.match(berthOk(root, ['run', '--rm', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']), /inet \d+\.\d+\.\d+\.\d+\/\d+/);
  const id = berthOk(root, ['create', 'busybox', 'true']).trim();
  // As Docker records it: no --network is "default", which is the bridge network.
  assert.equal(berthOk(root, ['inspect', '-f', '{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}', id]), 'default bridge\n');
  berthOk(root, ['rm', id]);
  const timed = berthOk(root, ['--debug', 'run', '--rm', 'busybox', 'sh', '-c', 'ping -c1 -W1 $(ip route | awk \'/default/ {print $3}\') >/dev/null && echo out']);
  assert.equal(timed, 'out\n');
  const debug = berth(root, ['--debug', 'run', '--rm', 'busybox', 'true']).stderr;
  assert.match(debug, /network: namespace and veth/);
  assert.doesNotMatch(debug, /bridge and rules|published ports/);
  // --network none: loopback only.
  assert.equal(berthOk(root, ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net']), 'lo\n');
});

test('--network container:<name> shares the other container\'s network namespace', opts, () => {
  berthOk(root, ['run', '-d', '--name', 'owner', 'busybox', 'sh', '-c', HTTPD]);
  const ip = berthOk(root, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'owner']).trim();
  const seen = berthOk(root, ['run', '--rm', '--network', 'container:owner', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; for i in 1 2 3 4 5; do wget -qO- http://127.0.0.1/ && exit; sleep 0.2; done']);
  assert.match(seen, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
  assert.match(seen, /hello from /);
  assert.equal(berthOk(root, ['create', '--network', 'container:owner', 'busybox', 'true']).length > 0, true);
  berthOk(root, ['rm', '-f', ...berthOk(root, ['ps', '-aq']).split('\n').filter(Boolean)]);
});

test('the host is as before after rm -f of every container and network prune: links, iptables rules, netns', opts, async () => {
  removeAll();
  // A stopped container's veth goes with its namespace, which the kernel frees in the background.
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && JSON.stringify(hostState()) !== JSON.stringify(hostBefore)) await sleep(100);
  assert.deepEqual(hostState(), hostBefore);
});
