// Is anyone still looking after a container? staleReason and its verdicts (isStale, isKept,
// effectiveStatus, deadReason). Only reads: what to do about a stale container is gc.ts's.
import { isProcess } from '../../sys/proc.js';
import { bootId, loadState, type ContainerState, type Entry, type Status } from './records.js';

/**
 * Why nobody looks after this container any more, or undefined while somebody does (exited and
 * dead ones are complete, not stale). Only reads: the caller decides what to do about it.
 */
export function staleReason(e: Entry): string | undefined {
  const s = e.state;
  if (e.stateError) return undefined; // unknown: it may be running; only rm -f decides
  if (!s) return 'no state.json'; // a directory without one is never left by a live minidock (see createContainer)
  if (s.status === 'exited' || s.status === 'dead') return undefined;
  // made by `create` and never started (or put back after a failed start): at rest, nobody's to keep
  if (s.status === 'created' && !s.launcherPid && !s.monitorPid) return undefined;
  if (s.bootId && s.bootId !== bootId()) return 'left from an earlier boot';
  const why = keeperGone(e, s);
  if (why === undefined) return undefined;
  // A keeper writes its last state.json and only then exits: the monitor its "exited" with the
  // exit code (monitor.c), a launcher the monitor's "running" before it goes. e.state may have been
  // read before that last write and the keeper found gone after it, which would call an exited
  // container dead (and gc would write "dead" over its exit code). Read after the keeper was seen
  // gone, state.json is final: the verdict is the one on that read.
  const now = loadState(e.dir);
  if (now.stateError) return undefined;
  if (!now.state) return why; // removed meanwhile, or never on disk
  if (now.state.status === 'exited' || now.state.status === 'dead') return undefined;
  return keeperGone(e, now.state);
}

/** Why the process recorded as looking after the container (its monitor, or the minidock launching
 * it) is gone, or undefined while it lives. */
function keeperGone(e: Entry, s: ContainerState): string | undefined {
  if (s.monitorPid) {
    if (isProcess(s.monitorPid, s.monitorStart)) return undefined;
    return e.config?.detached === false
      ? `the minidock running it in the foreground (pid ${s.monitorPid}) is gone; exit status unknown`
      : `its monitor (pid ${s.monitorPid}) is gone; exit status unknown`;
  }
  return isProcess(s.launcherPid, s.launcherStart)
    ? undefined
    : `the minidock that launched it (pid ${s.launcherPid}) is gone`;
}

export const isStale = (e: Entry): boolean => staleReason(e) !== undefined;

/**
 * Is this container the user's, to be kept until rm or prune whatever happened to its keeper? One
 * that ran, or was made by `create`, without --rm is (Docker keeps its dead containers, logs and
 * filesystem too). One whose launch never got as far as running, or that asked for --rm, is
 * garbage once stale: gc removes it.
 */
export function isKept(e: Entry): boolean {
  const s = e.state;
  return (!!s?.startedAt || !!e.config?.byCreate) && !s?.autoRemove && !e.config?.autoRemove;
}

/** The status to show: a running container whose monitor vanished is reported as dead. */
export function effectiveStatus(e: Entry): Status {
  if (e.stateError) return 'unknown';
  if (!e.state) return 'dead';
  return isStale(e) ? 'dead' : e.state.status;
}

/** Why a dead container is dead (recorded by gc, or seen now); undefined for any other. */
export function deadReason(e: Entry): string | undefined {
  return e.state?.status === 'dead' ? (e.state.error ?? 'unknown') : staleReason(e);
}
