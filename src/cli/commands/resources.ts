// `stats` (live resource usage, computed from the engine's readings as docker's CLI does),
// `update` (new limits for existing containers) and podman's `healthcheck run`.
import type { Command } from 'commander';
import type { ContainerStats, Engine } from '../../engine/engine.js';
import { renderList } from '../output.js';
import type { Cli } from '../program.js';
import { bytesSize, formatGoFloat, humanSize } from '../units.js';
import { addUpdateFlags, buildUpdateBody, type RunFlagValues } from './run-flags.js';

const statsHeaders = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};
const DEFAULT_STATS_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
const REFRESH_MS = 1000;

interface StatsRow {
  Container: string;
  ID: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

/** docker's calculateCPUPercentUnix: the container's share of the host's CPU time between two readings, times the CPUs. */
export function cpuPercent(s: ContainerStats): number {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
}

/** docker's calculateMemUsageUnixNoCache: usage less the inactive page cache, which the kernel can drop at once. */
export function memoryUsage(m: ContainerStats['memory_stats']): number {
  const usage = m.usage ?? 0;
  const stats = m.stats ?? {};
  if ('total_inactive_file' in stats && stats.total_inactive_file < usage) return usage - stats.total_inactive_file;
  const inactive = stats.inactive_file ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

function statsRow(s: ContainerStats, container: string, trunc: boolean): StatsRow {
  const mem = memoryUsage(s.memory_stats);
  const limit = s.memory_stats.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') read += e.value;
    else if (op === 'write') write += e.value;
  }
  const percent = (x: number) => formatGoFloat(x, 'f', 2) + '%';
  return {
    Container: container,
    ID: trunc ? s.id.slice(0, 12) : s.id,
    Name: s.name.length > 1 ? s.name.slice(1) : '--',
    CPUPerc: percent(cpuPercent(s)),
    MemUsage: `${bytesSize(mem)} / ${bytesSize(limit)}`,
    MemPerc: percent(limit !== 0 ? (mem / limit) * 100 : 0),
    NetIO: `${humanSize(rx)} / ${humanSize(tx)}`,
    BlockIO: `${humanSize(read)} / ${humanSize(write)}`,
    PIDs: String(s.pids_stats.current ?? 0),
  };
}

interface StatsOptions {
  all?: boolean;
  format?: string;
  stream: boolean;
  trunc: boolean;
}

/** The first reading of each container, taken together; a container that cannot be read is an error. */
async function firstReadings(engine: Engine, targets: string[], stream: boolean): Promise<{ rows: Map<string, ContainerStats>; iterators: Map<string, AsyncIterator<ContainerStats>>; errors: string[] }> {
  const rows = new Map<string, ContainerStats>();
  const iterators = new Map<string, AsyncIterator<ContainerStats>>();
  const errors: string[] = [];
  await Promise.all(
    targets.map(async (t) => {
      const it = engine.containerStats(t, { stream })[Symbol.asyncIterator]();
      try {
        const first = await it.next();
        if (first.done) return;
        rows.set(t, first.value);
        iterators.set(t, it);
      } catch (err) {
        errors.push(`Error: ${(err as Error).message}`);
      }
    }),
  );
  return { rows, iterators, errors };
}

async function runStats(engine: Engine, names: string[], o: StatsOptions): Promise<number> {
  const listed = async () => (await engine.containerList({ all: o.all })).map((c) => c.Id.slice(0, 12));
  const targets = names.length ? names : await listed();
  const first = await firstReadings(engine, targets, o.stream);
  if (first.errors.length) {
    process.stderr.write(first.errors.join('\n') + '\n');
    return 1;
  }
  const render = (rows: Map<string, ContainerStats>, order: string[]) =>
    renderList(
      order.filter((t) => rows.has(t)).map((t) => statsRow(rows.get(t)!, t, o.trunc)),
      { format: o.format, defaultFormat: DEFAULT_STATS_FORMAT, headers: statsHeaders },
    );
  if (!o.stream) {
    process.stdout.write(render(first.rows, targets));
    return 0;
  }

  const rows = first.rows;
  let order = [...targets];
  const follow = (t: string, it: AsyncIterator<ContainerStats>) => {
    void (async () => {
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) rows.set(t, r.value);
      } catch {
        // removed while being read
      }
      rows.delete(t);
    })();
  };
  for (const [t, it] of first.iterators) follow(t, it);
  const tty = process.stdout.isTTY === true;
  let frame = 0;
  for (;;) {
    const text = render(rows, order);
    if (tty) {
      // Home, each line over the old one, then clear what is left: no flicker, as docker does it.
      const lines = text.split('\n').map((l) => l + '\x1b[K').join('\n');
      process.stdout.write((frame === 0 ? '\x1b[2J' : '') + '\x1b[H' + lines + '\x1b[J');
    } else {
      process.stdout.write(text);
    }
    frame++;
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
    if (!names.length) {
      // Without names, containers that start or stop meanwhile come and go, as with docker.
      order = await listed();
      const fresh = order.filter((t) => !rows.has(t));
      const added = await firstReadings(engine, fresh, true);
      for (const [t, s] of added.rows) rows.set(t, s);
      for (const [t, it] of added.iterators) follow(t, it);
      for (const t of [...rows.keys()]) if (!order.includes(t)) rows.delete(t);
    }
  }
}

async function runUpdate(engine: Engine, names: string[], o: RunFlagValues): Promise<number> {
  const body = buildUpdateBody(o);
  const warnings: string[] = [];
  const errors: string[] = [];
  for (const name of names) {
    try {
      const r = await engine.containerUpdate(name, body);
      process.stdout.write(name + '\n');
      warnings.push(...r.Warnings);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (warnings.length) process.stdout.write(warnings.join('\n') + '\n');
  if (!errors.length) return 0;
  process.stderr.write(errors.map((e) => `Error: ${e}`).join('\n') + '\n');
  return 1;
}

export function registerResourceCommands(cli: Cli): void {
  const { program } = cli;
  const container = program.commands.find((c) => c.name() === 'container');
  for (const parent of [program, container].filter((c): c is Command => c !== undefined)) {
    parent
      .command('stats')
      .description('Display a live stream of container(s) resource usage statistics')
      .argument('[container...]')
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('--format <string>', 'Format output using a custom template')
      .option('--no-stream', 'Disable streaming stats and only pull the first result')
      .option('--no-trunc', 'Do not truncate output')
      .action((names: string[], o: StatsOptions) => cli.run((engine) => runStats(engine, names, o)));

    addUpdateFlags(
      parent
        .command('update')
        .description('Update configuration of one or more containers')
        .usage('[OPTIONS] CONTAINER [CONTAINER...]')
        .argument('<container...>'),
    ).action((names: string[], o: RunFlagValues) => cli.run((engine) => runUpdate(engine, names, o)));
  }

  program
    .command('healthcheck')
    .description('Manage health checks on containers')
    .command('run')
    .description("Run a container's health check once and record the result")
    .argument('<container>')
    .action((name: string) =>
      cli.run(async (engine) => {
        // podman's exit codes: 0 healthy, 1 not (yet) healthy, 125 when the check cannot run.
        try {
          const health = await engine.containerHealthcheck(name);
          if (health.Status === 'healthy') return 0;
          process.stdout.write(health.Status + '\n');
          return 1;
        } catch (err) {
          process.stderr.write(`Error: ${(err as Error).message}\n`);
          return 125;
        }
      }),
    );
}
