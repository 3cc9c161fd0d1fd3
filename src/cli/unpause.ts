// `minidock unpause ID...`: resume every process of paused containers, one after the other
// (src/runtime/lifecycle/pause.ts; the freezer itself: src/runtime/cgroups/freezer.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('unpause')
    .description('resume every process of paused containers')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await unpause(refs, flags);
    });
}

async function unpause(refs: string[], flags: RootFlag): Promise<number> {
  const [{ rootOf }, { unpauseContainer }, { eachContainer }] = await Promise.all([
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/pause.js'),
    import('./container-lines.js'),
  ]);
  return eachContainer(rootOf(flags), refs, (entry, ref) => {
    unpauseContainer(entry);
    return ref;
  });
}
