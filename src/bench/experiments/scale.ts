// Experiment 2 (course exp 2): N = 1, 5, 10, 20 detached `sleep` containers launched one after another:
// total and per-container launch time, memory charged to each container's cgroup, the RSS/PSS of the
// engine's daemons and monitors (dockerd+containerd+shims, conmon, minidock's monitor), and the time
// to remove them all. Each container sleeps a distinct number of seconds, so that its process can be
// found on the host by its command line alone — the same way for every runtime.
import { ratio } from '../stats.js';
import type { BenchContext } from '../peers/types.js';
import type { Emit, ExperimentOptions, ExperimentResult, Row } from '../types.js';
import { failure, newId, runLaunch, selectPeers, tick, type PeerPool } from './common.js';
import { cgroupMemory, listProcs, memoryCgroupDir, memoryOf, type Proc } from './hostprocs.js';
import type { Peer } from '../peers/types.js';

let seconds = 36000 + (process.pid % 1000) * 100;

/**
 * The engine's daemons and monitors among the host's processes, by comm name — and only ours: the
 * machine is shared, so minidock monitors and conmons must name this run's state dir or tag, and
 * daemons this run started must name its work dir (daemons found running are counted whole).
 */
export function monitorPids(ctx: BenchContext, peer: Peer, procs: Proc[]): number[] {
  const comms = peer.monitorComms ?? [];
  const ours = (p: Proc): boolean => p.cmdline.includes(ctx.work) || p.cmdline.includes(ctx.tag);
  const strict = peer.name === 'minidock' || peer.name === 'podman' || ctx.daemons.started.length > 0;
  return procs.filter((p) => comms.includes(p.comm) && (!strict || ours(p))).map((p) => p.pid);
}

/**
 * x_runc: each row's total launch time over runc's at the *same* N (the figure: minidock's
 * launch at N=20 ≤ runc's); 'n/a' where runc has no row at that N (not installed, skipped).
 */
export function withRuncRatio(summary: Row[]): Row[] {
  for (const r of summary) {
    const runc = summary.find((x) => x.runtime === 'runc' && x.n === r.n)?.total_ms;
    r.x_runc = typeof runc === 'number' ? (ratio(r.total_ms as number, runc) ?? 'n/a') : 'n/a';
  }
  return summary;
}

export const SCALE_COLUMNS = ['runtime', 'n', 'i', 'launch_ms', 'ok'];

const SCALE_SUMMARY_COLUMNS = [
  'runtime',
  'n',
  'launched',
  'total_ms',
  'per_container_ms',
  'x_runc',
  'cgroup_mem_per_container_mib',
  'engine_rss_mib',
  'engine_pss_mib',
  'engine_rss_delta_mib',
  'remove_ms',
];

