// `minidock ps [-a] [-q] [--format json]` — commander wiring only; see src/runtime/lifecycle/ps.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('ps')
    .description('list containers (running ones; -a for all)')
    .option('-a, --all', 'show all containers, also exited ones')
    .option('-q, --quiet', 'only IDs')
    .option('--format <fmt>', 'table (default) or json (one object per line)')
    .option('--no-trunc', 'full IDs and commands')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      const { ps } = await import('../runtime/lifecycle/ps.js');
      process.exitCode = ps({ ...flags, noTrunc: flags.trunc === false });
    });
}
