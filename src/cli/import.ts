// `minidock import FILE [NAME[:TAG]]`: the flags, the progress lines and what was loaded; the
// import itself (formats, digests, the layer store) is importImage() in src/image/import.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('import')
    .description(
      'import an image: a rootfs tar (optionally gzip), a `docker save` archive, or an OCI image layout (directory or tar)',
    )
    .argument('<file>', 'the tar file or OCI layout directory')
    .argument('[name]', 'NAME[:TAG] for the image (default tag: latest)')
    .helpOption('--help', 'display help for import')
    .option(
      '--max-size <bytes>',
      'refuse archives that unpack to more than this (e.g. 2G; default 8G or $MINIDOCK_IMPORT_MAX_SIZE)',
    )
    .option('-q, --quiet', 'print only the result, no progress')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (file: string, name: string | undefined, flags: Record<string, unknown>) => {
      process.exitCode = await importVerb(file, name, flags);
    });
}

async function importVerb(
  file: string,
  name: string | undefined,
  flags: { root?: string; maxSize?: string; quiet?: boolean },
): Promise<number> {
  const [{ fail }, { stateRoot }, { DEFAULT_MAX_BYTES, parseSize }, { importImage }, { writeErr, writeOut }] =
    await Promise.all([
      import('../errors.js'),
      import('../runtime/state-root.js'),
      import('../image/source.js'),
      import('../image/import.js'),
      import('../sys/output.js'),
    ]);
  if (process.getuid?.() !== 0)
    fail(
      'import needs root: layers keep file owners, device nodes and overlayfs whiteouts (trusted.* xattrs), which only root can create',
    );
  const root = stateRoot(flags.root);
  const maxBytes =
    parseSize(flags.maxSize, '--max-size') ??
    parseSize(process.env.MINIDOCK_IMPORT_MAX_SIZE, '$MINIDOCK_IMPORT_MAX_SIZE') ??
    DEFAULT_MAX_BYTES;
  const startedAt = performance.now();
  const result = await importImage({
    root,
    file,
    name,
    maxBytes,
    log: flags.quiet ? undefined : (line) => writeErr(line + '\n'),
  });
  const reused = result.layers.filter((layer) => layer.reused).length;
  if (!flags.quiet) {
    writeErr(
      `${result.format}: ${result.images.length} image(s), ${result.layers.length} layer(s) (${result.layers.length - reused} unpacked, ${reused} shared) in ${(performance.now() - startedAt).toFixed(0)} ms\n`,
    );
  }
  for (const image of result.images) {
    if (image.names.length)
      for (const imageName of image.names) writeOut(`Loaded image: ${imageName} (${image.id.slice(7, 19)})\n`);
    else writeOut(`${image.id}\n`);
  }
  return 0;
}
