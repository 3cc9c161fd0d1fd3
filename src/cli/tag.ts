// `minidock tag SOURCE TARGET`: one more name for an image (tagImage() in src/image/tag.ts); the
// name moves from any image that had it.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('tag')
    .description('give an image another name: REPOSITORY[:TAG] (the name moves from any image that had it)')
    .argument('<source>', 'NAME[:TAG], image ID or ID prefix')
    .argument('<target>', 'REPOSITORY[:TAG] (default tag: latest)')
    .helpOption('--help', 'display help for tag')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (source: string, target: string, flags: { root?: string }) => {
      const [{ stateRoot }, { tagImage }] = await Promise.all([
        import('../runtime/state-root.js'),
        import('../image/tag.js'),
      ]);
      tagImage(stateRoot(flags.root), source, target);
      process.exitCode = 0;
    });
}
