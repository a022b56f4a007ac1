// Who a container's processes are and what the container is called, through the built CLI with
// real containers (all with --network none): the user, groups and HOME of run and exec, the
// host and domain names, what --network container:<x> shares, --ipc host, and exec's exit codes
// when its process cannot start. Everything a test makes is removed in `finally`, and `after`
// removes the state root.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { berth, berthOk, tearDownRoot } from '../helpers/cli.js';
import { isRoot, tempDir } from '../helpers/root.js';

const skip = !isRoot ? 'needs root' : !existsSync('/usr/sbin/runc') || !existsSync('/usr/bin/conmon') ? 'needs runc and conmon' : false;

describe('container identity', { skip }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let root: string;

  const run = (args: string[]) => berth(root, args);
  const ok = (args: string[]) => berthOk(root, args);
  const removeAll = (...refs: string[]) => {
    if (refs.length) run(['rm', '-f', ...refs]);
  };

  before(() => {
    tmp = tempDir('berth-identity-');
    root = tmp.dir;
    ok(['system', 'init']);
  });

  after(() => tearDownRoot(tmp, () => void run(['image', 'prune', '-af'])));

  it("gives run's and exec's users their primary group among the supplementary ones, as Docker", () => {
    // busybox: nobody is 65534 (group nogroup), daemon 1, and root a member of wheel (10).
    const id = (args: string[]) => ok(['run', '--rm', '--network', 'none', ...args, 'busybox', 'id']).trim();
    assert.equal(id(['-u', 'nobody']), 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)');
    assert.equal(id(['--group-add', 'wheel', '-u', 'daemon']), 'uid=1(daemon) gid=1(daemon) groups=1(daemon),10(wheel)');
    assert.equal(id([]), 'uid=0(root) gid=0(root) groups=0(root),10(wheel)');
    assert.equal(id(['-u', '1234']), 'uid=1234 gid=0(root) groups=0(root)');
    assert.equal(id(['-u', 'nobody:wheel']), 'uid=65534(nobody) gid=10(wheel) groups=10(wheel)');
    try {
      ok(['run', '-d', '--name', 'ids', '--network', 'none', '--group-add', '7777', 'busybox', 'sleep', '1000']);
      assert.equal(ok(['exec', '-u', 'nobody', 'ids', 'id']).trim(), 'uid=65534(nobody) gid=65534(nogroup) groups=7777,65534(nogroup)');
    } finally {
      removeAll('ids');
    }
  });

  it("sets exec -u's HOME from the container's passwd, unless the container's or the exec's env gives one", () => {
    try {
      ok(['run', '-d', '--name', 'homes', '--network', 'none', 'busybox', 'sleep', '1000']);
      ok(['run', '-d', '--name', 'given', '--network', 'none', '-e', 'HOME=/given', 'busybox', 'sleep', '1000']);
      const home = (args: string[]) => ok(['exec', ...args, 'sh', '-c', 'echo $HOME']).trim();
      assert.equal(home(['-u', 'nobody', 'homes']), '/home');
      assert.equal(home(['-u', 'daemon', 'homes']), '/usr/sbin');
      assert.equal(home(['-u', '1234', 'homes']), '/', 'a uid not in passwd');
      assert.equal(home(['-u', 'root', 'homes']), '/root');
      assert.equal(home(['homes']), '/root');
      assert.equal(home(['-u', 'nobody', '-e', 'HOME=/x', 'homes']), '/x');
      assert.equal(home(['-u', 'nobody', 'given']), '/given');
    } finally {
      removeAll('homes', 'given');
    }
  });

  it('sets the NIS domain name with --domainname', () => {
    const out = ok(['run', '--rm', '--network', 'none', '-h', 'foo', '--domainname', 'bar.com', 'busybox', 'sh', '-c', 'hostname; cat /proc/sys/kernel/domainname']);
    assert.equal(out, 'foo\nbar.com\n');
    assert.equal(ok(['run', '--rm', '--network', 'none', 'busybox', 'cat', '/proc/sys/kernel/domainname']), '(none)\n');
  });

  it("gives a container on another's network that one's host and domain names and /etc files, as Docker", () => {
    try {
      ok(['run', '-d', '--name', 'owner', '--network', 'none', '-h', 'ownerhost', '--domainname', 'd.example', '--add-host', 'extra:10.1.2.3', '--dns', '192.0.2.53', 'busybox', 'sleep', '1000']);
      const out = ok(['run', '--rm', '--network', 'container:owner', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; cat /proc/sys/kernel/domainname; echo $HOSTNAME; grep extra /etc/hosts; cat /etc/resolv.conf']);
      assert.equal(out, 'ownerhost\nownerhost\nd.example\nownerhost\n10.1.2.3\textra\nnameserver 192.0.2.53\n');
      ok(['run', '-d', '--name', 'joiner', '--network', 'container:owner', 'busybox', 'sleep', '1000']);
      const paths = '{{.Config.Hostname}} {{.Config.Domainname}} {{.HostnamePath}} {{.HostsPath}} {{.ResolvConfPath}}';
      assert.equal(ok(['inspect', '-f', paths, 'joiner']), ok(['inspect', '-f', paths, 'owner']));
    } finally {
      removeAll('joiner', 'owner');
    }
  });

  it("mounts the host IPC namespace's mqueue with --ipc host, whether or not the host has /dev/mqueue", () => {
    const out = ok(['run', '--rm', '--network', 'none', '--ipc', 'host', 'busybox', 'sh', '-c', 'grep -E "^(mqueue|\\S+ /dev/shm) " /proc/mounts | cut -d" " -f2,3']);
    assert.match(out, /^\/dev\/mqueue mqueue$/m);
    assert.match(out, /^\/dev\/shm \S+$/m);
  });

  it("exits as Docker's exec when the process cannot start: 127 for a missing working directory, 126 for an unknown user", () => {
    try {
      ok(['run', '-d', '--name', 'codes', '--network', 'none', 'busybox', 'sleep', '1000']);
      const noDir = run(['exec', '-w', '/nonexist', 'codes', 'true']);
      assert.equal(noDir.code, 127, noDir.stderr);
      assert.match(noDir.stderr, /chdir to cwd \("\/nonexist"\) set in config\.json failed: no such file or directory/);
      for (const flags of [[], ['-t']]) {
        const noUser = run(['exec', ...flags, '-u', 'nosuchuser', 'codes', 'true']);
        assert.equal(noUser.code, 126, noUser.stderr);
        assert.equal(noUser.stderr, 'Error: unable to find user nosuchuser: no matching entries in passwd file\n');
      }
      assert.equal(ok(['exec', 'codes', 'echo', 'still', 'running']), 'still running\n');
    } finally {
      removeAll('codes');
    }
  });
});
