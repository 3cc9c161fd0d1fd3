// Experiment 5: minidock's launch, phase by phase, from `minidock run --trace=json` over N runs.
// minidock's own marks (Node) run one after another and add up to the total; the child's steps
// (C, between clone and execve) happen inside the "clone" .. "child ran the plan" marks and are
// listed as detail. Beside each: the estimate the seed project, Mini-Docker (Python), published.
import { summarize } from '../stats.js';
import type { BenchContext } from '../peers/types.js';
import type { MinidockPeer } from '../peers/minidock.js';
import type { Emit, ExperimentOptions, ExperimentResult, Row } from '../types.js';
import { failure, runLaunch, selectPeers, tick, type PeerPool } from './common.js';

/**
 * The seed's table ("Container Startup Time / Cold Start", docs/BENCHMARKS.md of Yumekaz/Mini-Docker,
 * commit 6617311): estimates, marked "~", for a Python runtime on an i7-10700K, kernel 5.15.
 * `ours` lists the phases of minidock's trace that do the same work.
 */
export const SEED_ESTIMATES: Array<{ seed: string; ms: number; ours: string[] }> = [
  { seed: 'Parse arguments', ms: 5, ours: ['imports + argument parsing', 'spec (flags validated, seccomp compiled)'] },
  { seed: 'Create namespaces', ms: 10, ours: ['clone'] },
  { seed: 'Setup cgroups', ms: 15, ours: ['cgroup create + limits', 'cgroup join'] },
  { seed: 'Setup OverlayFS', ms: 20, ours: ['child: rootfs'] },
  { seed: 'Apply seccomp', ms: 5, ours: ['child: seccomp'] },
  { seed: 'Drop capabilities', ms: 2, ours: ['child: capabilities'] },
  { seed: 'Execute command', ms: 3, ours: ['child: exec', 'container ran'] },
  { seed: 'Total', ms: 60, ours: ['total'] },
];
export const SEED_SOURCE =
  'Yumekaz/Mini-Docker docs/BENCHMARKS.md (commit 6617311), "Cold Start" table: published estimates (~), not measurements';

interface TraceJson {
  marks: Array<{ name: string; at: number; took: number }>;
  steps: Array<{ phase: string; took: number }>;
  phases: Record<string, number>;
}

/** The trace is the last JSON object on stderr that has marks and phases. */
export function parseTrace(stderr: string): TraceJson | undefined {
  for (const line of stderr.split('\n').reverse()) {
    if (!line.startsWith('{') || !line.includes('"marks"')) continue;
    try {
      const j = JSON.parse(line) as TraceJson;
      if (Array.isArray(j.marks) && j.phases) return j;
    } catch {
      /* not this line */
    }
  }
  return undefined;
}

/** One tidy row per (rep, phase): kind 'minidock' for the sequential marks, 'child' for the C steps. */
export function traceRows(rep: number, t: TraceJson, wallMs: number): Row[] {
  const rows: Row[] = [];
  for (const m of t.marks) rows.push({ rep, kind: 'minidock', phase: m.name, ms: m.took });
  for (const [name, ms] of Object.entries(t.phases))
    if (name.startsWith('child: ')) rows.push({ rep, kind: 'child', phase: name, ms });
  const total = t.marks.length ? t.marks[t.marks.length - 1].at : undefined;
  rows.push({ rep, kind: 'total', phase: 'total', ms: total });
  rows.push({ rep, kind: 'wall', phase: 'wall (measured outside)', ms: wallMs });
  return rows;
}

export function phasesSummary(rows: Row[]): Row[] {
  const order: string[] = [];
  for (const r of rows) if (!order.includes(String(r.phase))) order.push(String(r.phase));
  const med = new Map<string, number>();
  const out: Row[] = order.map((phase) => {
    const v = rows.filter((r) => r.phase === phase && typeof r.ms === 'number').map((r) => r.ms as number);
    const s = summarize(v);
    med.set(phase, s.median);
    return {
      phase,
      kind: rows.find((r) => r.phase === phase)?.kind,
      n: s.n,
      median_ms: s.median,
      iqr_ms: s.iqr,
      min_ms: s.min,
      max_ms: s.max,
      seed_estimate_ms: undefined as number | undefined,
      seed_phase: '',
    };
  });
  for (const e of SEED_ESTIMATES) {
    const target = out.find((r) => r.phase === e.ours[0]);
    if (target) {
      target.seed_estimate_ms = e.ms;
      target.seed_phase = e.ours.length > 1 ? `${e.seed} (= ${e.ours.join(' + ')})` : e.seed;
    }
  }
  return out;
}

/** The seed's rows with our measured sum of the matching phases (report table). */
export function seedComparison(summary: Row[]): Row[] {
  const med = (p: string): number | undefined => summary.find((r) => r.phase === p)?.median_ms as number | undefined;
  return SEED_ESTIMATES.map((e) => {
    const parts = e.ours.map(med);
    const measured = parts.every((x) => x !== undefined)
      ? parts.reduce((a, b) => (a as number) + (b as number), 0)
      : undefined;
    return {
      seed_phase: e.seed,
      seed_estimate_ms: e.ms,
      minidock_phases: e.ours.join(' + '),
      minidock_measured_ms: measured,
    };
  });
}

export async function phases(
  ctx: BenchContext,
  pool: PeerPool,
  o: ExperimentOptions,
  emit: Emit,
): Promise<ExperimentResult> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const { active, skipped } = selectPeers('phases', ['minidock'], pool, emit);
  const rows: Row[] = [];
  const notes: string[] = [SEED_SOURCE];
  const n = o.reps + o.warmup;
  if (active.length) {
    const peer = active[0].peer as MinidockPeer;
    emit({ type: 'experiment', name: 'phases', runtimes: ['minidock'], total: n });
    let fail = '';
    for (let rep = -o.warmup; rep < o.reps; rep++) {
      const r = runLaunch(ctx, {
        argv: peer.runArgv(ctx, { cmd: ['echo', 'ok'] }, ['--trace=json']),
        env: peer.env(ctx),
      });
      const t = parseTrace(r.stderr);
      if (r.code !== 0 || !t) fail = failure(peer, r);
      else if (rep >= 0) rows.push(...traceRows(rep, t, r.ms));
      emit({
        type: 'step',
        experiment: 'phases',
        runtime: 'minidock',
        done: rep + o.warmup + 1,
        total: n,
        value: t ? r.ms : undefined,
        unit: 'ms',
      });
      await tick();
    }
    if (!rows.length) skipped.push({ experiment: 'phases', runtime: 'minidock', reason: `no trace: ${fail}` });
    else if (fail) notes.push(`some runs failed: ${fail}`);
  }
  const summary = rows.length ? phasesSummary(rows) : [];
  const total = summary.find((r) => r.phase === 'total');
  if (total)
    emit({ type: 'summary', experiment: 'phases', runtime: 'minidock', median: total.median_ms as number, unit: 'ms' });
  emit({ type: 'done', experiment: 'phases', seconds: (Date.now() - t0) / 1000 });
  return {
    name: 'phases',
    title: "minidock's launch, phase by phase (`--trace=json`)",
    columns: ['rep', 'kind', 'phase', 'ms'],
    rows,
    summaryColumns: ['phase', 'kind', 'n', 'median_ms', 'iqr_ms', 'min_ms', 'max_ms', 'seed_phase', 'seed_estimate_ms'],
    summary,
    skipped,
    notes,
    startedAt,
    seconds: (Date.now() - t0) / 1000,
  };
}
