// `minidock import FILE [NAME[:TAG]]` — commander wiring only; see src/image/import.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('import')
    .description('import an image: a rootfs tar (optionally gzip), a `docker save` archive, or an OCI image layout (directory or tar)')
    .argument('<file>', 'the tar file or OCI layout directory')
    .argument('[name]', 'NAME[:TAG] for the image (default tag: latest)')
    .helpOption('--help', 'display help for import')
    .option('--max-size <bytes>', 'refuse archives that unpack to more than this (e.g. 2G; default 8G or $MINIDOCK_IMPORT_MAX_SIZE)')
    .option('-q, --quiet', 'print only the result, no progress')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (file: string, name: string | undefined, flags: Record<string, unknown>) => {
      const { importCommand } = await import('../image/import.js');
      process.exitCode = await importCommand(file, name, flags);
    });
}
