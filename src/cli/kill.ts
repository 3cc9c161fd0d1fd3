// `minidock kill [-s SIG] ID...` — commander wiring only; see src/runtime/lifecycle/kill.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('kill')
    .description("send a signal (default SIGKILL) to containers' first process")
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('-s, --signal <sig>', 'signal name or number', 'KILL')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      const { kill } = await import('../runtime/lifecycle/kill.js');
      process.exitCode = kill(refs, flags);
    });
}
