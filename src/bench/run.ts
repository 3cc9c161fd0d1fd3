// `minidock bench <experiment>`: prepare once, run the experiments, write results/<timestamp>/, and
// leave the host as it was (containers, images, daemons we started, cgroups). The command that
// chooses the progress view and prints the summary is src/cli/bench.ts.
import { join, resolve } from 'node:path';
import { MinidockError } from '../errors.js';
import { collectEnv, loadavg, withLoadavg } from './env.js';
import { makeContext, removeContext } from './context.js';
import { findDaemons, startDaemons, stopDaemons } from './daemons.js';
import { isSkip, type PeerPool } from './experiments/common.js';
import { parseNetModes, type NetMode } from './experiments/netmode.js';
import type { ActiveOci, OciPool } from './experiments/cycle.js';
import { makePeer, parseRuntimes, type PeerName } from './peers/index.js';
import { makeOciRuntime, parseOciRuntimes, type OciRuntimeName } from './peers/oci-runtimes.js';
import { dockerRuntimes, pairsFromFlags, splitPair } from './peers/pairs.js';
import type { BenchContext, Detection, Peer } from './peers/types.js';
import { timestampDir, writeResults, type Results } from './output.js';
import type { ActivePeer, Emit, ExperimentOptions, ExperimentResult, Skip } from './types.js';

/** The experiments of `bench all`. */
export const EXPERIMENTS = ['startup', 'phases', 'overhead', 'scale', 'limits'] as const;
/**
 * ... and those run only by name: cycle measures OCI runtimes alone (runc, crun, minidock-oci);
 * network and ipc move gigabytes (bare, minidock, Podman and Docker by default).
 */
export type ExperimentName = (typeof EXPERIMENTS)[number] | 'cycle' | 'network' | 'ipc';

export interface BenchFlags {
  runtimes?: string;
  /** bench startup: engines and OCI runtimes, measured as every engine+runtime pair */
  engines?: string;
  ociRuntimes?: string;
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
  /** bench startup: the network mode of every runtime (none, bridge) */
  network?: string;
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
  // 50: the whole cycle of runc or crun takes a few tens of ms, and its IQR on this shared machine
  // is a fifth of that; minidock-oci pays Node's start three times per cycle
  cycle: { reps: 50, quick: 5 },
  // 1 GiB a transfer: a few seconds each on this machine, and its spread is the host's load
  network: { reps: 5, quick: 2 },
  ipc: { reps: 10, quick: 3 },
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
    network: netMode(f.network),
  };
}

function netMode(v: string | undefined): NetMode[] {
  try {
    return parseNetModes(v);
  } catch (e) {
    throw new MinidockError((e as Error).message);
  }
}

/** Detect and prepare each runtime once per bench run; a failure becomes a skip record. */
export class Pool implements PeerPool, OciPool {
  private readonly cache = new Map<PeerName, ActivePeer | Skip>();
  private readonly ociCache = new Map<OciRuntimeName, ActiveOci | Skip>();
  readonly detections: Detection[] = [];
  private readonly prepared: Array<Pick<Peer, 'name' | 'cleanup'>> = [];

  constructor(
    private readonly ctx: BenchContext,
    private readonly note: (s: string) => void = () => {},
  ) {}

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

  /** An OCI runtime as a program (the cycle experiment), detected and prepared once. */
  oci(name: OciRuntimeName): ActiveOci | Skip {
    const hit = this.ociCache.get(name);
    if (hit) return hit;
    const rt = makeOciRuntime(name);
    const det = rt.detect(this.ctx);
    this.detections.push(det);
    let got: ActiveOci | Skip = { rt, det };
    if (!det.available) got = { experiment: '', runtime: name, reason: det.reason ?? 'not available', fix: det.fix };
    else {
      this.prepared.push(rt);
      try {
        rt.prepare(this.ctx);
      } catch (e) {
        det.available = false;
        det.reason = `preparation failed: ${(e as Error).message}`;
        got = { experiment: '', runtime: name, reason: det.reason, fix: det.fix };
      }
    }
    this.ociCache.set(name, got);
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
    const oci = [...this.ociCache.values()].filter((x): x is Skip => 'reason' in x && !('rt' in x));
    return [...[...this.cache.values()].filter(isSkip), ...oci];
  }
}

async function runExperiment(
  name: ExperimentName,
  ctx: BenchContext,
  pool: Pool,
  o: ExperimentOptions,
  emit: Emit,
): Promise<ExperimentResult> {
  switch (name) {
    case 'startup':
      return (await import('./experiments/startup.js')).startup(ctx, pool, o, emit);
    case 'phases':
      return (await import('./experiments/phases.js')).phases(ctx, pool, o, emit);
    case 'limits':
      return (await import('./experiments/limits.js')).limits(ctx, pool, o, emit);
    case 'overhead':
      return (await import('./experiments/overhead.js')).overhead(ctx, pool, o, emit);
    case 'scale':
      return (await import('./experiments/scale.js')).scale(ctx, pool, o, emit);
    case 'cycle':
      return (await import('./experiments/cycle.js')).cycle(ctx, pool, o, emit);
    case 'network':
      return (await import('./experiments/network.js')).network(ctx, pool, o, emit);
    case 'ipc':
      return (await import('./experiments/ipc.js')).ipc(ctx, pool, o, emit);
  }
}

