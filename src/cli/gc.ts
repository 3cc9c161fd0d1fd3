// `minidock gc` — commander wiring only; see src/runtime/lifecycle/gc.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('gc')
    .description('clean up after dead keepers: kill and remove what is left in the cgroups of containers nobody looks after; one that ran without --rm stays, dead, until rm')
    .option('-q, --quiet', 'say nothing when there is nothing to remove')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      const { gc } = await import('../runtime/lifecycle/gc.js');
      process.exitCode = await gc(flags);
    });
}
