import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  familiarName,
  familiarString,
  formatReference,
  fullName,
  isImageIdLike,
  parseDockerRef,
  parseReference,
  withDefaultTag,
  type Reference,
} from '../../src/image/reference.js';
import { InvalidArgumentError } from '../../src/errors.js';

const hex64 = 'dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const sha = `sha256:${hex64}`;

function rejects(input: string, message: string): void {
  assert.throws(
    () => parseReference(input),
    (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, `${input}: not an InvalidArgumentError`);
      assert.equal(e.code, 'invalid_reference');
      assert.equal(e.message, message, `message for ${JSON.stringify(input)}`);
      return true;
    },
  );
}

test('familiar names normalize onto Docker Hub with the library/ namespace', () => {
  const cases: [string, Reference][] = [
    ['busybox', { domain: 'docker.io', path: 'library/busybox' }],
    ['debian', { domain: 'docker.io', path: 'library/debian' }],
    ['library/debian', { domain: 'docker.io', path: 'library/debian' }],
    ['docker/docker', { domain: 'docker.io', path: 'docker/docker' }],
    ['docker.io/debian', { domain: 'docker.io', path: 'library/debian' }],
    ['docker.io/library/debian', { domain: 'docker.io', path: 'library/debian' }],
    ['docker.io/docker/docker', { domain: 'docker.io', path: 'docker/docker' }],
    ['index.docker.io/debian', { domain: 'docker.io', path: 'library/debian' }],
    ['index.docker.io/library/debian', { domain: 'docker.io', path: 'library/debian' }],
    ['index.docker.io/docker/docker', { domain: 'docker.io', path: 'docker/docker' }],
    ['test_com/foo', { domain: 'docker.io', path: 'test_com/foo' }],
    ['docker.io/library/foo/bar', { domain: 'docker.io', path: 'library/foo/bar' }],
    ['store/foo/bar', { domain: 'docker.io', path: 'store/foo/bar' }],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseReference(input), want, input);
});

test('registry hosts: dots, ports, localhost, IP addresses and bracketed IPv6', () => {
  const cases: [string, Reference][] = [
    ['localhost/foo', { domain: 'localhost', path: 'foo' }],
    ['localhost:5000/foo:tag', { domain: 'localhost:5000', path: 'foo', tag: 'tag' }],
    ['test.com/foo', { domain: 'test.com', path: 'foo' }],
    ['test.com:8080/foo', { domain: 'test.com:8080', path: 'foo' }],
    ['test-com:8080/foo', { domain: 'test-com:8080', path: 'foo' }],
    ['xn--n3h.com:18080/foo', { domain: 'xn--n3h.com:18080', path: 'foo' }],
    ['127.0.0.1:5000/docker/docker', { domain: '127.0.0.1:5000', path: 'docker/docker' }],
    ['127.0.0.1:5000/debian', { domain: '127.0.0.1:5000', path: 'debian' }],
    ['192.168.0.1:8/debian', { domain: '192.168.0.1:8', path: 'debian' }],
    ['192.168.1.1/repo', { domain: '192.168.1.1', path: 'repo' }],
    ['192.168.1.1:5000/repo:5050', { domain: '192.168.1.1:5000', path: 'repo', tag: '5050' }],
    ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', { domain: 'sub-dom1.foo.com', path: 'bar/baz/quux', tag: 'some-long-tag' }],
    ['b.gcr.io/test.example.com/my-app:test.example.com', { domain: 'b.gcr.io', path: 'test.example.com/my-app', tag: 'test.example.com' }],
    ['[fc00::1]:5000/docker', { domain: '[fc00::1]:5000', path: 'docker' }],
    ['[fc00:1:2:3:4:5:6:7]:5000/library/debian', { domain: '[fc00:1:2:3:4:5:6:7]:5000', path: 'library/debian' }],
    ['[2001:db8::1]/repo', { domain: '[2001:db8::1]', path: 'repo' }],
    ['[2001:db8::]:5000/repo', { domain: '[2001:db8::]:5000', path: 'repo' }],
    ['[::1]:5000/repo:tag', { domain: '[::1]:5000', path: 'repo', tag: 'tag' }],
    // An uppercase first component cannot be a namespace, so Docker takes it for a host.
    ['Docker/docker', { domain: 'Docker', path: 'docker' }],
    ['FOO/bar', { domain: 'FOO', path: 'bar' }],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseReference(input), want, input);
});

