// Settling stale containers (gcEntries): what they left running is killed and removed; a kept one
// (the user's: isKept) is recorded as dead, any other removed. The verb is lifecycle/gc.ts.
import { readdirSync, rmSync } from 'node:fs';
import { posix } from 'node:path';
import { isProcess } from '../../sys/proc.js';
import { appendEvent, journaledRun } from '../lifecycle/events.js';
import { lockContainer, unlockContainer } from './locks.js';
import { releaseName } from './names.js';
import { containersDir, writeState, type Entry } from './records.js';
import { killLeftovers, removeDir } from './removal.js';
import { isKept, staleReason } from './staleness.js';

export interface GcReport {
  id: string;
  name?: string;
  why: string;
  removed: string[];
  /** the container is the user's (isKept): recorded as dead, its data left for rm */
  kept?: boolean;
}

/**
 * What `events` shows of a container gc settled, as rm and the monitor would have journaled it: the
 * die of a run whose end nobody journaled (its monitor, or the minidock that launched it, was
 * killed first; exitCode from state.json, else 137 when gc SIGKILLed what its cgroups held, else none), then the destroy
 * of one it removed.
 */
function journalSettled(root: string, e: Entry, removed: string[], kept: boolean): void {
  const gone = removed.includes('directory');
  if (!gone && !kept) return; // its settling failed: nothing changed
  if (journaledRun(root, e.id).dieMissing) {
    // (killLeftovers names the cgroup directories it emptied with SIGKILL and removed)
    const code = e.state?.exitCode ?? (removed.some((r) => r.includes('cgroup')) ? 137 : undefined);
    appendEvent(root, 'die', e, code === undefined ? {} : { exitCode: String(code) });
  }
  if (gone) appendEvent(root, 'destroy', e);
}

/**
 * Settle the stale containers among entries: kill and remove what they left running, then
 * record a kept one (isKept) as dead, with the reason, and keep its directory, log and upper
 * layer for inspect, logs, export and rm; remove any other (a launch that died half-way, or
 * --rm). Also removes staging directories of dead processes. Never touches exited or dead ones.
 */
export function gcEntries(root: string, entries: Entry[], locked = false): GcReport[] {
  const out: GcReport[] = [];
  for (const e of entries) {
    const why = staleReason(e);
    if (why === undefined) continue;
    const kept = isKept(e);
    // an rm at work on it holds its lock: leave it to that rm (a stale one has no launch holding it)
    if (!lockContainer(e.dir)) continue;
    // synchronous (no mounts expected in our namespace): claimName calls this while holding the lock
    const removed: string[] = [];
    try {
      removed.push(...killLeftovers(e));
      if (kept) {
        writeState(e.dir, { ...e.state!, status: 'dead', error: why });
      } else {
        removeDir(e.dir);
        removed.push('directory');
        releaseName(root, e.config?.name, e.id, locked);
      }
    } catch (err) {
      removed.push(`failed: ${(err as Error).message}`);
    } finally {
      unlockContainer(e.dir);
    }
    journalSettled(root, e, removed, kept);
    out.push({ id: e.id, name: e.config?.name, why, removed, kept });
  }
  // staging directories whose creator died between mkdir and rename
  try {
    for (const n of readdirSync(containersDir(root))) {
      const staging = /^\.new-(\d+)-(\d+|undefined)-([0-9a-f]{64})$/.exec(n); // .new-<pid>-<start>-<id>: see createContainer
      if (!staging || isProcess(Number(staging[1]), staging[2] === 'undefined' ? undefined : Number(staging[2])))
        continue;
      rmSync(posix.join(containersDir(root), n), { recursive: true, force: true });
      out.push({
        id: staging[3],
        why: 'half-created (its minidock died before the directory was complete)',
        removed: ['directory'],
      });
    }
  } catch {
    /* no containers dir */
  }
  return out;
}
