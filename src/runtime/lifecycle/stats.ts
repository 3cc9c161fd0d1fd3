// Samples for minidock stats: memory, CPU and pids of running containers, read straight from their
// cgroup files (no daemon keeps counters: the kernel does). The table and the live view: src/cli/.
//
// The paths come from state.json (cgroupPaths), so stats works whichever cgroup the container was
// created under. Per file, v1 and v2 differ only in names:
//   memory   v1 memory.usage_in_bytes / memory.limit_in_bytes    v2 memory.current / memory.max
//            minus inactive page cache (memory.stat total_inactive_file / inactive_file), as Docker
//   CPU      v1 cpuacct.usage (ns)                               v2 cpu.stat usage_usec
//   pids     pids.current                                        pids.current
// CPU % is the CPU time used between two samples over the wall time between them (100% = one CPU).
import { totalmem } from 'node:os';
import { posix } from 'node:path';
import { readKeyed, V1_NO_LIMIT } from '../cgroups/util.js';
import { readOpt } from '../../sys/read.js';
import { displayName, listEntries, resolve } from '../container-store/listing.js';
import type { Entry } from '../container-store/records.js';
import { effectiveStatus } from '../container-store/staleness.js';
import { sleep } from './common.js';

export interface Sample {
  id: string;
  name: string;
  memUsage?: number;
  memLimit?: number;
  cpuUs?: number;
  pids?: number;
  at: number; // ms, monotonic
}

export interface StatsRow {
  id: string;
  name: string;
  cpuPercent?: number;
  memUsage?: number;
  memLimit: number;
  memPercent?: number;
  pids?: number;
}

export function sample(e: Entry): Sample {
  const taken: Sample = { id: e.id, name: displayName(e), at: performance.now() };
  for (const dir of e.state?.cgroupPaths ?? []) {
    const cgroupFile = (name: string): string | undefined => readOpt(posix.join(dir, name));
    const v1mem = cgroupFile('memory.usage_in_bytes');
    const v2mem = cgroupFile('memory.current');
    if (v1mem !== undefined || v2mem !== undefined) {
      const stat = readKeyed(posix.join(dir, 'memory.stat'));
      const inactive = stat?.get(v1mem !== undefined ? 'total_inactive_file' : 'inactive_file') ?? 0;
      const usage = Number(v1mem ?? v2mem);
      taken.memUsage = Math.max(0, usage - inactive);
      const limit = (cgroupFile('memory.limit_in_bytes') ?? cgroupFile('memory.max'))?.trim();
      if (limit && limit !== 'max' && Number(limit) < V1_NO_LIMIT) taken.memLimit = Number(limit);
    }
    const acct = cgroupFile('cpuacct.usage');
    if (acct !== undefined) taken.cpuUs = Number(acct) / 1000;
    else {
      const usageUsec = readKeyed(posix.join(dir, 'cpu.stat'))?.get('usage_usec');
      if (usageUsec !== undefined) taken.cpuUs = usageUsec;
    }
    const pids = cgroupFile('pids.current');
    if (pids !== undefined) taken.pids = Number(pids);
  }
  return taken;
}

export function row(before: Sample, after: Sample): StatsRow {
  const limit = after.memLimit ?? totalmem(); // no limit: the host's memory, as Docker shows it
  const elapsedUs = (after.at - before.at) * 1000;
  return {
    id: after.id,
    name: after.name,
    cpuPercent:
      before.cpuUs !== undefined && after.cpuUs !== undefined && elapsedUs > 0
        ? ((after.cpuUs - before.cpuUs) / elapsedUs) * 100
        : undefined,
    memUsage: after.memUsage,
    memLimit: limit,
    memPercent: after.memUsage !== undefined ? (after.memUsage / limit) * 100 : undefined,
    pids: after.pids,
  };
}

/** The containers to watch: the named ones, or every running one. */
export function targets(root: string, refs: string[]): Entry[] {
  const entries = listEntries(root);
  if (refs.length) return refs.map((r) => resolve(root, r, entries));
  return entries.filter((e) => effectiveStatus(e) === 'running');
}

export async function sampleRows(list: Entry[], intervalMs: number): Promise<StatsRow[]> {
  const first = list.map(sample);
  await sleep(intervalMs);
  return list.map((e, i) => row(first[i], sample(e)));
}
