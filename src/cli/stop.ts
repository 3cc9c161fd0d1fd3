// `minidock stop [-t SECS] ID...`: its stop signal (SIGTERM unless run --stop-signal), a grace
// period, then SIGKILL, for each container in parallel, reported in argument order (one container:
// stopOne, src/runtime/lifecycle/stop.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export interface StopFlags extends RootFlag {
  time?: string;
}

export function register(program: Command): void {
  program
    .command('stop')
    .description(
      'stop containers: their stop signal (SIGTERM unless run --stop-signal), then SIGKILL after the grace period',
    )
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('-t, --time <secs>', "seconds to wait before SIGKILL (default: the container's --stop-timeout, 10)")
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await stop(refs, flags);
    });
}

async function stop(refs: string[], flags: StopFlags): Promise<number> {
  const [{ MinidockError }, { writeOut }, { listEntries, resolve }, { rootOf }, { stopOne }, { refFailed }] =
    await Promise.all([
      import('../errors.js'),
      import('../sys/output.js'),
      import('../runtime/container-store/listing.js'),
      import('../runtime/lifecycle/common.js'),
      import('../runtime/lifecycle/stop.js'),
      import('./container-lines.js'),
    ]);
  const root = rootOf(flags);
  const entries = listEntries(root);
  let code = 0;
  // several containers stop in parallel, as in Docker; each job settles to its error (or none)
  const jobs = refs.map(async (ref): Promise<unknown> => {
    try {
      const e = resolve(root, ref, entries);
      const grace = flags.time !== undefined ? Number(flags.time) : (e.config?.spec.stopTimeoutSec ?? 10);
      if (!Number.isFinite(grace) || grace < 0)
        throw new MinidockError(`-t ${flags.time}: use a number of seconds ≥ 0`, 125);
      await stopOne(root, e, grace);
      return undefined;
    } catch (err) {
      return err ?? new Error('stop failed');
    }
  });
  // ... and are reported in argument order, as Docker prints them, whichever stopped first
  for (const [i, job] of jobs.entries()) {
    const err = await job;
    if (err === undefined) writeOut(refs[i] + '\n');
    else code = refFailed(err);
  }
  return code;
}
