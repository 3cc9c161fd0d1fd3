// `minidock stop [-t SECS] ID...` — commander wiring only; see src/runtime/lifecycle/stop.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('stop')
    .description('stop containers: SIGTERM, then SIGKILL after the grace period')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('-t, --time <secs>', 'seconds to wait before SIGKILL (default: the container\'s --stop-timeout, 10)')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      const { stop } = await import('../runtime/lifecycle/stop.js');
      process.exitCode = await stop(refs, flags);
    });
}
