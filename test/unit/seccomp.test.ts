import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/errors.js';
import { DEFAULT_CAPABILITIES } from '../../src/runtime/capabilities.js';
import {
  defaultSeccompProfile,
  resolveSeccompProfile,
  seccompArchOf,
  type OciSeccomp,
  type SeccompProfile,
} from '../../src/runtime/seccomp.js';

const base = { arch: 'x64', kernel: '6.1.0', caps: DEFAULT_CAPABILITIES };

function allowed(s: OciSeccomp, name: string): OciSeccomp['syscalls'] {
  return (s.syscalls ?? []).filter((r) => r.names.includes(name) && r.action === 'SCMP_ACT_ALLOW');
}

describe('resolveSeccompProfile with the default profile', () => {
  const s = resolveSeccompProfile(defaultSeccompProfile, base);

  it('denies by default with EPERM and filters the native ABI only', () => {
    assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(s.defaultErrnoRet, 1);
    assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64']);
  });

  it("keeps the compat ABIs of a profile file that lists them (Docker's own)", () => {
    const docker = JSON.parse(readFileSync(new URL('../../src/runtime/seccomp-default.json', import.meta.url), 'utf8')) as SeccompProfile;
    assert.deepEqual(resolveSeccompProfile(docker, base).architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  it('allows ordinary syscalls and the x86-only ones, but not other architectures', () => {
    for (const name of ['read', 'write', 'openat', 'execve', 'arch_prctl', 'modify_ldt']) {
      assert.ok(allowed(s, name)!.length > 0, `${name} should be allowed`);
    }
    assert.equal(allowed(s, 'arm_fadvise64_64')!.length, 0);
    assert.equal(allowed(s, 's390_pci_mmio_read')!.length, 0);
  });

  it('keeps capability-gated syscalls out without the capability', () => {
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'bpf', 'reboot', 'init_module', 'settimeofday']) {
      assert.equal(allowed(s, name)!.length, 0, `${name} should not be allowed`);
    }
    assert.equal(allowed(s, 'chroot')!.length, 1, 'chroot comes with CAP_SYS_CHROOT, a default cap');
  });

  it('allows clone only without namespace flags, and fails clone3 with ENOSYS', () => {
    const clone = allowed(s, 'clone')!;
    assert.equal(clone.length, 1);
    assert.deepEqual(clone[0].args, [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
    const clone3 = s.syscalls!.find((r) => r.names.includes('clone3'))!;
    assert.equal(clone3.action, 'SCMP_ACT_ERRNO');
    assert.equal(clone3.errnoRet, 38);
  });

  it('opens the CAP_SYS_ADMIN rules when the container has it', () => {
    const admin = resolveSeccompProfile(defaultSeccompProfile, { ...base, caps: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'] });
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone3']) {
      assert.ok(allowed(admin, name)!.length > 0, `${name} should be allowed with CAP_SYS_ADMIN`);
    }
    const clone = allowed(admin, 'clone')!;
    assert.ok(clone.every((r) => r.args === undefined), 'clone is unrestricted with CAP_SYS_ADMIN');
    assert.ok(!admin.syscalls!.some((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO'));
  });

  it('drops rules that need a newer kernel', () => {
    const old = resolveSeccompProfile(defaultSeccompProfile, { ...base, kernel: '4.4.0-210-generic' });
    assert.equal(allowed(old, 'ptrace')!.length, 0);
    assert.equal(allowed(s, 'ptrace')!.length, 1);
  });

  it('resolves for arm64 with its own architectures and syscalls', () => {
    const arm = resolveSeccompProfile(defaultSeccompProfile, { ...base, arch: 'arm64' });
    assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64']);
    assert.ok(allowed(arm, 'arm_fadvise64_64')!.length > 0);
    assert.equal(allowed(arm, 'arch_prctl')!.length, 0);
  });
});

describe('resolveSeccompProfile with custom profiles', () => {
  it('passes an OCI-style profile through, with excludes honoured', () => {
    const profile: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { name: 'mkdir', action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_CHOWN'] } },
      ],
    };
    const s = resolveSeccompProfile(profile, base);
    assert.deepEqual(s, {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    });
  });

  it('rejects malformed profiles', () => {
    assert.throws(() => resolveSeccompProfile({} as SeccompProfile, base), InvalidArgumentError);
    assert.throws(
      () => resolveSeccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['x'], archMap: [{ architecture: 'x' }] }, base),
      /either 'architectures' or 'archMap'/,
    );
    assert.throws(() => seccompArchOf('pdp11'), /unsupported architecture/);
  });
});
