// Start containers that exist (minidock start), made by create or by an earlier run: from the spec
// their config.json records, with the same ID, name, upper layer (what a run wrote is still there)
// and log (appended). Detached under the C monitor as run -d is (startOne); -i in the foreground
// as run -i is (startAttachedStdin). The monitor's restart policy comes back here too: it execs
// `minidock start --relaunch ID`, which is relaunchOne.
import { MinidockError } from '../../errors.js';
import { gcEntries } from '../container-store/gc.js';
import { displayName, entryOf } from '../container-store/listing.js';
import { lockContainer, unlockContainer } from '../container-store/locks.js';
import { specFromStored, writeState, type Entry } from '../container-store/records.js';
import { effectiveStatus, isStale } from '../container-store/staleness.js';
import { launch, launchDetached, type LaunchOutcome } from '../launch.js';
import { clearManuallyStopped, isManuallyStopped } from '../restart-policy.js';
import type { ContainerSpec } from '../spec.js';
import { Timeline } from '../trace.js';

/** How long start waits for the container's lock: a launch or an rm holds it for a moment. */
const LOCK_WAIT_MS = 15_000;

export interface StartOptions {
  timeline?: Timeline;
  onNotice?: (line: string) => void;
}

/**
 * Under the container's lock (the launch releases it once the container runs): `act` with the
 * container as it is now, or undefined when it already runs (Docker: starting a running container
 * does nothing). One whose keeper died is settled first, as stop and gc settle it (its cgroups go).
 */
async function withStartable<T>(
  root: string,
  found: Entry,
  ref: string,
  act: (e: Entry, spec: ContainerSpec) => Promise<T>,
): Promise<T | undefined> {
  if (isStale(found)) gcEntries(root, [found]);
  if (!lockContainer(found.dir, LOCK_WAIT_MS)) {
    if (!entryOf(root, found.id)) throw new MinidockError(`no such container: ${ref} (see minidock ps -a)`, 1);
    throw new MinidockError(`container ${ref}: another minidock is creating or removing it — try again`, 1);
  }
  try {
    const e = entryOf(root, found.id);
    if (!e?.config) throw new MinidockError(`no such container: ${ref} (see minidock ps -a)`, 1);
    const status = effectiveStatus(e);
    if (status === 'running' || status === 'restarting') return undefined;
    if (status === 'unknown')
      throw new MinidockError(`cannot start container ${ref}: ${e.stateError} (minidock rm -f removes it)`, 1);
    clearManuallyStopped(e.dir); // a manual start clears a manual stop, as in Docker
    return await act(e, specFromStored(e.config.spec));
  } finally {
    unlockContainer(found.dir);
  }
}

/** Start one container detached, under a new monitor. False: it was running already. */
export async function startOne(root: string, found: Entry, opts: StartOptions = {}, ref = displayName(found)) {
  const launched = await withStartable(root, found, ref, async (e, spec) => {
    // detached: with -i (and no -t) the monitor keeps its stdin open for attach, as with run -d -i;
    // a pty (-t) is the monitor's, as with run -d -t, and no stdin then
    await launchDetached(
      { ...spec, interactive: spec.interactive && !spec.tty, ttySize: undefined },
      {
        root,
        timeline: opts.timeline ?? new Timeline(),
        autoRemove: !!e.config?.autoRemove,
        existing: e,
        onNotice: opts.onNotice,
      },
    );
    return true;
  });
  return launched ?? false;
}

/**
 * start -i: in the foreground, as `run -i` runs (the same launch: stdin relayed, the terminal with
 * -t, signals forwarded, the exit status). No monitor looks after this run, so no restart policy
 * either. Undefined: it was running already.
 */
export async function startAttachedStdin(
  root: string,
  found: Entry,
  opts: StartOptions = {},
  ref = displayName(found),
): Promise<LaunchOutcome | undefined> {
  return withStartable(root, found, ref, (e, spec) => {
    const ttySize =
      spec.tty && process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined;
    return launch(
      { ...spec, ttySize },
      {
        root,
        timeline: opts.timeline ?? new Timeline(),
        autoRemove: !!e.config?.autoRemove,
        existing: e,
        onNotice: opts.onNotice,
      },
    );
  });
}

/**
 * The restart policy's next run: the monitor of the last one became this process (execve: same
 * pid and start time, so state.json's keeper never looked gone) after its back-off. Launched as a
 * start is, with the count and the back-off carried on; a stop or rm that came meanwhile wins. A
 * launch that fails leaves the container exited with the reason (inspect's State.Error).
 */
export async function relaunchOne(root: string, id: string): Promise<void> {
  const found = entryOf(root, id);
  if (!found || !lockContainer(found.dir, LOCK_WAIT_MS)) return; // removed meanwhile (rm holds the lock)
  let e: Entry | undefined;
  try {
    e = entryOf(root, id);
    if (!e?.config || e.state?.status !== 'restarting') return; // settled by someone else
    const { launcherPid, launcherStart, monitorPid, monitorStart, ...last } = e.state;
    if (isManuallyStopped(e.dir)) return writeState(e.dir, { ...last, status: 'exited' });
    await launchDetached(specFromStored(e.config.spec), {
      root,
      timeline: new Timeline(),
      existing: e,
      restarts: { count: e.state.restartCount ?? 0, lastDelayMs: e.state.restartDelayMs },
    });
  } catch (err) {
    if (e?.state) {
      const { launcherPid, launcherStart, monitorPid, monitorStart, ...last } = e.state;
      writeState(e.dir, {
        ...last,
        status: 'exited',
        error: `restart ${last.restartCount ?? 0}: ${(err as Error).message}`,
      });
    }
  } finally {
    unlockContainer(found.dir);
  }
}
