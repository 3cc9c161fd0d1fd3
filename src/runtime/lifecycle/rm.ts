// Remove one container (minidock rm): a running one only when forced (SIGKILL first).
import { existsSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import { procStart } from '../../sys/proc.js';
import { displayName, entryOf } from '../container-store/listing.js';
import { lockContainer, unlockContainer } from '../container-store/locks.js';
import type { Entry } from '../container-store/records.js';
import { cgroupDirsOf, killLeftovers, removeEverything } from '../container-store/removal.js';
import { markManuallyStopped } from '../restart-policy.js';
import { isStale } from '../container-store/staleness.js';
import { isRunning, monitorsOf, settleRestart, signal, waitExit, waitGone } from './common.js';
import { journal } from './events.js';

/** How long rm waits for the lock: a launch holds it until its container runs (milliseconds, a
 * few seconds on a loaded machine), another rm until it is done. */
const LOCK_WAIT_MS = 15_000;

/**
 * Remove one container, under its lock (see lockContainer in container-store/locks.ts): a launch still setting it
 * up finishes first, a second rm waits for the first and then finds it gone. Kill if running, let
 * the monitor finish (it records the exit and removes the cgroup), then remove.
 */
export async function removeContainer(
  root: string,
  found: Entry,
  force: boolean,
  ref = displayName(found),
): Promise<void> {
  const gone = (): MinidockError => new MinidockError(`no such container: ${ref} (see minidock ps -a)`, 1);
  if (found.state?.status === 'restarting' && !isStale(found)) {
    // between two runs of its restart policy: refused without -f (Docker); with -f its restart is
    // cancelled first (before the lock, which a relaunch under way holds until its run starts)
    if (!force)
      throw new MinidockError(
        `cannot remove container ${ref}: it is restarting — stop it first (minidock stop ${ref}) or use rm -f`,
        1,
      );
    markManuallyStopped(found.dir);
    await settleRestart(found);
  }
  if (!lockContainer(found.dir, LOCK_WAIT_MS)) {
    if (!existsSync(found.dir)) throw gone();
    throw new MinidockError(
      `container ${ref}: removal in progress (another minidock has held its lock for ${LOCK_WAIT_MS / 1000} s) — try again later`,
      1,
    );
  }
  try {
    const e = entryOf(root, found.id); // as it is now, under the lock
    if (!e) throw gone();
    if (e.stateError) {
      // Nobody can tell whether it runs: with -f, what is in its cgroups (found by its ID) is
      // killed, and its monitor (found by its directory) is let finish before the directory goes.
      if (!force)
        throw new MinidockError(
          `cannot remove container ${ref}: ${e.stateError}, so whether it runs is unknown — rm -f stops what is in its cgroups and removes it`,
          1,
        );
      killLeftovers(e, await cgroupDirsOf(e));
      for (const pid of monitorsOf(e.dir)) await waitGone(pid, procStart(pid), 5_000);
    } else if (isRunning(e)) {
      if (!force)
        throw new MinidockError(
          `cannot remove container ${displayName(e)}: it is running — stop it first (minidock stop ${displayName(e)}) or use rm -f`,
          1,
        );
      signal(e, 9);
      await waitExit(e, 10_000);
    }
    // a foreground minidock or the monitor may still be writing the final state: let it finish
    await waitGone(e.state?.monitorPid, e.state?.monitorStart, 5_000);
    // its network (a bridge's lease, ports, hosts lines): read from network.json, before the directory goes
    if (existsSync(`${e.dir}/network.json`)) (await import('../network/wiring.js')).releaseNetwork(root, e.id, e.dir);
    await removeEverything(e);
    journal(e, 'destroy');
  } finally {
    unlockContainer(found.dir);
  }
}
