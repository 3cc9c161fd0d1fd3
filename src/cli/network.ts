// `minidock network create|ls|inspect|rm|prune`: user-defined networks, as Docker's `network` verbs
// (the library: src/runtime/network/user-networks.ts; containers join with `run --network NAME`).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';
import type { NetworkView } from '../runtime/network/user-networks.js';

const ROOT_HELP = 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)';

export function register(program: Command): void {
  const net = program
    .command('network')
    .description(
      'manage networks: create, ls, inspect, rm, prune, connect, disconnect (containers join with run --network NAME)',
    );
  net
    .command('create')
    .description('create a network: its own bridge and subnet, NAT out; its containers reach each other by name')
    .argument('<name>', 'the network name (letters, digits, _ . -)')
    .option('--subnet <cidr>', 'its IPv4 subnet, e.g. 10.90.0.0/24 (default: a free /16 from 10.87.0.0 down)')
    .option('--gateway <ip>', "the bridge's own address in the subnet (default: its first host)")
    .option('-d, --driver <driver>', 'bridge (the only driver)', 'bridge')
    .option('--root <dir>', ROOT_HELP)
    .action(async (name: string, flags: CreateFlags) => {
      process.exitCode = await create(name, flags);
    });
  net
    .command('ls')
    .alias('list')
    .description('list networks')
    .option('-q, --quiet', 'only IDs')
    .option('--no-trunc', 'full IDs')
    .option('--root <dir>', ROOT_HELP)
    .action(async (flags: LsFlags) => {
      process.exitCode = await ls(flags);
    });
  net
    .command('inspect')
    .description('show networks as JSON: subnet, gateway, bridge, and their containers with addresses')
    .argument('<network...>', 'network names or IDs (or unique ID prefixes)')
    .option('--root <dir>', ROOT_HELP)
    .action(async (refs: string[], flags: RootFlag) => {
      process.exitCode = await inspect(refs, flags);
    });
  net
    .command('rm')
    .alias('remove')
    .description('remove networks (refused while a running container is attached)')
    .argument('<network...>', 'network names or IDs')
    .option('--root <dir>', ROOT_HELP)
    .action(async (refs: string[], flags: RootFlag) => {
      process.exitCode = await rm(refs, flags);
    });
  net
    .command('connect')
    .description(
      'connect a running container to a network: a new veth pair into its namespace (ethN), an address, names',
    )
    .argument('<network>', 'the network name')
    .argument('<container>', 'the container (name or ID)')
    .option('--ip <ip>', "its address on the network (default: the network's lowest free one)")
    .option('--alias <name>', 'another name of the container on this network (repeatable)', collect, [])
    .option('--root <dir>', ROOT_HELP)
    .action(async (network: string, container: string, flags: ConnectFlags) => {
      process.exitCode = await connect(network, container, flags);
    });
  net
    .command('disconnect')
    .description('disconnect a container from a network: its veth pair, address and names go')
    .argument('<network>', 'the network name')
    .argument('<container>', 'the container (name or ID)')
    .option('-f, --force', 'a container that is not running: release what it holds on the network all the same')
    .option('--root <dir>', ROOT_HELP)
    .action(async (network: string, container: string, flags: DisconnectFlags) => {
      process.exitCode = await disconnect(network, container, flags);
    });
  net
    .command('prune')
    .description('remove every user-defined network no running container is attached to')
    .option('-f, --force', "do not ask (minidock never asks: accepted for Docker's command lines)")
    .option('--root <dir>', ROOT_HELP)
    .action(async (flags: RootFlag) => {
      process.exitCode = await prune(flags);
    });
}

interface CreateFlags extends RootFlag {
  subnet?: string;
  gateway?: string;
  driver?: string;
}

interface ConnectFlags extends RootFlag {
  ip?: string;
  alias: string[];
}

interface DisconnectFlags extends RootFlag {
  force?: boolean;
}

const collect = (v: string, all: string[]): string[] => [...all, v];

interface LsFlags extends RootFlag {
  quiet?: boolean;
  trunc?: boolean;
}

async function create(name: string, flags: CreateFlags): Promise<number> {
  const [{ fail }, { writeErr, writeOut }, { rootOf }, { ensureStateRoot }, { createUserNetwork }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/state-root.js'),
    import('../runtime/network/user-networks.js'),
  ]);
  if (flags.driver !== 'bridge') fail(`--driver ${flags.driver}: minidock has the bridge driver only`);
  needRoot(fail, 'create');
  const root = rootOf(flags);
  ensureStateRoot(root);
  const { net, forwardNote } = createUserNetwork(root, { name, subnet: flags.subnet, gateway: flags.gateway });
  if (forwardNote) writeErr(`minidock: ${forwardNote}\n`);
  writeOut(`${net.id}\n`);
  return 0;
}

