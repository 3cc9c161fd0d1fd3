// `minidock kill [-s SIG] ID...`: one signal (default SIGKILL) to each container's first process
// (signal() in src/runtime/lifecycle/common.ts checks the pid against its start time first).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export interface KillFlags extends RootFlag {
  signal?: string;
}

export function register(program: Command): void {
  program
    .command('kill')
    .description("send a signal (default SIGKILL) to containers' first process")
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('-s, --signal <sig>', 'signal name or number', 'KILL')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await kill(refs, flags);
    });
}

async function kill(refs: string[], flags: KillFlags): Promise<number> {
  const [{ parseSignal, rootOf, signal }, { eachContainer }] = await Promise.all([
    import('../runtime/lifecycle/common.js'),
    import('./container-lines.js'),
  ]);
  const sig = parseSignal(flags.signal ?? 'KILL');
  return eachContainer(rootOf(flags), refs, (entry, ref) => {
    signal(entry, sig);
    return ref;
  });
}
