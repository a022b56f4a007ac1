import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderList, withLabelMethod } from '../../src/cli/output.js';

const rows = [withLabelMethod({ Name: 'web', Labels: 'com.example.some-key=1,foo=bar' }, { 'com.example.some-key': '1', foo: 'bar' }), withLabelMethod({ Name: 'db', Labels: '' }, null)];
const headers = { Name: 'NAME', Labels: 'LABELS' };

test('list rows answer .Label "key" as docker\'s ps, volume ls and network ls contexts do', () => {
  assert.equal(renderList(rows, { format: '{{.Name}}:{{.Label "foo"}}:{{.Label "nope"}}', defaultFormat: '', headers }), 'web:bar:\ndb::\n');
  // docker marshals only the methods without arguments: Label is not a key of the row's JSON.
  assert.equal(renderList(rows.slice(0, 1), { format: '{{json .}}', defaultFormat: '', headers }), '{"Labels":"com.example.some-key=1,foo=bar","Name":"web"}\n');
});

test('a table heads a .Label column with the key\'s last dotted part, as docker\'s SubHeaderContext', () => {
  assert.equal(
    renderList(rows, { format: 'table {{.Label "com.example.some-key"}}\t{{.Label "a_b"}}\t{{.Name}}', defaultFormat: '', headers }),
    'some key   a b       NAME\n1                    web\n                     db\n',
  );
});
