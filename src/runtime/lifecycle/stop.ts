// minidock stop [-t SECS] ID...: SIGTERM, a grace period, then SIGKILL (PID 1 ignores SIGTERM
// unless it installed a handler: the kernel protects a namespace's init from signals it does not
// handle, so many containers only ever stop by SIGKILL).
import { MinidockError } from '../../errors.js';
import { gcEntries, isStale, listEntries, resolve, type Entry } from '../store.js';
import { isRunning, rootOf, signal, waitExit, refFailed, type RootFlag } from './common.js';
import { writeOut } from '../../sys/output.js';

export interface StopFlags extends RootFlag {
  time?: string;
}

export async function stopOne(root: string, e: Entry, graceSec: number): Promise<void> {
  if (!isRunning(e)) {
    // Nobody looks after it (its monitor died): what it left running is killed by its cgroups
    // (nothing could wait for a graceful exit), and it is recorded dead, as gc would.
    if (isStale(e)) gcEntries(root, [e]);
    return; // Docker: stopping a stopped container succeeds
  }
  signal(e, 15);
  const s = await waitExit(e, graceSec * 1000);
  if (s && s.status !== 'exited' && isRunning({ ...e, state: s })) {
    signal(e, 9);
    await waitExit(e, 10_000);
  }
}

export async function stop(refs: string[], flags: StopFlags): Promise<number> {
  const root = rootOf(flags);
  const entries = listEntries(root);
  let code = 0;
  const jobs = refs.map(async (ref) => {
    try {
      const e = resolve(root, ref, entries);
      const grace = flags.time !== undefined ? Number(flags.time) : e.config?.spec.stopTimeoutSec ?? 10;
      if (!Number.isFinite(grace) || grace < 0) throw new MinidockError(`-t ${flags.time}: use a number of seconds ≥ 0`, 125);
      await stopOne(root, e, grace);
      writeOut(ref + '\n');
    } catch (err) {
      code = refFailed(err);
    }
  });
  await Promise.all(jobs); // several containers stop in parallel, as in Docker
  return code;
}
