// The locks: the state root's (withLock, a flock on <rundir>/lock, around changes to the name
// registry and the network leases) and each container's (lockContainer, a flock on its directory,
// held while it is created or removed).
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { posix } from 'node:path';
import { MinidockError } from '../../errors.js';
import { mdFlock } from '../../sys/native.js';
import { sleepSync } from '../../sys/sleep.js';
import { DEFAULT_ROOT, onStateRoot } from '../state-root.js';

// <rundir> is /run/minidock for the default root (a tmpfs: gone at reboot, as a lock should be), and
// <root>/run for any other root, so that a test's private root shares nothing with the host's.
export function runDir(root: string): string {
  return root === DEFAULT_ROOT ? '/run/minidock' : posix.join(root, 'run');
}

// ---- the lock ----

/** Run fn while holding flock(LOCK_EX) on <rundir>/lock (changes to the name registry below). The
 * kernel drops the lock if we die. */
export function withLock<T>(root: string, fn: () => T): T {
  const dir = runDir(root);
  const file = posix.join(dir, 'lock');
  // (the directory is made when it is missing, the first use in this root: mkdirSync with recursive
  // costs a mkdir and a stat at every lock)
  const fd = onStateRoot(dir, () => {
    try {
      return openSync(file, 'a', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return openSync(file, 'a', 0o600);
    }
  });
  try {
    const r = mdFlock(fd, 2 /* LOCK_EX */);
    if (r < 0) throw new MinidockError(`flock(${file}): errno ${-r}`);
    return fn();
  } finally {
    closeSync(fd); // closing the last fd releases the lock
  }
}

// ---- the container lock ----
//
// A container being created or removed is locked: flock(LOCK_EX) on its directory itself (an fd
// opened O_DIRECTORY). The launch takes it on the staging directory before the directory becomes
// visible (a rename keeps the inode, and the lock with it) and holds it until the container runs;
// rm takes it before it kills and removes. So rm never pulls the directory or the cgroups from
// under a launch half-way (which failed in mount, in the cgroup join, or in a state.json write),
// and a second rm waits for the first and then finds nothing: "no such container". The kernel
// drops the lock when its holder dies, SIGKILL included; the file is the directory, so nothing is
// left behind. Readers (ps, inspect, ...) never take it.

const held = new Map<string, number>();

/** Lock the container directory `dir`; false when another process holds it (and `waitMs` passed)
 * or the directory is gone. Released by unlockContainer(dir) or by this process's exit. */
export function lockContainer(dir: string, waitMs = 0): boolean {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return false; // gone
  }
  const end = Date.now() + waitMs;
  for (;;) {
    const r = mdFlock(fd, 2 /* LOCK_EX */ | 4 /* LOCK_NB */);
    if (r === 0) break;
    if (r !== -11 /* EWOULDBLOCK */ || Date.now() >= end) {
      closeSync(fd);
      return false;
    }
    sleepSync(10);
  }
  held.set(dir, fd);
  return true;
}

/** Release the lock taken by lockContainer or createContainer (no-op when not held). LOCK_UN,
 * not just close: a child cloned before its exec holds a copy of the fd, and with it the lock. */
export function unlockContainer(dir: string): void {
  const fd = held.get(dir);
  if (fd === undefined) return;
  held.delete(dir);
  mdFlock(fd, 8 /* LOCK_UN */);
  closeSync(fd);
}

/** The lock held on `from` is now the lock of `to`: createContainer renamed the staging directory
 * it locked (a rename keeps the inode, and the flock with it). */
export function lockMoved(from: string, to: string): void {
  const fd = held.get(from);
  if (fd === undefined) return;
  held.set(to, fd);
  held.delete(from);
}
