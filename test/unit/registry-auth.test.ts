// The WWW-Authenticate parser and token scopes: what decides which credentials go where.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWwwAuthenticate } from '../../src/image/registry/challenge.js';
import { mergeScopes } from '../../src/image/registry/client.js';

test('a bearer challenge as Docker Hub sends it', () => {
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } },
  ]);
});

test('basic, and scheme and parameter names in any case', () => {
  assert.deepEqual(parseWwwAuthenticate('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.deepEqual(parseWwwAuthenticate('BEARER Realm=https://x/token, Service=reg'), [{ scheme: 'bearer', params: { realm: 'https://x/token', service: 'reg' } }]);
});

test('several challenges in one header, and in several headers', () => {
  const expected = [
    { scheme: 'basic', params: { realm: 'a' } },
    { scheme: 'bearer', params: { realm: 'https://b/token', service: 'c' } },
  ];
  assert.deepEqual(parseWwwAuthenticate('Basic realm="a", Bearer realm="https://b/token", service="c"'), expected);
  assert.deepEqual(parseWwwAuthenticate(['Basic realm="a"', 'Bearer realm="https://b/token",service="c"']), expected);
});

test('quoted values keep commas, equals signs and escaped quotes', () => {
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://x/t?a=1,b=2",error="invalid_token",error_description="say \\"hi\\""'), [
    { scheme: 'bearer', params: { realm: 'https://x/t?a=1,b=2', error: 'invalid_token', error_description: 'say "hi"' } },
  ]);
});

test('token68 credentials, bare schemes and nothing at all', () => {
  assert.deepEqual(parseWwwAuthenticate('Negotiate abc+/9==, Basic realm=r'), [
    { scheme: 'negotiate', params: { token68: 'abc+/9==' } },
    { scheme: 'basic', params: { realm: 'r' } },
  ]);
  assert.deepEqual(parseWwwAuthenticate('Bearer'), [{ scheme: 'bearer', params: {} }]);
  assert.deepEqual(parseWwwAuthenticate(''), []);
  assert.deepEqual(parseWwwAuthenticate(undefined), []);
});

test('an unterminated quoted value ends the header instead of throwing', () => {
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://x'), [{ scheme: 'bearer', params: { realm: 'https://x' } }]);
});

test('scopes merge per resource and sort, so equal needs share a token', () => {
  assert.deepEqual(mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull']), ['repository:a:pull,push', 'repository:b:pull']);
  assert.deepEqual(mergeScopes(['repository:a:push,pull', 'repository:a:pull repository:c:pull']), ['repository:a:pull,push', 'repository:c:pull']);
  assert.deepEqual(mergeScopes(['repository:localhost:5000/x:pull']), ['repository:localhost:5000/x:pull']);
  assert.deepEqual(mergeScopes([]), []);
});