async function ls(flags: LsFlags): Promise<number> {
  const [{ writeOut }, { rootOf }, { listNetworkViews }, { formatTable }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/network/user-networks.js'),
    import('./format-table.js'),
  ]);
  const views = listNetworkViews(rootOf(flags));
  const id = (v: NetworkView): string => (flags.trunc === false ? v.id : v.id.slice(0, 12));
  if (flags.quiet) {
    writeOut(views.map((v) => `${id(v)}\n`).join(''));
    return 0;
  }
  writeOut(
    formatTable([
      ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'BRIDGE', 'CONTAINERS'],
      ...views.map((v) => [
        id(v),
        v.name,
        v.driver,
        v.subnet ?? '-',
        v.bridge ?? '-',
        String(v.containers.filter((c) => c.running).length),
      ]),
    ]),
  );
  return 0;
}

/** Docker's layout of `network inspect` (IPAM.Config, Containers by id), with the bridge's name. */
function inspectJson(v: NetworkView): Record<string, unknown> {
  return {
    Name: v.name,
    Id: v.id,
    ...(v.created ? { Created: v.created } : {}),
    Scope: 'local',
    Driver: v.driver,
    IPAM: { Driver: 'default', Config: v.subnet ? [{ Subnet: v.subnet, Gateway: v.gateway }] : [] },
    ...(v.bridge ? { Bridge: v.bridge } : {}),
    Containers: Object.fromEntries(
      v.containers.map((c) => [
        c.id,
        {
          Name: c.name ?? c.id.slice(0, 12),
          IPv4Address: `${c.ip}/${c.prefixLen}`,
          ...(c.aliases ? { Aliases: c.aliases } : {}),
          Running: c.running,
        },
      ]),
    ),
  };
}

async function inspect(refs: string[], flags: RootFlag): Promise<number> {
  const [{ writeOut }, { rootOf }, { findNetwork, listNetworkViews }, { refFailed }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/network/user-networks.js'),
    import('./container-lines.js'),
  ]);
  const root = rootOf(flags);
  const views = listNetworkViews(root);
  const out: Record<string, unknown>[] = [];
  let code = 0;
  for (const ref of refs) {
    try {
      out.push(inspectJson(findNetwork(root, ref, views)));
    } catch (err) {
      code = refFailed(err);
    }
  }
  writeOut(JSON.stringify(out, null, 2) + '\n');
  return code;
}

/** create, rm and prune change the host's links and nft rules. */
const needRoot = (fail: (m: string) => never, what: string): void => {
  if (process.geteuid?.() !== 0)
    fail(`network ${what} needs root: it changes the host's bridges and nft rules (sudo minidock network ${what} …)`);
};

async function rm(refs: string[], flags: RootFlag): Promise<number> {
  const [{ fail }, { writeOut }, { rootOf }, { removeUserNetwork }, { refFailed }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/network/user-networks.js'),
    import('./container-lines.js'),
  ]);
  needRoot(fail, 'rm');
  const root = rootOf(flags);
  let code = 0;
  for (const ref of refs) {
    try {
      writeOut(`${removeUserNetwork(root, ref)}\n`);
    } catch (err) {
      code = refFailed(err);
    }
  }
  return code;
}

async function prune(flags: RootFlag): Promise<number> {
  const [{ fail }, { writeOut }, { rootOf }, { pruneNetworks }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/network/user-networks.js'),
  ]);
  needRoot(fail, 'prune');
  const gone = pruneNetworks(rootOf(flags));
  writeOut(gone.length ? `Deleted Networks:\n${gone.map((n) => `${n}\n`).join('')}` : 'Nothing to prune\n');
  return 0;
}

async function connect(network: string, container: string, flags: ConnectFlags): Promise<number> {
  const [{ fail }, { writeErr }, { rootOf }, { connectNetwork }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/network/connect.js'),
  ]);
  needRoot(fail, 'connect');
  const r = connectNetwork(rootOf(flags), network, container, {
    ip: flags.ip,
    aliases: flags.alias.length ? flags.alias : undefined,
  });
  if (r.forwardNote) writeErr(`minidock: ${r.forwardNote}\n`);
  if (r.noHostsFile)
    writeErr(
      `minidock: ${container} was launched without a network, so it has no /etc/hosts of minidock's: the network's members find it by name, it finds them by address (${r.ip} is its ${r.ifName})\n`,
    );
  return 0;
}

async function disconnect(network: string, container: string, flags: DisconnectFlags): Promise<number> {
  const [{ fail }, { rootOf }, { disconnectNetwork }] = await Promise.all([
    import('../errors.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/network/connect.js'),
  ]);
  needRoot(fail, 'disconnect');
  disconnectNetwork(rootOf(flags), network, container, flags.force === true);
  return 0;
}
