import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, isTableFormat, parseFormat } from '../../src/cli/template.js';
import { InvalidArgumentError } from '../../src/errors.js';

const render = (src: string, data?: unknown) => compileTemplate(src)(data);

/** Asserts a parse-time failure with exactly this message. */
function badTemplate(src: string, message: string): void {
  assert.throws(
    () => compileTemplate(src),
    (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, `${src}: not an InvalidArgumentError`);
      assert.equal(e.code, 'invalid_format');
      assert.equal(e.message, message, src);
      return true;
    },
  );
}

/** Asserts an execution-time failure with exactly this message. */
function badRun(src: string, data: unknown, message: string): void {
  const run = compileTemplate(src);
  assert.throws(
    () => run(data),
    (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, `${src}: not an InvalidArgumentError`);
      assert.equal(e.code, 'invalid_format');
      assert.equal(e.message, message, src);
      return true;
    },
  );
}

test('parseFormat: table prefix, json shorthand, space trimming and \\t \\n escapes', () => {
  assert.deepEqual(parseFormat('table {{.ID}}\\t{{.Name}}'), { table: true, body: '{{.ID}}\t{{.Name}}' });
  assert.deepEqual(parseFormat('table'), { table: true, body: '' });
  assert.deepEqual(parseFormat('json'), { table: false, body: '{{json .}}' });
  assert.deepEqual(parseFormat(' json'), { table: false, body: 'json' });
  assert.deepEqual(parseFormat('  {{.ID}}\\n{{.Names}}  '), { table: false, body: '{{.ID}}\n{{.Names}}' });
  assert.deepEqual(parseFormat('\t{{.ID}}'), { table: false, body: '\t{{.ID}}' });
  assert.deepEqual(parseFormat('{{.A}}\\\\t'), { table: false, body: '{{.A}}\\\t' });
  assert.ok(isTableFormat('table {{.ID}}'));
  assert.ok(isTableFormat('tablefoo'));
  assert.ok(!isTableFormat('{{.ID}} table'));
});

test('text, fields, nested fields and dot', () => {
  const data = { ID: 'abc', Config: { Image: 'busybox', Labels: { a: '1' } }, Count: 3 };
  assert.equal(render('plain text', data), 'plain text');
  assert.equal(render('', data), '');
  assert.equal(render('{{.ID}}', data), 'abc');
  assert.equal(render('id={{.ID}} image={{.Config.Image}} n={{.Count}}', data), 'id=abc image=busybox n=3');
  assert.equal(render('{{.Config.Labels.a}}', data), '1');
  assert.equal(render('{{.}}', 'str'), 'str');
  assert.equal(render('{{.}}', 42), '42');
  assert.equal(render('{{ .ID }}', data), 'abc');
  assert.equal(render('{{\n.ID\n}}', data), 'abc');
});

test('missing values render <no value>, nil renders <nil>', () => {
  assert.equal(render('{{.Missing}}', {}), '<no value>');
  assert.equal(render('{{.A.B.C}}', {}), '<no value>');
  assert.equal(render('{{.A.B}}', { A: null }), '<no value>');
  assert.equal(render('{{.N}}', { N: null }), '<nil>');
  assert.equal(render('{{.}}'), '<no value>');
  assert.equal(render('{{print .Missing}}', {}), '<nil>');
  // Object.prototype members are not fields of the data.
  assert.equal(render('{{.constructor}}{{.toString}}', {}), '<no value><no value>');
});

test('Go printing of maps (sorted keys), slices, numbers and booleans', () => {
  const data = { M: { b: 2, a: 'x', c: [1, 'y'] }, L: ['a', 'b'], E: [], F: 0.1, G: 1234567.5, H: 1e-7, T: true };
  assert.equal(render('{{.M}}', data), 'map[a:x b:2 c:[1 y]]');
  assert.equal(render('{{.L}} {{.E}}', data), '[a b] []');
  assert.equal(render('{{.F}} {{.G}} {{.H}} {{.T}}', data), '0.1 1.2345675e+06 1e-07 true');
  assert.equal(render('{{.}}', { x: null, y: { z: [] } }), 'map[x:<nil> y:map[z:[]]]');
});