export async function scale(
  ctx: BenchContext,
  pool: PeerPool,
  o: ExperimentOptions,
  emit: Emit,
): Promise<ExperimentResult> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const ns = o.quick ? [1, 5] : [1, 5, 10, 20];
  const { active, skipped } = selectPeers(
    'scale',
    o.runtimes.filter((r) => r !== 'bare'),
    pool,
    emit,
    (a) =>
      a.det.caps.detached && a.peer.start && a.peer.remove
        ? undefined
        : `no detached containers: ${(a.det.caps.missing ?? []).join('; ') || 'not supported'}`,
  );
  const totalSteps = ns.reduce((a, b) => a + b, 0);
  emit({
    type: 'experiment',
    name: 'scale',
    runtimes: active.map((a) => a.peer.name),
    total: totalSteps * active.length,
  });
  const run: ScaleRun = { ctx, emit, totalSteps, rows: [], done: new Map() };
  const summary: Row[] = [];
  const notes: string[] = [
    "launches are sequential; total_ms = sum of the N launch commands (`run -d`); removal = the engine's rm of all N (runc/crun/ctr: one delete per container)",
  ];
  for (const n of ns) for (const a of active) summary.push(await scaleOnce(run, a.peer, n, notes));
  withRuncRatio(summary);
  const big = ns[ns.length - 1];
  for (const a of active) {
    const r = summary.find((x) => x.runtime === a.peer.name && x.n === big);
    if (r)
      emit({
        type: 'summary',
        experiment: 'scale',
        runtime: a.peer.name,
        text: `N=${big}: ${(r.total_ms as number).toFixed(0)} ms`,
      });
  }
  emit({ type: 'done', experiment: 'scale', seconds: (Date.now() - t0) / 1000 });
  return {
    name: 'scale',
    title: 'Scale: N detached containers',
    columns: SCALE_COLUMNS,
    rows: run.rows,
    summaryColumns: SCALE_SUMMARY_COLUMNS,
    summary,
    skipped,
    notes,
    startedAt,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** What the whole experiment shares: its progress events, and the rows, one per launch. */
interface ScaleRun {
  ctx: BenchContext;
  emit: Emit;
  /** launches per runtime over every N */
  totalSteps: number;
  rows: Row[];
  /** launches so far, per runtime */
  done: Map<string, number>;
}

/** N containers of one runtime: launched, measured while they run, removed. Its summary row; problems go to `notes`. */
async function scaleOnce(run: ScaleRun, peer: Peer, n: number, notes: string[]): Promise<Row> {
  const { ctx } = run;
  const name = peer.name;
  const engineBefore = memoryOf(monitorPids(ctx, peer, listProcs()));
  const { ids, secs, total, fail } = await launchN(run, peer, n);
  // let the containers settle (engines finish bookkeeping after `run -d` returns)
  await new Promise((r) => setTimeout(r, 300));
  const procs = listProcs();
  const mems = secs
    .map((s) => {
      const p = procs.find((x) => x.comm === 'sleep' && x.cmdline === `sleep ${s}`);
      const dir = p ? memoryCgroupDir(p.pid) : undefined;
      return dir ? cgroupMemory(dir) : undefined;
    })
    .filter((b): b is number => b !== undefined);
  const engine = memoryOf(monitorPids(ctx, peer, procs));
  const found = secs.filter((s) => procs.some((x) => x.cmdline === `sleep ${s}`)).length;
  const { removeMs, removeFail } = ids.length ? removeAll(ctx, peer, ids) : { removeMs: 0, removeFail: '' };
  const left = secs.filter((s) => listProcs().some((x) => x.cmdline === `sleep ${s}`)).length;
  if (fail) notes.push(`${name} N=${n}: ${n - ids.length} launch(es) failed: ${fail}`);
  if (removeFail) notes.push(`${name} N=${n}: removal reported an error: ${removeFail}`);
  if (left) notes.push(`${name} N=${n}: ${left} container process(es) still running after removal`);
  return {
    runtime: name,
    n,
    launched: ids.length,
    running: found,
    total_ms: total,
    per_container_ms: total / n,
    cgroup_mem_per_container_mib: mems.length ? mems.reduce((x, y) => x + y, 0) / mems.length / 1048576 : undefined,
    engine_rss_mib: engine.rssKb / 1024,
    engine_pss_mib: engine.pssKb / 1024,
    engine_rss_delta_mib: (engine.rssKb - engineBefore.rssKb) / 1024,
    remove_ms: removeMs,
  };
}

/**
 * Launch N detached `sleep` containers one after another, each sleeping a distinct number of seconds
 * (its process is found by that command line). The ids and seconds of those that started, the total time.
 */
async function launchN(
  run: ScaleRun,
  peer: Peer,
  n: number,
): Promise<{ ids: string[]; secs: number[]; total: number; fail: string }> {
  const { ctx, emit } = run;
  const ids: string[] = [];
  const secs: number[] = [];
  let total = 0;
  let fail = '';
  for (let i = 0; i < n; i++) {
    const id = newId(ctx, 'sc');
    const s = ++seconds;
    const r = runLaunch(ctx, peer.start!(ctx, id, { cmd: ['sleep', String(s)] }), 60_000);
    const ok = r.code === 0;
    if (!ok) fail = failure(peer, r);
    else {
      ids.push(id);
      secs.push(s);
    }
    total += r.ms;
    run.rows.push({ runtime: peer.name, n, i, launch_ms: r.ms, ok });
    run.done.set(peer.name, (run.done.get(peer.name) ?? 0) + 1);
    emit({
      type: 'step',
      experiment: 'scale',
      runtime: peer.name,
      done: run.done.get(peer.name)!,
      total: run.totalSteps,
      value: r.ms,
      unit: 'ms',
    });
    await tick();
  }
  return { ids, secs, total, fail };
}

/** The engine's removal of all `ids` (one or more commands), timed; an error other than "not running" is kept. */
function removeAll(ctx: BenchContext, peer: Peer, ids: string[]): { removeMs: number; removeFail: string } {
  let removeMs = 0;
  let removeFail = '';
  for (const l of peer.remove!(ctx, ids)) {
    const r = runLaunch(ctx, l, 120_000);
    removeMs += r.ms;
    if (r.code !== 0 && !/kill|not running|no such process/i.test(r.stderr)) removeFail = failure(peer, r);
  }
  return { removeMs, removeFail };
}
