// `minidock export CONTAINER > fs.tar`: the container's merged filesystem as a tar on stdout or in
// a file; the merge is exportLayers() in src/image/export.ts.
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
      process.exitCode = await exportVerb(ref, flags);
    });
}

async function exportVerb(ref: string, flags: { root?: string; output?: string }): Promise<number> {
  const [{ createWriteStream }, { fail }, { stateRoot }, { containerLayers, exportLayers }] = await Promise.all([
    import('node:fs'),
    import('../errors.js'),
    import('../runtime/state-root.js'),
    import('../image/export.js'),
  ]);
  const layers = containerLayers(stateRoot(flags.root), ref);
  if (!flags.output && process.stdout.isTTY)
    fail('export: refusing to write a tar archive to a terminal — redirect it (> fs.tar) or use -o FILE');
  const out = flags.output ? createWriteStream(flags.output, { mode: 0o600 }) : process.stdout;
  await exportLayers(layers, out);
  if (flags.output)
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return 0;
}