test('json: compact, no trailing newline, HTML left alone as docker does', () => {
  const data = { Ports: '0.0.0.0:2->8/udp', Labels: { 'a&b': '<x>' }, List: [1, 'two', null], Nested: { A: { B: true } } };
  assert.equal(render('{{json .Ports}}', data), '"0.0.0.0:2->8/udp"');
  assert.equal(render('{{json .Labels}}', data), '{"a&b":"<x>"}');
  assert.equal(render('{{json .List}}', data), '[1,"two",null]');
  assert.equal(render('{{json .Nested}}', data), '{"A":{"B":true}}');
  assert.equal(render('{{.Nested | json}}', data), '{"A":{"B":true}}');
  assert.equal(render('{{json .Missing}}', data), 'null');
  assert.equal(render('{{json .}}', { b: 1, a: 2 }), '{"b":1,"a":2}');
  assert.equal(render('{{json .}}', 'line\u2028sep\ttab'), '"line\\u2028sep\\ttab"');
  assert.equal(render('{{json .}}', 1e-7), '1e-7');
});

test('docker string functions: split, join, lower, upper, title', () => {
  assert.equal(render('{{join (split . ":") "/"}}', 'text:with:colon'), 'text/with/colon');
  assert.equal(render('{{split . ","}}', 'a,b,,c'), '[a b  c]');
  assert.equal(render('{{split . ""}}', 'héllo'), '[h é l l o]');
  assert.equal(render('{{join .L ", "}}', { L: ['a', 'b', 'c'] }), 'a, b, c');
  assert.equal(render('{{join .L ", "}}', { L: [] }), '');
  assert.equal(render('{{lower "ABC Déf"}} {{upper "abc"}}', {}), 'abc déf ABC');
  assert.equal(render('{{title "hello world-foo bar_baz"}}', {}), 'Hello World-Foo Bar_baz');
});

test('docker truncate and pad', () => {
  const source = 'tupx5xzf6hvsrhnruz5cr8gwp';
  assert.equal(render('{{truncate . 5}}', source), 'tupx5');
  assert.equal(render('{{truncate . 25}}', source), source);
  assert.equal(render('{{truncate . 30}}', source), source);
  assert.equal(render('{{pad . 3 3}}', source), `   ${source}   `);
  for (const t of ['{{truncate . 5}}', '{{pad . 3 3}}']) assert.equal(render(t, ''), '');
  assert.equal(render('{{truncate .ID 12}}', { ID: 'a'.repeat(64) }), 'a'.repeat(12));
});

test('header mode makes docker functions the identity, as HeaderFunctions does', () => {
  const header = compileTemplate('{{json .Labels}}\t{{upper .Name}}\t{{truncate .ID 3}}\t{{pad .X 1 1}}', { header: true });
  assert.equal(header({ Labels: 'LABELS', Name: 'NAME', ID: 'CONTAINER ID', X: 'X' }), 'LABELS\tNAME\tCONTAINER ID\t X ');
  const split = compileTemplate('{{join (split .Names ",") " "}}', { header: true });
  assert.equal(split({ Names: 'NAMES' }), 'NAMES');
});

test('index: maps, slices, nested keys, strings, and zero values for missing keys', () => {
  const data = { Labels: { 'com.example': 'v', x: 'y' }, L: [10, 20], Nets: { bridge: { IP: '172.17.0.2' } }, Empty: {} };
  assert.equal(render('{{index .Labels "com.example"}}', data), 'v');
  assert.equal(render('{{index .Labels "nope"}}', data), '');
  assert.equal(render('{{index .Empty "nope"}}', data), '');
  assert.equal(render('{{index .Nets "nope"}}', data), '<nil>');
  assert.equal(render('{{index .L 1}}', data), '20');
  assert.equal(render('{{index .Nets "bridge" "IP"}}', data), '172.17.0.2');
  assert.equal(render('{{(index .Nets "bridge").IP}}', data), '172.17.0.2');
  assert.equal(render('{{index "abc" 1}}', data), '98');
  assert.equal(render('{{index .L}}', data), '[10 20]');
});

test('len counts bytes of strings, like Go', () => {
  assert.equal(render('{{len .S}} {{len .L}} {{len .M}} {{len "héllo"}}', { S: 'abc', L: [1, 2], M: { a: 1 } }), '3 2 1 6');
});

