// Image commands: images/ls, inspect, history, tag, rmi/rm, prune, load, save, import.
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from '../../sys/random.js';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import type { Engine, ImageSummary } from '../../engine/engine.js';
import { InvalidArgumentError } from '../../errors.js';
import { collect, type Cli } from '../program.js';
import { renderList } from '../output.js';
import { goTime, humanDuration, humanSize } from '../units.js';
import { parseFilterArgs } from './filters.js';
import { confirm } from './confirm.js';
import { inspectEach } from './inspect.js';

export const imageHeaders = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  VirtualSize: 'VIRTUAL SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
  Containers: 'CONTAINERS',
};

export function registerImageCommands(cli: Cli): void {
  const { program } = cli;
  const image = program.command('image').description('Manage images');

  for (const [parent, name, aliases] of [
    [program, 'images', []],
    [image, 'ls', ['list']],
  ] as [Command, string, string[]][]) {
    parent
      .command(name)
      .aliases(aliases)
      .description('List images')
      .argument('[repository]', 'Show images of this repository[:tag]')
      .option('-a, --all', 'Show all images (default hides intermediate images)')
      .option('--digests', 'Show digests')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
      .option('--format <string>', 'Format output using a custom template')
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs')
      .action((repository: string | undefined, o: { all?: boolean; digests?: boolean; filter?: string[]; format?: string; trunc: boolean; quiet?: boolean }) =>
        cli.run(async (engine) => {
          const filters = parseFilterArgs(o.filter ?? []);
          if (repository) (filters.reference ??= []).push(repository);
          const images = await engine.imageList({ all: o.all, filters });
          process.stdout.write(renderImages(images, { ...o, noTrunc: !o.trunc }));
        }),
      );
  }

  for (const parent of [program, image]) {
    const isTop = parent === program;
    parent
      .command(isTop ? 'rmi' : 'rm')
      .description('Remove one or more images')
      .argument('<image...>')
      .option('-f, --force', 'Force removal of the image')
      .option('--no-prune', 'Do not delete untagged parents')
      .action((refs: string[], o: { force?: boolean }) =>
        cli.run(async (engine) => {
          let failed = false;
          for (const ref of refs) {
            try {
              for (const item of await engine.imageRemove(ref, { force: o.force })) {
                process.stdout.write('Untagged' in item ? `Untagged: ${item.Untagged}\n` : `Deleted: ${item.Deleted}\n`);
              }
            } catch (err) {
              failed = true;
              process.stderr.write(`Error: ${(err as Error).message}\n`);
            }
          }
          return failed ? 1 : 0;
        }),
      );

    parent
      .command('tag')
      .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
      .argument('<source>')
      .argument('<target>')
      .action((source: string, target: string) => cli.run((engine) => engine.imageTag(source, target)));

    parent
      .command('history')
      .description('Show the history of an image')
      .argument('<image>')
      .option('-H, --human [bool]', 'Print sizes and dates in human readable format', 'true')
      .option('--format <string>', 'Format output using a custom template')
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs')
      .action((ref: string, o: { human: string | boolean; format?: string; trunc: boolean; quiet?: boolean }) =>
        cli.run(async (engine) => {
          const items = await engine.imageHistory(ref);
          const human = o.human !== 'false' && o.human !== false;
          if (o.quiet) {
            process.stdout.write(items.map((i) => (o.trunc ? shortImageId(i.Id) : i.Id) + '\n').join(''));
            return;
          }
          const rows = items.map((i) => ({
            ID: i.Id === '<missing>' ? i.Id : o.trunc ? shortImageId(i.Id) : i.Id,
            CreatedSince: human ? humanDuration(Date.now() - i.Created * 1000) + ' ago' : new Date(i.Created * 1000).toISOString(),
            CreatedAt: new Date(i.Created * 1000).toISOString(),
            CreatedBy: o.trunc ? ellipsis(i.CreatedBy.replace(/\t/g, ' '), 45) : i.CreatedBy,
            Size: human ? humanSize(i.Size) : String(i.Size),
            Comment: i.Comment,
          }));
          process.stdout.write(
            renderList(rows, {
              format: o.format,
              defaultFormat: 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
              headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' },
            }),
          );
        }),
      );

    parent
      .command('load')
      .description('Load an image from a tar archive or STDIN')
      .option('-i, --input <file>', 'Read from tar archive file, instead of STDIN')
      .option('-q, --quiet', 'Suppress the load output')
      .action((o: { input?: string; quiet?: boolean }) =>
        cli.run(async (engine) => {
          if (!o.input && process.stdin.isTTY) {
            throw new InvalidArgumentError('no_input', 'requested load from stdin, but stdin is empty; use -i to give a file');
          }
          const source = o.input ? await openInput(o.input) : process.stdin;
          const { loaded } = await engine.imageLoad(source);
          if (!o.quiet) {
            for (const img of loaded) {
              if (img.tags.length === 0) process.stdout.write(`Loaded image ID: ${img.id}\n`);
              for (const t of img.tags) process.stdout.write(`Loaded image: ${t}\n`);
            }
          }
        }),
      );

    parent
      .command('save')
      .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
      .argument('<image...>')
      .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
      .option('--format <format>', 'Archive format: docker or oci', 'docker')
      .action((refs: string[], o: { output?: string; format: string }) =>
        cli.run(async (engine) => {
          if (o.format !== 'docker' && o.format !== 'oci') {
            throw new InvalidArgumentError('invalid_format', `invalid archive format "${o.format}": use docker or oci`);
          }
          if (!o.output && process.stdout.isTTY) {
            throw new InvalidArgumentError('tty_output', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
          }
          await saveTo(engine, refs, o.output, o.format);
        }),
      );

    parent
      .command('import')
      .description('Import the contents from a tarball to create a filesystem image')
      .argument('<file>', "Tarball path, or '-' for STDIN")
      .argument('[reference]', 'Name for the new image, REPOSITORY[:TAG]')
      .option('-c, --change <instruction>', 'Apply Dockerfile instruction to the created image', collect)
      .option('-m, --message <message>', 'Set commit message for imported image')
      .option('--platform <platform>', 'Set platform if server is multi-platform capable')
      .action((file: string, ref: string | undefined, o: { change?: string[]; message?: string; platform?: string }) =>
        cli.run(async (engine) => {
          if (/^https?:\/\//.test(file)) {
            throw new InvalidArgumentError('url_import', 'importing from a URL is not supported: download the tarball and import the file');
          }
          const source = file === '-' ? process.stdin : await openInput(file);
          const id = await engine.imageImport(source, { ref, changes: o.change, message: o.message, platform: o.platform });
          process.stdout.write(id + '\n');
        }),
      );

    parent
      .command('prune')
      .description('Remove unused images')
      .option('-a, --all', 'Remove all unused images, not just dangling ones')
      .option('-f, --force', 'Do not prompt for confirmation')
      .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
      .action((o: { all?: boolean; force?: boolean; filter?: string[] }) =>
        cli.run(async (engine) => {
          if (!o.force && !(await confirm(o.all
            ? 'WARNING! This will remove all images without at least one container associated to them.'
            : 'WARNING! This will remove all dangling images.'))) {
            return;
          }
          const report = await engine.imagePrune({ all: o.all, filters: parseFilterArgs(o.filter ?? []) });
          if (report.ImagesDeleted?.length) {
            process.stdout.write('Deleted Images:\n');
            for (const item of report.ImagesDeleted) {
              process.stdout.write('Untagged' in item ? `untagged: ${item.Untagged}\n` : `deleted: ${item.Deleted}\n`);
            }
            process.stdout.write('\n');
          }
          process.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
        }),
      );
  }

  image
    .command('inspect')
    .description('Display detailed information on one or more images')
    .argument('<image...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action((refs: string[], o: { format?: string }) => cli.run((engine) => inspectEach(refs, (r) => engine.imageInspect(r), o.format)));
}


interface ImageRow {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  VirtualSize: string;
  SharedSize: string;
  UniqueSize: string;
  Containers: string;
}

function renderImages(images: ImageSummary[], o: { quiet?: boolean; digests?: boolean; format?: string; noTrunc: boolean }): string {
  if (o.quiet) {
    const ids = [...new Set(images.map((i) => (o.noTrunc ? i.Id : shortImageId(i.Id))))];
    return ids.map((id) => id + '\n').join('');
  }
  const rows: ImageRow[] = [];
  for (const img of images) {
    const base = {
      ID: o.noTrunc ? img.Id : shortImageId(img.Id),
      CreatedSince: img.Created ? humanDuration(Date.now() - img.Created * 1000) + ' ago' : 'N/A',
      CreatedAt: goTime(img.Created),
      Size: humanSize(img.Size),
      VirtualSize: humanSize(img.VirtualSize),
      SharedSize: img.SharedSize < 0 ? 'N/A' : humanSize(img.SharedSize),
      UniqueSize: img.SharedSize < 0 ? 'N/A' : humanSize(img.Size - img.SharedSize),
      Containers: img.Containers < 0 ? 'N/A' : String(img.Containers),
    };
    for (const row of imageRows(img, { digests: !!o.digests, digestColumn: !!o.digests || (o.format ?? '').includes('{{.Digest}}') })) rows.push({ ...base, ...row });
  }
  return renderList(rows, {
    format: o.format,
    defaultFormat: o.digests
      ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
      : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}',
    headers: imageHeaders,
  });
}

/**
 * The rows of one image, as the docker CLI makes them: a row per tag (one per digest of its
 * repository when digests are shown), then a row per repository that has only digest
 * references (one per digest with --digests); `<none>` rows for an image without names.
 */
export function imageRows(
  img: Pick<ImageSummary, 'RepoTags' | 'RepoDigests'>,
  o: { digests: boolean; digestColumn: boolean },
): { Repository: string; Tag: string; Digest: string }[] {
  if (img.RepoTags.length === 0 && img.RepoDigests.length === 0) return [{ Repository: '<none>', Tag: '<none>', Digest: '<none>' }];
  const tagsByRepo = new Map<string, string[]>();
  const digestsByRepo = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, repo: string, value: string) => map.set(repo, [...(map.get(repo) ?? []), value]);
  for (const t of img.RepoTags) {
    const colon = t.lastIndexOf(':');
    if (colon > t.lastIndexOf('/')) add(tagsByRepo, t.slice(0, colon), t.slice(colon + 1));
  }
  for (const d of img.RepoDigests) {
    const at = d.lastIndexOf('@');
    if (at > 0) add(digestsByRepo, d.slice(0, at), d.slice(at + 1));
  }
  const rows: { Repository: string; Tag: string; Digest: string }[] = [];
  for (const [repo, tags] of tagsByRepo) {
    const digests = o.digestColumn ? (digestsByRepo.get(repo) ?? []) : [];
    digestsByRepo.delete(repo);
    for (const tag of tags) {
      if (digests.length === 0) rows.push({ Repository: repo, Tag: tag, Digest: '<none>' });
      for (const digest of digests) rows.push({ Repository: repo, Tag: tag, Digest: digest });
    }
  }
  for (const [repo, digests] of digestsByRepo) {
    if (o.digests) for (const digest of digests) rows.push({ Repository: repo, Tag: '<none>', Digest: digest });
    else rows.push({ Repository: repo, Tag: '<none>', Digest: '' });
  }
  return rows;
}

export function shortImageId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

function ellipsis(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

async function openInput(file: string): Promise<Readable> {
  try {
    await fsp.access(file);
  } catch {
    throw new InvalidArgumentError('no_such_file', `open ${file}: no such file or directory`);
  }
  return createReadStream(file);
}

/** Saving to a file goes through a temp file and a rename, so a failed save leaves no partial archive. */
async function saveTo(engine: Engine, refs: string[], output: string | undefined, format: 'docker' | 'oci'): Promise<void> {
  if (!output) {
    await engine.imageSave(refs, process.stdout, { format });
    return;
  }
  const tmp = join(dirname(output), `.${basename(output)}.${randomBytes(4).toString('hex')}.tmp`);
  const out = createWriteStream(tmp);
  try {
    await engine.imageSave(refs, out, { format });
    out.end();
    await finished(out);
    await fsp.rename(tmp, output);
  } catch (err) {
    out.destroy();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
