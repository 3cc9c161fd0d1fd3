// `minidock load [-i FILE]`: Docker's name for importing a `docker save` archive; the importer
// (importImage() in src/image/import.ts) reads it, and OCI layouts, as `minidock import` does.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('load')
    .description('load images from a docker-save (or OCI) tar archive, from a file or stdin')
    .helpOption('--help', 'display help for load')
    .option('-i, --input <file>', 'read from a tar archive file instead of stdin')
    .option('-q, --quiet', 'print only the loaded images, no progress')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      process.exitCode = await load(flags);
    });
}

async function load(flags: { root?: string; input?: string; quiet?: boolean }): Promise<number> {
  const [
    { fail },
    { existsSync, createWriteStream, rmSync },
    { pipeline },
    { stateRoot },
    { importImage },
    { scratch },
    { writeErr, writeOut },
  ] = await Promise.all([
    import('../errors.js'),
    import('node:fs'),
    import('node:stream/promises'),
    import('../runtime/state-root.js'),
    import('../image/import.js'),
    import('../image/store.js'),
    import('../sys/output.js'),
  ]);
  if (process.getuid?.() !== 0)
    fail(
      'load needs root: layers keep file owners, device nodes and overlayfs whiteouts (trusted.* xattrs), which only root can create',
    );
  const root = stateRoot(flags.root);
  if (flags.input !== undefined && !existsSync(flags.input))
    fail(`load: ${flags.input || '(empty name)'}: no such file — give the archive docker save / minidock save wrote`);
  if (flags.input === undefined && process.stdin.isTTY)
    fail('load: no archive on stdin — give one with -i FILE or < FILE');
  let file = flags.input;
  let tmp: string | undefined;
  if (file === undefined) {
    // the importer reads a file twice (its members, then their bodies): stdin is kept in the store's tmp/ first
    tmp = scratch(root, 'load-');
    file = `${tmp}/stdin.tar`;
    await pipeline(process.stdin, createWriteStream(file, { mode: 0o600 }));
  }
  try {
    const result = await importImage({ root, file, log: flags.quiet ? undefined : (line) => writeErr(line + '\n') });
    for (const image of result.images) {
      if (image.names.length) for (const n of image.names) writeOut(`Loaded image: ${n}\n`);
      else writeOut(`Loaded image ID: ${image.id}\n`);
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  return 0;
}
