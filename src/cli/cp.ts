// `minidock cp SRC DEST`: files between the host and a container, running or stopped, one side
// CONTAINER:PATH (copy() in src/runtime/lifecycle/cp.ts; the container's paths never lead out of it).
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('cp')
    .description(
      'copy files between a container and the host: cp [-aL] CONTAINER:SRC DEST or cp [-aL] SRC CONTAINER:DEST (container symlinks resolve inside the container)',
    )
    .argument('<src>', 'a host path, or CONTAINER:PATH')
    .argument('<dest>', 'a host path, or CONTAINER:PATH')
    .helpOption('--help', 'display help for cp')
    .option('-a, --archive', 'archive mode: keep uid/gid')
    .option('-L, --follow-link', 'follow a symbolic link SRC names (inside the container for a container path)')
    .option('-q, --quiet', 'print nothing (the default too; Docker prints progress on a terminal)')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (src: string, dest: string, flags: { root?: string; archive?: boolean; followLink?: boolean }) => {
      const [{ fail }, { rootOf }, { copy }] = await Promise.all([
        import('../errors.js'),
        import('../runtime/lifecycle/common.js'),
        import('../runtime/lifecycle/cp.js'),
      ]);
      if (process.getuid?.() !== 0)
        fail(
          "cp needs root: it reads and writes the container's files as their owners, beneath /proc/PID/root or the overlay's layers",
        );
      copy(rootOf(flags), src, dest, { archive: flags.archive, followLink: flags.followLink });
      process.exitCode = 0;
    });
}
