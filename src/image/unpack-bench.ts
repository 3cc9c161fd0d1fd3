// `minidock bench unpack FILE [--runs N]`: how long unpacking an image's layers takes, apart from
// getting the image (the way the seed's container unpack benchmark separates download from
// extraction).
//
//   once, not timed:  detect the format and copy the content into a private scratch store under the
//                     state root (<root>/tmp/bench-unpack-*): the layer blobs as they are
//   every run:        remove the unpacked layers of the previous run, then time only the unpacking
//                     of every layer (decompression, digest checks, whiteouts, file creation)
//   meanwhile:        CPU %, memory (RSS) and processes/threads sampled every 100 ms
//   with containerd:  the same for ctr (`ctr image import` once; per run `ctr snapshots rm` of the
//                     image's snapshots, then the timed `ctr snapshots unpack`), side by side
// The scratch store is removed at the end; images of the state root are never touched.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { create as tarCreate } from 'tar';
import { cpus, release } from 'node:os';
import { posix } from 'node:path';
import { fail } from '../errors.js';
import { planImport, unpackLayer } from './import.js';
import type { LayerPlan } from './formats.js';
import { ByteBudget, DEFAULT_MAX_BYTES, fmtBytes } from './source.js';
import { scratch } from './store.js';
import type { RunResult, RuntimeResult, Stat3, UnpackBenchResult } from './unpack-bench-results.js';

export interface Sample {
  t: number; // ms since the run started
  cpuPct: number; // CPU time used in the last interval / interval length (can exceed 100 with threads)
  rssMiB: number;
  procs: number;
  threads: number;
}

export function stat3(xs: number[]): Stat3 {
  if (!xs.length) return { avg: 0, min: 0, max: 0 };
  const r = (v: number): number => Math.round(v * 100) / 100;
  return { avg: r(xs.reduce((a, b) => a + b, 0) / xs.length), min: r(Math.min(...xs)), max: r(Math.max(...xs)) };
}

// --- sampling /proc ---------------------------------------------------------------------------

const TICK = 100; // USER_HZ: /proc times are in 1/100 s on Linux

interface ProcTree {
  cpuTicks: number;
  rssKiB: number;
  procs: number;
  threads: number;
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        out.push(...readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
      } catch {
        /* gone */
      }
    }
  } catch {
    /* gone */
  }
  return out;
}

/** CPU ticks, RSS, processes and threads of the given processes and all their descendants. */
export function sampleTree(roots: number[]): ProcTree {
  const t: ProcTree = { cpuTicks: 0, rssKiB: 0, procs: 0, threads: 0 };
  const seen = new Set<number>();
  const todo = [...roots];
  while (todo.length) {
    const pid = todo.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      t.cpuTicks += Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
      t.threads += Number(f[17]); // num_threads (field 20)
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      t.rssKiB += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      t.procs++;
    } catch {
      continue;
    }
    todo.push(...children(pid));
  }
  return t;
}

/** Samples every `intervalMs` until stopped. For our own process, CPU comes from process.cpuUsage()
 * (microseconds; /proc's ticks are too coarse for 100 ms). */
export class Sampler {
  samples: Sample[] = [];
  private timer?: NodeJS.Timeout;
  private t0 = 0;
  private lastT = 0;
  private lastCpu = 0;
  constructor(
    private pids: () => number[],
    private intervalMs = 100,
    private self = false,
  ) {}

