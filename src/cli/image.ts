// `minidock image inspect IMAGE...`: Docker's image JSON (inspectImage() in src/image/describe.ts),
// one array for all the images named, as `docker image inspect` prints it.
import type { Command } from 'commander';

export function register(program: Command): void {
  const image = program
    .command('image')
    .description('manage images: image inspect (see also images, import, load, save, tag, history, rmi)')
    .helpOption('--help', 'display help for image');
  image
    .command('inspect')
    .description('show images as JSON: ID, names, config, layers and where they are on disk')
    .argument('<image...>', 'NAME[:TAG], image ID or ID prefix')
    .helpOption('--help', 'display help for image inspect')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: { root?: string }) => {
      process.exitCode = await inspect(refs, flags);
    });
}

async function inspect(refs: string[], flags: { root?: string }): Promise<number> {
  const [{ writeOut, writeErr }, { stateRoot }, { findImage }, { inspectImage }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/state-root.js'),
    import('../image/store.js'),
    import('../image/describe.js'),
  ]);
  const root = stateRoot(flags.root);
  const out: Record<string, unknown>[] = [];
  let code = 0;
  for (const ref of refs) {
    const img = findImage(root, ref);
    if (img) out.push(inspectImage(root, img));
    else {
      writeErr(`minidock: image inspect: no such image: ${ref} (see minidock images)\n`);
      code = 1;
    }
  }
  writeOut(`${JSON.stringify(out, null, 4)}\n`);
  return code;
}
