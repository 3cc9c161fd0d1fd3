// `minidock rmi IMAGE...`: untag or remove images (removeImage, src/image/remove.ts), then delete
// the layers nothing uses any more.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('rmi')
    .description('remove images (a NAME untags; an ID removes the image); unused layers are deleted')
    .argument('<image...>', 'NAME[:TAG], image ID or ID prefix')
    .helpOption('--help', 'display help for rmi')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: { root?: string }) => {
      process.exitCode = await rmi(refs, flags);
    });
}

async function rmi(refs: string[], flags: { root?: string }): Promise<number> {
  const [{ stateRoot }, { gcLayers }, { removeImage }, { refFailed }] = await Promise.all([
    import('../runtime/state-root.js'),
    import('../image/store.js'),
    import('../image/remove.js'),
    import('./container-lines.js'),
  ]);
  const root = stateRoot(flags.root);
  let code = 0;
  for (const ref of refs) {
    try {
      const { untagged, deleted } = removeImage(root, ref);
      for (const n of untagged) process.stdout.write(`Untagged: ${n}\n`);
      if (deleted) process.stdout.write(`Deleted: ${deleted}\n`);
    } catch (err) {
      code = refFailed(err);
    }
  }
  for (const l of gcLayers(root)) process.stdout.write(`Deleted layer: ${l}\n`);
  return code;
}
