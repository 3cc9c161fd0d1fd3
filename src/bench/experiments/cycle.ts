// The runtime-only cycle (issue 16), as youki's README measures it: one OCI bundle (the busybox
// rootfs, `true`), and per repetition, for each runtime in turn (interleaved):
//   create_ms  `<runtime> --root R create --bundle B --pid-file P ID`: everything set up, the init
//              held before the user's process (runc's exec.fifo)
//   start_ms   `<runtime> --root R start ID`: the init released
//   wait_ms    from start's exit until the init has ended and the bench (its subreaper, as an engine's
//              shim is) reaped it: `true` runs, plus the time the bench takes to see it (~0.5 ms)
//   delete_ms  `<runtime> --root R delete ID` of the stopped container
//   cycle_ms   their sum (Node's own fork cost between the steps is not in it: each command is timed
//              by benchexec)
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, timed, type Timed } from '../proc.js';
import { ociConfig, writeBundle } from '../peers/oci.js';
import type { OciRuntime, OciRuntimeName } from '../peers/oci-runtimes.js';
import type { BenchContext, Detection } from '../peers/types.js';
import { reapZombieChildren, setChildSubreaper, waitEnded } from '../reaper.js';
import { ratio, summarize } from '../stats.js';
import type { Emit, ExperimentOptions, ExperimentResult, Row, Skip } from '../types.js';
import { balancedOrder, inRunOrder, newId, tick } from './common.js';

export const CYCLE_COLUMNS = ['runtime', 'rep', 'create_ms', 'start_ms', 'wait_ms', 'delete_ms', 'cycle_ms', 'ok'];
const STEP_COLUMNS = ['create_ms', 'start_ms', 'wait_ms', 'delete_ms'] as const;
export const CYCLE_SUMMARY_COLUMNS = [
  'runtime',
  'n',
  'median_ms',
  'iqr_ms',
  'min_ms',
  'max_ms',
  'create_median_ms',
  'start_median_ms',
  'wait_median_ms',
  'delete_median_ms',
  'x_crun',
  'x_runc',
];

/** An OCI runtime detected and prepared once per bench run (run.ts's Pool), or why it cannot take part. */
export interface ActiveOci {
  rt: OciRuntime;
  det: Detection;
}
export interface OciPool {
  oci(name: OciRuntimeName): ActiveOci | Skip;
}

/** The OCI runtimes among the requested names (the cycle measures runc, crun and minidock-oci). */
export function cycleRuntimes(names: string[]): OciRuntimeName[] {
  return names.filter((n): n is OciRuntimeName => n === 'runc' || n === 'crun' || n === 'minidock');
}

/** Median of each step and of the whole cycle per runtime; ratios of the cycle's medians to crun and runc. */
export function cycleSummary(rows: Row[], runtimes: string[]): Row[] {
  const values = (rt: string, f: string): number[] =>
    rows.filter((r) => r.runtime === rt && r.ok === true && typeof r[f] === 'number').map((r) => r[f] as number);
  const crun = summarize(values('crun', 'cycle_ms'));
  const runc = summarize(values('runc', 'cycle_ms'));
  return runtimes
    .map((rt) => {
      const s = summarize(values(rt, 'cycle_ms'));
      const row: Row = { runtime: rt, n: s.n, median_ms: s.median, iqr_ms: s.iqr, min_ms: s.min, max_ms: s.max };
      for (const c of STEP_COLUMNS) row[c.replace('_ms', '_median_ms')] = summarize(values(rt, c)).median;
      row.x_crun = crun.n ? ratio(s.median, crun.median) : undefined;
      row.x_runc = runc.n ? ratio(s.median, runc.median) : undefined;
      return row;
    })
    .filter((r) => (r.n as number) > 0);
}

/** The argv of each step: the runtime's own state root, runc's flags (pure: tests check it). */
export function cycleArgv(bin: string, root: string, bundle: string, pidFile: string, id: string) {
  return {
    create: [bin, '--root', root, 'create', '--bundle', bundle, '--pid-file', pidFile, id],
    start: [bin, '--root', root, 'start', id],
    delete: [bin, '--root', root, 'delete', id],
    forceDelete: [bin, '--root', root, 'delete', '--force', id],
  };
}

