// `minidock rm [-f] ID...` — commander wiring only; see src/runtime/lifecycle/rm.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('rm')
    .description('remove containers (a running one only with -f)')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('-f, --force', 'kill a running container first')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      const { rm } = await import('../runtime/lifecycle/rm.js');
      process.exitCode = await rm(refs, flags);
    });
}
