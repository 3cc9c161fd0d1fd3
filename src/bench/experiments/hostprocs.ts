// Looking at containers from the host: find a container's process by its command line, read its
// memory cgroup, and add up the RSS/PSS of the engine's daemons and monitors.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroups } from '../../runtime/cgroups/index.js';

export interface Proc {
  pid: number;
  comm: string;
  cmdline: string;
}

export function listProcs(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out.push({
        pid: Number(d),
        comm: readFileSync(`/proc/${d}/comm`, 'utf8').trim(),
        cmdline: readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(),
      });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** "Rss:" and "Pss:" of /proc/PID/smaps_rollup, in kB. */
export function parseSmapsRollup(text: string): { rssKb: number; pssKb: number } {
  const get = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rssKb: get('Rss'), pssKb: get('Pss') };
}

export function memoryOf(pids: number[]): { rssKb: number; pssKb: number } {
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of pids) {
    try {
      const m = parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      rssKb += m.rssKb;
      pssKb += m.pssKb;
    } catch {
      /* gone */
    }
  }
  return { rssKb, pssKb };
}

/** The memory cgroup directory of a host pid, from /proc/PID/cgroup (v1 "N:memory:/path" or v2 "0::/path"). */
export function memoryCgroupDir(pid: number): string | undefined {
  try {
    const det = detectCgroups();
    const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
    if (det.mode === 'v1') {
      const h = det.mounts.v1.find((x) => x.controllers.includes('memory'));
      const path = lines.map((l) => l.split(':')).find((f) => f[1]?.split(',').includes('memory'))?.[2];
      return h && path ? join(h.mountPoint, path) : undefined;
    }
    const path = lines.find((l) => l.startsWith('0::'))?.slice(3);
    return det.mounts.v2 && path ? join(det.mounts.v2.mountPoint, path) : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes charged to a memory cgroup now (v1 memory.usage_in_bytes, v2 memory.current). */
export function cgroupMemory(dir: string): number | undefined {
  for (const f of ['memory.usage_in_bytes', 'memory.current']) {
    try {
      return Number(readFileSync(join(dir, f), 'utf8').trim());
    } catch {
      /* the other version */
    }
  }
  return undefined;
}
