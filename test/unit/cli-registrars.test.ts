// The CLI defines only the commands a command line needs: the registrars must declare exactly
// what they define, or a command would go missing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { commandWords } from '../../src/cli/argv.js';
import { REGISTRARS, registrarsFor, type Cli } from '../../src/cli/program.js';

function tree(registrars: readonly { register: (cli: Cli) => void }[]): string[] {
  const program = new Command('berth').enablePositionalOptions();
  const cli: Cli = { program, run: async () => undefined };
  for (const r of registrars) r.register(cli);
  return program.commands.map((c) => c.name());
}

describe('command registrars', () => {
  it('each defines exactly the top-level commands it declares', () => {
    for (const r of REGISTRARS) {
      const before = r.needs ? tree([r.needs]) : [];
      const added = tree(r.needs ? [r.needs, r] : [r]).filter((name) => !before.includes(name));
      assert.deepEqual(added.sort(), [...r.commands].sort(), `registrar of ${r.commands[0]}`);
    }
  });

  it('the declared commands make the whole tree, each from one registrar', () => {
    const declared = REGISTRARS.flatMap((r) => r.commands);
    assert.equal(new Set(declared).size, declared.length);
    assert.deepEqual(tree(REGISTRARS).sort(), declared.sort());
  });

  it('gives a command its own registrar, and groups, help and unknown words the whole tree', () => {
    assert.deepEqual(registrarsFor(['--root', '/x', 'run', '--rm', 'busybox']).flatMap((r) => r.commands).includes('run'), true);
    assert.equal(registrarsFor(['run', 'busybox']).length, 1);
    assert.equal(registrarsFor(['cp', 'a', 'b:/c']).length, 2, 'cp adds to the container group');
    for (const argv of [['container', 'ls'], ['--help'], [], ['nosuch']]) assert.equal(registrarsFor(argv), REGISTRARS);
  });
});

describe('commandWords', () => {
  it('skips global options and their values, and takes a group and its subcommand', () => {
    assert.deepEqual(commandWords(['--root', '/r', '-D', 'run', '-it', 'busybox', 'sh']), ['run']);
    assert.deepEqual(commandWords(['network', 'create', 'n1']), ['network', 'create']);
    assert.deepEqual(commandWords(['network', '--help']), ['network']);
    assert.deepEqual(commandWords(['--version']), []);
  });
});
