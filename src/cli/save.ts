// `minidock save IMAGE... -o FILE`: images as a `docker save` archive (saveImages() in
// src/image/save.ts), for `docker load`, `podman load` or `minidock load`.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('save')
    .description(
      'save images to a tar archive in docker-save format (docker load / podman load / minidock load read it)',
    )
    .argument('<image...>', 'NAME[:TAG], image ID or ID prefix')
    .helpOption('--help', 'display help for save')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await save(refs, flags);
    });
}

async function save(refs: string[], flags: { root?: string; output?: string }): Promise<number> {
  const [{ fail }, { writeErr }, { stateRoot }, { saveImages }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/state-root.js'),
    import('../image/save.js'),
  ]);
  if (!flags.output && process.stdout.isTTY)
    fail('save: refusing to write a tar archive to a terminal — redirect it (> images.tar) or use -o FILE');
  if (flags.output === '') fail('save: -o needs a file name');
  // stdout: reopened through /proc, a blocking write end of whatever it is (a pipe, a file)
  const saved = saveImages(stateRoot(flags.root), refs, flags.output ?? '/proc/self/fd/1');
  for (const s of saved)
    if (s.changedId)
      writeErr(
        `${s.ref}: saved as ${s.id.slice(7, 19)}: its layers were imported from another tool's tars, and written again they have other bytes, so other diff IDs and another image ID\n`,
      );
  return 0;
}
