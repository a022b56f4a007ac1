// Network commands: create, ls, inspect, rm, prune, connect, disconnect; and `port`.
import type { Command } from 'commander';
import type { Cli } from '../program.js';
import { collect } from '../program.js';
import { renderList, withLabelMethod } from '../output.js';
import { InvalidArgumentError } from '../../errors.js';
import { inspectEach } from './inspect.js';
import { parseFilterArgs } from './filters.js';
import { confirm } from './confirm.js';
import { keyValues } from './volumes.js';
import { portLines } from '../ports.js';

interface CreateFlags {
  driver: string;
  subnet?: string[];
  gateway?: string[];
  ipRange?: string[];
  internal?: boolean;
  label?: string[];
  opt?: string[];
  ipv6?: boolean;
  ipamDriver?: string;
}

/**
 * Pairs --gateway and --ip-range with their --subnet by address family; with several subnets
 * of one family the pairing is ambiguous here and refused.
 */
function ipamConfig(o: CreateFlags): { Subnet: string; Gateway?: string; IPRange?: string }[] {
  const subnets = o.subnet ?? [];
  if (subnets.length === 0 && (o.gateway?.length || o.ipRange?.length)) {
    throw new InvalidArgumentError('invalid_subnet', 'every ip-range or gateway must have a corresponding subnet');
  }
  const configs = subnets.map((Subnet) => ({ Subnet }) as { Subnet: string; Gateway?: string; IPRange?: string });
  const place = (value: string, key: 'Gateway' | 'IPRange') => {
    const fits = configs.filter((c) => (subnets.length === 1 ? true : sameFamily(c.Subnet, value)));
    if (fits.length !== 1 || fits[0][key]) throw new InvalidArgumentError('invalid_subnet', `no matching subnet for ${key === 'Gateway' ? 'gateway' : 'range'} ${value}`);
    fits[0][key] = value;
  };
  for (const g of o.gateway ?? []) place(g, 'Gateway');
  for (const r of o.ipRange ?? []) place(r, 'IPRange');
  return configs;
}

/** The engine checks that the address is really inside the subnet. */
function sameFamily(subnet: string, value: string): boolean {
  return subnet.includes(':') === value.includes(':');
}

