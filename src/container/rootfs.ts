// Reading and preparing paths inside a container's root filesystem from the host. The image
// decides what its symlinks point at, so every path resolves inside the rootfs (RootDir's
// openat2 RESOLVE_IN_ROOT): /etc/passwd -> /host/secret must not reach outside it.
import { closeSync, constants, readFileSync } from 'node:fs';
import { RootDir } from '../storage/in-root.js';

/** A file of the container's, or null when it does not exist (or cannot be read). */
export function readFileInRoot(root: string, path: string): string | null {
  const dir = RootDir.open(root);
  try {
    const fd = dir.open(path, constants.O_RDONLY);
    try {
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  } finally {
    dir.close();
  }
}

/** Creates a directory in the rootfs (the working directory Docker creates when missing). */
export function mkdirInRoot(root: string, path: string): void {
  const dir = RootDir.open(root);
  try {
    closeSync(dir.mkdirAll(path));
  } finally {
    dir.close();
  }
}
