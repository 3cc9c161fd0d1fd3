// `minidock bench <experiment>`: prepare once, run the experiments, write results/<timestamp>/,
// print the summary, and leave the host as it was (containers, images, daemons we started, cgroups).
import { join, resolve } from 'node:path';
import { MinidockError } from '../errors.js';
import { collectEnv, loadavg, withLoadavg } from './env.js';
import { makeContext, removeContext } from './context.js';
import { findDaemons, startDaemons, stopDaemons } from './daemons.js';
import { isSkip, type PeerPool } from './experiments/common.js';
import { makePeer, parseRuntimes, type PeerName } from './peers/index.js';
import type { BenchContext, Detection, Peer } from './peers/types.js';
import { loadWarning, mdTable, resultsLine, startupGoals, summaryJson, timestampDir, writeResults, type Results } from './output.js';
import { plainProgress } from './progress.js';
import type { ActivePeer, Emit, ExperimentOptions, ExperimentResult, Skip } from './types.js';

export const EXPERIMENTS = ['startup', 'phases', 'overhead', 'scale', 'limits'] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];

export interface BenchFlags {
  runtimes?: string;
  reps?: string;
  warmup?: string;
  quick?: boolean;
  pin?: string;
  out?: string;
  json?: boolean;
  charts?: boolean;
  startDaemons?: boolean;
  rootfs?: string;
  live?: boolean;
}

/**
 * Repetitions per experiment: full and --quick (`bench all --quick` must finish in 2 minutes on 2 cores).
 * startup: 30, because on a shared 2-vCPU machine one runtime's IQR is 10-25 % of its median, and the
 * median of 20 still moved the Podman and Docker ratios by ~5 % from run to run.
 */
export const DEFAULT_REPS: Record<ExperimentName, { reps: number; quick: number }> = {
  startup: { reps: 30, quick: 5 },
  phases: { reps: 20, quick: 5 },
  overhead: { reps: 5, quick: 2 },
  scale: { reps: 1, quick: 1 },
  limits: { reps: 1, quick: 1 },
};

function int(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new MinidockError(`--${name} ${v}: expected an integer ≥ ${min}`);
  return n;
}

export function experimentOptions(name: ExperimentName, f: BenchFlags, runtimes: PeerName[]): ExperimentOptions {
  const d = DEFAULT_REPS[name];
  return {
    runtimes,
    reps: int(f.reps, 'reps', 1) ?? (f.quick ? d.quick : d.reps),
    warmup: int(f.warmup, 'warmup', 0) ?? 1,
    quick: !!f.quick,
    pin: int(f.pin, 'pin', 0),
  };
}

/** Detect and prepare each runtime once per bench run; a failure becomes a skip record. */
export class Pool implements PeerPool {
  private readonly cache = new Map<PeerName, ActivePeer | Skip>();
  readonly detections: Detection[] = [];
  private readonly prepared: Peer[] = [];

  constructor(private readonly ctx: BenchContext, private readonly note: (s: string) => void = () => {}) {}

  get(name: PeerName): ActivePeer | Skip {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const peer = makePeer(name);
    const det = peer.detect(this.ctx);
    this.detections.push(det);
    let got: ActivePeer | Skip;
    if (!det.available) got = { experiment: '', runtime: name, reason: det.reason ?? 'not available', fix: det.fix };
    else {
      try {
        this.prepared.push(peer);
        peer.prepare(this.ctx);
        got = { peer, det };
      } catch (e) {
        got = { experiment: '', runtime: name, reason: `preparation failed: ${(e as Error).message}`, fix: det.fix };
        det.available = false;
        det.reason = (got as Skip).reason;
      }
    }
    this.cache.set(name, got);
    return got;
  }

  cleanup(): void {
    for (const p of this.prepared.reverse()) {
      try {
        p.cleanup(this.ctx);
      } catch (e) {
        this.note(`cleanup of ${p.name} failed: ${(e as Error).message}`);
      }
    }
  }

  skips(): Skip[] {
    return [...this.cache.values()].filter(isSkip);
  }
}

async function runExperiment(name: ExperimentName, ctx: BenchContext, pool: Pool, o: ExperimentOptions, emit: Emit): Promise<ExperimentResult> {
  switch (name) {
    case 'startup': return (await import('./experiments/startup.js')).startup(ctx, pool, o, emit);
    case 'phases': return (await import('./experiments/phases.js')).phases(ctx, pool, o, emit);
    case 'limits': return (await import('./experiments/limits.js')).limits(ctx, pool, o, emit);
    case 'overhead': return (await import('./experiments/overhead.js')).overhead(ctx, pool, o, emit);
    case 'scale': return (await import('./experiments/scale.js')).scale(ctx, pool, o, emit);
  }
}

/** A sink the live view or the plain lines consume; --json: nothing but the final JSON on stdout. */
async function progressSink(f: BenchFlags): Promise<{ emit: Emit; stop: () => Promise<void> }> {
  if (f.json) return { emit: () => {}, stop: async () => {} };
  // a terminal with no width (some ptys report 0 columns) would wrap every character: plain lines there
  const tty = f.live !== false && process.stderr.isTTY && process.stdout.isTTY && !process.env.CI && (process.stderr.columns ?? 0) >= 40;
  if (tty) {
    try {
      const { startLiveView } = await import('./live.js');
      return await startLiveView();
    } catch (e) {
      process.stderr.write(`minidock bench: live view unavailable (${(e as Error).message}); plain progress\n`);
    }
  }
  return { emit: plainProgress((s) => process.stderr.write(s)), stop: async () => {} };
}

