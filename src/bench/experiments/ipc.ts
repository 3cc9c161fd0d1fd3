// `bench ipc` (the other seed's experiment): a ping-pong between two processes (native/probes/ipcbench)
// through shared memory (a MAP_SHARED file, futex wake-ups) and through a unix socket, set up three ways:
//   native       both on the host, in a directory of the host's /dev/shm (bare)
//   shared-shm   two containers sharing /dev/shm: the server --ipc shareable --shm-size 64m, the client
//                --ipc container:SERVER (its IPC namespace and its /dev/shm)
//   bind-mount   two containers bind-mounting the same host directory (-v DIR:/ipc; DIR on the host's
//                /dev/shm, a tmpfs, so that no disk is involved)
// Latency: the mean round trip of a 64-byte request and reply; throughput: 1 MiB requests (4-byte
// replies), every byte copied out by the server. The numbers are the client's own clock: the
// containers' launches are not in them.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { IPCBENCH, sh } from '../proc.js';
import { summarize } from '../stats.js';
import type { BenchContext } from '../peers/types.js';
import type { Emit, ExperimentOptions, ExperimentResult, Row } from '../types.js';
import { failedRuntimes, newId, runLaunch, selectPeers, tick, type PeerPool } from './common.js';
import { dockerLike, runArgv, type DockerLike } from './dockerlike.js';

export const IPC_COLUMNS = ['runtime', 'setup', 'transport', 'rep', 'rtt_us', 'round_trips_per_s', 'mb_per_s', 'ok'];
export type IpcSetup = 'native' | 'shared-shm' | 'bind-mount';

/** One client run: "ipcbench transport=T rounds=R rtt_ns=N bytes=B ns=T" per transport. */
export function parseIpcbench(stdout: string): Array<{ transport: string; rttUs: number; mbPerS: number }> {
  const out: Array<{ transport: string; rttUs: number; mbPerS: number }> = [];
  for (const m of stdout.matchAll(/ipcbench transport=(\w+) rounds=\d+ rtt_ns=(\d+) bytes=(\d+) ns=(\d+)/g)) {
    const ns = Number(m[4]);
    out.push({ transport: m[1], rttUs: Number(m[2]) / 1000, mbPerS: ns > 0 ? Number(m[3]) / 1e6 / (ns / 1e9) : 0 });
  }
  return out;
}

/** Medians per runtime, setup and transport, and the latency and throughput over native's. */
export function ipcSummary(rows: Row[]): Row[] {
  const keys = [...new Set(rows.filter((r) => r.ok).map((r) => `${r.runtime}\t${r.setup}\t${r.transport}`))];
  const pick = (f: (r: Row) => boolean, field: string) =>
    summarize(rows.filter((r) => r.ok && f(r)).map((r) => r[field] as number));
  return keys.map((k) => {
    const [runtime, setup, transport] = k.split('\t');
    const mine = (r: Row): boolean => r.runtime === runtime && r.setup === setup && r.transport === transport;
    const native = (r: Row): boolean => r.setup === 'native' && r.transport === transport;
    const rtt = pick(mine, 'rtt_us');
    const tput = pick(mine, 'mb_per_s');
    const nRtt = pick(native, 'rtt_us');
    const nTput = pick(native, 'mb_per_s');
    return {
      runtime,
      setup,
      transport,
      n: rtt.n,
      rtt_median_us: rtt.median,
      rtt_iqr_us: rtt.iqr,
      round_trips_per_s: rtt.median > 0 ? 1e6 / rtt.median : undefined,
      mb_s_median: tput.median,
      mb_s_iqr: tput.iqr,
      x_native_rtt: nRtt.n ? rtt.median / nRtt.median : undefined,
      of_native_mb_s: nTput.n ? tput.median / nTput.median : undefined,
    };
  });
}

