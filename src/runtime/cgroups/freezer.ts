// The freezer: every process of a cgroup stopped at once, and let go again (pause/unpause, and the
// OCI engine's pause/resume). A plain library call on a Cgroup: freeze(cg), thaw(cg), freezerState(cg).
//
// Unlike SIGSTOP, which a process can see (its parent gets SIGCHLD, `ps` shows T) and which PID 1 of
// a namespace ignores, the freezer takes the tasks off the run queue from the kernel's side: they sit
// in the refrigerator (state D, "frozen") and nothing inside can tell or object.
//
//   v1  <freezer hierarchy>/<cgroup>/freezer.state   write FROZEN or THAWED; reads FREEZING until
//       every task is stopped, then FROZEN. A task forked while freezing can slip through, so the
//       write is repeated until the file reads FROZEN (runc does the same). The container has a
//       cgroup in the freezer hierarchy for this (the v1 driver creates one, with no limit in it).
//   v2  <cgroup>/cgroup.freeze                        write 1 or 0; cgroup.events says "frozen 1" once
//       every task is stopped (kernel >= 5.2).
//
// A frozen task keeps its signals pending. On v2 a fatal signal (SIGKILL) still wakes it to die; on
// v1 it does not: the task must be thawed first, which is why `stop` thaws a paused container and
// killAndRemove (util.ts) thaws what it kills.
import { join } from 'node:path';
import { fail } from '../../errors.js';
import { readOpt } from '../../sys/read.js';
import { sleepSync } from '../../sys/sleep.js';
import { detectCgroups } from './detect.js';
import type { Cgroup, CgroupOptions } from './types.js';
import { writeFileStrict } from './util.js';

export type FreezerState = 'THAWED' | 'FREEZING' | 'FROZEN';

/** The cgroup's freezer directory: on v1 its directory in the freezer hierarchy, on v2 its own.
 * Throws one line when the host has no freezer or the container has no cgroup in it. */
export function freezerDir(cg: Cgroup, opts: CgroupOptions = {}): string {
  if (cg.mode === 'v2') {
    if (!cg.v2Dir || readOpt(join(cg.v2Dir, 'cgroup.freeze')) === undefined) {
      fail(`${cg.v2Dir ?? cg.name} has no cgroup.freeze: the cgroup v2 freezer needs Linux 5.2 or later`);
    }
    return cg.v2Dir;
  }
  const h = detectCgroups(opts).mounts.v1.find((m) => m.controllers.includes('freezer'));
  if (!h)
    fail(
      'no cgroup v1 hierarchy carries the freezer controller (see /proc/self/mountinfo): mount it, e.g. mount -t cgroup -o freezer cgroup /sys/fs/cgroup/freezer, then start the container again',
    );
  const dir = cg.paths.find((p) => p.startsWith(h.mountPoint + '/'));
  if (!dir)
    fail(
      `the container has no cgroup in the freezer hierarchy ${h.mountPoint} (it was started before minidock made one there, or before the hierarchy was mounted): start it again`,
    );
  return dir;
}

/** THAWED, FREEZING or FROZEN; undefined when the cgroup has no freezer (never throws: ps and inspect ask). */
export function freezerState(cg: Cgroup, opts: CgroupOptions = {}): FreezerState | undefined {
  let dir: string;
  try {
    dir = freezerDir(cg, opts);
  } catch {
    return undefined;
  }
  if (cg.mode === 'v1') {
    const s = readOpt(join(dir, 'freezer.state'))?.trim();
    return s === 'FROZEN' || s === 'FREEZING' || s === 'THAWED' ? s : undefined;
  }
  const want = readOpt(join(dir, 'cgroup.freeze'))?.trim();
  const frozen = /^frozen 1$/m.test(readOpt(join(dir, 'cgroup.events')) ?? '');
  if (want === undefined) return undefined;
  return frozen ? 'FROZEN' : want === '1' ? 'FREEZING' : 'THAWED';
}

/**
 * Freeze every process of the cgroup and wait until the kernel says all are stopped. A task that
 * cannot be frozen in time (stuck in uninterruptible I/O, say) makes it thaw everything again and
 * throw: a half-frozen container is worse than a running one.
 */
export function freeze(cg: Cgroup, timeoutMs = 5000, opts: CgroupOptions = {}): void {
  const dir = freezerDir(cg, opts);
  const [file, value] = cg.mode === 'v1' ? [join(dir, 'freezer.state'), 'FROZEN'] : [join(dir, 'cgroup.freeze'), '1'];
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    // (v1: written again each round, for a task forked while the others froze)
    if (cg.mode === 'v1' || delay === 1) writeFileStrict(file, value);
    if (freezerState(cg, opts) === 'FROZEN') return;
    if (Date.now() > deadline) {
      thaw(cg, opts);
      fail(
        `${file}: not every process of the container froze within ${timeoutMs} ms (one may be in uninterruptible sleep); the container was thawed again`,
      );
    }
    sleepSync(delay);
  }
}

/** Let every process of the cgroup run again (at once: the kernel thaws them all in one write). */
export function thaw(cg: Cgroup, opts: CgroupOptions = {}): void {
  const dir = freezerDir(cg, opts);
  if (cg.mode === 'v1') writeFileStrict(join(dir, 'freezer.state'), 'THAWED');
  else writeFileStrict(join(dir, 'cgroup.freeze'), '0');
}
