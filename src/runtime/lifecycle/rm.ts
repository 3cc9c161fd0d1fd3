// minidock rm [-f] ID...: remove containers. A running one only with -f (SIGKILL first).
import { MinidockError } from '../../errors.js';
import { displayName, listEntries, removeEverything, resolve, type Entry } from '../store.js';
import { isRunning, rootOf, signal, waitExit, waitGone, type RootFlag } from './common.js';
import { writeErr, writeOut } from '../../sys/output.js';

export interface RmFlags extends RootFlag {
  force?: boolean;
}

/** Kill if running, let the monitor finish (it records the exit and removes the cgroup), then remove. */
export async function removeContainer(e: Entry, force: boolean): Promise<void> {
  if (isRunning(e)) {
    if (!force) throw new MinidockError(`cannot remove container ${displayName(e)}: it is running — stop it first (minidock stop ${displayName(e)}) or use rm -f`, 1);
    signal(e, 9);
    await waitExit(e, 10_000);
  }
  // a foreground minidock or the monitor may still be writing the final state: let it finish
  await waitGone(e.state?.monitorPid, e.state?.monitorStart, 5_000);
  await removeEverything(e);
}

export async function rm(refs: string[], flags: RmFlags): Promise<number> {
  const root = rootOf(flags);
  const entries = listEntries(root);
  let code = 0;
  for (const ref of refs) {
    try {
      await removeContainer(resolve(root, ref, entries), !!flags.force);
      writeOut(ref + '\n');
    } catch (err) {
      writeErr(`minidock: ${(err as Error).message}\n`);
      code = err instanceof MinidockError ? err.code : 1;
    }
  }
  return code;
}
