// cgroups behind one interface: detect v1 or v2 from /proc/self/mountinfo, then create, open, list.
// See docs/cgroups.md for what each driver writes and why.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Limits } from '../limits.js';
import { detectCgroups } from './detect.js';
import type { Cgroup, CgroupfsMount, CgroupOptions, CgroupWrite } from './types.js';
import { readNumber } from './util.js';
import { createV1, listV1, openV1, openV1At, updateV1 } from './v1.js';
import { createV2, listV2, openV2, openV2At, updateV2 } from './v2.js';

export type {
  Cgroup,
  CgroupDetection,
  CgroupfsMount,
  CgroupFsOps,
  CgroupMode,
  CgroupMounts,
  CgroupOptions,
  CgroupStats,
  CgroupWrite,
  V1Hierarchy,
  V2Mount,
} from './types.js';
export { detectCgroups, parseMountinfo, parseSelfCgroup } from './detect.js';

/**
 * Create the container's cgroup under the caller's own cgroup (per hierarchy, from /proc/self/cgroup;
 * on v2 as a leaf sibling of it, see docs/cgroups.md) or under opts.parent, and write the limits.
 * On any failure it removes what it created and throws a MinidockError.
 */
export function createCgroup(name: string, limits: Limits, opts: CgroupOptions = {}): Cgroup {
  const detected = detectCgroups(opts);
  return detected.mode === 'v1' ? createV1(name, limits, detected, opts) : createV2(name, limits, detected, opts);
}

/** What Cgroup.fsMounts will be for a container with these limits, without creating anything (a dry createCgroup). */
export function plannedFsMounts(limits: Limits, opts: CgroupOptions = {}): CgroupfsMount[] {
  return createCgroup('minidock-planned', limits, { ...opts, dryRun: true }).fsMounts;
}

/** Re-open an existing cgroup by name (for stats and gc); undefined when it does not exist. */
export function openCgroup(name: string, opts: CgroupOptions = {}): Cgroup | undefined {
  const detected = detectCgroups(opts);
  return detected.mode === 'v1' ? openV1(name, detected, opts) : openV2(name, detected, opts);
}

/** Re-open a container's cgroup by the directories it recorded (state.json cgroupPaths), whichever
 * cgroup the caller is in (exec); undefined when none of them exists any more. */
export function openCgroupAt(paths: string[], opts: CgroupOptions = {}): Cgroup | undefined {
  const detected = detectCgroups(opts);
  if (detected.mode === 'v1') return openV1At(paths, detected, opts);
  return paths[0] === undefined ? undefined : openV2At(paths[0], opts);
}

/**
 * Write `change` into a live cgroup through the drivers' own writes (minidock update, and
 * minidock-oci update); only what `change` gives is written. Returns the writes made.
 */
export function updateCgroup(cg: Cgroup, change: Limits, writes: CgroupWrite[] = []): CgroupWrite[] {
  if (cg.mode === 'v2') {
    updateV2(cg.v2Dir!, change, writes);
    return writes;
  }
  const detected = detectCgroups();
  // v1 refuses a memory limit above memory+swap (EINVAL): when raising past the current
  // memory.memsw.limit_in_bytes, the swap limit is written first
  const memsw = cg.paths.map((d) => readNumber(join(d, 'memory.memsw.limit_in_bytes'))).find((n) => n !== undefined);
  if (change.memory !== undefined && change.memorySwap !== undefined && memsw !== undefined && change.memory > memsw) {
    const swapFirst = { memorySwap: change.memorySwap, memorySwapDefault: change.memorySwapDefault };
    updateV1(cg.paths, swapFirst, detected, writes);
    updateV1(cg.paths, { ...change, memorySwap: undefined }, detected, writes);
  } else updateV1(cg.paths, change, detected, writes);
  return writes;
}

/** Names of existing cgroups under the parent that start with prefix (v1: union over the hierarchies used). */
export function listCgroups(prefix: string, opts: CgroupOptions = {}): string[] {
  const detected = detectCgroups(opts);
  return detected.mode === 'v1' ? listV1(prefix, detected, opts) : listV2(prefix, detected, opts);
}

/** The mount points of every cgroup hierarchy (v1) and of the cgroup2 tree; none without cgroups. */
export function cgroupMountPoints(): string[] {
  try {
    const detected = detectCgroups();
    return [
      ...new Set([
        ...detected.mounts.v1.map((h) => h.mountPoint),
        ...(detected.mounts.v2 ? [detected.mounts.v2.mountPoint] : []),
      ]),
    ];
  } catch {
    return [];
  }
}

/**
 * Every directory under every cgroup mount (not the mounts themselves), at most maxDepth levels down,
 * each after the directories below it: the order rmdir needs. For the leak checks of the benchmark
 * and the tests.
 */
export function allCgroupDirs(maxDepth = 8): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > maxDepth) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // gone meanwhile
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      walk(`${dir}/${e.name}`, depth + 1);
      out.push(`${dir}/${e.name}`);
    }
  };
  for (const m of cgroupMountPoints()) walk(m, 0);
  return out;
}