export function registerNetworkCommands(cli: Cli): void {
  const network = cli.program.command('network').description('Manage networks');

  network
    .command('create')
    .description('Create a network')
    .argument('<name>')
    .option('-d, --driver <driver>', 'Driver to manage the Network', 'bridge')
    .option('--subnet <subnet>', 'Subnet in CIDR format that represents a network segment', collect)
    .option('--gateway <gateway>', 'IPv4 or IPv6 Gateway for the master subnet', collect)
    .option('--ip-range <range>', 'Allocate container ip from a sub-range', collect)
    .option('--ipam-driver <driver>', 'IP Address Management Driver', 'default')
    .option('--internal', 'Restrict external access to the network')
    .option('--ipv6', 'Enable IPv6 networking')
    .option('--label <label>', 'Set metadata on a network', collect)
    .option('-o, --opt <option>', 'Set driver specific options', collect)
    .action((name: string, o: CreateFlags) =>
      cli.run(async (engine) => {
        const r = await engine.networkCreate({
          Name: name,
          Driver: o.driver,
          Internal: o.internal === true,
          EnableIPv6: o.ipv6 === true,
          IPAM: { Driver: o.ipamDriver ?? 'default', Config: ipamConfig(o) },
          Labels: keyValues(o.label, 'label'),
          Options: keyValues(o.opt, 'option'),
        });
        process.stdout.write(r.Id + '\n');
      }),
    );

  network
    .command('ls')
    .alias('list')
    .description('List networks')
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "driver=bridge")', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', 'Do not truncate the output')
    .option('-q, --quiet', 'Only display network IDs')
    .action((o: { filter?: string[]; format?: string; trunc: boolean; quiet?: boolean }) =>
      cli.run(async (engine) => {
        const networks = await engine.networkList(parseFilterArgs(o.filter ?? []));
        // As the docker CLI: by name.
        networks.sort((a, b) => a.Name.localeCompare(b.Name));
        const id = (full: string) => (o.trunc ? full.slice(0, 12) : full);
        if (o.quiet) {
          process.stdout.write(networks.map((n) => id(n.Id) + '\n').join(''));
          return;
        }
        const rows = networks.map((n) => withLabelMethod({
          ID: id(n.Id),
          Name: n.Name,
          Driver: n.Driver,
          Scope: n.Scope,
          IPv6: String(n.EnableIPv6),
          Internal: String(n.Internal),
          CreatedAt: n.Created,
          Labels: Object.entries(n.Labels).map(([k, v]) => `${k}=${v}`).join(','),
        }, n.Labels));
        process.stdout.write(
          renderList(rows, {
            format: o.format,
            defaultFormat: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
            headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', CreatedAt: 'CREATED AT', Labels: 'LABELS' },
          }),
        );
      }),
    );

  network
    .command('inspect')
    .description('Display detailed information on one or more networks')
    .argument('<network...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action((refs: string[], o: { format?: string }) => cli.run((engine) => inspectEach(refs, (r) => engine.networkInspect(r), o.format)));

  network
    .command('rm')
    .alias('remove')
    .description('Remove one or more networks')
    .argument('<network...>')
    .option('-f, --force', 'Do not error if the network does not exist')
    .action((refs: string[], o: { force?: boolean }) =>
      cli.run(async (engine) => {
        let failed = false;
        for (const r of refs) {
          try {
            await engine.networkRemove(r);
            process.stdout.write(r + '\n');
          } catch (err) {
            if (o.force && (err as { kind?: string }).kind === 'NotFound') continue;
            failed = true;
            process.stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
          }
        }
        return failed ? 1 : 0;
      }),
    );

  network
    .command('prune')
    .description('Remove all unused networks')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .action((o: { force?: boolean; filter?: string[] }) =>
      cli.run(async (engine) => {
        if (!o.force && !(await confirm('WARNING! This will remove all custom networks not used by at least one container.'))) return;
        const report = await engine.networkPrune(parseFilterArgs(o.filter ?? []));
        if (report.NetworksDeleted?.length) process.stdout.write('Deleted Networks:\n' + report.NetworksDeleted.map((n) => n + '\n').join(''));
      }),
    );

  network
    .command('connect')
    .description('Connect a container to a network')
    .argument('<network>')
    .argument('<container>')
    .option('--alias <alias>', 'Add network-scoped alias for the container', collect)
    .option('--ip <address>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <address>', 'IPv6 address (e.g., "2001:db8::33")')
    .action((network: string, container: string, o: { alias?: string[]; ip?: string; ip6?: string }) =>
      cli.run((engine) =>
        engine.networkConnect(network, container, {
          Aliases: o.alias ?? [],
          IPAMConfig: { ...(o.ip ? { IPv4Address: o.ip } : {}), ...(o.ip6 ? { IPv6Address: o.ip6 } : {}) },
        }),
      ),
    );

  network
    .command('disconnect')
    .description('Disconnect a container from a network')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .action((network: string, container: string) => cli.run((engine) => engine.networkDisconnect(network, container)));

  // Also `container port`, as docker's; the group is there only when the command line names it.
  const container = cli.program.commands.find((c) => c.name() === 'container');
  for (const parent of [cli.program, container].filter((c): c is Command => c !== undefined)) {
    parent
      .command('port')
      .description('List port mappings or a specific mapping for the container')
      .argument('<container>')
      .argument('[port]', 'PRIVATE_PORT[/PROTO]')
      .action((name: string, port: string | undefined) =>
        cli.run(async (engine) => {
          const info = await engine.containerInspect(name);
          const lines = portLines((info.NetworkSettings as { Ports?: Parameters<typeof portLines>[0] }).Ports ?? {}, port);
          if (!lines) {
            process.stderr.write(`Error: No public port '${port}' published for ${name}\n`);
            return 1;
          }
          process.stdout.write(lines.map((l) => l + '\n').join(''));
        }),
      );
  }
}
