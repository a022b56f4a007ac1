// Platform parsing, normalization and matching: what `--platform` picks from an index.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errors.js';
import { availablePlatforms, formatPlatform, normalizePlatform, parsePlatform, platformRank, selectPlatformManifest } from '../../src/image/registry/platform.js';
import { hostPlatform, type Descriptor } from '../../src/image/types.js';

test('parse: os/arch/variant, aliases, and one component', () => {
  assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatform('linux/arm/6'), { os: 'linux', architecture: 'arm', variant: 'v6' });
  assert.deepEqual(parsePlatform('Linux/ARMHF'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatform('arm64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('linux'), normalizePlatform(hostPlatform()));
  for (const bad of ['', 'linux/', 'a/b/c/d', 'linux/amd 64']) {
    assert.throws(() => parsePlatform(bad), InvalidArgumentError, bad);
  }
});

test('format', () => {
  assert.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
  assert.equal(formatPlatform({ os: 'linux', architecture: 'amd64' }), 'linux/amd64');
});

test('rank: exact first, older arm variants after, other architectures never', () => {
  const v7 = parsePlatform('linux/arm/v7');
  assert.equal(platformRank(v7, { os: 'linux', architecture: 'arm', variant: 'v7' }), 0);
  assert.equal(platformRank(v7, { os: 'linux', architecture: 'arm', variant: 'v6' }), 1);
  assert.equal(platformRank(v7, { os: 'linux', architecture: 'arm', variant: 'v8' }), undefined);
  assert.equal(platformRank(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }), 0);
  assert.equal(platformRank(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' }), undefined);
  assert.equal(platformRank(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'arm64' }), undefined);
});

const entry = (architecture: string, variant?: string, os = 'linux'): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${(architecture + (variant ?? '') + os).padEnd(64, '0').slice(0, 64).replace(/[^a-f0-9]/g, 'a')}`,
  size: 1,
  platform: { os, architecture, ...(variant ? { variant } : {}) },
});

test('select: the best match of an index, never an attestation', () => {
  const index = [entry('amd64'), entry('arm', 'v6'), entry('arm', 'v7'), entry('arm64', 'v8'), entry('unknown', undefined, 'unknown')];
  assert.equal(selectPlatformManifest(index, parsePlatform('linux/amd64')), index[0]);
  assert.equal(selectPlatformManifest(index, parsePlatform('linux/arm/v7')), index[2]);
  assert.equal(selectPlatformManifest([index[1], index[0]], parsePlatform('linux/arm/v7')), index[1], 'v6 runs on v7');
  assert.equal(selectPlatformManifest(index, parsePlatform('linux/arm64')), index[3]);
  assert.equal(selectPlatformManifest(index, parsePlatform('linux/s390x')), undefined);
  const unnamed = { ...index[0], platform: undefined };
  assert.equal(selectPlatformManifest([unnamed, index[3]], parsePlatform('linux/s390x')), unnamed, 'an entry naming no platform is the last resort');
  assert.equal(selectPlatformManifest([unnamed, index[3]], parsePlatform('linux/arm64')), index[3]);
  assert.deepEqual(availablePlatforms(index), ['linux/amd64', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64/v8']);
});
