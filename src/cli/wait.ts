// `minidock wait ID...` — commander wiring only; see src/runtime/lifecycle/wait.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('wait')
    .description('block until containers exit, then print their exit codes')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      const { wait } = await import('../runtime/lifecycle/wait.js');
      process.exitCode = await wait(refs, flags);
    });
}
