import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageRows } from '../../src/cli/commands/images.js';

const d1 = 'sha256:' + '1'.repeat(64);
const d2 = 'sha256:' + '2'.repeat(64);
const d3 = 'sha256:' + '3'.repeat(64);
const rows = (img: { RepoTags: string[]; RepoDigests: string[] }, digests: boolean, digestColumn = digests) =>
  imageRows(img, { digests, digestColumn }).map((r) => `${r.Repository} ${r.Tag} ${r.Digest}`);

test('images: a row per tag, and per digest of its repository only when digests are shown', () => {
  const img = { RepoTags: ['app:1', 'app:2', 'localhost:5000/app:1'], RepoDigests: [`app@${d1}`, `app@${d2}`] };
  assert.deepEqual(rows(img, true), [`app 1 ${d1}`, `app 1 ${d2}`, `app 2 ${d1}`, `app 2 ${d2}`, 'localhost:5000/app 1 <none>']);
  assert.deepEqual(rows(img, false), ['app 1 <none>', 'app 2 <none>', 'localhost:5000/app 1 <none>']);
  // A format that asks for {{.Digest}} gets the tags' digests without --digests, as Docker's.
  assert.deepEqual(rows(img, false, true), [`app 1 ${d1}`, `app 1 ${d2}`, `app 2 ${d1}`, `app 2 ${d2}`, 'localhost:5000/app 1 <none>']);
});

test('images: a repository with digests and no tag gets rows of its own', () => {
  const img = { RepoTags: ['busybox:latest'], RepoDigests: [`reg:5000/bb/one@${d1}`, `reg:5000/bb/one@${d2}`, `other@${d3}`] };
  assert.deepEqual(rows(img, true), ['busybox latest <none>', `reg:5000/bb/one <none> ${d1}`, `reg:5000/bb/one <none> ${d2}`, `other <none> ${d3}`]);
  assert.deepEqual(rows(img, false), ['busybox latest <none>', 'reg:5000/bb/one <none> ', 'other <none> ']);
});

test('images: an image without names is one <none> row', () => {
  assert.deepEqual(rows({ RepoTags: [], RepoDigests: [] }, true), ['<none> <none> <none>']);
});