/** Where the experiments report their progress (the live view, plain lines, nothing), until stop(). */
export interface ProgressSink {
  emit: Emit;
  stop: () => Promise<void>;
}

/** What a bench run wrote: its results and the files under outDir. */
export interface BenchRun {
  outDir: string;
  results: Results;
  files: string[];
  /** SIGINT or SIGTERM arrived: the experiments left were not run */
  interrupted: boolean;
}

/** What the command supplies: the bench itself never writes to the terminal. */
export interface BenchHooks {
  /** one line of what the bench does around the measurements (daemons, cleanup problems) */
  log: (line: string) => void;
  /** called once every runtime is detected and prepared: where progress goes */
  progress: () => Promise<ProgressSink>;
  /** the results, once written — before the runtimes and daemons are cleaned up (and log about it) */
  done: (run: BenchRun) => void;
}

/**
 * Run the experiments `what` names against the runtimes of `f`, write results/<timestamp>/, and
 * leave the host as it was (containers, images, daemons it started, cgroups).
 */
export async function runBench(what: ExperimentName | 'all', f: BenchFlags, hooks: BenchHooks): Promise<BenchRun> {
  const runtimes = benchRuntimes(what, f);
  if (process.getuid?.() !== 0 && runtimes.some((r) => r !== 'bare')) {
    throw new MinidockError(
      'bench needs root: every runtime it measures creates namespaces, mounts and cgroups (try sudo, or --runtimes bare)',
    );
  }
  const names: ExperimentName[] = what === 'all' ? [...EXPERIMENTS] : [what];
  const outDir = resolve(f.out ?? timestampDir(resolve('results')));
  const ctx = makeContext({ rootfs: f.rootfs, pin: int(f.pin, 'pin', 0) });
  const { log } = hooks;
  const pool = new Pool(ctx, log);
  let sink: ProgressSink | undefined;
  const onSignal = (): void => {
    interrupted = true;
  };
  let interrupted = false;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    ctx.daemons = findDaemons();
    if (f.startDaemons) {
      // a dockerd started here may run the pairs' other runtimes: `--add-runtime`, in daemon.json
      const forDocker = runtimes.flatMap((r) => (splitPair(r)?.engine === 'docker' ? [splitPair(r)!.runtime] : []));
      ctx.daemons = await startDaemons(join(ctx.work, 'daemons'), ctx.daemons, log, dockerRuntimes(ctx, forDocker));
    }
    // detect + prepare all first: the environment lists every peer (the cycle's are OCI runtimes)
    for (const r of runtimes)
      if (what === 'cycle') pool.oci(r as OciRuntimeName);
      else pool.get(r);
    const env = collectEnv({ ...f, experiments: names }, pool.detections, ctx.daemons.started);
    sink = await hooks.progress();
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
    const results: Results = { version: 1, tool: 'minidock bench', env, experiments, skipped };
    const { files } = await writeResults(outDir, results, { charts: f.charts !== false });
    const run: BenchRun = { outDir, results, files, interrupted };
    hooks.done(run);
    return run;
  } finally {
    if (sink) await sink.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    pool.cleanup();
    await stopDaemons(ctx.daemons, log);
    for (const p of removeContext(ctx)) log(p);
  }
}

/**
 * The runtimes `f` asks for: `--runtimes` (for cycle: OCI runtimes, runc,crun,minidock by default),
 * and for startup the pairs of `--engines` × `--oci-runtimes` after them (alone, only the pairs).
 */
export function benchRuntimes(what: ExperimentName | 'all', f: BenchFlags): PeerName[] {
  try {
    if (what === 'cycle') return parseOciRuntimes(f.runtimes);
    if ((what === 'network' || what === 'ipc') && f.runtimes === undefined)
      return parseRuntimes('bare,minidock,podman,docker');
    const pairs = pairsFromFlags(f.engines, f.ociRuntimes);
    if (pairs.length && what !== 'startup')
      throw new Error('--engines and --oci-runtimes are for bench startup (the engine × runtime matrix)');
    if (!pairs.length) return parseRuntimes(f.runtimes);
    const alone = f.runtimes === undefined ? [] : parseRuntimes(f.runtimes);
    return [...alone, ...pairs.filter((p) => !alone.includes(p))];
  } catch (e) {
    throw new MinidockError((e as Error).message);
  }
}

/**
 * `bench peers`: every runtime's detection on this machine (with --start-daemons, containerd and
 * dockerd started for the check). `show` gets them while those daemons still run; they are stopped
 * (and `log` told) afterwards.
 */
export async function detectPeers(
  f: { startDaemons?: boolean },
  log: (line: string) => void,
  show: (detections: Detection[], daemonsStarted: boolean) => void,
): Promise<void> {
  const ctx = makeContext({});
  try {
    ctx.daemons = findDaemons();
    if (f.startDaemons) ctx.daemons = await startDaemons(join(ctx.work, 'daemons'), ctx.daemons, log);
    show(
      parseRuntimes('all').map((n) => makePeer(n).detect(ctx)),
      ctx.daemons.started.length > 0,
    );
  } finally {
    await stopDaemons(ctx.daemons, log);
    removeContext(ctx);
  }
}
