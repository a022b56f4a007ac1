// Commands on a container's files: cp, diff, export, commit (also under `container`).
//
// `cp` is split as Docker splits it: the engine stats paths in the container and streams tars
// of them in and out (its archive API); this side decides, from both ends' stat, what the
// top entry of the tar is called and into which directory it is extracted, so that
// `cp a b` means what Unix `cp -a a b` means (docker's pkg/archive copy rules).
import { randomBytes } from '../../sys/random.js';
import fs, { createWriteStream, promises as fsp } from 'node:fs';
import { basename, dirname, join, posix, resolve as resolvePath } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import type { Engine } from '../../engine/engine.js';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import type { RootDir } from '../../storage/in-root.js';
import { collect, type Cli } from '../program.js';

// Go's os.FileMode bits in the engine's path stat (bit numbers).
const hasModeBit = (mode: number, bit: number) => Math.floor(mode / 2 ** bit) % 2 === 1;
const isDirMode = (mode: number) => hasModeBit(mode, 31);
const isSymlinkMode = (mode: number) => hasModeBit(mode, 27);
/** A device, pipe, socket or irregular file: neither a directory nor a regular file. */
const isSpecialMode = (mode: number) => [26, 25, 24, 21, 19].some((bit) => hasModeBit(mode, bit));

/** docker's splitCpArg: `container:path`, unless the argument is plainly a local path. */
function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0 || arg.startsWith('.')) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

/** Whether a path ends in "/." (or is "."): "the contents of this directory". */
const specifiesCurrentDir = (path: string) => path === '.' || path.endsWith('/.');
const hasTrailingSeparator = (path: string) => path.endsWith('/');

/** docker's SplitPathDirEntry: the directory and the last entry, "." kept as an entry. */
function splitPathDirEntry(path: string): { dir: string; base: string } {
  // Go's Clean: normalized, without a trailing slash.
  let cleaned = posix.normalize(path).replace(/(.)\/+$/, '$1');
  if (specifiesCurrentDir(path)) cleaned += '/.';
  return { dir: posix.normalize(posix.dirname(cleaned)), base: posix.basename(cleaned) || '/' };
}

/** An absolute local path, keeping a trailing "/" or "/." (they carry meaning for cp). */
function localPath(path: string): string {
  const abs = resolvePath(path);
  if (specifiesCurrentDir(path) && !abs.endsWith('/.')) return abs === '/' ? '/.' : abs + '/.';
  if (hasTrailingSeparator(path) && !abs.endsWith('/')) return abs + '/';
  return abs;
}

/** Renames the top entry of an archive `from` → `to` (and everything under it). */
function rebase(from: string, to: string): (name: string) => string {
  return (name) => {
    if (name === from || name === from + '/') return to + name.slice(from.length);
    const prefix = from.endsWith('/') ? from : from + '/';
    return name.startsWith(prefix) ? `${to}/${name.slice(prefix.length)}` : name;
  };
}

interface CopyDestination {
  path: string;
  exists: boolean;
  isDir: boolean;
}

/**
 * docker's PrepareArchiveCopy: into which directory the source's tar is extracted, and what
 * its top entry is called there. `base` is the source's name (or the name it is copied under).
 */
function prepareArchiveCopy(src: { isDir: boolean; base: string }, dst: CopyDestination): { dir: string; top: string } {
  if (dst.exists && dst.isDir) return { dir: dst.path, top: src.base };
  if (dst.exists && src.isDir) throw new InvalidArgumentError('cannot_copy_directory', 'cannot copy directory');
  if (!dst.exists && !src.isDir && (hasTrailingSeparator(dst.path) || specifiesCurrentDir(dst.path))) {
    throw new NotFoundError('no_such_directory', 'no such directory');
  }
  const { dir, base } = splitPathDirEntry(dst.path);
  return { dir, top: base };
}

interface CpOptions {
  followLink: boolean;
  archive: boolean;
}

async function copyFromContainer(engine: Engine, container: string, srcPath: string, dst: string, o: CpOptions): Promise<void> {
  const toStdout = dst === '-';
  let dstInfo: CopyDestination | undefined;
  if (!toStdout) {
    const dstPath = localPath(dst);
    validateOutputPath(dstPath);
    dstInfo = destinationInfo(dstPath);
  }
  // -L: the symlink's target, resolved inside the container, is what is copied, under the link's name.
  let rebaseName = '';
  if (o.followLink) {
    const st = await engine.containerStatPath(container, srcPath).catch(() => undefined);
    if (st && isSymlinkMode(st.mode)) {
      const target = getRebaseName(srcPath, st.linkTarget);
      srcPath = target.path;
      rebaseName = target.rebaseName;
    }
  }
  const { stat, content } = await engine.containerArchive(container, srcPath);
  if (!dstInfo) {
    // A reader that stops early (`| head`) ends berth quietly (src/cli/main.ts).
    await pipeline(content, process.stdout);
    return;
  }
  // Host-side tar handling loads only for cp: it brings tar parsing and libc bindings.
  const [{ RootDir }, { extractTree }] = await Promise.all([import('../../storage/in-root.js'), import('../../storage/tree-tar.js')]);
  let root: RootDir | undefined;
  try {
    const { dir, top } = prepareArchiveCopy({ isDir: isDirMode(stat.mode), base: rebaseName || splitPathDirEntry(srcPath).base }, dstInfo);
    root = RootDir.open(dir);
    await extractTree(root, '/', content, {
      noOverwriteDirNonDir: true,
      // The engine names the archive's top entry as its stat names the path.
      rename: rebase(stat.name, top),
      ...(o.archive ? {} : { owner: [process.getuid?.() ?? 0, process.getgid?.() ?? 0] as [number, number] }),
    });
  } finally {
    // Unread, the archive would keep a stopped container mounted.
    content.destroy();
    root?.close();
  }
}

