// `minidock prune` — commander wiring only; see src/runtime/lifecycle/prune.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('prune')
    .description('remove all exited and dead containers')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      const { prune } = await import('../runtime/lifecycle/prune.js');
      process.exitCode = await prune(flags);
    });
}
