// `minidock logs [-f] [--tail N] [-t] ID` — commander wiring only; see src/runtime/lifecycle/logs.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('logs')
    .description('print the output of a detached container')
    .argument('<container>', 'container ID (or unique prefix) or name')
    .option('-f, --follow', 'keep printing new output until the container exits')
    .option('-n, --tail <n>', 'only the last N lines (or all)')
    .option('-t, --timestamps', 'prefix each line with its time (RFC 3339)')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, flags: Record<string, unknown>) => {
      const { logs } = await import('../runtime/lifecycle/logs.js');
      process.exitCode = await logs(ref, flags);
    });
}