test('a single component is always a Hub name, even when it looks like a host', () => {
  assert.deepEqual(parseReference('localhost'), { domain: 'docker.io', path: 'library/localhost' });
  assert.deepEqual(parseReference('localhost:5000'), { domain: 'docker.io', path: 'library/localhost', tag: '5000' });
  assert.deepEqual(parseReference('192.168.0.1'), { domain: 'docker.io', path: 'library/192.168.0.1' });
  assert.deepEqual(parseReference('192.168.0.1:80'), { domain: 'docker.io', path: 'library/192.168.0.1', tag: '80' });
  assert.deepEqual(parseReference('foo_bar.com:8080'), { domain: 'docker.io', path: 'library/foo_bar.com', tag: '8080' });
});

test('a dotted first component that is not a valid host stays a domain-less path, as in Docker', () => {
  const ref = parseReference('a_b.c/foo');
  assert.deepEqual(ref, { domain: '', path: 'a_b.c/foo' });
  assert.equal(fullName(ref), 'a_b.c/foo');
  assert.equal(familiarName(ref), 'a_b.c/foo');
  assert.equal(formatReference(withDefaultTag(ref)), 'a_b.c/foo:latest');
});

test('path components: separators, hyphen runs, double underscores, short names', () => {
  for (const name of [
    'docker-rules/docker',
    'docker---rules/docker',
    'doc/docker',
    'd/docker',
    'jess/t',
    'dock__er/docker',
    'a.b/c.d',
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    `docker.io/${hex64}`,
  ]) {
    assert.doesNotThrow(() => parseReference(name), name);
  }
  assert.deepEqual(parseReference(`docker.io/${hex64}`), { domain: 'docker.io', path: `library/${hex64}` });
});

test('malformed names are "invalid reference format"', () => {
  for (const name of [
    '',
    ':justtag',
    '@' + sha,
    'https://github.com/docker/docker',
    '-docker',
    '-docker/docker',
    'docker-/docker',
    '-docker-/docker',
    '-docker.io/docker/docker',
    'docker///docker',
    'docker.io/docker///docker',
    '____/____',
    '_docker/_docker',
    'dock..er/docker',
    'dock_.er/docker',
    'dock-.er/docker',
    'dock___er/docker',
    'docker/',
    'aa/asdf$$^/aa',
    '[fc00::1]',
    '[fc00::1]:5000',
    '[2001:db8::1]:tag',
    'fc00::1:5000/debian',
    '[fe80::1%eth0]:5000/debian',
    '[2001:db8:3:4::192.0.2.33]:5000/debian',
    'foo:-bar',
    'foo:.bar',
    'foo:' + 'a'.repeat(129),
    'foo:tag:tag',
    'foo@sha256:abc',
    'foo bar',
  ]) {
    rejects(name, 'invalid reference format');
  }
});

test('tags: word characters, dots and dashes, up to 128 characters, any case', () => {
  assert.equal(parseReference('foo:' + 'a'.repeat(128)).tag, 'a'.repeat(128));
  assert.equal(parseReference('foo:_x').tag, '_x');
  assert.equal(parseReference('lowercase:Uppercase').tag, 'Uppercase');
  assert.equal(parseReference('foo:1.0-rc.1').tag, '1.0-rc.1');
});