test('print, println and printf', () => {
  // fmt.Sprint spaces two operands only when neither is a string.
  assert.equal(render('{{print "a" 1 2 "b" true false}}', {}), 'a1 2btrue false');
  assert.equal(render('{{println 1 "a"}}', {}), '1 a\n');
  assert.equal(render('{{printf "%s-%d" "x" 5}}', {}), 'x-5');
  assert.equal(render('{{printf "[%-6s][%6s][%.2s]" "ab" "cd" "efgh"}}', {}), '[ab    ][    cd][ef]');
  assert.equal(render('{{printf "%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c" 42 42 -42 7 255 255 8 5 65}}', {}), '   42|42   |-0042|+7|ff|FF|10|101|A');
  assert.equal(render('{{printf "%.2f|%8.3f|%e|%g|%G" 3.14159 2.5 1234.5678 0.000012 1e21}}', {}), '3.14|   2.500|1.234568e+03|1.2e-05|1E+21');
  assert.equal(render('{{printf "%q|%v|%v|%t|%T|%%" "a\\"b\\n" .L .M true .L}}', { L: [1, 'x'], M: { k: 'v' } }), '"a\\"b\\n"|[1 x]|map[k:v]|true|[]interface {}|%');
  assert.equal(render('{{printf "%5v" .L}}', { L: [1, 2] }), '[    1     2]');
  assert.equal(render('{{printf "%v %s" nil .Missing}}', {}), '<nil> %!s(<nil>)');
  assert.equal(render('{{printf "%s %d %t" 5 "x" 1}}', {}), '%!s(int=5) %!d(string=x) %!t(int=1)');
  assert.equal(render('{{printf "%d %d" 1}}', {}), '1 %!d(MISSING)');
  assert.equal(render('{{printf "%d" 1 "x" 2}}', {}), '1%!(EXTRA string=x, int=2)');
  assert.equal(render('{{printf "100%"}}', {}), '100%!(NOVERB)');
  assert.equal(render('{{printf "%x" "hi"}}', {}), '6869');
  assert.equal(render('{{printf "%q" "é\\x01"}}', {}), '"é\\x01"');
});

test('pipelines pass the value as the last argument', () => {
  assert.equal(render('{{.Name | printf "%s!"}}', { Name: 'x' }), 'x!');
  assert.equal(render('{{"abc" | upper | printf "%s-%s" "x"}}', {}), 'x-ABC');
  assert.equal(render('{{. | len}}', [1, 2, 3]), '3');
  assert.equal(render('{{.Missing | print}}', {}), '<nil>');
  assert.equal(render('{{(printf "%s" "a") | upper}}', {}), 'A');
});

test('if / else if / else, with Go truthiness', () => {
  const t = compileTemplate('{{if .X}}yes{{else}}no{{end}}');
  for (const x of [true, 1, -1, 'a', [0], { a: 1 }]) assert.equal(t({ X: x }), 'yes', JSON.stringify(x));
  for (const x of [false, 0, '', [], {}, null, undefined]) assert.equal(t({ X: x }), 'no', JSON.stringify(x));
  const chain = compileTemplate('{{if eq .S "a"}}A{{else if eq .S "b"}}B{{else if eq .S "c"}}C{{else}}other{{end}}');
  assert.deepEqual(['a', 'b', 'c', 'd'].map((S) => chain({ S })), ['A', 'B', 'C', 'other']);
  assert.equal(render('{{if .A}}{{if .B}}ab{{else}}a{{end}}{{end}}', { A: 1, B: 0 }), 'a');
  assert.equal(render('{{if .X}}x{{end}}', {}), '');
});

test('with sets dot; else and else with', () => {
  assert.equal(render('{{with .State}}{{.Status}}{{end}}', { State: { Status: 'running' } }), 'running');
  assert.equal(render('{{with .Health}}{{.Status}}{{else}}none{{end}}', {}), 'none');
  assert.equal(render('{{with .A}}a={{.}}{{else with .B}}b={{.}}{{else}}neither{{end}}', { B: 2 }), 'b=2');
  assert.equal(render('{{with $x := .A}}{{$x}}{{.}}{{end}}', { A: 'v' }), 'vv');
});

