// A container's own line in its /etc/hosts, as Docker writes it: the FQDN (-h with a domain, or
// -h and --domainname) followed by the bare host name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fqdn } from '../../src/container/etc-files.js';
import { renderHosts } from '../../src/network/etc.js';

const ownLine = (hostname: string) => renderHosts([{ ip: '10.88.0.4', names: [hostname] }], [{ ip: '10.88.0.2', names: ['db.example', 'db'] }]).split('\n').at(-3);

test('hosts file: the container itself as its FQDN and bare host name, its peers as named', () => {
  assert.equal(ownLine(fqdn('foo', 'bar.com')), '10.88.0.4\tfoo.bar.com foo');
  assert.equal(ownLine(fqdn('foo.bar.com', '')), '10.88.0.4\tfoo.bar.com foo');
  assert.equal(ownLine(fqdn('3c9479fa0fea', '')), '10.88.0.4\t3c9479fa0fea');
  assert.ok(renderHosts([{ ip: '10.88.0.4', names: ['web'] }], [{ ip: '10.88.0.2', names: ['db.example'] }]).endsWith('10.88.0.2\tdb.example\n'), 'peers keep their names');
});
