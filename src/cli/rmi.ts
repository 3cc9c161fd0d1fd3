// `minidock rmi IMAGE...` — commander wiring only; see src/image/commands.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('rmi')
    .description('remove images (a NAME untags; an ID removes the image); unused layers are deleted')
    .argument('<image...>', 'NAME[:TAG], image ID or ID prefix')
    .helpOption('--help', 'display help for rmi')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      const { rmiCommand } = await import('../image/commands.js');
      process.exitCode = rmiCommand(refs, flags);
    });
}
