// The local driver's options, as Docker's: `type`, `device` and `o` name a filesystem that is
// mounted on the volume's data directory while containers use it (mount -t <type> -o <o>
// <device>), `size` a quota. Checked when the volume is created, with Docker's messages; turned
// into mount(2)'s flags and data when it is mounted, by moby/sys/mount's option table.
import { lazy } from '../builtins.js';
import { parseBytes } from '../cli/units.js';
import { MS_BIND, MS_DIRSYNC, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE } from '../sys/libc.js';

const validOptions = ['type', 'o', 'device', 'size'];
/** What each option needs besides; checked in this order, which gives Docker's message for every combination. */
const requiredWith: [string, string[]][] = [
  ['o', ['device', 'type']],
  ['type', ['device']],
  ['device', ['type']],
];

/** Why Docker's local driver would refuse these options, or undefined when it takes them. */
export function localOptionsError(opts: Record<string, string>): string | undefined {
  const unknown = Object.keys(opts).find((k) => !validOptions.includes(k));
  if (unknown !== undefined) return `invalid option: "${unknown}"`;
  if (opts.size !== undefined) {
    let size: number;
    try {
      size = parseBytes(opts.size);
    } catch (err) {
      return (err as Error).message;
    }
    // Docker sets the size as a project quota where the filesystem has them; berth has no quota support.
    if (size > 0) return 'quota size requested but no quota support';
  }
  for (const [opt, needs] of requiredWith) {
    if (opts[opt] === undefined) continue;
    const missing = needs.find((n) => opts[n] === undefined);
    if (missing !== undefined) return `missing required option: "${missing}"`;
  }
  return undefined;
}

/** A volume with a filesystem of its own to mount, not a plain directory. */
export function needsMount(opts: Record<string, string>): boolean {
  return !!opts.type || !!opts.device;
}

/** moby/sys/mount's flags by name: set, or cleared (`rw`, `suid`, ...). */
const namedFlags: Record<string, { flag: number; clear?: boolean }> = {
  ro: { flag: MS_RDONLY },
  rw: { flag: MS_RDONLY, clear: true },
  suid: { flag: MS_NOSUID, clear: true },
  nosuid: { flag: MS_NOSUID },
  dev: { flag: MS_NODEV, clear: true },
  nodev: { flag: MS_NODEV },
  exec: { flag: MS_NOEXEC, clear: true },
  noexec: { flag: MS_NOEXEC },
  sync: { flag: MS_SYNCHRONOUS },
  async: { flag: MS_SYNCHRONOUS, clear: true },
  dirsync: { flag: MS_DIRSYNC },
  remount: { flag: MS_REMOUNT },
  mand: { flag: MS_MANDLOCK },
  nomand: { flag: MS_MANDLOCK, clear: true },
  atime: { flag: MS_NOATIME, clear: true },
  noatime: { flag: MS_NOATIME },
  diratime: { flag: MS_NODIRATIME, clear: true },
  nodiratime: { flag: MS_NODIRATIME },
  bind: { flag: MS_BIND },
  rbind: { flag: MS_BIND | MS_REC },
  unbindable: { flag: MS_UNBINDABLE },
  runbindable: { flag: MS_UNBINDABLE | MS_REC },
  private: { flag: MS_PRIVATE },
  rprivate: { flag: MS_PRIVATE | MS_REC },
  shared: { flag: MS_SHARED },
  rshared: { flag: MS_SHARED | MS_REC },
  slave: { flag: MS_SLAVE },
  rslave: { flag: MS_SLAVE | MS_REC },
  relatime: { flag: MS_RELATIME },
  norelatime: { flag: MS_RELATIME, clear: true },
  strictatime: { flag: MS_STRICTATIME },
  nostrictatime: { flag: MS_STRICTATIME, clear: true },
};

/** `o` as mount(2) takes it: the named flags, and the rest (`size=1m,uid=1000`, `defaults`) as the filesystem's data. */
export function parseMountOptions(o: string): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const opt of o.split(',')) {
    const named = Object.hasOwn(namedFlags, opt) ? namedFlags[opt] : undefined;
    if (!named) data.push(opt);
    else if (named.clear) flags &= ~named.flag;
    else flags |= named.flag;
  }
  return { flags, data: data.join(',') };
}

/**
 * The kernel's NFS client takes an address, not a host name: as Docker does, an `addr=` that is
 * not an IPv4 address is resolved (`lookup`) and replaced.
 */
export async function resolveNfsAddress(type: string, o: string, lookup: (host: string) => Promise<string>): Promise<string> {
  if (type !== 'nfs') return o;
  const addr = o.split(',').find((opt) => opt.startsWith('addr='))?.slice('addr='.length);
  if (!addr || lazy.net.isIPv4(addr)) return o;
  return o.replace('addr=' + addr, 'addr=' + (await lookup(addr)));
}