test('uppercase in the repository name is reported with the name Docker checked', () => {
  rejects('Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase');
  rejects('docker/Docker', 'invalid reference format: repository name (docker/Docker) must be lowercase');
  rejects('docker.io/docker/Docker', 'invalid reference format: repository name (docker/Docker) must be lowercase');
  rejects('Uppercase:tag', 'invalid reference format: repository name (library/Uppercase) must be lowercase');
  rejects('test:5000/Uppercase/lowercase:tag', 'invalid reference format: repository name (Uppercase/lowercase) must be lowercase');
  // Docker checks everything before the first ':', which takes in a digest's algorithm.
  rejects(`foo@SHA256:${hex64}`, 'invalid reference format: repository name (library/foo@SHA256) must be lowercase');
});

test('64-character hex strings cannot be repository names', () => {
  rejects(hex64, `invalid repository name (${hex64}), cannot specify 64-byte hexadecimal strings`);
  // One character short is an ordinary name.
  assert.deepEqual(parseReference(hex64.slice(1)), { domain: 'docker.io', path: `library/${hex64.slice(1)}` });
  assert.deepEqual(parseReference('dbcc1'), { domain: 'docker.io', path: 'library/dbcc1' });
});

test('repository paths are limited to 255 characters', () => {
  const longest = 'a/'.repeat(127) + 'a';
  assert.equal(parseReference(longest + ':tag-puts-this-over-max').path, longest);
  rejects('a/'.repeat(128) + 'a:tag', 'repository name must not be more than 255 characters');
  rejects(
    'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker',
    'repository name must not be more than 255 characters',
  );
});

test('digests: sha256/384/512 with exact lowercase hex lengths', () => {
  assert.deepEqual(parseReference(`busybox@${sha}`), { domain: 'docker.io', path: 'library/busybox', digest: sha });
  const sha384 = 'sha384:' + 'a'.repeat(96);
  const sha512 = 'sha512:' + 'f'.repeat(128);
  assert.equal(parseReference(`foo@${sha384}`).digest, sha384);
  assert.deepEqual(parseReference(`xn--7o8h.com/myimage:xn--7o8h.com@${sha512}`), {
    domain: 'xn--7o8h.com',
    path: 'myimage',
    tag: 'xn--7o8h.com',
    digest: sha512,
  });
  assert.deepEqual(parseReference(`[2001:db8::1]:5000/repo:tag@${sha}`), {
    domain: '[2001:db8::1]:5000',
    path: 'repo',
    tag: 'tag',
    digest: sha,
  });
  rejects('repo@sha256:' + 'f'.repeat(34), 'invalid checksum digest format');
  rejects('repo@sha256:' + 'f'.repeat(65), 'invalid checksum digest format');
  rejects('repo@sha512:' + 'f'.repeat(64), 'invalid checksum digest format');
  rejects('repo@sha256:' + hex64.toUpperCase(), 'invalid checksum digest format');
  rejects('validname@invaliddigest:' + 'f'.repeat(64), 'unsupported digest algorithm');
  rejects(`foo:tag@SHA256:${hex64}`, 'invalid checksum digest format');
});

test('errors are typed InvalidArgumentErrors', () => {
  assert.throws(() => parseReference('UPPER'), InvalidArgumentError);
});

