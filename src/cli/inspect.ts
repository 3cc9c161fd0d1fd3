// `minidock inspect ID...` — commander wiring only; see src/runtime/lifecycle/inspect.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('print what minidock knows about containers, as JSON')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      const { inspect } = await import('../runtime/lifecycle/inspect.js');
      process.exitCode = inspect(refs, flags);
    });
}
