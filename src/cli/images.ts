// `minidock images` — commander wiring only; see src/image/commands.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('images')
    .description('list imported images')
    .helpOption('--help', 'display help for images')
    .option('-q, --quiet', 'only image IDs')
    .option('--format <fmt>', 'table (default) or json')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      const { imagesCommand } = await import('../image/commands.js');
      process.exitCode = imagesCommand(flags);
    });
}
