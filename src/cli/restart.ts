// `minidock restart [-t SECS] ID...`: stop (SIGTERM, the grace period, SIGKILL) then start again,
// detached, each container in turn (src/runtime/lifecycle/restart.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export interface RestartFlags extends RootFlag {
  time?: string;
}

export function register(program: Command): void {
  program
    .command('restart')
    .description('stop containers (SIGTERM, then SIGKILL after the grace period) and start them again')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('-t, --time <secs>', "seconds to wait before SIGKILL (default: the container's --stop-timeout, 10)")
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await restart(refs, flags);
    });
}

async function restart(refs: string[], flags: RestartFlags): Promise<number> {
  const [{ fail }, { writeErr }, { rootOf }, { restartOne }, { eachContainer }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/restart.js'),
    import('./container-lines.js'),
  ]);
  const time = flags.time === undefined ? undefined : Number(flags.time);
  if (time !== undefined && (!Number.isFinite(time) || time < 0)) fail(`-t ${flags.time}: use a number of seconds ≥ 0`);
  const root = rootOf(flags);
  return eachContainer(root, refs, async (entry, ref) => {
    await restartOne(root, entry, time ?? entry.config?.spec.stopTimeoutSec ?? 10, ref, {
      onNotice: (line) => writeErr(`minidock: ${line}\n`),
    });
    return ref;
  });
}