async function copyToContainer(engine: Engine, srcPath: string, container: string, dstPath: string, o: CpOptions): Promise<void> {
  const shown = `${container}:${dstPath}`;
  let dstInfo: CopyDestination = { path: dstPath, exists: false, isDir: false };
  let dstStat = await engine.containerStatPath(container, dstPath).catch(() => undefined);
  // A symlink as the destination means its target, resolved inside the container.
  if (dstStat && isSymlinkMode(dstStat.mode)) {
    dstInfo.path = dstStat.linkTarget;
    dstStat = await engine.containerStatPath(container, dstStat.linkTarget).catch(() => undefined);
  }
  if (dstStat) {
    if (isSpecialMode(dstStat.mode)) throw new InvalidArgumentError('invalid_destination', `destination "${shown}" must be a directory or a regular file`);
    dstInfo = { ...dstInfo, exists: true, isDir: isDirMode(dstStat.mode) };
  }
  if (srcPath === '-') {
    if (!dstInfo.isDir) throw new InvalidArgumentError('invalid_destination', `destination "${shown}" must be a directory`);
    await engine.containerExtract(container, dstInfo.path, process.stdin, { noOverwriteDirNonDir: true, copyUIDGID: o.archive });
    return;
  }
  const src = hostSource(srcPath, o.followLink);
  const { dir: srcDir, base: srcEntry } = splitPathDirEntry(src.path);
  const { dir: dstDir, top } = prepareArchiveCopy({ isDir: src.isDir, base: src.rebaseName || srcEntry }, dstInfo);
  const { packTree } = await import('../../storage/tree-tar.js');
  const dirFd = fs.openSync(srcDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  let archive;
  try {
    archive = packTree(dirFd, srcEntry, { name: top });
  } finally {
    fs.closeSync(dirFd);
  }
  await engine.containerExtract(container, dstDir, archive, { noOverwriteDirNonDir: true, copyUIDGID: o.archive });
}

/** docker's ResolveHostSourcePath: the directory part's symlinks followed (all of them with -L). */
function hostSource(path: string, followLink: boolean): { path: string; isDir: boolean; rebaseName: string } {
  const abs = localPath(path);
  let resolved: string;
  let rebaseName = '';
  const lstat = (p: string) => {
    try {
      return fs.lstatSync(p);
    } catch (err) {
      throw new NotFoundError('no_such_file', `lstat ${p}: no such file or directory`, { cause: err });
    }
  };
  if (followLink) {
    lstat(abs);
    const target = getRebaseName(abs, fs.realpathSync(abs));
    resolved = target.path;
    rebaseName = target.rebaseName;
  } else {
    const cut = abs.lastIndexOf('/') + 1;
    const dir = abs.slice(0, cut);
    let realDir: string;
    try {
      realDir = fs.realpathSync(dir);
    } catch (err) {
      throw new NotFoundError('no_such_file', `lstat ${dir}: no such file or directory`, { cause: err });
    }
    resolved = join(realDir, abs.slice(cut)) + (hasTrailingSeparator(abs) ? '/' : abs.endsWith('/.') ? '/.' : '');
    if (hasTrailingSeparator(abs) && basename(abs) !== basename(resolved)) rebaseName = basename(abs);
  }
  return { path: resolved, isDir: lstat(resolved).isDirectory(), rebaseName };
}

/** docker's GetRebaseName: the resolved path with the original's trailing "/" or "/.", and the name the copy takes. */
function getRebaseName(path: string, resolved: string): { path: string; rebaseName: string } {
  let out = resolved;
  if (specifiesCurrentDir(path) && !specifiesCurrentDir(out)) out += '/.';
  if (hasTrailingSeparator(path) && !hasTrailingSeparator(out)) out += '/';
  const rebaseName = splitPathDirEntry(path).base !== splitPathDirEntry(out).base ? splitPathDirEntry(path).base : '';
  return { path: out, rebaseName };
}

/** docker's CopyInfoDestinationPath: symlinks at the destination followed; a missing one needs its parent. */
function destinationInfo(path: string): CopyDestination {
  let current = path;
  for (let n = 0; ; n++) {
    const st = fs.lstatSync(current, { throwIfNoEntry: false });
    if (!st) break;
    if (!st.isSymbolicLink()) return { path: current, exists: true, isDir: st.isDirectory() };
    if (n >= 10) throw new InvalidArgumentError('too_many_symlinks', `too many symlinks in ${path}`);
    const target = fs.readlinkSync(current);
    current = target.startsWith('/') ? target : join(splitPathDirEntry(current).dir, target);
  }
  const parent = splitPathDirEntry(current).dir;
  const st = fs.statSync(parent, { throwIfNoEntry: false });
  if (!st) throw new NotFoundError('no_such_file', `stat ${parent}: no such file or directory`);
  if (!st.isDirectory()) throw new InvalidArgumentError('not_a_directory', 'not a directory');
  return { path: current, exists: false, isDir: false };
}

/** docker's ValidateOutputPath. */
function validateOutputPath(path: string): void {
  const dir = dirname(path.replace(/\/+$/, '') || '/');
  if (!fs.existsSync(dir)) throw new InvalidArgumentError('invalid_output_path', `invalid output path: directory "${dir}" does not exist`);
  const st = fs.statSync(path, { throwIfNoEntry: false });
  if (st && !st.isDirectory() && !st.isFile()) {
    throw new InvalidArgumentError('invalid_output_path', `invalid output path: "${path}" must be a directory or a regular file`);
  }
}

async function exportTo(engine: Engine, container: string, output: string | undefined): Promise<void> {
  if (!output) {
    // A reader that stops early (`| head`) ends berth quietly (src/cli/main.ts).
    await engine.containerExport(container, process.stdout);
    return;
  }
  const tmp = join(dirname(output), `.${basename(output)}.${randomBytes(4).toString('hex')}.tmp`);
  const out = createWriteStream(tmp);
  try {
    await engine.containerExport(container, out);
    await fsp.rename(tmp, output);
  } catch (err) {
    out.destroy();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

const CHANGE_LETTERS = ['C', 'A', 'D'];

/** Docker's `--pause=false` (commander's booleans take no value; anything else is left for it to refuse). */
function pauseFlag(arg: string): string {
  const v = /^(?:--pause|-p)=(.*)$/.exec(arg)?.[1].toLowerCase();
  if (v === 'true' || v === '1') return '--pause';
  if (v === 'false' || v === '0') return '--no-pause';
  return arg;
}

export function registerContainerFsCommands(cli: Cli): void {
  const { program } = cli;
  const container = program.commands.find((c) => c.name() === 'container') as Command;
  for (const parent of [program, container]) {
    parent
      .command('cp')
      .description('Copy files/folders between a container and the local filesystem')
      .usage("[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH")
      .argument('<src>')
      .argument('<dest>')
      .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
      .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
      .action((src: string, dest: string, o: { archive?: boolean; followLink?: boolean }) =>
        cli.run(async (engine) => {
          const from = splitCpArg(src);
          const to = splitCpArg(dest);
          const opts = { followLink: o.followLink ?? false, archive: o.archive ?? false };
          if (from.container !== undefined && to.container !== undefined) {
            throw new InvalidArgumentError('cp_between_containers', 'copying between containers is not supported');
          }
          if (from.container !== undefined) return copyFromContainer(engine, from.container, from.path, dest, opts);
          if (to.container !== undefined) return copyToContainer(engine, src, to.container, to.path, opts);
          throw new InvalidArgumentError('cp_no_container', 'must specify at least one container source');
        }),
      );

    parent
      .command('diff')
      .description("Inspect changes to files or directories on a container's filesystem")
      .argument('<container>')
      .action((name: string) =>
        cli.run(async (engine) => {
          const changes = await engine.containerChanges(name);
          process.stdout.write(changes.map((c) => `${CHANGE_LETTERS[c.Kind]} ${c.Path}\n`).join(''));
        }),
      );

    parent
      .command('export')
      .description("Export a container's filesystem as a tar archive")
      .argument('<container>')
      .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
      .action((name: string, o: { output?: string }) =>
        cli.run(async (engine) => {
          if (!o.output && process.stdout.isTTY) {
            throw new InvalidArgumentError('tty_output', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
          }
          await exportTo(engine, name, o.output);
        }),
      );

    const commit = parent
      .command('commit')
      .description("Create a new image from a container's changes")
      .argument('<container>')
      .argument('[repository]', 'REPOSITORY[:TAG]')
      .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
      .option('-c, --change <instruction>', 'Apply Dockerfile instruction to the created image', collect)
      .option('-m, --message <string>', 'Commit message')
      .option('-p, --pause', 'Pause container during commit (default true; --pause=false not to)')
      .option('--no-pause', 'Do not pause the container during commit')
      .action((name: string, reference: string | undefined, o: { author?: string; change?: string[]; message?: string; pause?: boolean }) =>
        cli.run(async (engine) => {
          const { Id } = await engine.containerCommit(name, {
            ...(reference ? { reference } : {}),
            ...(o.author ? { author: o.author } : {}),
            ...(o.message ? { comment: o.message } : {}),
            changes: o.change ?? [],
            pause: o.pause !== false,
          });
          process.stdout.write(Id + '\n');
        }),
      );
    commit.parseOptions = (argv: string[]) => Command.prototype.parseOptions.call(commit, argv.map(pauseFlag));
  }
}