test('withDefaultTag adds latest only when there is neither tag nor digest', () => {
  const bare = parseReference('busybox');
  assert.deepEqual(withDefaultTag(bare), { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
  assert.equal(bare.tag, undefined, 'input left alone');
  assert.deepEqual(withDefaultTag(parseReference('busybox:1.36')).tag, '1.36');
  assert.deepEqual(withDefaultTag(parseReference(`busybox@${sha}`)), {
    domain: 'docker.io',
    path: 'library/busybox',
    digest: sha,
  });
});

test('parseDockerRef keeps the digest of a tag+digest reference and tags bare names', () => {
  assert.deepEqual(parseDockerRef(`busybox:latest@${sha}`), { domain: 'docker.io', path: 'library/busybox', digest: sha });
  assert.deepEqual(parseDockerRef('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
  assert.deepEqual(parseDockerRef('busybox:1'), { domain: 'docker.io', path: 'library/busybox', tag: '1' });
  assert.deepEqual(parseDockerRef(`busybox@${sha}`), { domain: 'docker.io', path: 'library/busybox', digest: sha });
});

test('fullName, formatReference: the canonical forms', () => {
  const r = parseReference('busybox');
  assert.equal(fullName(r), 'docker.io/library/busybox');
  assert.equal(formatReference(r), 'docker.io/library/busybox');
  assert.equal(formatReference(withDefaultTag(r)), 'docker.io/library/busybox:latest');
  assert.equal(formatReference(parseReference(`redis@${sha}`)), `docker.io/library/redis@${sha}`);
  assert.equal(formatReference(parseReference(`busybox:latest@${sha}`)), `docker.io/library/busybox:latest@${sha}`);
  assert.equal(formatReference(parseReference('localhost:5000/app:1')), 'localhost:5000/app:1');
});

test('familiarName and familiarString drop Hub and library/ the way docker prints them', () => {
  const cases: [string, string, string][] = [
    // input, familiar name, full name
    ['fooo/bar', 'fooo/bar', 'docker.io/fooo/bar'],
    ['index.docker.io/fooo/bar', 'fooo/bar', 'docker.io/fooo/bar'],
    ['library/ubuntu', 'ubuntu', 'docker.io/library/ubuntu'],
    ['nonlibrary/ubuntu', 'nonlibrary/ubuntu', 'docker.io/nonlibrary/ubuntu'],
    ['other/library', 'other/library', 'docker.io/other/library'],
    ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase'],
    ['example.com:8000/privatebasee', 'example.com:8000/privatebasee', 'example.com:8000/privatebasee'],
    ['index.docker.io/library/ubuntu-12.04-base', 'ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base'],
    ['docker.io/foo', 'foo', 'docker.io/library/foo'],
    ['library/foo/bar', 'library/foo/bar', 'docker.io/library/foo/bar'],
    ['store/foo/bar', 'store/foo/bar', 'docker.io/store/foo/bar'],
    ['Foo/bar', 'Foo/bar', 'Foo/bar'],
  ];
  for (const [input, familiar, full] of cases) {
    const r = parseReference(input);
    assert.equal(familiarName(r), familiar, input);
    assert.equal(fullName(r), full, input);
    // Round trip: the familiar name parses back to the same repository.
    assert.equal(fullName(parseReference(familiar)), full, input);
  }
  const shortRef = `busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa`;
  assert.equal(familiarString(parseReference(shortRef)), shortRef);
  assert.equal(formatReference(parseReference(shortRef)), 'docker.io/library/' + shortRef);
  assert.equal(familiarString(withDefaultTag(parseReference('docker.io/library/busybox'))), 'busybox:latest');
  assert.equal(familiarString(parseReference('user/app:v2')), 'user/app:v2');
  assert.equal(familiarString(parseReference('localhost:5000/app')), 'localhost:5000/app');
});

test('isImageIdLike: full digests and lowercase hex prefixes, with or without sha256:', () => {
  for (const s of [sha, hex64, 'abc123', 'a', 'sha256:abc']) assert.ok(isImageIdLike(s), s);
  for (const s of ['', 'busybox', 'ABC123', 'sha256:', hex64 + 'a', 'sha512:abc', 'abc:latest', 'g123']) {
    assert.ok(!isImageIdLike(s), s);
  }
});

test('pathological input is rejected quickly (no catastrophic backtracking)', () => {
  const start = Date.now();
  for (const s of ['a-'.repeat(3000) + '!', 'a'.repeat(5000) + '/!', 'a.'.repeat(3000) + '/a!', 'A-'.repeat(3000) + 'a/b!']) {
    assert.throws(() => parseReference(s));
  }
  assert.ok(Date.now() - start < 2000, `took ${Date.now() - start}ms`);
});
