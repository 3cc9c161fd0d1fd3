// Experiment 1 (the course's first; seed 002): how long does `echo ok` take per runtime?
//   startup_ms  wall time of `<runtime> run ... echo ok`, from just before the launch to its exit
//   ttfi_ms     time to first instruction: host CLOCK_MONOTONIC before the launch -> the firstinsn
//               probe's CLOCK_MONOTONIC at its entry (the runtime's cost before the container runs)
// Runtimes are interleaved within each repetition (A B C A B C ...) so that drift hits all alike;
// the first --warmup repetitions are run and discarded.
import { ratio, summarize, type Summary } from '../stats.js';
import { PodmanRootless } from '../peers/engines.js';
import { rootlessLaunch, rootlessUnavailable } from '../peers/minidock.js';
import { splitPair } from '../peers/pairs.js';
import type { BenchContext, Launch, Peer, Workload } from '../peers/types.js';
import type { ActivePeer, Emit, ExperimentOptions, ExperimentResult, Row, Skip } from '../types.js';
import { failure, newId, balancedOrder, inRunOrder, runLaunch, selectPeers, tick, type PeerPool } from './common.js';
import {
  bridgeCost,
  bridgeUnavailable,
  dockerBridgeMissing,
  minidockHasNetwork,
  modeName,
  networkLaunch,
  type NetMode,
} from './netmode.js';

export const STARTUP_COLUMNS = [
  'runtime',
  'image',
  'rep',
  'startup_ms',
  'ttfi_ms',
  'probe_ms',
  'exit_code',
  'ok',
  'network',
];

/** firstinsn prints "firstinsn <ns>": ttfi = probe time - launch time, ms */
export function parseFirstInsn(stdout: string, t0: bigint): number | undefined {
  const m = /firstinsn (\d+)/.exec(stdout);
  return m ? Number(BigInt(m[1]) - t0) / 1e6 : undefined;
}

export function startupSummary(rows: Row[], runtimes: string[]): Row[] {
  const by = (rt: string, f: string): Summary =>
    summarize(
      rows.filter((r) => r.runtime === rt && r.ok === true && typeof r[f] === 'number').map((r) => r[f] as number),
    );
  const bare = by('bare', 'startup_ms');
  const md = by('minidock', 'startup_ms');
  return runtimes
    .map((rt) => {
      const s = by(rt, 'startup_ms');
      const t = by(rt, 'ttfi_ms');
      return {
        runtime: rt,
        n: s.n,
        median_ms: s.median,
        iqr_ms: s.iqr,
        min_ms: s.min,
        max_ms: s.max,
        ttfi_median_ms: t.n ? t.median : undefined,
        ttfi_iqr_ms: t.n ? t.iqr : undefined,
        x_bare: bare.n ? ratio(s.median, bare.median) : undefined,
        x_minidock: md.n ? ratio(s.median, md.median) : undefined,
        ...pairRatio(rt, (name) => by(name, 'startup_ms')),
      };
    })
    .filter((r) => (r.n as number) > 0);
}

/** An engine+runtime pair's median over the same engine's with runc: what this runtime costs under it. */
function pairRatio(rt: string, by: (name: string) => Summary): Row {
  const pair = splitPair(rt);
  if (!pair) return {};
  const runc = by(`${pair.engine}+runc`);
  return { x_engine_runc: runc.n ? ratio(by(rt).median, runc.median) : undefined };
}

/**
 * The engine × runtime matrix of startup medians: one row per engine, one column per runtime (ms),
 * and the engine's spread (its slowest runtime's median over its fastest's). Empty without pairs.
 */
export function pairMatrix(summary: Row[]): { columns: string[]; rows: Row[] } {
  const cells = summary.flatMap((s) => {
    const p = splitPair(String(s.runtime));
    return p ? [{ ...p, median: s.median_ms as number }] : [];
  });
  const engines = [...new Set(cells.map((c) => c.engine))];
  const runtimes = [...new Set(cells.map((c) => c.runtime))];
  const rows = engines.map((e) => {
    const row: Row = { engine: e };
    for (const r of runtimes) row[`${r}_ms`] = cells.find((c) => c.engine === e && c.runtime === r)?.median;
    const mine = cells.filter((c) => c.engine === e).map((c) => c.median);
    row.x_slowest_fastest = mine.length > 1 ? ratio(Math.max(...mine), Math.min(...mine)) : undefined;
    return row;
  });
  return { columns: ['engine', ...runtimes.map((r) => `${r}_ms`), 'x_slowest_fastest'], rows };
}

