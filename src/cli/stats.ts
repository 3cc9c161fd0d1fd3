// `minidock stats [--no-stream] [ID...]` — commander wiring only; see src/runtime/lifecycle/stats.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('stats')
    .description('memory, CPU and pids of running containers, from their cgroups (live, or once with --no-stream)')
    .argument('[container...]', 'container IDs (or unique prefixes) or names (default: all running)')
    .option('--no-stream', 'print one sample and exit')
    .option('--format <fmt>', 'table (default) or json (with --no-stream)')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      const { stats } = await import('../runtime/lifecycle/stats.js');
      process.exitCode = await stats(refs, flags);
    });
}
