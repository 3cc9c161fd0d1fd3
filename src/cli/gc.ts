// `minidock gc` — commander wiring only; see src/runtime/lifecycle/gc.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('gc')
    .description('remove what dead launches left: cgroups, mounts and directories of containers nobody looks after')
    .option('-q, --quiet', 'say nothing when there is nothing to remove')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      const { gc } = await import('../runtime/lifecycle/gc.js');
      process.exitCode = gc(flags);
    });
}