export async function benchCommand(what: ExperimentName | 'all', f: BenchFlags): Promise<number> {
  let runtimes: PeerName[];
  try {
    runtimes = parseRuntimes(f.runtimes);
  } catch (e) {
    throw new MinidockError((e as Error).message);
  }
  if (process.getuid?.() !== 0 && runtimes.some((r) => r !== 'bare')) {
    throw new MinidockError('bench needs root: every runtime it measures creates namespaces, mounts and cgroups (try sudo, or --runtimes bare)');
  }
  const names: ExperimentName[] = what === 'all' ? [...EXPERIMENTS] : [what];
  const outDir = resolve(f.out ?? timestampDir(resolve('results')));
  const ctx = makeContext({ rootfs: f.rootfs, pin: int(f.pin, 'pin', 0) });
  const log = (s: string): void => { if (!f.json) process.stderr.write(`minidock bench: ${s}\n`); };
  const pool = new Pool(ctx, log);
  let sink: { emit: Emit; stop: () => Promise<void> } | undefined;
  const onSignal = (): void => { interrupted = true; };
  let interrupted = false;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    ctx.daemons = findDaemons();
    if (f.startDaemons) ctx.daemons = await startDaemons(join(ctx.work, 'daemons'), ctx.daemons, log);
    for (const r of runtimes) pool.get(r); // detect + prepare all first: the environment lists every peer
    const env = collectEnv({ ...f, experiments: names }, pool.detections, ctx.daemons.started);
    sink = await progressSink(f);
    const experiments: ExperimentResult[] = [];
    for (const n of names) {
      if (interrupted) break;
      const o = experimentOptions(n, f, runtimes);
      if (what === 'all' && n === 'phases' && !runtimes.includes('minidock')) continue;
      const emit = sink.emit;
      experiments.push(await withLoadavg(() => runExperiment(n, ctx, pool, o, emit)));
    }
    await sink.stop();
    sink = undefined;
    env.loadavgAfter = loadavg();
    const skipped = experiments.flatMap((e) => e.skipped);
    const res: Results = { version: 1, tool: 'minidock bench', env, experiments, skipped };
    const { files } = await writeResults(outDir, res, { charts: f.charts !== false });
    if (f.json) process.stdout.write(JSON.stringify({ dir: outDir, ...summaryJson(res) }, null, 1) + '\n');
    else {
      for (const e of experiments) {
        process.stdout.write(`\n${e.title}\n\n${mdTable(e.summaryColumns, e.summary)}`);
        for (const s of e.skipped) process.stdout.write(`  skipped ${s.runtime}: ${s.reason}${s.fix ? `\n    fix: ${s.fix}` : ''}\n`);
        const busy = loadWarning(e, env.cpus);
        if (busy) process.stdout.write(`  ${busy}\n`);
      }
      const goals = startupGoals(experiments.find((e) => e.name === 'startup'));
      if (goals.length) process.stdout.write(`\n${goals.join('\n')}\n`);
      process.stdout.write(`\n${resultsLine(outDir, files)}\n`);
    }
    return interrupted ? 130 : 0;
  } finally {
    if (sink) await sink.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    pool.cleanup();
    await stopDaemons(ctx.daemons, log);
    for (const p of removeContext(ctx)) log(p);
  }
}

/** `minidock bench peers`: what is available here, and how to get what is not. */
export async function peersCommand(f: { install?: boolean; startDaemons?: boolean; json?: boolean }): Promise<number> {
  if (f.install) {
    const { installCommand } = await import('./install.js');
    const argv = installCommand();
    process.stderr.write(`minidock bench: ${argv.join(' ')}\n`);
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new MinidockError(`apt-get install failed (exit ${r.status}); try: apt-get update && ${argv.join(' ')}`);
  }
  const ctx = makeContext({});
  const log = (s: string): void => { process.stderr.write(`minidock bench: ${s}\n`); };
  try {
    ctx.daemons = findDaemons();
    if (f.startDaemons) ctx.daemons = await startDaemons(join(ctx.work, 'daemons'), ctx.daemons, log);
    const dets = parseRuntimes('all').map((n) => makePeer(n).detect(ctx));
    if (f.json) process.stdout.write(JSON.stringify(dets, null, 1) + '\n');
    else {
      process.stdout.write(mdTable(['runtime', 'available', 'version', 'notes'], dets.map((d) => ({
        runtime: d.peer, available: d.available, version: d.version,
        notes: d.available ? [...d.notes, ...(d.caps.missing ?? [])].join('; ') : `${d.reason} — fix: ${d.fix}`,
      }))));
      if (f.startDaemons && ctx.daemons.started.length) process.stdout.write(`(daemons started for this check are stopped again; \`bench ... --start-daemons\` starts them for a run)\n`);
    }
    return 0;
  } finally {
    await stopDaemons(ctx.daemons, log);
    removeContext(ctx);
  }
}