  private cpuMs(tree: ProcTree): number {
    if (this.self) {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000 + (tree.cpuTicks - this.selfTicks()) * (1000 / TICK);
    }
    return tree.cpuTicks * (1000 / TICK);
  }
  private selfTicks(): number {
    try {
      const stat = readFileSync('/proc/self/stat', 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]);
    } catch {
      return 0;
    }
  }

  private take(): void {
    const now = performance.now();
    const tree = sampleTree(this.pids());
    const cpu = this.cpuMs(tree);
    const dt = now - this.lastT;
    if (dt > 0 && this.lastT) {
      this.samples.push({
        t: now - this.t0,
        cpuPct: Math.max(0, ((cpu - this.lastCpu) / dt) * 100),
        rssMiB: tree.rssKiB / 1024,
        procs: tree.procs,
        threads: tree.threads,
      });
    }
    this.lastT = now;
    this.lastCpu = cpu;
  }

  start(): void {
    this.t0 = performance.now();
    this.lastT = 0;
    this.take();
    this.timer = setInterval(() => this.take(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.take(); // the last partial interval
  }
}

function runResult(run: number, ms: number, s: Sample[], entries: number, bytes: number): RunResult {
  return {
    run,
    ms: Math.round(ms * 100) / 100,
    samples: s.length,
    entries,
    bytes,
    cpuPct: stat3(s.map((x) => x.cpuPct)),
    rssMiB: stat3(s.map((x) => x.rssMiB)),
    procs: stat3(s.map((x) => x.procs)),
    threads: stat3(s.map((x) => x.threads)),
  };
}

function summarize(r: RuntimeResult): RuntimeResult {
  if (!r.runs.length) return r;
  return {
    ...r,
    summary: {
      ms: stat3(r.runs.map((x) => x.ms)),
      cpuPct: stat3(r.runs.map((x) => x.cpuPct.avg)),
      peakRssMiB: Math.max(...r.runs.map((x) => x.rssMiB.max)),
      peakProcs: Math.max(...r.runs.map((x) => x.procs.max)),
      peakThreads: Math.max(...r.runs.map((x) => x.threads.max)),
    },
  };
}

// --- minidock ---------------------------------------------------------------------------------

async function benchMinidock(
  layers: LayerPlan[],
  store: string,
  runs: number,
  intervalMs: number,
  log: (s: string) => void,
): Promise<RuntimeResult> {
  const out: RuntimeResult = { runtime: 'minidock', runs: [] };
  const unpacked = posix.join(store, 'unpacked');
  for (let run = 1; run <= runs; run++) {
    rmSync(unpacked, { recursive: true, force: true }); // not timed: the previous run's layers go
    mkdirSync(unpacked, { mode: 0o700 });
    const sampler = new Sampler(() => [process.pid], intervalMs, true);
    let entries = 0;
    let bytes = 0;
    sampler.start();
    const t0 = performance.now();
    const budget = new ByteBudget(Number.MAX_SAFE_INTEGER);
    for (const [i, l] of layers.entries()) {
      const dir = posix.join(unpacked, String(i));
      mkdirSync(dir);
      const u = await unpackLayer(l, dir, budget);
      entries += u.stats.entries;
      bytes += u.stats.bytes;
    }
    const ms = performance.now() - t0;
    sampler.stop();
    const r = runResult(run, ms, sampler.samples, entries, bytes);
    out.runs.push(r);
    log(
      `minidock  run ${run}/${runs}: ${r.ms.toFixed(1)} ms, CPU avg ${r.cpuPct.avg.toFixed(0)}% max ${r.cpuPct.max.toFixed(0)}%, RSS max ${r.rssMiB.max.toFixed(1)} MiB`,
    );
  }
  rmSync(unpacked, { recursive: true, force: true });
  return summarize(out);
}

// --- containerd (ctr), when it is there -------------------------------------------------------

function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (d && existsSync(posix.join(d, cmd))) return posix.join(d, cmd);
  }
  return undefined;
}

function pidOf(comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Remove every snapshot of the namespace, children before parents. */
function removeSnapshots(sh: (a: string[]) => { ok: boolean; out: string }): void {
  for (let k = 0; k < 128; k++) {
    const snaps = sh(['snapshots', 'ls'])
      .out.split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/));
    if (!snaps.length) return;
    // rows are KEY [PARENT] KIND: a key that is nobody's parent is a leaf
    const parents = new Set(snaps.filter((s) => s.length >= 3).map((s) => s[1]));
    for (const s of snaps) if (!parents.has(s[0])) sh(['snapshots', 'rm', s[0]]);
  }
}

