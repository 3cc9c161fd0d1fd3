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
  const s: Sample = { id: e.id, name: displayName(e), at: performance.now() };
  for (const p of e.state?.cgroupPaths ?? []) {
    const f = (name: string): string | undefined => readOpt(posix.join(p, name));
    const v1mem = f('memory.usage_in_bytes');
    const v2mem = f('memory.current');
    if (v1mem !== undefined || v2mem !== undefined) {
      const stat = readKeyed(posix.join(p, 'memory.stat'));
      const inactive = stat?.get(v1mem !== undefined ? 'total_inactive_file' : 'inactive_file') ?? 0;
      const usage = Number(v1mem ?? v2mem);
      s.memUsage = Math.max(0, usage - inactive);
      const lim = (f('memory.limit_in_bytes') ?? f('memory.max'))?.trim();
      if (lim && lim !== 'max' && Number(lim) < V1_NO_LIMIT) s.memLimit = Number(lim);
    }
    const acct = f('cpuacct.usage');
    if (acct !== undefined) s.cpuUs = Number(acct) / 1000;
    else {
      const u = readKeyed(posix.join(p, 'cpu.stat'))?.get('usage_usec');
      if (u !== undefined) s.cpuUs = u;
    }
    const pids = f('pids.current');
    if (pids !== undefined) s.pids = Number(pids);
  }
  return s;
}

export function row(a: Sample, b: Sample): StatsRow {
  const limit = b.memLimit ?? totalmem(); // no limit: the host's memory, as Docker shows it
  const dt = (b.at - a.at) * 1000;
  return {
    id: b.id, name: b.name,
    cpuPercent: a.cpuUs !== undefined && b.cpuUs !== undefined && dt > 0 ? ((b.cpuUs - a.cpuUs) / dt) * 100 : undefined,
    memUsage: b.memUsage, memLimit: limit,
    memPercent: b.memUsage !== undefined ? (b.memUsage / limit) * 100 : undefined,
    pids: b.pids,
  };
}

/** The containers to watch: the named ones, or every running one. */
export function targets(root: string, refs: string[]): Entry[] {
  const entries = listEntries(root);
  if (refs.length) return refs.map((r) => resolve(root, r, entries));
  return entries.filter((e) => effectiveStatus(e) === 'running');
}

export async function sampleRows(list: Entry[], intervalMs: number): Promise<StatsRow[]> {
  const a = list.map(sample);
  await sleep(intervalMs);
  return list.map((e, i) => row(a[i], sample(e)));
}
