// --stats: the numbers the cgroup kept about a container that ran in the foreground, as text or
// JSON (`minidock run --stats[=json]`, and the limits bench, which reads the JSON).
import type { LaunchOutcome } from '../runtime/launch.js';
import { mib } from '../runtime/oom-forensics.js';

export interface StatsData {
  exitCode: number;
  oomKilled: boolean;
  oomKills: number;
  memoryPeakBytes?: number;
  memoryLimitBytes?: number;
  memoryLimitHits?: number;
  cpuUserUs?: number;
  cpuSystemUs?: number;
  cpuUsageUs?: number;
  nrPeriods?: number;
  nrThrottled?: number;
  throttledUs?: number;
  pidsPeak?: number;
  pidsLimit?: number;
  pidsLimitHits?: number;
  cgroupMode?: string;
}

/** The numbers behind --stats (and the limits bench). */
export function statsData(o: LaunchOutcome): StatsData {
  const s = o.stats ?? {};
  return {
    exitCode: o.exitCode,
    oomKilled: o.oomKilled,
    oomKills: s.oomKills ?? 0,
    memoryPeakBytes: s.memoryPeakBytes,
    memoryLimitBytes: s.memoryLimitBytes,
    memoryLimitHits: s.memoryLimitHits,
    cpuUserUs: s.cpuUserUs,
    cpuSystemUs: s.cpuSystemUs,
    cpuUsageUs: s.cpuUsageUs,
    nrPeriods: s.nrPeriods,
    nrThrottled: s.nrThrottled,
    throttledUs: s.throttledUs,
    pidsPeak: s.pidsPeak,
    pidsLimit: s.pidsLimit,
    pidsLimitHits: s.pidsLimitHits,
    cgroupMode: o.cgroup?.mode,
  };
}

export function formatStats(o: LaunchOutcome, json: boolean): string {
  const d = statsData(o);
  if (json) return JSON.stringify(d);
  const ms = (us?: number): string => (us === undefined ? '?' : `${(us / 1000).toFixed(1)} ms`);
  const rows: Array<[string, string]> = [
    ['memory peak', `${mib(d.memoryPeakBytes)}${d.memoryLimitBytes ? ` of ${mib(d.memoryLimitBytes)} limit` : ''}`],
    ['OOM kills', `${d.oomKills}${d.oomKilled ? ' (the container\'s first process)' : ''}`],
    ['CPU user / sys', `${ms(d.cpuUserUs)} / ${ms(d.cpuSystemUs)}${d.cpuUsageUs !== undefined ? ` (total ${ms(d.cpuUsageUs)})` : ''}`],
    ['CPU throttled', `${d.nrThrottled ?? 0} of ${d.nrPeriods ?? 0} periods, ${ms(d.throttledUs ?? 0)}`],
    ['pids peak', `${d.pidsPeak ?? '?'}${d.pidsLimit ? ` (limit ${d.pidsLimit}, hit ${d.pidsLimitHits ?? 0} times)` : ''}`],
  ];
  return [`minidock stats${d.cgroupMode ? ` (cgroup ${d.cgroupMode})` : ''}:`, ...rows.map(([k, v]) => `  ${k.padEnd(16)} ${v}`)].join('\n');
}
