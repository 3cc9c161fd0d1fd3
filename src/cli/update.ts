// `minidock update [-m] [--memory-swap] [--cpus] [--cpu-shares] [--pids-limit] CONTAINER...`: new
// limits for containers, written live into a running one's cgroup (src/runtime/lifecycle/update.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';
import type { UpdateFlags } from '../runtime/lifecycle/update.js';

export function register(program: Command): void {
  program
    .command('update')
    .description("change containers' memory, CPU and pids limits (a running one's cgroup files are rewritten live)")
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('-m, --memory <bytes>', 'memory limit (e.g. 30M); a lower one reclaims at once, OOM-kills when it cannot')
    .option('--memory-swap <bytes>', 'memory plus swap (-1: unlimited swap)')
    .option('--cpus <n>', 'CPU quota in CPUs (e.g. 0.5)')
    .option('--cpu-shares <n>', 'relative CPU weight (2-262144, default 1024)')
    .option('--pids-limit <n>', 'maximum number of processes (-1: unlimited)')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await update(refs, flags);
    });
}

async function update(refs: string[], flags: UpdateFlags & RootFlag): Promise<number> {
  const [{ rootOf }, { updateContainer }, { eachContainer }] = await Promise.all([
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/update.js'),
    import('./container-lines.js'),
  ]);
  const { root, ...limits } = flags;
  return eachContainer(rootOf({ root }), refs, (entry, ref) => {
    updateContainer(rootOf({ root }), entry, limits);
    return ref; // Docker prints each container's name as given
  });
}
