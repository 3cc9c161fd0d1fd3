// Pause and unpause a running container (minidock pause/unpause): its cgroup's freezer stops every
// process of it at once and lets them go again (src/runtime/cgroups/freezer.ts says how, v1 and v2).
// Whether it is paused is read from the kernel each time, never recorded: ps and inspect ask the
// freezer, so a state.json can never say "paused" of a container that is not.
import { MinidockError } from '../../errors.js';
import { freeze, freezerState, thaw } from '../cgroups/freezer.js';
import type { Cgroup } from '../cgroups/index.js';
import { displayName } from '../container-store/listing.js';
import type { Entry } from '../container-store/records.js';
import { cgroupOf, isRunning } from './common.js';
import { journal } from './events.js';

/** Is the container running with every process frozen? */
export function isPaused(e: Entry): boolean {
  if (!isRunning(e)) return false;
  const cg = cgroupOf(e);
  return cg !== undefined && freezerState(cg) === 'FROZEN';
}

/** The running container's cgroup, or one line saying why there is none. */
function runningCgroup(e: Entry, verb: string): Cgroup {
  const name = displayName(e);
  if (!isRunning(e))
    throw new MinidockError(
      `container ${name} is not running: only a running container can be ${verb}d (minidock ps -a shows its state)`,
      1,
    );
  const cg = cgroupOf(e);
  if (!cg)
    throw new MinidockError(
      `container ${name} has no cgroup (a rootless container without a delegated cgroup cannot be ${verb}d): the freezer works on a cgroup`,
      1,
    );
  return cg;
}

/** Freeze every process of the container; a paused one is refused, as in Docker. */
export function pauseContainer(e: Entry): void {
  const cg = runningCgroup(e, 'pause');
  if (freezerState(cg) === 'FROZEN')
    throw new MinidockError(`container ${displayName(e)} is already paused (minidock unpause ${displayName(e)})`, 1);
  freeze(cg);
  journal(e, 'pause');
}

/** Thaw every process of the container; one that is not paused is refused, as in Docker. */
export function unpauseContainer(e: Entry): void {
  const cg = runningCgroup(e, 'unpause');
  const st = freezerState(cg);
  if (st !== 'FROZEN' && st !== 'FREEZING') throw new MinidockError(`container ${displayName(e)} is not paused`, 1);
  thaw(cg);
  journal(e, 'unpause');
}
