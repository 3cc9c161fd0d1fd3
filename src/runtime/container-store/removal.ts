// Removing what a container left on the host: the processes in its cgroups and the cgroups
// (killLeftovers, cgroupDirsOf), its mounts, its directory (removeDir) — all at once: removeEverything.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { posix } from 'node:path';
import { mdRmtree } from '../../sys/native.js';
import { killAndRemove, realOps } from '../cgroups/util.js';
import { shortId } from './listing.js';
import { releaseName } from './names.js';
import type { Entry } from './records.js';

/** Mount points at or below dir in our mount namespace (a leak: the overlay is mounted in the container's). */
function mountsUnder(dir: string): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[4].replace(/\\040/g, ' '))
      .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(dir + '/'))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

/** Remove a container's directory (upper layer, log, state): in C, which takes a fraction of what
 * fs.rmSync's recursive walk takes; where that fails (a mount still going away: EBUSY), Node's walk
 * with retries, which throws if the directory cannot be removed. */
export function removeDir(dir: string): void {
  try {
    if (mdRmtree(dir) === 0) return;
  } catch {
    /* no native library: Node's walk below */
  }
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  } catch (e) {
    // a path through a file holds nothing to remove (a bad state root: its own error is the one to tell)
    if ((e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
  }
}

/**
 * Remove everything a container left on the host: its processes (by cgroup), cgroups, mounts, and
 * directory. Safe to call twice, and on a half-made container. Returns what it removed.
 */
export async function removeEverything(e: Entry): Promise<string[]> {
  const removed = killLeftovers(e, await cgroupDirsOf(e));
  const mounts = mountsUnder(e.dir);
  if (mounts.length) {
    const { spawnSync } = await import('node:child_process');
    for (const mountPoint of mounts) spawnSync('umount', ['-l', mountPoint]);
    removed.push(`${mounts.length} mount(s)`);
  }
  if (existsSync(e.dir)) {
    removeDir(e.dir);
    removed.push('directory');
  }
  releaseName(posix.dirname(posix.dirname(e.dir)), e.config?.name, e.id); // <root>/containers/<id>
  return removed;
}

/**
 * The container's cgroup directories: those its state.json records (before they are created, see
 * CreateOptions.cgroupPaths) or, when there is no state to read (unknown, missing), every
 * directory named after its ID, minidock-<short id>, anywhere in the cgroup trees: the name alone
 * finds them, whatever --cgroup-parent and whichever caller's own cgroup they were made under.
 */
export async function cgroupDirsOf(e: Entry): Promise<string[]> {
  if (e.state?.cgroupPaths) return e.state.cgroupPaths;
  const { allCgroupDirs } = await import('../cgroups/index.js'); // (a full walk: only here)
  const name = `/minidock-${shortId(e.id)}`;
  return allCgroupDirs().filter((d) => d.endsWith(name));
}

/**
 * What a stale container left alive: processes in its cgroups (SIGKILLed: nobody can reap or
 * reach them through a keeper any more; PR_SET_PDEATHSIG usually killed them already, but a
 * process that exec'd a setuid binary lost it) and the cgroup directories. Returns what it removed.
 */
export function killLeftovers(e: Entry, dirs = e.state?.cgroupPaths ?? []): string[] {
  const cg = dirs.filter((p) => existsSync(p));
  if (!cg.length) return [];
  killAndRemove(cg, realOps, false, 2000);
  return [`${cg.length} cgroup director${cg.length === 1 ? 'y' : 'ies'}`];
}
