// A container's files from the host, through the built CLI with real containers: cp both ways
// (Docker's rules for "/.", existing and missing destinations, tar streams on stdin and stdout),
// symlinks in the container that point at host paths (never followed out of the container),
// diff, export, and commit into an image that runs. Everything a test makes is removed in
// `finally`, and `after` removes the state root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { berth, berthBin, berthOk, tearDownRoot } from '../helpers/cli.js';
import { readTar, tarBuffer } from '../helpers/images.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = !isRoot ? 'needs root' : !existsSync('/usr/sbin/runc') || !existsSync('/usr/bin/conmon') ? 'needs runc and conmon' : false;

describe('container files', { skip }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let root: string;

  const run = (args: string[], input?: string) => berth(root, args, { input });
  const ok = (args: string[], input?: string) => berthOk(root, args, { input });
  /** berth with binary stdin and stdout (tar streams). */
  const raw = (args: string[], input?: Buffer) => {
    const r = spawnSync(process.execPath, [berthBin, '--root', root, '--runroot', join(root, 'run'), ...args], { input, maxBuffer: 256 << 20 });
    if (r.status !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
    return r.stdout;
  };
  const removeAll = (...refs: string[]) => {
    if (refs.length) run(['rm', '-f', ...refs]);
  };
  const mountedUnder = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').includes(dir);

  before(() => {
    tmp = tempDir('berth-fs-');
    root = tmp.dir;
    ok(['system', 'init']);
  });

  after(() =>
    tearDownRoot(tmp, () => {
      run(['image', 'prune', '-af']);
      run(['volume', 'prune', '-af']);
    }),
  );

  it('copies into and out of a stopped container with docker cp rules, and unmounts after', () => {
    const host = tempDir('berth-cp-');
    try {
      const id = ok(['create', '--name', 'stopped', 'busybox', 'true']).trim();
      const src = join(host.dir, 'src');
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'a.txt'), 'A');
      writeFileSync(join(src, 'sub', 'b.txt'), 'B');
      // A directory into an existing one: it goes inside. Into a missing path: it takes that name.
      ok(['cp', src, 'stopped:/tmp']);
      ok(['cp', src, 'stopped:/copied']);
      // "/." copies the contents, here into an existing directory.
      ok(['cp', `${src}/.`, 'stopped:/root']);
      // A file onto an existing file replaces it; to a missing name it takes that name.
      ok(['cp', join(src, 'a.txt'), 'stopped:/etc/passwd']);
      ok(['cp', join(src, 'a.txt'), 'stopped:/renamed.txt']);
      assert.match(run(['cp', src, 'stopped:/etc/passwd']).stderr, /cannot copy directory/);
      assert.match(run(['cp', join(src, 'a.txt'), 'stopped:/nosuchdir/']).stderr, /no such directory/);
      assert.match(run(['cp', src, 'stopped:/nosuch/deeper']).stderr, /Could not find the file \/nosuch in container stopped/);
      assert.match(run(['cp', join(host.dir, 'missing'), 'stopped:/tmp']).stderr, /no such file or directory/);
      assert.match(run(['cp', '-', 'stopped:/etc/passwd'], '').stderr, /destination "stopped:\/etc\/passwd" must be a directory/);
      assert.match(run(['cp', 'stopped:/a', 'stopped:/b']).stderr, /copying between containers is not supported/);
      assert.match(run(['cp', 'a', 'b']).stderr, /must specify at least one container source/);
      assert.ok(!mountedUnder(id), 'the rootfs is unmounted after each cp');

      const out = join(host.dir, 'out');
      mkdirSync(out);
      ok(['cp', 'stopped:/tmp/src', out]);
      assert.equal(readFileSync(join(out, 'src', 'sub', 'b.txt'), 'utf8'), 'B');
      ok(['cp', 'stopped:/copied/.', join(out, 'contents')]);
      assert.deepEqual(readdirSync(join(out, 'contents')).sort(), ['a.txt', 'sub']);
      ok(['cp', 'stopped:/root/sub/b.txt', join(out, 'b-renamed')]);
      assert.equal(readFileSync(join(out, 'b-renamed'), 'utf8'), 'B');
      ok(['cp', 'stopped:/etc/passwd', join(out, 'passwd')]);
      assert.equal(readFileSync(join(out, 'passwd'), 'utf8'), 'A');
      ok(['cp', 'stopped:/renamed.txt', out]);
      assert.equal(readFileSync(join(out, 'renamed.txt'), 'utf8'), 'A');
      assert.match(run(['cp', 'stopped:/nonexist', out]).stderr, /Could not find the file \/nonexist in container stopped/);
      assert.match(run(['cp', 'stopped:/etc/passwd/', out]).stderr, /not a directory/);
      assert.match(run(['cp', 'stopped:/etc', join(out, 'passwd')]).stderr, /cannot copy directory/);
      assert.match(run(['cp', 'stopped:/etc', join(out, 'no', 'such')]).stderr, /invalid output path: directory ".*\/no" does not exist/);
      assert.ok(!mountedUnder(id));
      assert.equal(ok(['start', '-a', 'stopped']), '', 'it still starts');
    } finally {
      removeAll('stopped');
      host.cleanup();
    }
  });

  it('sets owners as docker documents: root in the container, source owners with -a', () => {
    const host = tempDir('berth-cp-own-');
    try {
      ok(['create', '--name', 'owners', 'busybox', 'true']);
      const file = join(host.dir, 'owned');
      writeFileSync(file, 'x');
      spawnSync('chown', ['1234:2345', file]);
      ok(['cp', file, 'owners:/plain']);
      ok(['cp', '-a', file, 'owners:/archived']);
      const entries = new Map<string, string>();
      const listing = spawnSync('tar', ['-tvf', '-', '--numeric-owner'], { input: raw(['export', 'owners']) }).stdout.toString();
      for (const line of listing.split('\n')) {
        const m = /^\S+ (\d+\/\d+) .* (plain|archived)$/.exec(line);
        if (m) entries.set(m[2], m[1]);
      }
      assert.deepEqual(Object.fromEntries(entries), { plain: '0/0', archived: '1234/2345' });
    } finally {
      removeAll('owners');
      host.cleanup();
    }
  });

  it('streams tars with "-": out of a running container to stdout, into it from stdin', async () => {
    try {
      ok(['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'mkdir /work && echo in > /work/f && sleep 1000']);
      for (let i = 0; i < 50 && run(['exec', 'live', 'test', '-f', '/work/f']).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
      const files = await readTar(raw(['cp', 'live:/work', '-']));
      assert.deepEqual([...files.keys()], ['work/', 'work/f']);
      assert.equal(files.get('work/f')!.toString(), 'in\n');
      const contents = await readTar(raw(['cp', 'live:/work/.', '-']));
      assert.deepEqual([...contents.keys()], ['./', './f']);

      const tar = await tarBuffer([
        { name: 'streamed/', type: 'directory' },
        { name: 'streamed/g', data: 'from stdin\n' },
        { name: 'streamed/link', type: 'symlink', linkname: 'g' },
      ]);
      raw(['cp', '-', 'live:/work'], tar);
      assert.equal(ok(['exec', 'live', 'cat', '/work/streamed/link']), 'from stdin\n');
      const host = tempDir('berth-cp-live-');
      try {
        ok(['cp', 'live:/work', host.dir]);
        assert.equal(readFileSync(join(host.dir, 'work', 'streamed', 'g'), 'utf8'), 'from stdin\n');
        assert.equal(readlinkSync(join(host.dir, 'work', 'streamed', 'link')), 'g');
      } finally {
        host.cleanup();
      }
    } finally {
      removeAll('live');
    }
  });

  it("never follows the container's symlinks to the host, running or stopped", async () => {
    const host = tempDir('berth-cp-host-');
    const sentinelDir = join(host.dir, 'sentinel');
    mkdirSync(sentinelDir);
    const secret = join(sentinelDir, 'secret');
    writeFileSync(secret, 'HOST SECRET\n');
    try {
      const script = `ln -s ${secret} /shadow; ln -s ${sentinelDir} /evil; mkdir /d; ln -s ${secret} /d/link; sleep 1000`;
      ok(['run', '-d', '--name', 'sneaky', 'busybox', 'sh', '-c', script]);
      for (let i = 0; i < 50 && run(['exec', 'sneaky', 'test', '-L', '/d/link']).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
      ok(['create', '--name', 'sneaky-stopped', 'busybox', 'true']);
      const links = await tarBuffer([
        { name: 'shadow', type: 'symlink', linkname: secret },
        { name: 'evil', type: 'symlink', linkname: sentinelDir },
      ]);
      raw(['cp', '-', 'sneaky-stopped:/'], links);
      const out = join(host.dir, 'out');
      mkdirSync(out);
      for (const c of ['sneaky', 'sneaky-stopped']) {
        // The symlink itself comes out, not the host file it names.
        const stream = await readTar(raw(['cp', `${c}:/shadow`, '-']));
        assert.deepEqual([...stream.keys()], ['shadow']);
        assert.equal(stream.get('shadow'), null);
        ok(['cp', `${c}:/shadow`, join(out, `${c}-shadow`)]);
        assert.ok(lstatSync(join(out, `${c}-shadow`)).isSymbolicLink());
        assert.equal(readlinkSync(join(out, `${c}-shadow`)), secret);
        // -L follows it inside the container, where there is no such file.
        assert.match(run(['cp', '-L', `${c}:/shadow`, join(out, `${c}-followed`)]).stderr, /Could not find the file/);
        assert.ok(!existsSync(join(out, `${c}-followed`)));
        // The directory the symlink names does not exist in the container: nothing to write into.
        assert.match(run(['cp', secret, `${c}:/evil/`]).stderr, /no such directory/);
        assert.deepEqual(readdirSync(sentinelDir), ['secret']);
      }
      ok(['cp', join(sentinelDir, 'secret'), 'sneaky:/tmp/copied']);
      ok(['exec', 'sneaky', 'mkdir', '-p', sentinelDir]);
      ok(['cp', join(sentinelDir, 'secret'), 'sneaky:/evil/planted']);
      assert.equal(ok(['exec', 'sneaky', 'cat', join(sentinelDir, 'planted')]), 'HOST SECRET\n', 'written inside the container');
      assert.deepEqual(readdirSync(sentinelDir), ['secret'], 'nothing written on the host');
      assert.equal(readFileSync(secret, 'utf8'), 'HOST SECRET\n');
      const dir = await readTar(raw(['cp', 'sneaky:/d', '-']));
      assert.deepEqual([...dir.keys()], ['d/', 'd/link']);
      assert.equal(dir.get('d/link'), null, 'a symlink inside a copied directory stays a symlink');
    } finally {
      removeAll('sneaky', 'sneaky-stopped');
      host.cleanup();
    }
  });

  it('diff shows what changed (A, C, D), export has the whole filesystem', () => {
    const host = tempDir('berth-export-');
    try {
      ok(['run', '--name', 'changed', 'busybox', 'sh', '-c', 'echo new > /added; echo x >> /etc/passwd; rm /bin/vi; mkdir -p /root/dir; touch /root/dir/f; rm -rf /usr/sbin; mkdir /usr/sbin']);
      const diff = ok(['diff', 'changed']).split('\n').filter(Boolean);
      assert.ok(diff.includes('A /added'), diff.join('\n'));
      assert.ok(diff.includes('C /etc'));
      assert.ok(diff.includes('C /etc/passwd'));
      assert.ok(diff.includes('C /bin'));
      assert.ok(diff.includes('D /bin/vi'));
      assert.ok(diff.includes('A /root/dir/f'));
      assert.ok(diff.includes('D /usr/sbin/chroot'), 'what a replaced directory had is deleted');
      assert.ok(diff.indexOf('C /bin') < diff.indexOf('D /bin/vi'), 'parents first');
      assert.ok(!diff.some((l) => /\/etc\/(hosts|hostname|resolv\.conf)$/.test(l)), "the runtime's mount points are not changes");

      const tar = join(host.dir, 'fs.tar');
      ok(['export', '-o', tar, 'changed']);
      const names = spawnSync('tar', ['-tf', tar]).stdout.toString().split('\n');
      assert.ok(names.includes('bin/busybox'));
      assert.ok(names.includes('added'));
      assert.ok(!names.includes('bin/vi'));
      const streamed = spawnSync('tar', ['-tf', '-'], { input: raw(['export', 'changed']) }).stdout.toString();
      assert.match(streamed, /^bin\/busybox$/m);
      assert.ok(!mountedUnder(ok(['inspect', '-f', '{{.Id}}', 'changed']).trim()));
    } finally {
      removeAll('changed');
      host.cleanup();
    }
  });

  it('commits a container into an image that runs with its changes, and applies --change', () => {
    try {
      const since = String(Math.floor(Date.now() / 1000) - 1);
      ok(['run', '-d', '--name', 'base', 'busybox', 'sh', '-c', 'echo committed-file > /data.txt; rm /bin/vi; sleep 1000']);
      for (let i = 0; i < 50 && run(['exec', 'base', 'test', '-f', '/data.txt']).code !== 0; i++) spawnSync('sleep', ['0.1']);
      const id = ok(['commit', '-m', 'a message', '-a', 'tester', 'base', 'committed:v1']).trim();
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      assert.equal(JSON.parse(ok(['inspect', '-f', '{{json .State.Status}}', 'base'])), 'running', 'unpaused after');
      assert.equal(ok(['run', '--rm', 'committed:v1', 'cat', '/data.txt']), 'committed-file\n');
      assert.notEqual(run(['run', '--rm', 'committed:v1', 'ls', '/bin/vi']).code, 0, 'the deletion is in the image');
      assert.equal(ok(['image', 'inspect', '-f', '{{.Author}} {{.Comment}}', 'committed:v1']), 'tester a message\n');
      assert.match(ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'committed:v1']).split('\n')[0], /^sh -c echo committed-file.*\|a message$/);

      const v2 = ok(['commit', '--change', 'CMD ["echo","committed"]', '--change', 'ENV FROM_CHANGE=1', '--pause=false', 'base', 'committed:v2']).trim();
      assert.equal(ok(['run', '--rm', 'committed:v2']), 'committed\n');
      assert.equal(ok(['run', '--rm', 'committed:v2', 'sh', '-c', 'echo $FROM_CHANGE; cat /data.txt']), '1\ncommitted-file\n');
      // A stopped container, and no tag: a dangling image.
      ok(['stop', '-t', '0', 'base']);
      const untagged = ok(['commit', 'base']).trim();
      assert.match(ok(['images', '-q', '--no-trunc', '--filter', 'dangling=true']), new RegExp(untagged.slice(7)));
      // As Docker's: a tag event for the name, then the container's commit event with it (familiar, or "").
      const until = String(Math.ceil(Date.now() / 1000) + 1);
      const events = (format: string, ...filters: string[]) => ok(['events', '--since', since, '--until', until, '--format', format, ...filters.flatMap((f) => ['--filter', f])]);
      assert.equal(events('{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}', 'type=image', 'event=tag'), `tag ${id} committed:v1\ntag ${v2} committed:v2\n`);
      assert.equal(events('{{.Actor.Attributes.imageRef}}|{{.Actor.Attributes.imageID}}', 'event=commit'), `committed:v1|${id}\ncommitted:v2|${v2}\n|${untagged}\n`);
      assert.match(run(['commit', 'base', 'bad@sha256:' + '0'.repeat(64)]).stderr, /digest/);
      ok(['rmi', untagged]);
    } finally {
      removeAll('base');
      run(['rmi', 'committed:v1', 'committed:v2']);
    }
  });
});
