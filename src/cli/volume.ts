// `minidock volume create|ls|inspect|rm|prune`: named volumes, as Docker's `volume` verbs (the
// library: src/runtime/volumes.ts; containers mount them with `run -v NAME:/path`, which also
// creates one on first use).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';
import type { VolumeView } from '../runtime/volumes.js';

const ROOT_HELP = 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)';
const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  const vol = program
    .command('volume')
    .description('manage volumes: create, ls, inspect, rm, prune (containers mount them with run -v NAME:/path)');
  vol
    .command('create')
    .description('create a volume: a directory in the state root that outlives its containers')
    .argument('[name]', 'the volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+; default: a random one)')
    .option('-d, --driver <driver>', 'local (the only driver)', 'local')
    .option('-l, --label <key=value>', 'a label of the volume (repeatable)', collect, [])
    .option('--root <dir>', ROOT_HELP)
    .action(async (name: string | undefined, flags: CreateFlags) => {
      process.exitCode = await create(name, flags);
    });
  vol
    .command('ls')
    .alias('list')
    .description('list volumes')
    .option('-q, --quiet', 'only names')
    .option('--root <dir>', ROOT_HELP)
    .action(async (flags: RootFlag & { quiet?: boolean }) => {
      process.exitCode = await ls(flags);
    });
  vol
    .command('inspect')
    .description('show volumes as JSON: mount point, creation time, labels, the containers using them')
    .argument('<volume...>', 'volume names')
    .option('--root <dir>', ROOT_HELP)
    .action(async (names: string[], flags: RootFlag) => {
      process.exitCode = await inspect(names, flags);
    });
  vol
    .command('rm')
    .alias('remove')
    .description('remove volumes and their data (refused while a container, running or not, uses one)')
    .argument('<volume...>', 'volume names')
    .option('-f, --force', 'no error for a volume that does not exist (one in use is still refused)')
    .option('--root <dir>', ROOT_HELP)
    .action(async (names: string[], flags: RootFlag & { force?: boolean }) => {
      process.exitCode = await rm(names, flags);
    });
  vol
    .command('prune')
    .description('remove every volume no container uses, with its data')
    .option('-a, --all', "every unused volume (minidock's volumes are all named: accepted for Docker's command lines)")
    .option('-f, --force', "do not ask (minidock never asks: accepted for Docker's command lines)")
    .option('--root <dir>', ROOT_HELP)
    .action(async (flags: RootFlag) => {
      process.exitCode = await prune(flags);
    });
}

interface CreateFlags extends RootFlag {
  driver?: string;
  label?: string[];
}

async function create(name: string | undefined, flags: CreateFlags): Promise<number> {
  const [{ fail }, { writeOut }, { rootOf }, { parseLabels }, { createVolume }, { newId }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/flag-parsers.js'),
    import('../runtime/volumes.js'),
    import('../runtime/state-root.js'),
  ]);
  if (flags.driver !== 'local') fail(`--driver ${flags.driver}: minidock has the local driver only`);
  const labels = parseLabels(flags.label ?? [], []) ?? {};
  const n = name ?? newId(); // (Docker names an unnamed volume with 64 hex digits too)
  createVolume(rootOf(flags), n, labels); // (an existing one: nothing to do, as Docker's)
  writeOut(`${n}\n`);
  return 0;
}

async function ls(flags: RootFlag & { quiet?: boolean }): Promise<number> {
  const [{ writeOut }, { rootOf }, { listVolumes }, { formatTable }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/volumes.js'),
    import('./format-table.js'),
  ]);
  const views = listVolumes(rootOf(flags));
  if (flags.quiet) writeOut(views.map((v) => `${v.name}\n`).join(''));
  else writeOut(formatTable([['DRIVER', 'VOLUME NAME'], ...views.map((v) => ['local', v.name])]));
  return 0;
}

/** Docker's layout of `volume inspect`, and the containers that use it (UsedBy: minidock's own). */
function inspectJson(v: VolumeView): Record<string, unknown> {
  return {
    CreatedAt: v.createdAt,
    Driver: 'local',
    Labels: v.labels,
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: null,
    Scope: 'local',
    UsedBy: v.users.map((u) => u.name ?? u.id.slice(0, 12)),
  };
}

async function inspect(names: string[], flags: RootFlag): Promise<number> {
  const [{ writeOut }, { rootOf }, { findVolume, listVolumes }, { refFailed }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/volumes.js'),
    import('./container-lines.js'),
  ]);
  const root = rootOf(flags);
  const views = listVolumes(root);
  const out: Record<string, unknown>[] = [];
  let code = 0;
  for (const name of names) {
    try {
      out.push(inspectJson(findVolume(root, name, views)));
    } catch (err) {
      code = refFailed(err);
    }
  }
  writeOut(JSON.stringify(out, null, 2) + '\n');
  return code;
}

async function rm(names: string[], flags: RootFlag & { force?: boolean }): Promise<number> {
  const [{ writeOut }, { rootOf }, { listVolumes, removeVolume }, { refFailed }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/volumes.js'),
    import('./container-lines.js'),
  ]);
  const root = rootOf(flags);
  const views = listVolumes(root);
  let code = 0;
  for (const name of names) {
    if (flags.force && !views.some((v) => v.name === name)) continue;
    try {
      writeOut(`${removeVolume(root, name, views)}\n`);
    } catch (err) {
      code = refFailed(err);
    }
  }
  return code;
}

async function prune(flags: RootFlag): Promise<number> {
  const [{ writeOut }, { rootOf }, { pruneVolumes }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/volumes.js'),
  ]);
  const { removed, bytes } = pruneVolumes(rootOf(flags));
  const size =
    bytes < 1024
      ? `${bytes}B`
      : bytes < 1 << 20
        ? `${(bytes / 1024).toFixed(1)}kB`
        : `${(bytes / (1 << 20)).toFixed(1)}MB`;
  writeOut(
    removed.length
      ? `Deleted Volumes:\n${removed.map((n) => n + '\n').join('')}\nTotal reclaimed space: ${size}\n`
      : 'Total reclaimed space: 0B\n',
  );
  return 0;
}