/** One runtime as the cycle runs it: its program, its state root, where its pid files and logs go. */
interface CycleRun {
  name: OciRuntimeName;
  bin: string;
  root: string;
  io: string;
}

export async function cycle(
  ctx: BenchContext,
  pool: OciPool,
  o: ExperimentOptions,
  emit: Emit,
): Promise<ExperimentResult> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const { runs, skipped } = selectRuntimes(ctx, pool, o, emit);
  const bundle = join(ctx.work, 'cycle-bundle');
  // one bundle for every runtime and every repetition: the containers follow one another, so one
  // cgroup path serves them all (each delete removes it before the next create makes it again)
  writeBundle(bundle, ociConfig({ rootfs: ctx.rootfs, cmd: ['true'], cgroupsPath: `/${ctx.tag}/cycle` }));
  emit({
    type: 'experiment',
    name: 'cycle',
    runtimes: runs.map((r) => r.name),
    total: (o.reps + o.warmup) * runs.length,
  });
  // the bench adopts the inits `create` leaves behind, and reaps them, as an engine's shim does
  const subreaper = runs.length ? setChildSubreaper(true) === 0 : false;
  let rows: Row[];
  let failures: Map<string, string>;
  try {
    ({ rows, failures } = await measureCycles(ctx, runs, bundle, o, emit));
  } finally {
    removeLeftovers(runs);
    if (subreaper) setChildSubreaper(false);
    reapZombieChildren();
  }
  const ran = runs.map((r) => r.name);
  const notes: string[] = [];
  for (const rt of ran) {
    const all = rows.filter((r) => r.runtime === rt);
    const good = all.filter((r) => r.ok);
    if (!good.length)
      skipped.push({
        experiment: 'cycle',
        runtime: rt,
        reason: `every cycle failed: ${failures.get(rt) ?? 'no output'}`,
      });
    else if (failures.has(rt))
      notes.push(`${rt}: ${all.length - good.length} of ${all.length} cycles failed (${failures.get(rt)})`);
  }
  const summary = cycleSummary(rows, ran);
  for (const s of summary)
    emit({
      type: 'summary',
      experiment: 'cycle',
      runtime: String(s.runtime),
      median: s.median_ms as number,
      unit: 'ms',
    });
  if (rows.length)
    notes.push(
      `one bundle (the busybox rootfs, \`true\`; runc spec's defaults); each step timed by benchexec (vfork + CLOCK_MONOTONIC in C); ${o.warmup} warm-up repetition(s) discarded; runtimes interleaved within each repetition`,
      `the bench is the inits' subreaper (as conmon and containerd-shim are), so wait_ms ends when it reaps the init${subreaper ? '' : ' — here prctl(PR_SET_CHILD_SUBREAPER) failed: the end was seen in /proc instead'}`,
    );
  emit({ type: 'done', experiment: 'cycle', seconds: (Date.now() - t0) / 1000 });
  return {
    name: 'cycle',
    title: 'Cycle: create + start + delete of one OCI bundle per runtime',
    columns: CYCLE_COLUMNS,
    rows,
    summaryColumns: CYCLE_SUMMARY_COLUMNS,
    summary,
    skipped,
    notes,
    startedAt,
    seconds: (Date.now() - t0) / 1000,
  };
}

function selectRuntimes(
  ctx: BenchContext,
  pool: OciPool,
  o: ExperimentOptions,
  emit: Emit,
): { runs: CycleRun[]; skipped: Skip[] } {
  const runs: CycleRun[] = [];
  const skipped: Skip[] = [];
  for (const name of cycleRuntimes(o.runtimes)) {
    const got = pool.oci(name);
    if ('reason' in got) {
      const skip = { ...got, experiment: 'cycle' };
      skipped.push(skip);
      emit({ type: 'skip', experiment: 'cycle', runtime: name, reason: skip.reason });
      continue;
    }
    const root = join(ctx.work, `cycle-state-${name}`);
    const io = join(ctx.work, `cycle-io-${name}`);
    mkdirSync(io, { recursive: true });
    runs.push({ name, bin: got.rt.binary(ctx), root, io });
  }
  return { runs, skipped };
}

