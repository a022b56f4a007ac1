// `system df` and `system prune`: disk usage as docker-cli's formatter/disk_usage.go shows it,
// and the prune of everything unused, made of the single prunes as docker-cli makes it.
import type { ContainerSummary, Engine, Filters, ImageSummary, SystemDataUsage, Volume } from '../../engine/engine.js';
import { renderList, sortKeys, withLabelMethod } from '../output.js';
import { compileTemplate, parseFormat } from '../template.js';
import { goTime, humanDuration, humanSize } from '../units.js';
import { confirm } from './confirm.js';
import { psHeaders, psRow } from './containers.js';
import { parseFilterArgs } from './filters.js';
import { imageHeaders, shortImageId } from './images.js';

/** go-units HumanSize, which docker-cli uses for totals (4 significant digits: "1.983MB"). */
const total = (bytes: number) => humanSize(bytes, 4);

const summaryHeaders = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };
const summaryFormat = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

export async function systemDf(engine: Engine, o: { verbose?: boolean; format?: string }): Promise<string> {
  const usage = await engine.systemDf();
  if (!o.verbose) return renderList(summaryRows(usage), { format: o.format, defaultFormat: summaryFormat, headers: summaryHeaders });
  // As docker-cli: only the plain `table` format gives the four tables; any other template
  // executes once, against the four lists of rows (each row's fields sorted, as docker marshals them).
  if (o.format === undefined || o.format === '' || o.format === 'table') return verboseTables(usage);
  const rows = {
    Images: imageRows(usage.Images, false).map(sortKeys),
    Containers: containerRows(usage.Containers, false).map(sortKeys),
    Volumes: volumeRows(usage.Volumes).map(sortKeys),
    BuildCache: [],
  };
  return compileTemplate(parseFormat(o.format).body)(rows) + '\n';
}

/** "1.2kB (50%)": the share is Go's integer division, left out when there is nothing at all. */
function reclaimable(bytes: number, of: number): string {
  return of > 0 ? `${total(bytes)} (${Math.trunc((bytes * 100) / of)}%)` : total(bytes);
}

function summaryRows(u: SystemDataUsage): Record<string, string>[] {
  // An image in use keeps the bytes no other image shares.
  const usedImages = u.Images.filter((i) => i.Containers > 0);
  const imagesUsed = usedImages.reduce((sum, i) => sum + i.VirtualSize - i.SharedSize, 0);
  // Running, paused or restarting containers hold their writable layers.
  const activeContainers = u.Containers.filter((c) => ['running', 'paused', 'restarting'].includes(c.State));
  const containersSize = u.Containers.reduce((sum, c) => sum + (c.SizeRw ?? 0), 0);
  const containersHeld = activeContainers.reduce((sum, c) => sum + (c.SizeRw ?? 0), 0);
  const volumeSize = (v: Volume) => v.UsageData?.Size ?? 0;
  const unusedVolumes = u.Volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0);
  const volumesSize = u.Volumes.reduce((sum, v) => sum + volumeSize(v), 0);
  const volumesUnused = unusedVolumes.reduce((sum, v) => sum + volumeSize(v), 0);
  return [
    row('Images', u.Images.length, usedImages.length, u.LayersSize, reclaimable(u.LayersSize - imagesUsed, u.LayersSize)),
    row('Containers', u.Containers.length, activeContainers.length, containersSize, reclaimable(containersSize - containersHeld, containersSize)),
    row('Local Volumes', u.Volumes.length, u.Volumes.length - unusedVolumes.length, volumesSize, reclaimable(volumesUnused, volumesSize)),
    row('Build Cache', 0, 0, 0, reclaimable(0, 0)),
  ];
}

function row(type: string, count: number, active: number, size: number, reclaim: string): Record<string, string> {
  return { Type: type, TotalCount: String(count), Active: String(active), Size: total(size), Reclaimable: reclaim };
}

