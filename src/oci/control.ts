// runc's verbs on a live container's cgroup: ps (its processes), pause and resume (the freezer:
// src/runtime/cgroups/freezer.ts, the same library `minidock pause` uses), and events' statistics
// (the cgroup driver's stats(), in runc's JSON). Each refuses what runc refuses, in runc's words.
//
// Library code: returns values, throws MinidockError; never prints.
import { spawnSync } from 'node:child_process';
import { MinidockError } from '../errors.js';
import { freeze, thaw } from '../runtime/cgroups/freezer.js';
import type { Cgroup, CgroupStats } from '../runtime/cgroups/types.js';
import { cgroupPids, ociCgroup } from './cgroup.js';
import { loadState, type OciRecord } from './state.js';

function cgroupOrFail(rec: OciRecord): Cgroup {
  const cg = ociCgroup(rec.cgroupPaths);
  if (!cg) throw new MinidockError(`container ${rec.id} has no cgroup left (its directories are gone)`, 1);
  return cg;
}

/** runc pause: freeze a created or running container (runc pauses a created one too). */
export function ociPause(root: string, id: string): void {
  const { rec, state } = loadState(root, id);
  if (state.status !== 'running' && state.status !== 'created') throw new MinidockError('container not running', 1);
  freeze(cgroupOrFail(rec));
}

/** runc resume: thaw a paused container; it is "created" or "running" again, as before. */
export function ociResume(root: string, id: string): void {
  const { rec, state } = loadState(root, id);
  if (state.status !== 'paused') throw new MinidockError('container not paused', 1);
  thaw(cgroupOrFail(rec));
}

/** runc ps --format json: the host pids of every process in the container's cgroups. */
export function ociPids(root: string, id: string): number[] {
  return cgroupPids(loadState(root, id).rec.cgroupPaths);
}

/**
 * runc ps's table: the lines of `ps psArgs` (default -ef) whose PID column is one of `pids`, under
 * ps's own header. Pure: `output` is what ps printed.
 */
export function filterPs(output: string, pids: readonly number[]): string {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0] ?? '';
  const col = header.trim().split(/\s+/).indexOf('PID');
  if (col < 0)
    throw new MinidockError(
      "couldn't find PID field in ps output — give ps options that print a PID column (e.g. -ef, aux, -o pid,cmd)",
      1,
    );
  const want = new Set(pids);
  const out = [header];
  for (const l of lines.slice(1)) {
    const f = l.trim().split(/\s+/)[col]!;
    if (!/^\d+$/.test(f)) throw new MinidockError(`unexpected pid '${f}' in ps output: ${l.trim()}`, 1);
    if (want.has(Number(f))) out.push(l);
  }
  return `${out.join('\n')}\n`;
}

/** Run the host's ps with `args` (runc: `ps -ef` without any) and keep the container's lines. */
export function psTable(pids: readonly number[], args: string[]): string {
  const psArgs = args.length ? args : ['-ef'];
  const r = spawnSync('ps', psArgs, { encoding: 'utf8' });
  if (r.error)
    throw new MinidockError(
      `ps: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message} — the table needs the host's ps (Debian: apt-get install procps); --format json does not`,
      1,
    );
  if (r.status !== 0)
    throw new MinidockError(
      `ps ${psArgs.join(' ')}: exit status ${r.status}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`,
      1,
    );
  return filterPs(r.stdout, pids);
}

/** An unlimited value as runc reports it: v1's page-rounded LONG_MAX, v2's "max" as MaxUint64. */
const NO_LIMIT = { v1: 9223372036854771712n, v2: 18446744073709551615n } as const;

/**
 * The cgroup driver's statistics in runc's events JSON (runc's types.Stats): cpu usage and
 * throttling in nanoseconds, memory usage with its limit, pids. Go's omitempty drops zero values,
 * and so does this. What the drivers do not read (per-CPU usage, cpuset, swap, kernel memory,
 * memory.stat's raw counters, blkio, hugetlb) is left out. Pure.
 */
export function runcStats(s: CgroupStats, mode: Cgroup['mode']): Record<string, unknown> {
  const ns = (us: number | undefined) => (us ? us * 1000 : undefined);
  const drop = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== 0));
  return {
    cpu: {
      usage: drop({ total: ns(s.cpuUsageUs), kernel: ns(s.cpuSystemUs), user: ns(s.cpuUserUs) }),
      throttling: drop({
        periods: s.nrPeriods,
        throttled_periods: s.nrThrottled,
        throttled_time: ns(s.throttledUs),
      }),
    },
    memory: {
      usage: {
        limit: s.memoryLimitBytes ?? NO_LIMIT[mode],
        ...drop({ usage: s.memoryUsageBytes, max: s.memoryPeakBytes }),
        failcnt: s.memoryLimitHits ?? 0,
      },
    },
    pids: drop({ current: s.pidsCurrent, limit: s.pidsLimit }),
    blkio: {},
    hugetlb: {},
  };
}

/** One event as runc prints it: a JSON line; bigints (the no-limit values) as plain numbers. */
export function eventLine(ev: { type: string; id: string; data?: unknown }): string {
  return `${JSON.stringify(ev, (_k, v) => (typeof v === 'bigint' ? `\u0000${v}` : v)).replace(/"\\u0000(\d+)"/g, '$1')}\n`;
}

/** runc events --stats: one stats event of a created, running or paused container. */
export function statsEvent(root: string, id: string): { type: 'stats'; id: string; data: Record<string, unknown> } {
  const { rec, state } = loadState(root, id);
  if (state.status === 'stopped') throw new MinidockError(`container with id ${id} is not running`, 1); // runc's words
  const cg = cgroupOrFail(rec);
  return { type: 'stats', id, data: runcStats(cg.stats(), cg.mode) };
}

/** The container's OOM kills so far (events emits an "oom" event when it grows); undefined when unknown. */
export function oomKills(root: string, id: string): number | undefined {
  return ociCgroup(loadState(root, id).rec.cgroupPaths)?.oomKills();
}
