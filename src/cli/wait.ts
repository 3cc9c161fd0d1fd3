// `minidock wait ID...`: block until each container exits, print its exit code (one container:
// waitContainer, src/runtime/lifecycle/wait.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('wait')
    .description('block until containers exit, then print their exit codes')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await wait(refs, flags);
    });
}

async function wait(refs: string[], flags: RootFlag): Promise<number> {
  const [{ rootOf }, { waitContainer }, { eachContainer }] = await Promise.all([
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/wait.js'),
    import('./container-lines.js'),
  ]);
  return eachContainer(rootOf(flags), refs, async (entry, ref) => `${await waitContainer(entry, ref)}`);
}
