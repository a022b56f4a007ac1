// Mounting a filesystem on a directory as moby/sys/mount does for Docker's local volumes, and
// telling whether a directory is a mount point.
import { readFileSync, realpathSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { SystemError } from '../errors.js';
import { MNT_DETACH, MS_BIND, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, MS_SHARED, MS_SILENT, MS_SLAVE, MS_UNBINDABLE, mount, SyscallError, umount2 } from './libc.js';
const PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

/** moby's mountError text: `mount <source>:<target>, flags: 0x1000, data: size=1m: <errno text>`. */
function mountError(op: string, source: string, target: string, flags: number, data: string, err: unknown): SystemError {
  let text = `${op} ${source ? `${source}:${target}` : target}`;
  if (flags) text += `, flags: 0x${flags.toString(16)}`;
  if (data) text += `, data: ${data}`;
  const errno = err instanceof SyscallError ? getSystemErrorMap().get(-err.errno)?.[1] : undefined;
  return new SystemError('mount_failed', `${text}: ${errno ?? (err as Error).message}`, { cause: err });
}

/**
 * moby/sys/mount's Mount: one mount(2) with every flag but the propagation ones (skipped for a
 * remount without data), then the propagation change, then the remount that makes a read-only
 * bind read-only (the kernel ignores MS_RDONLY on the bind itself). When a later step fails,
 * the first step's mount is taken down again, so that the next start does not take a half-made
 * mount for the volume's.
 */
export function mountFilesystem(device: string, target: string, type: string, flags: number, data: string): void {
  const base = flags & ~PROPAGATION;
  const first = !(flags & MS_REMOUNT) || data !== '';
  if (first) {
    try {
      mount(device, target, type, base, data);
    } catch (err) {
      throw mountError('mount', device, target, base, data, err);
    }
  }
  try {
    const propagation = flags & (PROPAGATION | MS_REC | MS_SILENT);
    if (flags & PROPAGATION) {
      try {
        mount(null, target, null, propagation, null);
      } catch (err) {
        throw mountError('remount', '', target, propagation, '', err);
      }
    }
    if ((base & (MS_BIND | MS_RDONLY)) === (MS_BIND | MS_RDONLY)) {
      try {
        mount(null, target, null, base | MS_REMOUNT, null);
      } catch (err) {
        throw mountError('remount-ro', '', target, base | MS_REMOUNT, '', err);
      }
    }
  } catch (err) {
    // The mount's own error is the one to report, whether or not the unmount works.
    if (first) {
      try {
        unmountFilesystem(target);
      } catch {
        // keep the mount's error; a mount left on a volume's directory is undone by its removal
      }
    }
    throw err;
  }
}

/** Detaches what is mounted at `target` (as moby's Unmount: lazily, so a shell sitting in it does not keep it). */
export function unmountFilesystem(target: string): void {
  try {
    umount2(target, MNT_DETACH);
  } catch (err) {
    // Not mounted, or gone: nothing to take down.
    if (err instanceof SyscallError && (err.code === 'EINVAL' || err.code === 'ENOENT')) return;
    throw new SystemError('unmount_failed', `unmount ${target}: ${(err as Error).message}`, { cause: err });
  }
}

/** mountinfo's escapes of space, tab, newline and backslash (\040 ...). */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Whether something is mounted at `path` in this mount namespace. From /proc/self/mountinfo:
 * a bind mount from the same filesystem has its parent's device number, so stat cannot tell.
 */
export function isMountPoint(path: string): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => {
      const point = line.split(' ')[4];
      return point !== undefined && unescapeMountPath(point) === real;
    });
}
