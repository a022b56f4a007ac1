// Seccomp: turns a Docker-format seccomp profile (Moby's default, or one given with
// --security-opt seccomp=FILE) into the OCI `linux.seccomp` section for one architecture and one
// capability set, the way Docker does it: rules are kept or dropped by their includes/excludes on
// capabilities, architectures and minimum kernel version.
import defaultProfileJson from './seccomp-default.json' with { type: 'json' };
import { InvalidArgumentError } from '../errors.js';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SeccompFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface SeccompRule {
  names?: string[];
  /** Legacy single-name form. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
  comment?: string;
}

/** Docker's profile format (a superset of OCI's: archMap and includes/excludes). */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls?: SeccompRule[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSeccompSyscall[];
}

/**
 * berth's default profile: Docker's, filtering only each architecture's native ABI. Docker's
 * also lists the compat ABIs (x86 and x32 on x86_64, arm on arm64), and libseccomp builds a
 * separate syscall tree for each: on x86_64 that makes runc's container start-up about a third
 * slower, for 32-bit programs that containers hardly run. Here their system calls get the
 * runtime's bad-architecture action instead; a profile given with --security-opt seccomp=FILE
 * (Docker's own, for one) keeps whatever architectures it lists.
 */
const dockerProfile = defaultProfileJson as SeccompProfile;
export const defaultSeccompProfile: SeccompProfile = {
  ...dockerProfile,
  archMap: dockerProfile.archMap?.map(({ architecture }) => ({ architecture, subArchitectures: [] })),
};

/** The host's architecture as libseccomp and Go name it, from Node's `process.arch`. */
export function seccompArchOf(nodeArch: string): { scmp: string; goarch: string } {
  const table: Record<string, { scmp: string; goarch: string }> = {
    x64: { scmp: 'SCMP_ARCH_X86_64', goarch: 'amd64' },
    ia32: { scmp: 'SCMP_ARCH_X86', goarch: '386' },
    arm64: { scmp: 'SCMP_ARCH_AARCH64', goarch: 'arm64' },
    arm: { scmp: 'SCMP_ARCH_ARM', goarch: 'arm' },
    s390x: { scmp: 'SCMP_ARCH_S390X', goarch: 's390x' },
    ppc64: { scmp: 'SCMP_ARCH_PPC64LE', goarch: 'ppc64le' },
    riscv64: { scmp: 'SCMP_ARCH_RISCV64', goarch: 'riscv64' },
    loong64: { scmp: 'SCMP_ARCH_LOONGARCH64', goarch: 'loong64' },
    mips64el: { scmp: 'SCMP_ARCH_MIPSEL64', goarch: 'mips64le' },
  };
  const a = table[nodeArch];
  if (!a) throw new InvalidArgumentError('seccomp_arch', `seccomp: unsupported architecture ${nodeArch}`);
  return a;
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (v: string) => {
    const m = /^(\d+)\.(\d+)/.exec(v);
    if (!m) throw new InvalidArgumentError('seccomp_kernel', `seccomp: invalid kernel version "${v}"`);
    return [Number(m[1]), Number(m[2])] as const;
  };
  const [ka, kb] = parse(kernel);
  const [ma, mb] = parse(min);
  return ka > ma || (ka === ma && kb >= mb);
}

/**
 * Resolves a Docker-format profile for one container. `caps` is the container's bounding set:
 * a rule that "includes" CAP_SYS_ADMIN applies only when the container has it, one that
 * "excludes" it only when it does not. `kernel` is the host's release (uname -r); rules needing
 * a newer kernel are dropped, as Docker does.
 */
export function resolveSeccompProfile(
  profile: SeccompProfile,
  opts: { arch: string; caps: readonly string[]; kernel: string },
): OciSeccomp {
  if (typeof profile?.defaultAction !== 'string') {
    throw new InvalidArgumentError('seccomp_profile', 'seccomp profile has no defaultAction');
  }
  const { scmp, goarch } = seccompArchOf(opts.arch);
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new InvalidArgumentError(
      'seccomp_profile',
      "seccomp profile: use either 'architectures' or 'archMap', not both",
    );
  }
  let architectures: string[] | undefined = profile.architectures?.length
    ? [...profile.architectures]
    : undefined;
  if (profile.archMap) {
    architectures = [];
    for (const m of profile.archMap) {
      if (m.architecture === scmp) architectures.push(m.architecture, ...(m.subArchitectures ?? []));
    }
  }

  const has = (c: string) => opts.caps.includes(c);
  const syscalls: OciSeccompSyscall[] = [];
  for (const rule of profile.syscalls ?? []) {
    if (rule.name && rule.names?.length) {
      throw new InvalidArgumentError(
        'seccomp_profile',
        "seccomp profile: use either 'name' or 'names', not both",
      );
    }
    const ex = rule.excludes ?? {};
    const inc = rule.includes ?? {};
    if (ex.arches?.includes(goarch)) continue;
    if (ex.caps?.some(has)) continue;
    if (ex.minKernel && kernelAtLeast(opts.kernel, ex.minKernel)) continue;
    if (inc.arches?.length && !inc.arches.includes(goarch)) continue;
    if (inc.caps?.length && !inc.caps.every(has)) continue;
    if (inc.minKernel && !kernelAtLeast(opts.kernel, inc.minKernel)) continue;

    const out: OciSeccompSyscall = {
      names: rule.names?.length ? [...rule.names] : [rule.name ?? ''],
      action: rule.action,
    };
    if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
    if (rule.args?.length) {
      out.args = rule.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op }));
    }
    syscalls.push(out);
  }

  const result: OciSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) result.defaultErrnoRet = profile.defaultErrnoRet;
  if (architectures) result.architectures = architectures;
  if (profile.flags?.length) result.flags = [...profile.flags];
  if (profile.listenerPath) result.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) result.listenerMetadata = profile.listenerMetadata;
  result.syscalls = syscalls;
  return result;
}
