// Published ports: the -p flag, host port allocation and the DNAT rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePublish } from '../../src/cli/ports.js';
import { allocatePorts, bindingsOf, portsView, withPublishAll, type PortBinding } from '../../src/network/ports.js';
import { publishScript } from '../../src/network/firewall.js';

test('-p forms: container only, host:container, ip:host:container, ip::container, ranges, protocols', () => {
  assert.deepEqual(parsePublish(['80']).PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '' }] });
  assert.deepEqual(parsePublish(['8080:80']).PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(parsePublish(['127.0.0.1:8080:80/udp']).PortBindings, { '80/udp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] });
  assert.deepEqual(parsePublish(['127.0.0.1::80']).PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
  assert.deepEqual(parsePublish(['8000-8001:80-81']).PortBindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8000' }],
    '81/tcp': [{ HostIp: '', HostPort: '8001' }],
  });
  assert.deepEqual(parsePublish(['8080:80', '8081:80']).ExposedPorts, { '80/tcp': {} });
  assert.throws(() => parsePublish(['8000-8002:80-81']), /^InvalidArgumentError: invalid ranges specified for container and host Ports: 80-81 and 8000-8002$/);
  // A host range for one container port: Docker keeps it whole, to take a free port from.
  assert.deepEqual(parsePublish(['18500-18502:80']), { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '18500-18502' }] }, ExposedPorts: { '80/tcp': {} } });
  assert.deepEqual(parsePublish(['127.0.0.1:18500-18502:80/udp']).PortBindings, { '80/udp': [{ HostIp: '127.0.0.1', HostPort: '18500-18502' }] });
  assert.throws(() => parsePublish(['70000']), /invalid port/);
  assert.throws(() => parsePublish(['80/icmp']), /invalid proto/);
});

test('bindingsOf reads Docker PortBindings; allocatePorts fills in host ports and refuses clashes', () => {
  const wanted = bindingsOf({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '90/tcp': [{ HostPort: '' }], '53/udp': null });
  assert.deepEqual(wanted, [
    { proto: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 },
    { proto: 'tcp', hostIp: '', hostPort: 0, containerPort: 90 },
    { proto: 'udp', hostIp: '', hostPort: 0, containerPort: 53 },
  ]);
  const taken: PortBinding[] = [{ proto: 'tcp', hostIp: '', hostPort: 49153, containerPort: 1 }];
  assert.deepEqual(
    allocatePorts(wanted, taken).map((b) => b.hostPort),
    [8080, 49154, 49153],
  );
  assert.throws(() => allocatePorts(wanted, [{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 1 }]), /port is already allocated/);
  // Same port, other protocol: no clash.
  assert.equal(allocatePorts([{ proto: 'udp', hostIp: '', hostPort: 8080, containerPort: 1 }], [{ proto: 'tcp', hostIp: '', hostPort: 8080, containerPort: 1 }]).length, 1);
});

test('host port ranges and ports the host holds: the first free port of a range, Docker\'s errors otherwise', () => {
  assert.deepEqual(bindingsOf({ '80/tcp': [{ HostPort: '18500-18502' }], '81/udp': [{ HostPort: '18600-18600' }] }), [
    { proto: 'tcp', hostIp: '', hostPort: 18500, hostPortEnd: 18502, containerPort: 80 },
    { proto: 'udp', hostIp: '', hostPort: 18600, containerPort: 81 },
  ]);
  assert.throws(() => bindingsOf({ '80/tcp': [{ HostPort: '18502-18500' }] }), /^InvalidArgumentError: invalid hostPort: 18502-18500$/);
  assert.throws(() => bindingsOf({ '80/tcp': [{ HostIp: 'abc', HostPort: '8080' }] }), /^InvalidArgumentError: invalid IP address: abc$/);

  const inUse = { code: 'EADDRINUSE', text: 'address already in use' };
  const held = (ports: number[]) => (_proto: string, _ip: string, port: number) => (ports.includes(port) ? inUse : undefined);
  const range: PortBinding = { proto: 'tcp', hostIp: '', hostPort: 18500, hostPortEnd: 18502, containerPort: 80 };
  const other = (hostPort: number): PortBinding => ({ proto: 'tcp', hostIp: '', hostPort, containerPort: 1 });
  assert.deepEqual(allocatePorts([range], []), [{ proto: 'tcp', hostIp: '', hostPort: 18500, containerPort: 80 }]);
  assert.deepEqual(allocatePorts([range], [other(18500)], held([18501])), [{ proto: 'tcp', hostIp: '', hostPort: 18502, containerPort: 80 }]);
  assert.throws(() => allocatePorts([range], [other(18500), other(18501), other(18502)], undefined, 'web (e1)'), /^SystemError: driver failed programming external connectivity on endpoint web \(e1\): all ports are allocated$/);
  assert.throws(
    () => allocatePorts([range], [other(18500)], held([18501, 18502]), 'web (e1)'),
    /^SystemError: driver failed programming external connectivity on endpoint web \(e1\): Error starting userland proxy: listen tcp4 0\.0\.0\.0:18502: bind: address already in use$/,
  );
  // One port asked for: in use by a host process is an error, as is an address the host lacks (for a range too).
  assert.throws(
    () => allocatePorts([{ proto: 'udp', hostIp: '127.0.0.1', hostPort: 18300, containerPort: 80 }], [], held([18300]), 'web (e1)'),
    /^SystemError: driver failed programming external connectivity on endpoint web \(e1\): Error starting userland proxy: listen udp4 127\.0\.0\.1:18300: bind: address already in use$/,
  );
  let probes = 0;
  const absent = () => (probes++, { code: 'EADDRNOTAVAIL', text: 'cannot assign requested address' });
  assert.throws(() => allocatePorts([{ ...range, hostIp: '10.9.9.9' }], [], absent), /listen tcp4 10\.9\.9\.9:18500: bind: cannot assign requested address$/);
  assert.equal(probes, 1);
  // Random ports pass over the ones the host holds; sctp is not probed.
  assert.deepEqual(
    allocatePorts([{ proto: 'tcp', hostIp: '', hostPort: 0, containerPort: 80 }, { proto: 'sctp', hostIp: '', hostPort: 0, containerPort: 80 }], [other(49153)], held([49154, 49155])).map((b) => b.hostPort),
    [49156, 49153],
  );
});

test('publishScript DNATs in the network\'s chain; -P adds the exposed ports; portsView is Docker NetworkSettings.Ports', () => {
  const b: PortBinding[] = [{ proto: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }, { proto: 'udp', hostIp: '127.0.0.1', hostPort: 53, containerPort: 53 }];
  const n = { id: 'c1056386dbe2'.padEnd(64, '0'), name: 'n', driver: 'bridge', subnets: [], internal: false, ipv6: false, labels: {}, options: {}, created: 0 };
  assert.equal(
    publishScript(n, '10.88.0.2', b, '-D'),
    [
      '*nat',
      '-D BERTH-DNAT-c1056386dbe2 -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80',
      '-D BERTH-DNAT-c1056386dbe2 -d 127.0.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.88.0.2:53',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.equal(publishScript(n, '10.88.0.2', [], '-A'), '');
  assert.deepEqual(withPublishAll({ '80/tcp': [{ HostIp: '', HostPort: '8080' }] }, { '80/tcp': {}, '53/udp': {} }), {
    '80/tcp': [{ HostIp: '', HostPort: '8080' }],
    '53/udp': [{ HostIp: '', HostPort: '' }],
  });
  assert.deepEqual(portsView(b), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '53' }] });
});
