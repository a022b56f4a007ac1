// What a container changed in its filesystem: its overlay upper directory compared with the
// image's layers (docker diff), and which of the upper's entries a commit leaves out. The upper
// directory may belong to a running container, so it is walked by descriptors; the layers are
// berth's own and never change, and are looked up one component at a time, so that a symlink
// in the image is never followed on the host.
import fs from 'node:fs';
import { fdPath } from '../storage/in-root.js';
import { lgetxattr } from '../sys/libc.js';

/** Docker's change kinds, as the API numbers them. */
export const CHANGE_MODIFY = 0;
export const CHANGE_ADD = 1;
export const CHANGE_DELETE = 2;

export interface Change {
  Path: string;
  Kind: typeof CHANGE_MODIFY | typeof CHANGE_ADD | typeof CHANGE_DELETE;
}

const isWhiteout = (st: fs.Stats) => st.isCharacterDevice() && st.rdev === 0;
const isOpaque = (path: string) => lgetxattr(path, 'trusted.overlay.opaque')?.toString() === 'y';

/**
 * Where the runtime puts mount points for the files it mounts over (hosts, resolv.conf,
 * /proc...). Docker keeps them in a separate init layer, so they are never part of a diff or a
 * commit; berth's container has none, and leaves out such an entry while it is still an
 * empty placeholder that the image does not have.
 */
const RUNTIME_PLACEHOLDERS = new Set([
  'etc/hosts',
  'etc/hostname',
  'etc/resolv.conf',
  'etc/mtab',
  'dev',
  'dev/console',
  'dev/pts',
  'dev/shm',
  'proc',
  'sys',
]);

/** The image's filesystem as overlayfs shows it (whiteouts and opaque directories honoured), read from its layers. */
export class LowerView {
  /** `layers`: the layers' directories, top first. */
  constructor(private readonly layers: readonly string[]) {}

  /** The entry at `rel` (no symlink followed on the way, none at the end), or undefined. */
  lstat(rel: string): fs.Stats | undefined {
    const parts = rel.split('/');
    for (const layer of this.layers) {
      const found = this.inLayer(layer, parts);
      if (found === 'absent') return undefined;
      if (found !== 'next') return found;
    }
    return undefined;
  }

  /** The names in the directory `rel` of the image. */
  list(rel: string): string[] {
    const parts = rel === '' ? [] : rel.split('/');
    const decided = new Map<string, boolean>();
    for (const layer of this.layers) {
      const found = parts.length === 0 ? fs.lstatSync(layer) : this.inLayer(layer, parts);
      if (found === 'absent') break;
      if (found === 'next') continue;
      if (!found.isDirectory()) break;
      const dir = [layer, ...parts].join('/');
      for (const name of fs.readdirSync(dir)) {
        if (!decided.has(name)) decided.set(name, !isWhiteout(fs.lstatSync(`${dir}/${name}`)));
      }
      if (isOpaque(dir)) break;
    }
    return [...decided].filter(([, present]) => present).map(([name]) => name);
  }

  /** The entry in one layer; 'next' when the layer says nothing about it, 'absent' when it hides it. */
  private inLayer(layer: string, parts: string[]): fs.Stats | 'next' | 'absent' {
    let path = layer;
    let opaque = false;
    for (let i = 0; i < parts.length; i++) {
      path += '/' + parts[i];
      const st = fs.lstatSync(path, { throwIfNoEntry: false });
      if (i === parts.length - 1) {
        if (st) return isWhiteout(st) ? 'absent' : st;
        return opaque ? 'absent' : 'next';
      }
      if (!st) return opaque ? 'absent' : 'next';
      if (!st.isDirectory()) return 'absent';
      if (isOpaque(path)) opaque = true;
    }
    return 'next';
  }
}

/**
 * The upper directory's placeholder for a runtime mount (see RUNTIME_PLACEHOLDERS), or a
 * directory that holds nothing but such placeholders.
 */
export function isRuntimePlaceholder(upperDirFd: number, name: string, rel: string, st: fs.Stats, lower: LowerView): boolean {
  if (RUNTIME_PLACEHOLDERS.has(rel) && lower.lstat(rel) === undefined) {
    if (st.isFile() && st.size === 0) return true;
    if (st.isDirectory() && fs.readdirSync(fdPath(upperDirFd, name)).length === 0) return true;
  }
  if (!st.isDirectory()) return false;
  const children = fs.readdirSync(fdPath(upperDirFd, name));
  if (children.length === 0 || !children.every((c) => RUNTIME_PLACEHOLDERS.has(`${rel}/${c}`))) return false;
  const fd = fs.openSync(fdPath(upperDirFd, name), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  try {
    return children.every((c) => {
      const cst = fs.lstatSync(fdPath(fd, c), { throwIfNoEntry: false });
      return cst !== undefined && isRuntimePlaceholder(fd, c, `${rel}/${c}`, cst, lower);
    });
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Docker's change list for an overlay container: A for what the image does not have, C for
 * what it changed, D for whiteouts; a directory is C when its own metadata changed or
 * something was added or deleted in it. Entries come in name order, parents first.
 */
export function containerChanges(upperFd: number, lower: LowerView): Change[] {
  const out: Change[] = [];
  const changedDirs = new Set<string>();
  const record = (path: string, kind: Change['Kind']): void => {
    if (kind !== CHANGE_MODIFY) {
      const parent = path.slice(0, path.lastIndexOf('/')) || '/';
      if (parent !== '/' && !changedDirs.has(parent)) {
        out.push({ Path: parent, Kind: CHANGE_MODIFY });
        changedDirs.add(parent);
      }
    }
    out.push({ Path: path, Kind: kind });
  };
  const visit = (dirFd: number, rel: string, opaque: boolean): void => {
    const upperNames = fs.readdirSync(fdPath(dirFd));
    // An opaque directory hides all the image had in it: what the upper lacks was deleted.
    const deleted = opaque ? lower.list(rel).filter((n) => !upperNames.includes(n)) : [];
    for (const name of [...upperNames, ...deleted].sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const path = '/' + childRel;
      if (deleted.includes(name)) {
        record(path, CHANGE_DELETE);
        continue;
      }
      const st = fs.lstatSync(fdPath(dirFd, name), { throwIfNoEntry: false });
      if (!st || isRuntimePlaceholder(dirFd, name, childRel, st, lower)) continue;
      const below = lower.lstat(childRel);
      if (isWhiteout(st)) {
        if (below) record(path, CHANGE_DELETE);
        continue;
      }
      if (!st.isDirectory()) {
        record(path, below ? CHANGE_MODIFY : CHANGE_ADD);
        continue;
      }
      const childOpaque = below?.isDirectory() === true && isOpaque(fdPath(dirFd, name));
      const same = below?.isDirectory() && !childOpaque && sameDirectory(st, below);
      if (!same) {
        record(path, below ? CHANGE_MODIFY : CHANGE_ADD);
        changedDirs.add(path);
      }
      let fd: number;
      try {
        fd = fs.openSync(fdPath(dirFd, name), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
      } catch {
        continue; // replaced while walking: the container is running
      }
      try {
        visit(fd, childRel, childOpaque);
      } finally {
        fs.closeSync(fd);
      }
    }
  };
  visit(upperFd, '', false);
  return out;
}

/** Docker's test for a directory copied up only because something below it changed. */
function sameDirectory(a: fs.Stats, b: fs.Stats): boolean {
  return a.size === b.size && a.mode === b.mode && a.mtimeMs === b.mtimeMs && a.uid === b.uid && a.gid === b.gid;
}
