// Thin koffi bindings for the libc calls Node does not expose (mknod, mount, umount2, xattrs,
// chdir, openat2, sync_file_range). Calls are synchronous: each is a single short syscall, and
// mountIn() depends on nothing else running between its chdir and its mount. Failures throw
// errors shaped like Node's fs errors (code, errno, syscall, path) so errnoCode() and callers
// treat them alike.
import { openSync, closeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { koffi } from './native.js';

/** The bindings, made on first use (so that koffi itself loads on first use, src/sys/native.ts). */
function bind() {
  const libc = koffi.load('libc.so.6');
  return {
    mount: libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
    umount2: libc.func('int umount2(const char *target, int flags)'),
    mknod: libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    lsetxattr: libc.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
    lgetxattr: libc.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)'),
    llistxattr: libc.func('intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)'),
    // glibc has no openat2() wrapper; the syscall is reached through syscall(2).
    syscall: libc.func('long syscall(long number, ...)'),
    chdir: libc.func('int chdir(const char *path)'),
    fchdir: libc.func('int fchdir(int fd)'),
    sync_file_range: libc.func('int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags)'),
    pipe2: libc.func('int pipe2(_Out_ void *fds, int flags)'),
    // posix_spawn(3) returns its error instead of setting errno.
    posix_spawn: libc.func('int posix_spawn(_Out_ int *pid, const char *path, void *actions, void *attr, const char **argv, const char **envp)'),
    actions_init: libc.func('int posix_spawn_file_actions_init(void *actions)'),
    actions_destroy: libc.func('int posix_spawn_file_actions_destroy(void *actions)'),
    actions_dup2: libc.func('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)'),
    actions_close: libc.func('int posix_spawn_file_actions_addclose(void *actions, int fd)'),
    actions_open: libc.func('int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)'),
    actions_chdir: libc.func('int posix_spawn_file_actions_addchdir_np(void *actions, const char *path)'),
    attr_init: libc.func('int posix_spawnattr_init(void *attr)'),
    attr_destroy: libc.func('int posix_spawnattr_destroy(void *attr)'),
    attr_setflags: libc.func('int posix_spawnattr_setflags(void *attr, short flags)'),
    attr_setsigdefault: libc.func('int posix_spawnattr_setsigdefault(void *attr, const void *set)'),
    attr_setsigmask: libc.func('int posix_spawnattr_setsigmask(void *attr, const void *set)'),
    sigemptyset: libc.func('int sigemptyset(void *set)'),
    waitpid: libc.func('int waitpid(int pid, _Out_ int *status, int options)'),
  };
}
let bound: ReturnType<typeof bind> | undefined;
const c = (): ReturnType<typeof bind> => (bound ??= bind());

export class SyscallError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string | undefined;

  constructor(syscall: string, errno: number, path?: string) {
    const [code, description] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, 'unknown error'];
    super(`${code}: ${description}, ${syscall}${path === undefined ? '' : ` '${path}'`}`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}

function check(result: number | bigint, syscall: string, path?: string): number {
  if (Number(result) < 0) throw new SyscallError(syscall, koffi.errno(), path);
  return Number(result);
}

/** mount(2) flags (linux/mount.h), for berth's own mounts and Docker's named mount options. */
export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_STRICTATIME = 0x1000000;
export const MNT_DETACH = 0x2;

/** open(2) flags Node's fs.constants lacks. */
export const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;

/** openat2(2) resolve flags. */
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_IN_ROOT = 0x10;

/** The same number on every architecture (syscalls added since 5.1 share one table). */
const SYS_OPENAT2 = 437;

export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** The glibc encoding of a device number (gnu_dev_makedev). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export function mknod(path: string, mode: number, dev: bigint): void {
  check(c().mknod(path, mode, dev), 'mknod', path);
}

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  check(c().mount(source, target, fstype, flags, data), 'mount', target);
}

/**
 * mount(2) with `dir` as the working directory, so relative paths in `data` (overlay's
 * lowerdir=l/ABC:...) resolve against it. This keeps options for deep layer stacks under the
 * one-page limit. The working directory is process-wide, but both chdirs and the mount run in
 * this one synchronous call, and berth only ever passes absolute paths to fs calls, so work on
 * libuv's thread pool is not misdirected.
 */