test('range over slices, maps (sorted), integers, and empty or missing values', () => {
  assert.equal(render('{{range .}}[{{.}}]{{end}}', ['a', 'b']), '[a][b]');
  assert.equal(render('{{range $i, $e := .}}{{$i}}={{$e}} {{end}}', ['a', 'b']), '0=a 1=b ');
  assert.equal(render('{{range $e := .}}{{$e}}{{end}}', ['a', 'b']), 'ab');
  assert.equal(render('{{range $k, $v := .}}{{$k}}:{{$v}},{{end}}', { b: 2, a: 1, c: 3 }), 'a:1,b:2,c:3,');
  assert.equal(render('{{range .}}{{.}}{{end}}', { b: 2, a: 1 }), '12');
  assert.equal(render('{{range 3}}{{.}}{{end}}', {}), '012');
  assert.equal(render('{{range .L}}x{{else}}empty{{end}}', { L: [] }), 'empty');
  assert.equal(render('{{range .L}}x{{else}}empty{{end}}', {}), 'empty');
  assert.equal(render('{{range .L}}{{.}}{{else}}empty{{end}}', { L: ['a'] }), 'a');
  assert.equal(
    render('{{range $p, $conf := .Ports}}{{$p}} -> {{(index $conf 0).HostPort}} {{end}}', {
      Ports: { '80/tcp': [{ HostPort: '8080' }], '443/tcp': [{ HostPort: '8443' }] },
    }),
    '443/tcp -> 8443 80/tcp -> 8080 ',
  );
});

test('break and continue inside range', () => {
  const t = '{{range .}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}';
  assert.equal(render(t, [1, 2, 3, 4, 5]), '13');
  assert.equal(render('{{range .}}{{range .}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}};{{end}}', [[1, 2, 3], [4]]), '1;4;');
});

test('variables: $ is the root, := declares, = assigns, scopes end at {{end}}', () => {
  const data = { Name: 'root', L: ['a', 'b', 'c'] };
  assert.equal(render('{{range .L}}{{$.Name}}/{{.}} {{end}}', data), 'root/a root/b root/c ');
  assert.equal(render('{{$x := .Name}}{{$x}} {{$x = "new"}}{{$x}}', data), 'root new');
  assert.equal(render('{{$first := true}}{{range .L}}{{if not $first}}, {{end}}{{$first = false}}{{.}}{{end}}', data), 'a, b, c');
  assert.equal(render('{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}', data), '21');
  assert.equal(render('{{$m := .}}{{$m.Name}}', data), 'root');
  assert.equal(render('{{$}}', 'whole'), 'whole');
  badTemplate('{{if true}}{{$y := 1}}{{end}}{{$y}}', 'template parsing error: template: :1: undefined variable "$y"');
  badTemplate('{{$z = 1}}', 'template parsing error: template: :1: undefined variable "$z"');
});

test('comparisons: eq with several arguments, ne, lt, le, gt, ge', () => {
  assert.equal(render('{{eq .S "a" "b" "c"}} {{eq .S "x"}} {{ne .S "x"}}', { S: 'b' }), 'true false true');
  assert.equal(render('{{lt 1 2}} {{le 2 2}} {{gt 3 2}} {{ge 1 2}} {{lt "a" "b"}} {{gt 1.5 1}}', {}), 'true true true false true true');
  assert.equal(render('{{eq .Missing nil}} {{eq .S nil}}', { S: 'a' }), 'true false');
  assert.equal(render('{{eq true true}} {{eq 1 1.0}}', {}), 'true true');
});

test('and, or, not: Go values and short-circuit evaluation', () => {
  assert.equal(render('{{or .Missing "default"}}', {}), 'default');
  assert.equal(render('{{or .A "default"}}', { A: 'set' }), 'set');
  assert.equal(render('{{and 1 0 (index .L 99)}}', { L: [] }), '0');
  assert.equal(render('{{and 1 "x"}}', {}), 'x');
  assert.equal(render('{{or 0 ""}}', {}), '');
  assert.equal(render('{{not 0}} {{not "a"}}', {}), 'true false');
  assert.equal(render('{{if and .A (not .B)}}ok{{end}}', { A: 1, B: 0 }), 'ok');
});

test('trim markers and comments', () => {
  assert.equal(render('a  {{- .X -}}  \n b', { X: 1 }), 'a1b');
  assert.equal(render('a {{- .X}} b', { X: 1 }), 'a1 b');
  assert.equal(render('{{range .}}\n  {{- .}}\n{{- end}}', ['x', 'y']), 'xy');
  assert.equal(render('a{{/* a comment */}}b', {}), 'ab');
  assert.equal(render('a \n{{- /* trimmed */ -}}\n b', {}), 'ab');
  assert.equal(render('{{-3}}', {}), '-3');
  assert.equal(render('{{"x" -}}  y', {}), 'xy');
});