/** One client to run per repetition, and what it needs running. */
interface IpcCase {
  runtime: string;
  setup: IpcSetup;
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

export async function ipc(
  ctx: BenchContext,
  pool: PeerPool,
  o: ExperimentOptions,
  emit: Emit,
): Promise<ExperimentResult> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const [rounds, mib] = o.quick ? [2000, 32] : [20000, 256];
  const { active, skipped } = selectPeers('ipc', o.runtimes, pool, emit, (a) =>
    !existsSync(IPCBENCH)
      ? `ipcbench is not built (${IPCBENCH}): run make -C native`
      : a.peer.kind === 'baseline' || dockerLike(ctx, a)
        ? undefined
        : 'not a Docker-like engine: no --ipc container:NAME or -v to share memory between two containers',
  );
  const notes = [
    `per client run: ${rounds} round trips of 64 bytes (rtt_us: their mean) and ${mib} requests of 1 MiB with a 4-byte reply (mb_per_s); the server copies every request out; shm: a MAP_SHARED file and futex wake-ups after a short spin; unix: a socket bound to a path in the shared directory (native/probes/ipcbench)`,
    "shared-shm: the server --ipc shareable --shm-size 64m, the client --ipc container:SERVER; bind-mount: both -v DIR:/ipc, DIR on the host's /dev/shm (tmpfs); native: both on the host in such a directory",
  ];
  const stops: Array<() => void> = [];
  const dirs: string[] = [];
  let rows: Row[] = [];
  try {
    const cases: IpcCase[] = [];
    for (const a of active) {
      const d = dockerLike(ctx, a);
      const got = d
        ? containerCases(ctx, d, rounds, mib, stops, dirs)
        : nativeCase(a.peer.name, rounds, mib, stops, dirs);
      for (const g of got) {
        if (typeof g === 'string') skipped.push({ experiment: 'ipc', runtime: a.peer.name, reason: g });
        else cases.push(g);
      }
    }
    rows = await measure(ctx, cases, o, emit, notes);
  } finally {
    for (const stop of stops) stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  const summary = ipcSummary(rows);
  for (const s of summary)
    emit({
      type: 'summary',
      experiment: 'ipc',
      runtime: `${s.runtime} ${s.setup} ${s.transport}`,
      median: s.rtt_median_us as number,
      unit: 'µs',
    });
  emit({ type: 'done', experiment: 'ipc', seconds: (Date.now() - t0) / 1000 });
  return {
    name: 'ipc',
    title:
      'IPC: a ping-pong through shared memory and a unix socket — native, two containers sharing /dev/shm, across a bind mount',
    columns: IPC_COLUMNS,
    rows,
    summaryColumns: [
      'runtime',
      'setup',
      'transport',
      'n',
      'rtt_median_us',
      'rtt_iqr_us',
      'round_trips_per_s',
      'mb_s_median',
      'mb_s_iqr',
      'x_native_rtt',
      'of_native_mb_s',
    ],
    summary,
    skipped: [...skipped, ...failedRuntimes(rows, skipped, 'ipc', 'every client run failed (see the notes)')],
    notes,
    startedAt,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** A directory on the host's /dev/shm (tmpfs), removed at the end. */
function shmDir(dirs: string[]): string {
  const d = mkdtempSync('/dev/shm/minidock-bench-ipc-');
  dirs.push(d);
  return d;
}

function nativeCase(name: string, rounds: number, mib: number, stops: Array<() => void>, dirs: string[]): IpcCase[] {
  const dir = shmDir(dirs);
  // the shm server is the server's child, which dies with it (PR_SET_PDEATHSIG)
  const child: ChildProcess = spawn(IPCBENCH, ['serve', dir], { stdio: 'ignore' });
  stops.push(() => child.kill('SIGKILL'));
  return [{ runtime: name, setup: 'native', argv: [IPCBENCH, 'client', dir, String(rounds), String(mib)] }];
}

/** The two container setups of one engine: their servers started (-d), their clients to run. */
function containerCases(
  ctx: BenchContext,
  d: DockerLike,
  rounds: number,
  mib: number,
  stops: Array<() => void>,
  dirs: string[],
): Array<IpcCase | string> {
  const client = (dir: string): string[] => ['/bin/ipcbench', 'client', dir, String(rounds), String(mib)];
  const start = (flags: string[], dir: string): string | undefined => {
    const id = newId(ctx, 'ipc');
    const r = runLaunch(
      ctx,
      { argv: runArgv(d, { detach: id, flags, cmd: ['/bin/ipcbench', 'serve', dir] }), env: d.env, stdout: 'ignore' },
      120_000,
    );
    stops.push(() => sh([...d.base, ...d.rm, id], { env: d.env, timeoutMs: 60_000 }));
    return r.code === 0 ? id : undefined;
  };
  const why = (setup: string): string => `${setup}: the server container did not start`;
  const out: Array<IpcCase | string> = [];
  const shm = start(['--ipc', 'shareable', '--shm-size', '64m'], '/dev/shm');
  out.push(
    shm
      ? {
          runtime: d.name,
          setup: 'shared-shm',
          argv: runArgv(d, { flags: ['--ipc', `container:${shm}`], cmd: client('/dev/shm') }),
          env: d.env,
        }
      : why('shared-shm'),
  );
  const host = shmDir(dirs);
  const bind = start(['-v', `${host}:/ipc`], '/ipc');
  out.push(
    bind
      ? {
          runtime: d.name,
          setup: 'bind-mount',
          argv: runArgv(d, { flags: ['-v', `${host}:/ipc`], cmd: client('/ipc') }),
          env: d.env,
        }
      : why('bind-mount'),
  );
  return out;
}

/** Every client once per repetition (warm-ups first, not kept), interleaved; a failure noted once. */
async function measure(
  ctx: BenchContext,
  cases: IpcCase[],
  o: ExperimentOptions,
  emit: Emit,
  notes: string[],
): Promise<Row[]> {
  const rows: Row[] = [];
  emit({
    type: 'experiment',
    name: 'ipc',
    runtimes: [...new Set(cases.map((c) => c.runtime))],
    total: (o.reps + o.warmup) * cases.length,
  });
  const done = new Map<string, number>();
  const failed = new Set<string>();
  for (let rep = -o.warmup; rep < o.reps; rep++) {
    for (const c of cases) {
      const r = runLaunch(ctx, { argv: c.argv, env: c.env }, 300_000);
      const got = r.code === 0 ? parseIpcbench(r.stdout) : [];
      const key = `${c.runtime} ${c.setup}`;
      if (!got.length && !failed.has(key)) {
        failed.add(key);
        notes.push(
          `${key}: the client failed (exit ${r.code}: ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 300)})`,
        );
      }
      if (rep >= 0) {
        for (const g of got)
          rows.push({
            runtime: c.runtime,
            setup: c.setup,
            transport: g.transport,
            rep,
            rtt_us: g.rttUs,
            round_trips_per_s: g.rttUs > 0 ? 1e6 / g.rttUs : undefined,
            mb_per_s: g.mbPerS,
            ok: true,
          });
        if (!got.length) rows.push({ runtime: c.runtime, setup: c.setup, rep, ok: false });
      }
      done.set(c.runtime, (done.get(c.runtime) ?? 0) + 1);
      const mine = (o.reps + o.warmup) * cases.filter((x) => x.runtime === c.runtime).length;
      emit({
        type: 'step',
        experiment: 'ipc',
        runtime: c.runtime,
        done: done.get(c.runtime)!,
        total: mine,
        value: got[0]?.rttUs,
        unit: 'µs',
      });
      await tick();
    }
  }
  return rows;
}