export function mountIn(dir: string, source: string, target: string, fstype: string, flags: number, data: string): void {
  const saved = openSync('.', 'r');
  try {
    check(c().chdir(dir), 'chdir', dir);
    try {
      mount(source, target, fstype, flags, data);
    } finally {
      check(c().fchdir(saved), 'fchdir');
    }
  } finally {
    closeSync(saved);
  }
}

export function umount2(target: string, flags: number): void {
  check(c().umount2(target, flags), 'umount2', target);
}

/**
 * openat2(2): opens `path` relative to the directory `dirFd` with `resolve` restrictions
 * (RESOLVE_IN_ROOT makes `dirFd` the root for every symlink and ".." on the way). Returns the
 * new descriptor; a rename elsewhere in the tree during the lookup (EAGAIN) is retried.
 */
export function openat2(dirFd: number, path: string, flags: number, resolve: number): number {
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  for (let attempt = 0; ; attempt++) {
    const fd = Number(c().syscall(SYS_OPENAT2, 'int', dirFd, 'const char *', path, 'void *', how, 'size_t', how.length));
    if (fd >= 0) return fd;
    const errno = koffi.errno();
    if (errno !== osConstants.errno.EAGAIN || attempt >= 100) throw new SyscallError('openat2', errno, path);
  }
}

const O_NONBLOCK = 0o4000;
const O_RDONLY = 0;
const O_WRONLY = 1;

/**
 * pipe2(2): a pipe as two plain descriptors [read end, write end], closed on exec. Node makes
 * pipes only as streams for a child's stdio, which costs a socket object per end; a child
 * that needs only a descriptor or two (a monitor's sync and start pipes) is spared that.
 * With `nonBlocking`, a read that finds the pipe empty returns EAGAIN instead of waiting.
 */
