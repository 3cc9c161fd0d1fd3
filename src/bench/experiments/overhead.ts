// Experiment 3 (course exp 3): is code slower inside a container? The same two workloads run with
// `exec` inside an already running container and directly on the host (bare):
//   hash  dd if=/dev/urandom bs=1M count=100 | sha256sum     (kernel RNG + one CPU-bound pipe)
//   sort  seq 1 1000000 | shuf | sort -n                       (memory + CPU)
// The wall time includes the exec itself (~10-200 ms depending on the engine), so each runtime's
// `exec true` is measured too and subtracted: net = workload - exec(true).
import { overheadPercent, summarize, withinNoise } from '../stats.js';
import type { BenchContext } from '../peers/types.js';
import type { ActivePeer, Emit, ExperimentOptions, ExperimentResult, Row, Skip } from '../types.js';
import { failure, newId, runLaunch, selectPeers, tick, type PeerPool } from './common.js';

export function workloads(quick: boolean): Array<{ name: string; script: string }> {
  const mb = quick ? 20 : 100;
  const n = quick ? 200000 : 1000000;
  return [
    { name: 'noop', script: 'true' },
    { name: 'hash', script: `dd if=/dev/urandom bs=1M count=${mb} 2>/dev/null | sha256sum >/dev/null` },
    { name: 'sort', script: `seq 1 ${n} | shuf | sort -n >/dev/null` },
  ];
}

const OVERHEAD_SUMMARY_COLUMNS = [
  'runtime',
  'workload',
  'n',
  'median_ms',
  'iqr_ms',
  'exec_ms',
  'net_ms',
  'overhead_pct',
  'within_noise',
];

