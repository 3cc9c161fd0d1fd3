// Change a container's limits (minidock update): a running container's cgroup files are rewritten
// live, through the drivers' own writes (updateCgroup: updateV1/updateV2), and the new limits are recorded in its
// config.json, so inspect shows them. The kernel applies each at once: a lower memory limit makes it
// reclaim the cgroup's pages down to it, and OOM-kill a process when it cannot; a lower pids limit
// refuses the next fork; a new CPU quota counts from the next period.
import { fail, MinidockError } from '../../errors.js';
import { updateCgroup } from '../cgroups/index.js';
import type { CgroupWrite } from '../cgroups/types.js';
import { parseLimits, type Limits } from '../limits.js';
import { displayName } from '../container-store/listing.js';
import { withLock } from '../container-store/locks.js';
import { readConfig, writeJsonAtomic, type Entry } from '../container-store/records.js';
import { pathIn } from '../state-root.js';
import { cgroupOf, isRunning } from './common.js';

export interface UpdateFlags {
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  cpuShares?: string;
  pidsLimit?: string;
}

/**
 * The limits the flags ask for, checked as `run` checks them (parseLimits), against what the container
 * has (`old`): --memory-swap alone keeps the memory limit; -m alone keeps an explicit swap limit (and
 * is refused above it, as Docker refuses it), and otherwise follows run's default, 2 x memory.
 */
export function limitsFromFlags(f: UpdateFlags, old: Limits): Limits {
  if (Object.values(f).every((v) => v === undefined))
    fail('update needs at least one of -m/--memory, --memory-swap, --cpus, --cpu-shares, --pids-limit');
  const memory = f.memory ?? (f.memorySwap !== undefined && old.memory !== undefined ? String(old.memory) : undefined);
  const l = parseLimits({
    memory,
    memorySwap: f.memorySwap,
    cpus: f.cpus,
    cpuShares: f.cpuShares,
    pidsLimit: f.pidsLimit,
  });
  if (f.memory !== undefined && f.memorySwap === undefined && old.memorySwap !== undefined && !old.memorySwapDefault) {
    if (old.memorySwap !== -1 && l.memory! > old.memorySwap) {
      fail(
        `-m ${f.memory}: above the container's --memory-swap (${old.memorySwap} bytes, memory plus swap); give a new --memory-swap with it`,
      );
    }
    l.memorySwap = old.memorySwap;
    delete l.memorySwapDefault;
  }
  return l;
}

/** Rewrite the container's limits (live when it runs) and record them; returns the cgroup writes made. */
export function updateContainer(root: string, e: Entry, f: UpdateFlags): CgroupWrite[] {
  const name = displayName(e);
  if (!e.config) throw new MinidockError(`container ${name} has no readable config.json: nothing to update`, 1);
  const change = limitsFromFlags(f, e.config.spec.limits ?? {});
  const writes: CgroupWrite[] = [];
  if (isRunning(e)) {
    const cg = cgroupOf(e);
    if (!cg)
      throw new MinidockError(
        `container ${name} has no cgroup (a rootless container without a delegated cgroup): its limits cannot change`,
        1,
      );
    updateCgroup(cg, change, writes);
  }
  // recorded under the state root's lock, on the config read again there (rename rewrites it too)
  withLock(root, () => {
    const c = readConfig(e.dir);
    if (!c) throw new MinidockError(`container ${name} is gone`, 1);
    c.spec.limits = { ...c.spec.limits, ...change };
    writeJsonAtomic(pathIn(e.dir, 'config.json'), c);
  });
  return writes;
}
