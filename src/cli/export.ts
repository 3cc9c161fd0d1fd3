// `minidock export CONTAINER > fs.tar` — commander wiring only; see src/image/export.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('export')
    .description("write a kept container's filesystem (its writes over its image or rootfs) as a tar")
    .argument('<container>', 'container ID, ID prefix or name')
    .helpOption('--help', 'display help for export')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, flags: Record<string, unknown>) => {
      const { exportCommand } = await import('../image/export.js');
      process.exitCode = await exportCommand(ref, flags);
    });
}