export async function overhead(
  ctx: BenchContext,
  pool: PeerPool,
  o: ExperimentOptions,
  emit: Emit,
): Promise<ExperimentResult> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const wls = workloads(o.quick);
  const { active, skipped } = selectPeers('overhead', o.runtimes, pool, emit, (a) =>
    a.peer.kind === 'baseline'
      ? undefined
      : a.det.caps.detached && a.det.caps.exec && a.peer.start && a.peer.exec
        ? undefined
        : `no detached containers or exec: ${(a.det.caps.missing ?? []).join('; ') || 'not supported'}`,
  );
  const notes: string[] = [
    `workloads: ${wls.map((w) => `${w.name} = \`${w.script}\``).join('; ')}`,
    'net_ms = median(workload) - median(noop exec): the exec mechanism itself is not the workload',
  ];
  const running = startContainers(ctx, active, skipped);
  const total = (o.reps + o.warmup) * wls.length;
  emit({
    type: 'experiment',
    name: 'overhead',
    runtimes: running.map((x) => x.a.peer.name),
    total: total * running.length,
  });
  let rows: Row[];
  try {
    rows = await runWorkloads(ctx, running, wls, o, emit, notes);
  } finally {
    for (const { a, id } of running)
      if (id && a.peer.remove) for (const l of a.peer.remove(ctx, [id])) runLaunch(ctx, l, 60_000);
  }
  const summary = summarizeRuntimes(rows, running, wls, emit);
  emit({ type: 'done', experiment: 'overhead', seconds: (Date.now() - t0) / 1000 });
  return {
    name: 'overhead',
    title: 'Overhead: hash and sort inside running containers vs bare',
    columns: ['runtime', 'workload', 'rep', 'wall_ms', 'exit_code'],
    rows,
    summaryColumns: OVERHEAD_SUMMARY_COLUMNS,
    summary,
    skipped,
    notes,
    startedAt,
    seconds: (Date.now() - t0) / 1000,
  };
}

type Workload = ReturnType<typeof workloads>[number];
/** A runtime with its running container (`id` is '' for bare, which execs on the host). */
type Running = { a: ActivePeer; id: string };

/** One running container per runtime (a `sleep 3600`); a runtime whose container does not start is a skip. */
function startContainers(ctx: BenchContext, active: ActivePeer[], skipped: Skip[]): Running[] {
  const running: Running[] = [];
  for (const a of active) {
    if (a.peer.kind === 'baseline') {
      running.push({ a, id: '' });
      continue;
    }
    const id = newId(ctx, 'ov');
    const r = runLaunch(ctx, a.peer.start!(ctx, id, { cmd: ['sleep', '3600'] }), 60_000);
    if (r.code !== 0)
      skipped.push({
        experiment: 'overhead',
        runtime: a.peer.name,
        reason: `could not start a container: ${failure(a.peer, r)}`,
      });
    else running.push({ a, id });
  }
  return running;
}

/** Every workload exec-ed in every container, repetition by repetition (warm-ups not kept); a failure noted once. */
async function runWorkloads(
  ctx: BenchContext,
  running: Running[],
  wls: Workload[],
  o: ExperimentOptions,
  emit: Emit,
  notes: string[],
): Promise<Row[]> {
  const rows: Row[] = [];
  const done = new Map<string, number>();
  const total = (o.reps + o.warmup) * wls.length;
  for (let rep = -o.warmup; rep < o.reps; rep++) {
    for (const w of wls) {
      for (const { a, id } of running) {
        const r = runLaunch(ctx, a.peer.exec!(ctx, id, ['sh', '-c', w.script]), 300_000);
        if (rep >= 0)
          rows.push({
            runtime: a.peer.name,
            workload: w.name,
            rep,
            wall_ms: r.code === 0 ? r.ms : undefined,
            exit_code: r.code,
          });
        if (r.code !== 0 && rep === -o.warmup) notes.push(`${a.peer.name} ${w.name}: ${failure(a.peer, r)}`);
        done.set(a.peer.name, (done.get(a.peer.name) ?? 0) + 1);
        emit({
          type: 'step',
          experiment: 'overhead',
          runtime: a.peer.name,
          done: done.get(a.peer.name)!,
          total,
          value: r.ms,
          unit: 'ms',
        });
        await tick();
      }
    }
  }
  return rows;
}

/** Every runtime's summary rows (overheadSummary), each runtime's overheads on one progress line. */
function summarizeRuntimes(rows: Row[], running: Running[], wls: Workload[], emit: Emit): Row[] {
  const summary: Row[] = [];
  for (const { a } of running) {
    const mine = overheadSummary(rows, a.peer.name, wls);
    summary.push(...mine);
    emit({
      type: 'summary',
      experiment: 'overhead',
      runtime: a.peer.name,
      text: mine
        .map((r) => `${r.workload} ${typeof r.overhead_pct === 'number' ? `${r.overhead_pct.toFixed(1)} %` : '?'}`)
        .join(', '),
    });
  }
  return summary;
}

/**
 * One runtime's rows per workload: the median time, the exec itself (the noop workload) subtracted,
 * and the overhead over bare's net time, with whether it is within the noise.
 */
function overheadSummary(rows: Row[], rt: string, wls: Workload[]): Row[] {
  const med = (runtime: string, wl: string) =>
    summarize(
      rows
        .filter((r) => r.runtime === runtime && r.workload === wl && typeof r.wall_ms === 'number')
        .map((r) => r.wall_ms as number),
    );
  const noop = med(rt, 'noop');
  return wls
    .filter((x) => x.name !== 'noop')
    .map((w) => {
      const s = med(rt, w.name);
      const b = med('bare', w.name);
      const bareNoop = med('bare', 'noop');
      const net = s.median - (noop.n ? noop.median : 0);
      const bareNet = b.median - (bareNoop.n ? bareNoop.median : 0);
      return {
        runtime: rt,
        workload: w.name,
        n: s.n,
        median_ms: s.median,
        iqr_ms: s.iqr,
        exec_ms: noop.median,
        net_ms: net,
        overhead_pct: rt === 'bare' ? 0 : overheadPercent(net, bareNet),
        within_noise: rt === 'bare' || !b.n ? undefined : withinNoise({ ...s, median: net }, { ...b, median: bareNet }),
      };
    });
}
