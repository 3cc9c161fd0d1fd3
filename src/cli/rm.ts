// `minidock rm [-f] ID...`: remove containers, a running one only with -f (one container, under
// its lock: removeContainer, src/runtime/lifecycle/rm.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export interface RmFlags extends RootFlag {
  force?: boolean;
  /** -v: the named volumes its launch created, unless another container uses them (volumes.ts) */
  volumes?: boolean;
}

export function register(program: Command): void {
  program
    .command('rm')
    .description('remove containers (a running one only with -f)')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('-f, --force', 'kill a running container first')
    .option('-v, --volumes', 'also remove the volumes its run created (-v NAME:/path, not `volume create` ones)')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await rm(refs, flags);
    });
}

async function rm(refs: string[], flags: RmFlags): Promise<number> {
  const [{ rootOf }, { removeContainer }, { eachContainer }] = await Promise.all([
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/rm.js'),
    import('./container-lines.js'),
  ]);
  const root = rootOf(flags);
  const volumes = flags.volumes ? await import('../runtime/volumes.js') : undefined;
  return eachContainer(root, refs, async (entry, ref) => {
    await removeContainer(root, entry, !!flags.force, ref);
    volumes?.removeCreatedVolumes(root, entry);
    return ref;
  });
}