/** Every repetition (warm-ups first, not kept), the runtimes interleaved within each. */
async function measureCycles(
  ctx: BenchContext,
  runs: CycleRun[],
  bundle: string,
  o: ExperimentOptions,
  emit: Emit,
): Promise<{ rows: Row[]; failures: Map<string, string> }> {
  const rows: Row[] = [];
  const failures = new Map<string, string>();
  const fails = new Map<string, number>();
  const succeeded = new Set<string>();
  const done = new Map<string, number>();
  for (let rep = -o.warmup; rep < o.reps; rep++) {
    for (const r of balancedOrder(runs, rep + o.warmup)) {
      // a runtime whose first 3 cycles all failed is broken here: stop hammering it
      if ((fails.get(r.name) ?? 0) >= 3 && !succeeded.has(r.name)) continue;
      const { row, error } = oneCycle(ctx, r, bundle, rep);
      if (error) {
        failures.set(r.name, error);
        fails.set(r.name, (fails.get(r.name) ?? 0) + 1);
      } else succeeded.add(r.name);
      if (rep >= 0) rows.push(row);
      const n = (done.get(r.name) ?? 0) + 1;
      done.set(r.name, n);
      const value = row.ok ? (row.cycle_ms as number) : undefined;
      emit({
        type: 'step',
        experiment: 'cycle',
        runtime: r.name,
        done: n,
        total: o.reps + o.warmup,
        value,
        unit: 'ms',
      });
      await tick();
    }
  }
  return { rows: inRunOrder(rows, runs), failures };
}

/** One create + start + wait + delete; on a failure, the container forced away (untimed). */
function oneCycle(ctx: BenchContext, r: CycleRun, bundle: string, rep: number): { row: Row; error?: string } {
  const id = newId(ctx, 'cy');
  const pidFile = join(r.io, `${id}.pid`);
  const log = join(r.io, `${id}.log`);
  const argv = cycleArgv(r.bin, r.root, bundle, pidFile, id);
  const row: Row = { runtime: r.name, rep, ok: false };
  // The steps' output goes to a file, not a pipe: the init `create` leaves behind keeps create's
  // stdout and stderr open, and a pipe would not reach its end until the container exits.
  const fd = openSync(log, 'w');
  const step = (a: string[]): Timed => timed(a, { stdout: fd, pin: ctx.pin, cwd: ctx.work, timeoutMs: 30_000 });
  const fail = (what: string, t?: Timed): { row: Row; error: string } => {
    const said = lastLine(log); // (before the forced delete adds its own lines)
    timed(argv.forceDelete, { stdout: fd, cwd: ctx.work, timeoutMs: 30_000 });
    closeSync(fd);
    const how = t ? ` exited ${t.code}${t.timedOut ? ' (timed out)' : ''}` : '';
    return { row, error: `${what}${how}${said ? `: ${said}` : ''}` };
  };
  const create = step(argv.create);
  if (create.code !== 0) return fail('create', create);
  const pid = Number(readOpt(pidFile));
  if (!(pid > 0)) return fail('create wrote no pid file');
  const start = step(argv.start);
  if (start.code !== 0) return fail('start', start);
  if (!waitEnded(pid)) return fail('the container did not stop within 10 s');
  const ended = process.hrtime.bigint(); // CLOCK_MONOTONIC, as benchexec's t1
  const del = step(argv.delete);
  if (del.code !== 0) return fail('delete', del);
  closeSync(fd);
  const wait = Number(ended - start.t1) / 1e6;
  Object.assign(row, {
    create_ms: create.ms,
    start_ms: start.ms,
    wait_ms: wait,
    delete_ms: del.ms,
    cycle_ms: create.ms + start.ms + wait + del.ms,
    ok: true,
  });
  return { row };
}

function readOpt(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The last line a failed step wrote (its error), one line. */
function lastLine(path: string): string {
  const lines = (readOpt(path) ?? '').split('\n').filter(Boolean);
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

/** What a cycle cut short left in a runtime's state root (`list -q`), forced away; untimed. */
function removeLeftovers(runs: CycleRun[]): void {
  for (const r of runs) {
    if (!existsSync(r.root)) continue;
    const ids = sh([r.bin, '--root', r.root, 'list', '-q']).stdout.split('\n').filter(Boolean);
    for (const id of ids) sh([r.bin, '--root', r.root, 'delete', '--force', id]);
  }
}
