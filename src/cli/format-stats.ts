// The text of both stats: `minidock run --stats[=json]`, the numbers the cgroup kept about a
// container that ran in the foreground (the limits bench reads the JSON), and the table of
// `minidock stats`, from the samples of src/runtime/lifecycle/stats.ts.
import type { LaunchOutcome } from '../runtime/launch.js';
import type { StatsRow } from '../runtime/lifecycle/stats.js';
import { mib } from '../runtime/oom-forensics.js';
import { shortId } from '../runtime/container-store/listing.js';

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
    ['OOM kills', `${d.oomKills}${d.oomKilled ? " (the container's first process)" : ''}`],
    [
      'CPU user / sys',
      `${ms(d.cpuUserUs)} / ${ms(d.cpuSystemUs)}${d.cpuUsageUs !== undefined ? ` (total ${ms(d.cpuUsageUs)})` : ''}`,
    ],
    ['CPU throttled', `${d.nrThrottled ?? 0} of ${d.nrPeriods ?? 0} periods, ${ms(d.throttledUs ?? 0)}`],
    [
      'pids peak',
      `${d.pidsPeak ?? '?'}${d.pidsLimit ? ` (limit ${d.pidsLimit}, hit ${d.pidsLimitHits ?? 0} times)` : ''}`,
    ],
  ];
  return [
    `minidock stats${d.cgroupMode ? ` (cgroup ${d.cgroupMode})` : ''}:`,
    ...rows.map(([k, v]) => `  ${k.padEnd(16)} ${v}`),
  ].join('\n');
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '--';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) (n /= 1024), i++;
  return `${n.toFixed(i ? 2 : 0)}${u[i]}`;
}

const pct = (n: number | undefined): string => (n === undefined ? '--' : `${n.toFixed(2)}%`);

export function tableLines(rows: StatsRow[]): string[] {
  const t = [['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS']];
  for (const r of rows)
    t.push([
      shortId(r.id),
      r.name,
      pct(r.cpuPercent),
      `${bytes(r.memUsage)} / ${bytes(r.memLimit)}`,
      pct(r.memPercent),
      r.pids === undefined ? '--' : String(r.pids),
    ]);
  const w = t[0].map((_, c) => Math.max(...t.map((x) => x[c].length)));
  return t.map((x) =>
    x
      .map((cell, c) => (c === x.length - 1 ? cell : cell.padEnd(w[c] + 3)))
      .join('')
      .trimEnd(),
  );
}