function verboseTables(u: SystemDataUsage): string {
  const table = (rows: object[], format: string, headers: Record<string, string>) => renderList(rows, { defaultFormat: format, headers });
  return [
    'Images space usage:\n\n',
    table(imageRows(u.Images, true), 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}', imageHeaders),
    '\nContainers space usage:\n\n',
    table(
      containerRows(u.Containers, true),
      'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}',
      psHeaders,
    ),
    '\nLocal Volumes space usage:\n\n',
    table(volumeRows(u.Volumes), 'table {{.Name}}\t{{.Links}}\t{{.Size}}', { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' }),
    `\nBuild cache usage: ${total(0)}\n\n`,
    table([], 'table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}', {
      ID: 'CACHE ID',
      CacheType: 'CACHE TYPE',
      Size: 'SIZE',
      CreatedSince: 'CREATED',
      LastUsedSince: 'LAST USED',
      UsageCount: 'USAGE',
      Shared: 'SHARED',
    }),
  ].join('');
}

/** docker-cli's rows: an image's first tag only, `<none>` without one. */
function imageRows(images: ImageSummary[], trunc: boolean): Record<string, string>[] {
  return images.map((img) => {
    const first = img.RepoTags[0] ?? '';
    const colon = first.lastIndexOf(':');
    const tagged = colon > first.lastIndexOf('/');
    return {
      ID: trunc ? shortImageId(img.Id) : img.Id,
      Repository: tagged ? first.slice(0, colon) : '<none>',
      Tag: tagged ? first.slice(colon + 1) : '<none>',
      Digest: '',
      CreatedSince: img.Created ? humanDuration(Date.now() - img.Created * 1000) + ' ago' : 'N/A',
      CreatedAt: goTime(img.Created),
      Size: humanSize(img.Size),
      VirtualSize: total(img.VirtualSize),
      SharedSize: total(img.SharedSize),
      UniqueSize: total(img.VirtualSize - img.SharedSize),
      Containers: String(img.Containers),
    };
  });
}

/** ps rows, with the writable layer alone as SIZE (docker-cli drops the virtual size here). */
function containerRows(containers: ContainerSummary[], trunc: boolean): Record<string, string>[] {
  return containers.map((c) => withLabelMethod({ ...psRow(c, trunc), Size: humanSize(c.SizeRw ?? 0) }, c.Labels));
}

function volumeRows(volumes: Volume[]): Record<string, string>[] {
  return volumes.map((v) =>
    withLabelMethod(
      {
        Name: v.Name,
        Driver: v.Driver,
        Scope: v.Scope,
        Mountpoint: v.Mountpoint,
        Labels: Object.entries(v.Labels ?? {}).map(([k, val]) => `${k}=${val}`).join(','),
        Links: String(v.UsageData?.RefCount ?? 0),
        Size: total(v.UsageData?.Size ?? 0),
        // Cluster volumes' fields, which a local volume does not have.
        Availability: 'N/A',
        Group: 'N/A',
        Status: 'N/A',
      },
      v.Labels,
    ),
  );
}

export interface SystemPruneOptions {
  all?: boolean;
  force?: boolean;
  volumes?: boolean;
  filter?: string[];
}

/**
 * docker-cli's `system prune`: the container, network, volume (with --volumes) and image
 * prunes in that order, with the same filters; each prints its section, then the total.
 */
export async function systemPrune(engine: Engine, o: SystemPruneOptions): Promise<number> {
  const filters = parseFilterArgs(o.filter ?? []);
  if (o.volumes && filters.until) {
    process.stderr.write('ERROR: The "until" filter is not supported with "--volumes"\n');
    return 1;
  }
  if (!o.force && !(await confirm(pruneWarning(o, filters)))) return 0;
  const section = (title: string, lines: string[] | null) => {
    if (lines?.length) process.stdout.write(`Deleted ${title}:\n${lines.map((l) => l + '\n').join('')}\n`);
  };
  let reclaimed = 0;
  const containers = await engine.containerPrune({ filters });
  section('Containers', containers.ContainersDeleted);
  reclaimed += containers.SpaceReclaimed;
  section('Networks', (await engine.networkPrune(filters)).NetworksDeleted);
  if (o.volumes) {
    // docker-cli passes no `all` to the volume prune: anonymous volumes only, as its warning says.
    const volumes = await engine.volumePrune({ filters });
    section('Volumes', volumes.VolumesDeleted);
    reclaimed += volumes.SpaceReclaimed;
  }
  const images = await engine.imagePrune({ all: o.all, filters });
  section('Images', images.ImagesDeleted?.map((i) => ('Untagged' in i ? `untagged: ${i.Untagged}` : `deleted: ${i.Deleted}`)) ?? null);
  reclaimed += images.SpaceReclaimed;
  process.stdout.write(`Total reclaimed space: ${total(reclaimed)}\n`);
  return 0;
}

/** docker-cli's confirmation message, its build cache lines included (berth has none to remove). */
function pruneWarning(o: SystemPruneOptions, filters: Filters): string {
  const warnings = [
    'all stopped containers',
    'all networks not used by at least one container',
    ...(o.volumes ? ['all anonymous volumes not used by at least one container'] : []),
    o.all ? 'all images without at least one container associated to them' : 'all dangling images',
    o.all ? 'all build cache' : 'unused build cache',
  ];
  const shown = ['label', 'label!', 'until'].flatMap((name) => (filters[name] ?? []).map((v) => `${name}=${v}`)).sort(naturalCompare);
  let text = 'WARNING! This will remove:\n' + warnings.map((w) => `  - ${w}\n`).join('');
  if (shown.length) text += '\n  Items to be pruned will be filtered with:\n' + shown.map((f) => `  - ${f}\n`).join('');
  return text;
}

/** fvbommel/sortorder's NaturalLess: runs of digits compare as numbers, the rest byte by byte. */
function naturalCompare(a: string, b: string): number {
  const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const [x, y] = [chunks(a), chunks(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const numeric = /^\d/.test(x[i]) && /^\d/.test(y[i]);
    if (numeric && Number(x[i]) !== Number(y[i])) return Number(x[i]) - Number(y[i]);
    return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}