test('literals: strings with escapes, raw strings, characters, numbers, nil, booleans', () => {
  assert.equal(render('{{"a\\tb\\u00e9\\x41\\101\\\\"}}', {}), 'a\tbéAA\\');
  assert.equal(render('{{`raw\\t{{x}}`}}', {}), 'raw\\t{{x}}');
  assert.equal(render("{{'a'}} {{'\\n'}}", {}), '97 10');
  assert.equal(render('{{0x1F}} {{017}} {{0o17}} {{0b101}} {{1_000}} {{-3}} {{+4}} {{1.5}} {{1e3}} {{.5}}', {}), '31 15 15 5 1000 -3 4 1.5 1000 0.5');
  assert.equal(render('{{true}} {{false}}', {}), 'true false');
  assert.equal(render('{{printf "%v" nil}}', {}), '<nil>');
});

test('methods on the data are called, with arguments', () => {
  class Ctx {
    constructor(private id: string) {}
    get ID() {
      return this.id.slice(0, 3);
    }
    Greet(name: string, punct: string) {
      return `hi ${name}${punct}`;
    }
    Self() {
      return this;
    }
  }
  const ctx = new Ctx('abcdef');
  assert.equal(render('{{.ID}}', ctx), 'abc');
  assert.equal(render('{{.Greet "bob" "!"}}', ctx), 'hi bob!');
  assert.equal(render('{{"!" | .Greet "al"}}', ctx), 'hi al!');
  assert.equal(render('{{.Self.ID}}', ctx), 'abc');
  assert.equal(render('{{.F}}', { F: () => 'called' }), 'called');
});

test('a method is called as Go calls a context method: its argument count, string parameters', () => {
  const p = 'template parsing error: template: ';
  const ctx = { Label: (name: string) => (name === 'foo' ? 'bar' : ''), N: 3 };
  assert.equal(render('{{.Label "foo"}}|{{.Label "x"}}|{{"foo" | .Label}}|{{.Label (printf "f%s" "oo")}}', ctx), 'bar||bar|bar');
  badRun('{{.Label}}', ctx, `${p}:1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0`);
  badRun('{{.Label "a" "b"}}', ctx, `${p}:1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 2`);
  badRun('{{.Label.X}}', ctx, `${p}:1:2: executing "" at <.Label.X>: wrong number of args for Label: want 1 got 0`);
  badRun('{{.Label 3}}', ctx, `${p}:1:9: executing "" at <3>: expected string; found 3`);
  badRun('{{.Label true}}', ctx, `${p}:1:9: executing "" at <true>: expected string; found true`);
  badRun('{{.Label nil}}', ctx, `${p}:1:9: executing "" at <nil>: cannot assign nil to string`);
  badRun('{{$x := 3}}{{.Label $x}}', ctx, `${p}:1:20: executing "" at <$x>: wrong type for value; expected string; got int`);
  badRun('{{.Label .Missing}}', ctx, `${p}:1:9: executing "" at <.Missing>: invalid value; expected string`);
});

test('json: an int64 keeps all its digits; a toJSON method stands for MarshalJSON', () => {
  assert.equal(render('{{json .}}', { t: 1795412744316343648n, l: [2n ** 63n - 1n] }), '{"t":1795412744316343648,"l":[9223372036854775807]}');
  assert.equal(render('{{.T}}', { T: 1795412744316343648n }), '1795412744316343648');
  const ctx = Object.assign(Object.create({ toJSON: () => ({ status: 'start', timeNano: 5n }) }) as object, { Status: 'start' });
  assert.equal(render('{{.Status}} {{json .}}', ctx), 'start {"status":"start","timeNano":5}');
  assert.equal(render('{{json .}}', { a: undefined, f: () => 1, l: [undefined], d: new Date(0) }), '{"l":[null],"d":"1970-01-01T00:00:00.000Z"}');
});

