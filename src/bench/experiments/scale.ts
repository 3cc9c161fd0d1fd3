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
  const rows: Row[] = [];
  const summary: Row[] = [];
  const notes: string[] = [
    "launches are sequential; total_ms = sum of the N launch commands (`run -d`); removal = the engine's rm of all N (runc/crun/ctr: one delete per container)",
  ];
  const done = new Map<string, number>();
  for (const n of ns) {
    for (const a of active) {
      const name = a.peer.name;
      const engineBefore = memoryOf(monitorPids(ctx, a.peer, listProcs()));
      const ids: string[] = [];
      const secs: number[] = [];
      let total = 0;
      let fail = '';
      for (let i = 0; i < n; i++) {
        const id = newId(ctx, 'sc');
        const s = ++seconds;
        const r = runLaunch(ctx, a.peer.start!(ctx, id, { cmd: ['sleep', String(s)] }), 60_000);
        const ok = r.code === 0;
        if (!ok) fail = failure(a.peer, r);
        else {
          ids.push(id);
          secs.push(s);
        }
        total += r.ms;
        rows.push({ runtime: name, n, i, launch_ms: r.ms, ok });
        done.set(name, (done.get(name) ?? 0) + 1);
        emit({
          type: 'step',
          experiment: 'scale',
          runtime: name,
          done: done.get(name)!,
          total: totalSteps,
          value: r.ms,
          unit: 'ms',
        });
        await tick();
      }
      // let the containers settle (engines finish bookkeeping after `run -d` returns)
      await new Promise((r) => setTimeout(r, 300));
      const procs = listProcs();
      const mems: number[] = [];
      for (const s of secs) {
        const p = procs.find((x) => x.comm === 'sleep' && x.cmdline === `sleep ${s}`);
        const dir = p ? memoryCgroupDir(p.pid) : undefined;
        const b = dir ? cgroupMemory(dir) : undefined;
        if (b !== undefined) mems.push(b);
      }
      const engine = memoryOf(monitorPids(ctx, a.peer, procs));
      const found = secs.filter((s) => procs.some((x) => x.cmdline === `sleep ${s}`)).length;
      let removeMs = 0;
      let removeFail = '';
      if (ids.length) {
        for (const l of a.peer.remove!(ctx, ids)) {
          const r = runLaunch(ctx, l, 120_000);
          removeMs += r.ms;
          if (r.code !== 0 && !/kill|not running|no such process/i.test(r.stderr)) removeFail = failure(a.peer, r);
        }
      }
      const left = secs.filter((s) => listProcs().some((x) => x.cmdline === `sleep ${s}`)).length;
      if (fail) notes.push(`${name} N=${n}: ${n - ids.length} launch(es) failed: ${fail}`);
      if (removeFail) notes.push(`${name} N=${n}: removal reported an error: ${removeFail}`);
      if (left) notes.push(`${name} N=${n}: ${left} container process(es) still running after removal`);
      summary.push({
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
      });
    }
  }
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
    rows,
    summaryColumns: [
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
    ],
    summary,
    skipped,
    notes,
    startedAt,
    seconds: (Date.now() - t0) / 1000,
  };
}