async function benchCtr(
  file: string,
  format: string,
  store: string,
  runs: number,
  intervalMs: number,
  log: (s: string) => void,
): Promise<RuntimeResult> {
  const install = 'apt-get install -y containerd && containerd &';
  const ctr = which('ctr');
  if (!ctr)
    return { runtime: 'ctr', skipped: 'ctr is not installed (containerd is not on this machine)', install, runs: [] };
  const daemons = pidOf('containerd');
  const address = process.env.CONTAINERD_ADDRESS || '/run/containerd/containerd.sock';
  if (!daemons.length || !existsSync(address)) {
    return {
      runtime: 'ctr',
      skipped: `containerd is not running${daemons.length ? ` on ${address} (set CONTAINERD_ADDRESS)` : ''}`,
      install: 'containerd &',
      runs: [],
    };
  }
  const ns = `minidock-bench-${process.pid}`;
  const sh = (args: string[]): { ok: boolean; out: string } => {
    const r = spawnSync(ctr, ['-n', ns, ...args], { encoding: 'utf8', timeout: 600_000 });
    return { ok: r.status === 0, out: (r.stdout ?? '') + (r.stderr ?? '') };
  };
  const out: RuntimeResult = { runtime: 'ctr', runs: [] };
  if (format === 'rootfs-tar')
    return { runtime: 'ctr', skipped: 'ctr imports image archives only, not a plain rootfs tar', runs: [] };
  let archive = file;
  if (statSync(file).isDirectory()) {
    // ctr imports a tar: the OCI layout directory is archived first (not timed)
    archive = posix.join(store, 'oci-for-ctr.tar');
    await tarCreate({ file: archive, cwd: file, portable: true }, readdirSync(file));
  }
  try {
    const imp = sh(['images', 'import', '--no-unpack', archive]);
    if (!imp.ok)
      return { runtime: 'ctr', skipped: `ctr images import failed: ${imp.out.trim().split('\n').pop()}`, runs: [] };
    const ls = sh(['images', 'ls'])
      .out.split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.split(/\s+/));
    const digest = ls[0]?.[2];
    if (!digest) return { runtime: 'ctr', skipped: 'ctr imported no image', runs: [] };
    for (let run = 1; run <= runs; run++) {
      removeSnapshots(sh); // not timed: the previous run's layers go
      const sampler = new Sampler(() => [...pidOf('ctr'), ...daemons], intervalMs);
      sampler.start();
      const t0 = performance.now();
      const r = await new Promise<number | null>((res) => {
        const p = spawn(ctr, ['-n', ns, 'snapshots', 'unpack', digest], { stdio: 'ignore' });
        p.on('close', (c) => res(c));
      });
      const ms = performance.now() - t0;
      sampler.stop();
      if (r !== 0) return { ...out, skipped: `ctr snapshots unpack exited ${r}` };
      const rr = runResult(run, ms, sampler.samples, 0, 0);
      out.runs.push(rr);
      log(`ctr       run ${run}/${runs}: ${rr.ms.toFixed(1)} ms, CPU avg ${rr.cpuPct.avg.toFixed(0)}%`);
    }
    return summarize(out);
  } finally {
    // remove what we imported: snapshots, images (their content is then garbage-collected), the namespace
    removeSnapshots(sh);
    for (const l of sh(['images', 'ls', '-q']).out.split('\n').filter(Boolean)) sh(['images', 'rm', '--sync', l]);
    sh(['namespaces', 'rm', ns]);
  }
}

// --- the measurement (the command, its table and its files: src/cli/bench-unpack.ts) -------------

export interface UnpackBenchOptions {
  root: string;
  file: string;
  runs: number;
  intervalMs?: number;
  log?: (line: string) => void;
  /** skip ctr even when present (tests) */
  noPeers?: boolean;
}

export async function unpackBench(o: UnpackBenchOptions): Promise<UnpackBenchResult> {
  if (!Number.isInteger(o.runs) || o.runs < 1) fail(`--runs ${o.runs}: use a whole number ≥ 1`);
  const log = o.log ?? (() => {});
  const intervalMs = o.intervalMs ?? 100;
  const store = scratch(o.root, 'bench-unpack-');
  try {
    // 1. not timed: the content into the store
    const blobs = posix.join(store, 'content');
    mkdirSync(blobs);
    const bundle = await planImport(o.file, posix.join(blobs, 'stage'), new ByteBudget(DEFAULT_MAX_BYTES));
    if (bundle.images.length !== 1)
      fail(`bench unpack ${o.file}: it holds ${bundle.images.length} images; give an archive of one`);
    const layers = bundle.images[0].layers.map((l, i) => {
      // layers read in place (a plain tar, an OCI directory) are copied in as well
      if (l.path.startsWith(blobs + '/')) return l;
      const copy = posix.join(blobs, `layer-${i}`);
      copyFileSync(l.path, copy);
      return { ...l, path: copy };
    });
    let stored = 0;
    for (const l of layers) stored += statSync(l.path).size;
    log(
      `bench unpack: ${bundle.format}, ${layers.length} layer(s), ${fmtBytes(stored)} stored; ${o.runs} run(s), sampling every ${intervalMs} ms`,
    );

    // 2. the runs
    const results: RuntimeResult[] = [await benchMinidock(layers, store, o.runs, intervalMs, log)];
    results.push(
      o.noPeers
        ? { runtime: 'ctr', skipped: 'peers disabled (--no-peers)', runs: [] }
        : await benchCtr(o.file, bundle.format, store, o.runs, intervalMs, log),
    );
    const cpu = (() => {
      try {
        return /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
      } catch {
        return 'unknown';
      }
    })();
    return {
      file: o.file,
      format: bundle.format,
      layers: layers.length,
      storedBytes: stored,
      tarBytes: results[0].runs[0]?.bytes ?? 0,
      runs: o.runs,
      intervalMs,
      env: { kernel: release(), node: process.version, cpu, cpus: cpus().length },
      results,
    };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}