test('parse errors carry Go\'s wording and line', () => {
  const p = 'template parsing error: template: ';
  badTemplate('{{.ID', `${p}:1: unclosed action`);
  badTemplate('{{foo .}}', `${p}:1: function "foo" not defined`);
  badTemplate('{{end}}', `${p}:1: unexpected {{end}}`);
  badTemplate('{{else}}', `${p}:1: unexpected {{else}}`);
  badTemplate('{{if .X}}a', `${p}:1: unexpected EOF`);
  badTemplate('{{range .X}}a{{else}}b', `${p}:1: unexpected EOF`);
  badTemplate('{{if 1}}{{else}}', `${p}:1: unexpected EOF`);
  badTemplate('{{with 1}}', `${p}:1: unexpected EOF`);
  badTemplate('{{range}}{{end}}', `${p}:1: missing value for range`);
  badTemplate('{{end 1}}', `${p}:1: unexpected "1" in end`);
  badTemplate('{{if}}{{end}}', `${p}:1: missing value for if`);
  badTemplate('{{}}', `${p}:1: missing value for command`);
  badTemplate('{{if 1}}a{{else}}b{{else}}c{{end}}', `${p}:1: expected end; found {{else}}`);
  badTemplate('{{range .}}{{else if 1}}{{end}}{{end}}', `${p}:1: unexpected <if> in input`);
  badTemplate('{{break}}', `${p}:1: {{break}} outside {{range}}`);
  badTemplate('{{define "x"}}{{end}}', `${p}:1: {{define}} is not supported in --format templates`);
  badTemplate('{{.X | "a"}}', `${p}:1: non executable command in pipeline stage 2`);
  badTemplate('{{"abc}}', `${p}:1: unterminated quoted string`);
  badTemplate('{{`abc}}', `${p}:1: unterminated raw quoted string`);
  badTemplate('{{.X#}}', `${p}:1: bad character U+0023 '#'`);
  badTemplate('{{# }}', `${p}:1: unexpected "#" in command`);
  badTemplate('{{(.X}}', `${p}:1: unclosed left paren`);
  badTemplate('{{.X)}}', `${p}:1: unexpected right paren`);
  badTemplate('{{.X "a"b}}', `${p}:1: unexpected "b" in operand`);
  badTemplate('{{3x}}', `${p}:1: bad number syntax: "3x"`);
  badTemplate('{{08}}', `${p}:1: integer overflow: "08"`);
  badTemplate('{{/* x }}', `${p}:1: unclosed comment`);
  badTemplate('{{/* x */ .}}', `${p}:1: comment ends before closing delimiter`);
  badTemplate('{{$x, $y := .}}', `${p}:1: too many declarations in command`);
  badTemplate('{{"x".Y}}', `${p}:1: unexpected . after term "\\"x\\""`);
  badTemplate('{{.X :}}', `${p}:1: expected :=`);
  badTemplate('line1\nline2 {{.A}}\n{{bad}}', `${p}:3: function "bad" not defined`);
});

test('execution errors name the position and the failing node', () => {
  const p = 'template parsing error: template: ';
  badRun('{{.Foo}}', 'str', `${p}:1:2: executing "" at <.Foo>: can't evaluate field Foo in type string`);
  badRun('x {{index .L 5}}', { L: [1] }, `${p}:1:4: executing "" at <index .L 5>: error calling index: index out of range: 5`);
  badRun('{{index .M 1}}', { M: 3 }, `${p}:1:2: executing "" at <index .M 1>: error calling index: can't index item of type int`);
  badRun('{{lt 1 "a"}}', {}, `${p}:1:2: executing "" at <lt 1 "a">: error calling lt: incompatible types for comparison`);
  badRun('{{eq .L .L}}', { L: [] }, `${p}:1:2: executing "" at <eq .L .L>: error calling eq: non-comparable types for comparison`);
  badRun('{{lt nil 1}}', {}, `${p}:1:2: executing "" at <lt nil 1>: error calling lt: invalid type for comparison`);
  badRun('{{join "a"}}', {}, `${p}:1:2: executing "" at <join>: wrong number of args for join: want 2 got 1`);
  badRun('{{and}}', {}, `${p}:1:2: executing "" at <and>: wrong number of args for and: want at least 1 got 0`);
  badRun('{{.Name "x"}}', { Name: 'n' }, `${p}:1:2: executing "" at <.Name>: Name is not a method but has arguments`);
  badRun('{{"a" | $}}', {}, `${p}:1:8: executing "" at <$>: can't give argument to non-function $`);
  badRun('{{range .}}{{end}}', 'abc', `${p}:1:8: executing "" at <.>: range can't iterate over abc`);
  badRun('\n{{truncate . "x"}}', 'abc', `${p}:2:2: executing "" at <truncate . "x">: wrong type for value; expected int; got string`);
  badRun('{{len .X}}', {}, `${p}:1:2: executing "" at <len .X>: error calling len: len of nil pointer`);
  badRun('{{upper .X}}', {}, `${p}:1:2: executing "" at <upper .X>: invalid value; expected string`);
});

test('a compiled template renders many values independently', () => {
  const t = compileTemplate('{{$x := .}}{{$x}}');
  assert.equal(t('a'), 'a');
  assert.equal(t('b'), 'b');
});
