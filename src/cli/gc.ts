// `minidock gc`: clean up after keepers that died, and say what was collected (collectGarbage,
// src/runtime/lifecycle/gc.ts, does the work and says why each thing is garbage).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('gc')
    .description(
      'clean up after dead keepers: kill and remove what is left in the cgroups of containers nobody looks after; one that ran without --rm stays, dead, until rm',
    )
    .option('-q, --quiet', 'say nothing when there is nothing to remove')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      process.exitCode = await gc(flags);
    });
}

async function gc(flags: RootFlag & { quiet?: boolean }): Promise<number> {
  const [{ writeOut }, { shortId }, { rootOf }, { collectGarbage }, { reportUnknown }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/container-store/listing.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/gc.js'),
    import('./container-lines.js'),
  ]);
  const g = await collectGarbage(rootOf(flags));
  reportUnknown(g.unreadable); // left as they are
  for (const r of g.containers) {
    const who = `${shortId(r.id)}${r.name ? ` (${r.name})` : ''}`;
    if (r.kept)
      writeOut(
        `dead ${who}: ${r.why}; removed ${r.removed.join(', ') || 'nothing'}; kept until minidock rm (inspect, logs, export still work)\n`,
      );
    else writeOut(`removed ${who}: ${r.why}; ${r.removed.join(', ')}\n`);
  }
  for (const name of g.cgroups) writeOut(`removed cgroup ${name}: empty, and no container of it is left\n`);
  for (const name of g.names) writeOut(`released name ${name}: its container is gone\n`);
  for (const t of g.scratch) writeOut(`removed tmp/${t}: the process that made it is gone\n`);
  for (const l of g.layers) writeOut(`removed layer ${l}: no image uses it\n`);
  for (const n of g.network) writeOut(`released ${n}: its container no longer runs\n`);
  const nothing =
    !g.containers.length &&
    !g.cgroups.length &&
    !g.names.length &&
    !g.scratch.length &&
    !g.layers.length &&
    !g.network.length;
  if (nothing && !flags.quiet) writeOut('nothing to collect\n');
  return g.containers.some((r) => r.removed.some((x) => x.startsWith('failed'))) ? 1 : 0;
}
