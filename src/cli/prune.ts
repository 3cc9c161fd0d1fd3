// `minidock prune`: remove every exited or dead container (pruneContainers, src/runtime/lifecycle/prune.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('prune')
    .description('remove all exited and dead containers')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      process.exitCode = await prune(flags);
    });
}

async function prune(flags: RootFlag): Promise<number> {
  const [{ writeOut }, { shortId }, { rootOf }, { pruneContainers }, { reportUnknown }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/container-store/listing.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/prune.js'),
    import('./container-lines.js'),
  ]);
  const { removed, unreadable } = await pruneContainers(rootOf(flags));
  reportUnknown(unreadable); // unknown ones are not pruned: they may run (rm -f decides)
  writeOut(
    removed.length ? `Deleted containers:\n${removed.map((id) => shortId(id) + '\n').join('')}` : 'Nothing to prune\n',
  );
  return 0;
}
