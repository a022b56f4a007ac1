// Facts read from /proc, /dev and /sys: the host facts the OCI spec generator needs (kept here
// so that src/runtime/spec.ts stays pure: callers read these once and pass them in), and how
// far a descriptor has been read.
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The capability bounding set of this process (what any container it starts can hold at most). */
export function readCapabilityBoundingSet(pid: number | 'self' = 'self'): bigint {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) throw new Error(`/proc/${pid}/status has no CapBnd line`);
  return BigInt('0x' + m[1]);
}

/** `null` stands for RLIM_INFINITY. */
export interface RlimitValue {
  soft: number | null;
  hard: number | null;
}

// Rows of /proc/<pid>/limits, keyed by the OCI rlimit type they describe.
const LIMIT_ROWS: Record<string, string> = {
  'Max cpu time': 'RLIMIT_CPU',
  'Max file size': 'RLIMIT_FSIZE',
  'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE',
  'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC',
  'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS',
  'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE',
  'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

/** This process's resource limits (getrlimit for every resource), from /proc/self/limits. */
export function readRlimits(pid: number | 'self' = 'self'): Record<string, RlimitValue> {
  const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const out: Record<string, RlimitValue> = {};
  const value = (s: string) => (s === 'unlimited' ? null : Number(s));
  for (const line of text.split('\n').slice(1)) {
    // Columns are fixed-width: name (26), soft (21), hard (21), units.
    const name = line.slice(0, 26).trim();
    const type = LIMIT_ROWS[name];
    if (!type) continue;
    const [soft, hard] = line.slice(26).trim().split(/\s+/);
    out[type] = { soft: value(soft), hard: value(hard) };
  }
  return out;
}

export interface HostDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

// Linux's dev_t encoding (glibc gnu_dev_major/minor): 12 bits of major, 20 of minor, split.
function devMajor(rdev: number): number {
  const r = BigInt(rdev);
  return Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
}
function devMinor(rdev: number): number {
  const r = BigInt(rdev);
  return Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
}

/** A device node's identity, following symlinks (--device /dev/disk/by-id/... is common). */
export function readDevice(path: string): HostDevice {
  const st = statSync(path);
  let type: 'c' | 'b';
  if (st.isCharacterDevice()) type = 'c';
  else if (st.isBlockDevice()) type = 'b';
  else throw new Error(`${path} is not a device node`);
  return {
    path,
    type,
    major: devMajor(st.rdev),
    minor: devMinor(st.rdev),
    fileMode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
  };
}

/**
 * Device nodes under a directory, recursively, skipping what runc skips for --privileged: the
 * per-container pseudo filesystems and the host console.
 */
export function listDevices(dir = '/dev'): HostDevice[] {
  const skipDirs = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
  const out: HostDevice[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!skipDirs.has(name)) walk(p);
        continue;
      }
      if (name === 'console' || !(st.isCharacterDevice() || st.isBlockDevice())) continue;
      out.push({
        path: p,
        type: st.isCharacterDevice() ? 'c' : 'b',
        major: devMajor(st.rdev),
        minor: devMinor(st.rdev),
        fileMode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
      });
    }
  };
  walk(dir);
  return out;
}

/** Whether the memory controller can limit swap (cgroup v1 needs swapaccount=1). */
export function swapLimitSupported(): boolean {
  return (
    existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes') ||
    existsSync('/sys/fs/cgroup/memory.swap.max') ||
    existsSync('/sys/fs/cgroup/init.scope/memory.swap.max')
  );
}

/**
 * The file offset of this process's descriptor `fd` (the `pos` of /proc/self/fdinfo). A
 * child given the descriptor shares the offset, so this is how far it has read.
 */
export function fileOffset(fd: number): number {
  const m = /^pos:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? Number(m[1]) : 0;
}