export function pipe(opts: { nonBlocking?: boolean } = {}): [number, number] {
  const fds = Buffer.alloc(8);
  check(c().pipe2(fds, O_CLOEXEC | (opts.nonBlocking ? O_NONBLOCK : 0)), 'pipe2');
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

// glibc's posix_spawn flags (spawn.h).
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSID = 0x80;

export interface SpawnedProcess {
  pid: number;
  /** Waits for the process to end, on one of libuv's threads, and reaps it. Call it once. */
  wait(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a program in a new session through posix_spawn(3), which glibc runs as vfork and
 * exec: 0.3 ms, where Node's child_process forks the whole node process first (2-3 ms, on the
 * critical path of every container start). The child gets /dev/null as stdin and stdout,
 * `fds[i]` as its descriptor 2 + i, every signal at its default and none blocked (Node ignores
 * SIGPIPE, and an ignored signal stays ignored across exec), and `cwd` as its directory.
 */
export function spawnInSession(file: string, args: readonly string[], opts: { env: Record<string, string>; cwd?: string; fds: readonly number[] }): SpawnedProcess {
  // posix_spawn and its helpers return an error number instead of setting errno.
  const ok = (what: string, err: number) => {
    if (err !== 0) throw new SyscallError(what, err);
  };
  // glibc's opaque structures are 80 and 336 bytes, sigset_t 128: room enough.
  const actions = Buffer.alloc(256);
  const attr = Buffer.alloc(512);
  const sigset = Buffer.alloc(128);
  ok('posix_spawn_file_actions_init', c().actions_init(actions));
  ok('posix_spawnattr_init', c().attr_init(attr));
  try {
    ok('posix_spawn_file_actions_addopen', c().actions_open(actions, 0, '/dev/null', O_RDONLY, 0));
    ok('posix_spawn_file_actions_addopen', c().actions_open(actions, 1, '/dev/null', O_WRONLY, 0));
    // Through descriptors above any of the caller's, so that no dup2 overwrites a source that a
    // later one still needs.
    const parked = opts.fds.map((_, i) => 1000 + i);
    opts.fds.forEach((fd, i) => ok('posix_spawn_file_actions_adddup2', c().actions_dup2(actions, fd, parked[i])));
    parked.forEach((fd, i) => ok('posix_spawn_file_actions_adddup2', c().actions_dup2(actions, fd, 2 + i)));
    for (const fd of parked) ok('posix_spawn_file_actions_addclose', c().actions_close(actions, fd));
    if (opts.cwd) ok('posix_spawn_file_actions_addchdir_np', c().actions_chdir(actions, opts.cwd));
    // Every signal, glibc's internal ones (32, 33) too: sigfillset leaves those out, and
    // posix_spawn would then hand them to the program ignored.
    sigset.fill(0xff, 0, 8);
    ok('posix_spawnattr_setsigdefault', c().attr_setsigdefault(attr, sigset));
    c().sigemptyset(sigset);
    ok('posix_spawnattr_setsigmask', c().attr_setsigmask(attr, sigset));
    ok('posix_spawnattr_setflags', c().attr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
    const pid = [0];
    const env = Object.entries(opts.env).map(([k, v]) => `${k}=${v}`);
    const err = c().posix_spawn(pid, file, actions, attr, [file, ...args, null], [...env, null]);
    if (err !== 0) throw new SyscallError('posix_spawn', err, file);
    return { pid: pid[0], wait: () => waitFor(pid[0]) };
  } finally {
    c().actions_destroy(actions);
    c().attr_destroy(attr);
  }
}

/** waitpid(2) on one of libuv's threads, so that the event loop runs meanwhile. */
function waitFor(pid: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const status = [0];
    c().waitpid.async(pid, status, 0, (err: unknown, r: number) => {
      if (err) return reject(err as Error);
      if (r < 0) return reject(new Error(`waitpid ${pid} failed`));
      const st = status[0];
      const sig = st & 0x7f;
      if (sig === 0) return resolve({ code: (st >> 8) & 0xff, signal: null });
      const name = Object.entries(osConstants.signals).find(([, n]) => n === sig)?.[0] as NodeJS.Signals | undefined;
      resolve({ code: null, signal: name ?? null });
    });
  });
}

/** sync_file_range(2)'s flag to start writing out dirty pages, without waiting for them. */
const SYNC_FILE_RANGE_WRITE = 2;

/**
 * Starts writing the file's dirty pages to disk and returns without waiting for them, nor for
 * its metadata: only a later fsync or syncfs makes the file durable, and then finds most of
 * the work done. It blocks only while the device's request queue is full.
 */
export function startWriteback(fd: number): void {
  check(c().sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE), 'sync_file_range');
}

/**
 * startWriteback() on one of libuv's threads: for a whole blob (tens of MB) the call blocked
 * the event loop for about 10 ms, in the middle of the other layers' downloads. Its failure is
 * not reported: it only starts early what the fsync that makes the file durable does anyway,
 * and that fsync reports any error.
 */
export function startWritebackInBackground(fd: number): Promise<void> {
  return new Promise((resolve) => {
    c().sync_file_range.async(fd, 0, 0, SYNC_FILE_RANGE_WRITE, () => resolve());
  });
}

export function lsetxattr(path: string, name: string, value: Buffer): void {
  check(c().lsetxattr(path, name, value, value.length, 0), 'lsetxattr', path);
}

/** The names of a file's extended attributes (of the link itself for a symlink). */
export function llistxattr(path: string): string[] {
  let size = 4096;
  for (;;) {
    const buf = Buffer.alloc(size);
    const n = Number(c().llistxattr(path, buf, buf.length));
    if (n >= 0) return buf.subarray(0, n).toString('utf8').split('\0').filter((name) => name !== '');
    const errno = koffi.errno();
    if (errno === osConstants.errno.ERANGE && size < 1 << 20) {
      size *= 16;
      continue;
    }
    if (errno === osConstants.errno.EOPNOTSUPP) return [];
    throw new SyscallError('llistxattr', errno, path);
  }
}

/** The value of an extended attribute, or undefined when the file does not have it. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const buf = Buffer.alloc(64 * 1024);
  const n = Number(c().lgetxattr(path, name, buf, buf.length));
  if (n < 0) {
    const errno = koffi.errno();
    if (errno === osConstants.errno.ENODATA) return undefined;
    throw new SyscallError('lgetxattr', errno, path);
  }
  return buf.subarray(0, n);
}
