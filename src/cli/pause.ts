// `minidock pause ID...`: pause every process of containers (the freezer cgroup), one after the other
// (src/runtime/lifecycle/pause.ts; the freezer itself: src/runtime/cgroups/freezer.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('pause')
    .description('pause every process of containers (the freezer cgroup)')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await pause(refs, flags);
    });
}

async function pause(refs: string[], flags: RootFlag): Promise<number> {
  const [{ rootOf }, { pauseContainer }, { eachContainer }] = await Promise.all([
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/pause.js'),
    import('./container-lines.js'),
  ]);
  return eachContainer(rootOf(flags), refs, (entry, ref) => {
    pauseContainer(entry);
    return ref;
  });
}