const STARTUP_SUMMARY_COLUMNS = [
  'runtime',
  'n',
  'median_ms',
  'iqr_ms',
  'min_ms',
  'max_ms',
  'ttfi_median_ms',
  'ttfi_iqr_ms',
  'x_bare',
  'x_minidock',
];

export async function startup(
  ctx: BenchContext,
  pool: PeerPool,
  o: ExperimentOptions,
  emit: Emit,
): Promise<ExperimentResult> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const { active, skipped } = selectPeers('startup', o.runtimes, pool, emit, (a) =>
    a.det.caps.run ? undefined : 'cannot run containers',
  );
  const modes = o.network ?? ['none'];
  const podman = new PodmanRootless(); // (podman-rootless beside podman: its storage and pause process, removed after)
  const runs = startupRuns(ctx, active, skipped, modes, podman);
  const total = (o.reps + o.warmup) * runs.length;
  emit({ type: 'experiment', name: 'startup', runtimes: runs.map((r) => r.name), total });
  const { rows, failures } = await measureStartups(ctx, runs, o, emit).finally(() => podman.cleanup());
  const ran = runs.map((a) => a.name);
  const notes = failureNotes(rows, ran, failures, skipped);
  const summary = startupSummary(rows, ran);
  for (const s of summary)
    emit({
      type: 'summary',
      experiment: 'startup',
      runtime: String(s.runtime),
      median: s.median_ms as number,
      unit: 'ms',
    });
  const clock = rows.length ? 'benchexec (vfork + CLOCK_MONOTONIC in C)' : '';
  if (clock)
    notes.push(
      `timed by ${clock}; ${o.warmup} warm-up repetition(s) discarded; runtimes interleaved within each repetition`,
    );
  notes.unshift(...modes.map(networkNote));
  emit({ type: 'done', experiment: 'startup', seconds: (Date.now() - t0) / 1000 });
  const matrix = pairMatrix(summary.filter((r) => !String(r.runtime).endsWith(' (bridge)')));
  const cost = bridgeCost(summary, rows);
  const tables = [
    ...(matrix.rows.length ? [{ title: 'Engine × OCI runtime: median `echo ok` (ms)', ...matrix }] : []),
    ...(cost.rows.length ? [{ title: 'What the bridge adds: median `echo ok`, bridge − none (ms)', ...cost }] : []),
  ];
  return {
    name: 'startup',
    title: `Startup: \`echo ok\` per runtime (network ${modes.join(' and ')})`,
    columns: STARTUP_COLUMNS,
    rows,
    summaryColumns: matrix.rows.length ? [...STARTUP_SUMMARY_COLUMNS, 'x_engine_runc'] : STARTUP_SUMMARY_COLUMNS,
    summary,
    ...(tables.length ? { tables } : {}),
    skipped,
    notes,
    startedAt,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** One runtime as this experiment launches it (minidock twice: as root, and rootless). */
interface StartupRun {
  name: string;
  peer: Peer;
  run: (id: string, w: Workload) => Launch;
  /** the network mode of its launches, and its runtime's place in the order asked for */
  mode?: NetMode;
  index?: number;
}

/** What the launch loop keeps per runtime. */
interface LaunchTally {
  /** the last failure of each runtime (and of its probe, as `<name>:probe`) */
  failures: Map<string, string>;
  done: Map<string, number>;
  fails: Map<string, number>;
  succeeded: Set<string>;
}

/** What the report says of the network mode, whichever it is. */
export function networkNote(mode: NetMode): string {
  return mode === 'none'
    ? 'network none for every runtime: an empty network namespace with only lo (minidock --network none, Podman and Docker --network none; runc, crun and ctr make no other)'
    : 'network bridge for every runtime that has one: minidock --network bridge (minidock0, a veth pair, NAT), Podman and Docker --network bridge (their default bridge); bare stays the baseline (no namespace); the runtimes without a bridge are skipped, with the reason';
}

/** The runtimes to launch: each active one, and minidock rootless beside minidock where it can be (else a skip). */
function startupRuns(
  ctx: BenchContext,
  active: ActivePeer[],
  skipped: Skip[],
  modes: NetMode[],
  podman: PodmanRootless,
): StartupRun[] {
  const runs = rootAndRootless(ctx, active, skipped, podman);
  const each = modes.map((m) => inMode(ctx, runs, skipped, m, modes));
  // interleaved within a repetition: a runtime's none launch, then its bridge launch, then the next runtime's
  return runs.flatMap((_, i) => each.flatMap((ms) => ms.filter((r) => r.index === i)));
}

/**
 * Each run's launches in network `mode` (minidock's, Podman's, Docker's command line rewritten by
 * networkLaunch); a runtime that has no such mode is left out, with a skip saying why.
 */
function inMode(ctx: BenchContext, runs: StartupRun[], skipped: Skip[], mode: NetMode, modes: NetMode[]): StartupRun[] {
  const isDocker = (n: string): boolean => n === 'docker' || splitPair(n)?.engine === 'docker';
  const noDockerBridge = mode === 'bridge' && runs.some((r) => isDocker(r.name)) ? dockerBridgeMissing(ctx) : undefined;
  return runs.flatMap((r, index) => {
    const peer = { name: r.name, kind: r.name === 'minidock-rootless' ? 'minidock' : r.peer.kind };
    // bare has no network namespace: measured once, in the first mode, as the baseline of both
    if (peer.kind === 'baseline' && mode !== modes[0]) return [];
    const name = modeName(r.name, mode, modes);
    let why = bridgeUnavailable(peer.name, peer.kind, mode) ?? (isDocker(r.name) ? noDockerBridge : undefined);
    let flag = true;
    if (!why && (peer.kind === 'minidock' || peer.kind === 'engine')) {
      // a trial: minidock's and the engines' run() only build an argv
      const argv = r.run('probe', { cmd: ['true'] }).argv;
      if (peer.kind === 'minidock') {
        const bin = argv.find((x) => x.endsWith('minidock.js'));
        flag = bin !== undefined && minidockHasNetwork(bin);
      }
      const trial = networkLaunch(peer, { argv }, mode, flag);
      if (typeof trial === 'string') why = trial;
    }
    if (why) {
      skipped.push({ experiment: 'startup', runtime: name, reason: `network ${mode}: ${why}` });
      return [];
    }
    const run = (id: string, w: Workload): Launch => networkLaunch(peer, r.run(id, w), mode, flag) as Launch;
    return [{ ...r, name, peer: { name } as Peer /* (failure() reads only the name) */, run, mode, index }];
  });
}

/** minidock and podman as root, and rootless beside each where it can be (else a skip). */
function rootAndRootless(
  ctx: BenchContext,
  active: ActivePeer[],
  skipped: Skip[],
  podman: PodmanRootless,
): StartupRun[] {
  // minidock is measured twice: as root, and rootless (the same CLI as nobody: a user namespace, no
  // cgroup on v1), so the class sees what rootless costs. The rootless row is named 'minidock-rootless'.
  const why = rootlessUnavailable();
  const runs: StartupRun[] = active.flatMap((a) => [
    { name: a.peer.name, peer: a.peer, run: (id: string, w: Workload) => a.peer.run(ctx, id, w) },
    ...(a.peer.name === 'minidock' && !why
      ? [
          {
            name: 'minidock-rootless',
            peer: { name: 'minidock-rootless' } as Peer /* (failure() reads only the name) */,
            run: (id: string, w: Workload) => rootlessLaunch(ctx, a.peer.run(ctx, id, w)),
          },
        ]
      : []),
    ...(a.peer.name === 'podman' ? podmanRootlessRun(ctx, podman, skipped) : []),
  ]);
  if (why && active.some((a) => a.peer.name === 'minidock'))
    skipped.push({ experiment: 'startup', runtime: 'minidock-rootless', reason: why });
  return runs;
}

/** Podman as a normal user beside Podman (issue 18: what rootless costs it), prepared here; else a skip saying why. */
function podmanRootlessRun(ctx: BenchContext, podman: PodmanRootless, skipped: Skip[]): StartupRun[] {
  const why = podman.unavailable(ctx);
  if (why) {
    skipped.push({ experiment: 'startup', runtime: podman.name, reason: why });
    return [];
  }
  // kind 'engine': a bridge mode rewrites its --network none as it does podman's
  const peer = { name: podman.name, kind: 'engine' } as Peer;
  return [{ name: podman.name, peer, run: (id: string, w: Workload) => podman.run(ctx, id, w) }];
}

/** Every repetition (warm-ups first, not kept), the runtimes interleaved within each. */
async function measureStartups(
  ctx: BenchContext,
  runs: StartupRun[],
  o: ExperimentOptions,
  emit: Emit,
): Promise<{ rows: Row[]; failures: Map<string, string> }> {
  const rows: Row[] = [];
  const tally: LaunchTally = { failures: new Map(), done: new Map(), fails: new Map(), succeeded: new Set() };
  for (let rep = -o.warmup; rep < o.reps; rep++) {
    for (const a of balancedOrder(runs, rep + o.warmup)) {
      // a runtime whose first 3 launches all failed is broken here: stop hammering it
      if ((tally.fails.get(a.name) ?? 0) >= 3 && !tally.succeeded.has(a.name)) continue;
      const { row, echoMs } = launchPair(ctx, a, rep, tally);
      if (rep >= 0) rows.push({ ...row, network: a.mode ?? 'none' });
      const n = (tally.done.get(a.name) ?? 0) + 1;
      tally.done.set(a.name, n);
      emit({
        type: 'step',
        experiment: 'startup',
        runtime: a.name,
        done: n,
        total: o.reps + o.warmup,
        value: row.ok ? echoMs : undefined,
        unit: 'ms',
      });
      await tick();
    }
  }
  return { rows: inRunOrder(rows, runs), failures: tally.failures };
}

/** One repetition of one runtime: `echo ok`, then the firstinsn probe; its row, and the echo's time. */
function launchPair(ctx: BenchContext, a: StartupRun, rep: number, tally: LaunchTally): { row: Row; echoMs: number } {
  const echo = runLaunch(ctx, a.run(newId(ctx, 'st'), { cmd: ['echo', 'ok'] }));
  const probe = runLaunch(ctx, a.run(newId(ctx, 'ft'), { cmd: ['/bin/firstinsn'] }));
  const ok = echo.code === 0 && echo.stdout.trim() === 'ok';
  const ttfi = probe.code === 0 ? parseFirstInsn(probe.stdout, probe.t0) : undefined;
  if (!ok) {
    tally.failures.set(a.name, failure(a.peer, echo));
    tally.fails.set(a.name, (tally.fails.get(a.name) ?? 0) + 1);
  } else tally.succeeded.add(a.name);
  if (probe.code !== 0 && !tally.failures.has(`${a.name}:probe`))
    tally.failures.set(`${a.name}:probe`, failure(a.peer, probe));
  const row: Row = {
    runtime: a.name,
    image: 'busybox',
    rep,
    startup_ms: ok ? echo.ms : undefined,
    ttfi_ms: ttfi,
    probe_ms: probe.code === 0 ? probe.ms : undefined,
    exit_code: echo.code,
    ok,
  };
  return { row, echoMs: echo.ms };
}

/** A runtime none of whose launches worked becomes a skip; one that failed some of the time, a note. */
function failureNotes(rows: Row[], ran: string[], failures: Map<string, string>, skipped: Skip[]): string[] {
  const notes: string[] = [];
  for (const rt of ran) {
    const good = rows.filter((r) => r.runtime === rt && r.ok);
    if (!good.length)
      skipped.push({
        experiment: 'startup',
        runtime: rt,
        reason: `every launch failed: ${failures.get(rt) ?? 'no output'}`,
      });
    else if (failures.has(rt))
      notes.push(
        `${rt}: ${rows.filter((r) => r.runtime === rt && !r.ok).length} of ${rows.filter((r) => r.runtime === rt).length} launches failed (${failures.get(rt)})`,
      );
    if (failures.has(`${rt}:probe`))
      notes.push(`${rt}: the firstinsn probe failed at least once (${failures.get(`${rt}:probe`)})`);
  }
  return notes;
}
