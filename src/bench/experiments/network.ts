// `bench network` (the seed's throughput test): BYTES (1 GiB; --quick 64 MiB) sent over TCP, per path:
//   loopback   host -> host on 127.0.0.1 (bare: no container, the ceiling)
//   published  host -> a container through a published port (-p 127.0.0.1:HOSTPORT:5201, --network bridge)
//   bridge     container -> container on one bridge (the second container sends to the first's address)
// Sender and receiver are native/probes/netbench (static, in the rootfs's /bin): the sender's clock
// runs from the established connection to the receiver's count of what it read, so MB/s is delivery.
// No traffic leaves the machine: every address is 127.0.0.1 or on a bridge of this host.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { NETBENCH, sh } from '../proc.js';
import { summarize } from '../stats.js';
import type { BenchContext } from '../peers/types.js';
import type { Emit, ExperimentOptions, ExperimentResult, Row } from '../types.js';
import { failedRuntimes, newId, runLaunch, selectPeers, tick, type PeerPool } from './common.js';
import { containerIp, dockerLike, runArgv, type DockerLike } from './dockerlike.js';
import { bridgeUnavailable, dockerBridgeMissing, minidockHasNetwork } from './netmode.js';

export const NETWORK_COLUMNS = ['runtime', 'path', 'rep', 'bytes', 'seconds', 'mb_per_s', 'ok'];
const PORT = 5201;

/** One path to measure: the command that sends, run once per repetition. */
export interface NetCase {
  runtime: string;
  path: 'loopback' | 'published' | 'bridge';
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

/** "netbench bytes=N ns=T" -> MB/s (10^6 bytes per second) and seconds; undefined without the line. */
export function parseNetbench(stdout: string): { bytes: number; seconds: number; mbPerS: number } | undefined {
  const m = /netbench bytes=(\d+) ns=(\d+)/.exec(stdout);
  if (!m) return undefined;
  const bytes = Number(m[1]);
  const seconds = Number(m[2]) / 1e9;
  return seconds > 0 ? { bytes, seconds, mbPerS: bytes / 1e6 / seconds } : undefined;
}

/** Median MB/s per runtime and path, and each as a fraction of the loopback ceiling. */
export function networkSummary(rows: Row[]): Row[] {
  const keys = [...new Set(rows.map((r) => `${r.runtime}\t${r.path}`))];
  const ceiling = summarize(rows.filter((r) => r.path === 'loopback' && r.ok).map((r) => r.mb_per_s as number));
  return keys.flatMap((k) => {
    const [runtime, path] = k.split('\t');
    const s = summarize(
      rows.filter((r) => r.runtime === runtime && r.path === path && r.ok).map((r) => r.mb_per_s as number),
    );
    if (!s.n) return [];
    return [
      {
        runtime,
        path,
        n: s.n,
        median_mb_s: s.median,
        iqr_mb_s: s.iqr,
        min_mb_s: s.min,
        max_mb_s: s.max,
        of_loopback: ceiling.n ? s.median / ceiling.median : undefined,
      },
    ];
  });
}

/** A free TCP port on 127.0.0.1 (the kernel's pick; closed again before use). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

/** What a runtime needs to be measured here (undefined: it can be). */
function netNeed(ctx: BenchContext, name: string, kind: string, d: DockerLike | undefined): string | undefined {
  if (kind === 'baseline') return undefined;
  const no = bridgeUnavailable(name, kind as never, 'bridge');
  if (no) return no;
  if (!d) return 'not a Docker-like engine with a bridge';
  if (kind === 'minidock' && !minidockHasNetwork(d.base[0])) return 'this minidock build has no --network flag';
  if (name === 'docker') return dockerBridgeMissing(ctx);
  return undefined;
}

export async function network(
  ctx: BenchContext,
  pool: PeerPool,
  o: ExperimentOptions,
  emit: Emit,
): Promise<ExperimentResult> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const bytes = o.quick ? 64 * 2 ** 20 : 2 ** 30;
  const { active, skipped } = selectPeers('network', o.runtimes, pool, emit, (a) =>
    existsSync(NETBENCH)
      ? netNeed(ctx, a.peer.name, a.peer.kind, dockerLike(ctx, a))
      : `netbench is not built (${NETBENCH}): run make -C native`,
  );
  const servers: Server[] = [];
  const notes: string[] = [
    `${bytes / 2 ** 20} MiB per transfer, in 128 KiB writes; MB/s = 10^6 bytes/s from the established connection to the receiver's count of the bytes it read (native/probes/netbench)`,
    "published: the host sends to 127.0.0.1:HOSTPORT (-p 127.0.0.1:HOSTPORT:5201); bridge: a second container sends to the first one's address; every container --network bridge (minidock0, Podman's podman network, Docker's docker0)",
  ];
  let rows: Row[] = [];
  try {
    const cases: NetCase[] = [];
    for (const a of active) {
      const got = await setUp(ctx, a.peer.name, dockerLike(ctx, a), bytes, servers);
      if (typeof got === 'string') skipped.push({ experiment: 'network', runtime: a.peer.name, reason: got });
      else cases.push(...got);
    }
    rows = await measure(ctx, cases, o, emit, notes);
  } finally {
    for (const s of servers) s.stop();
  }
  const summary = networkSummary(rows);
  for (const s of summary)
    emit({
      type: 'summary',
      experiment: 'network',
      runtime: `${s.runtime} ${s.path}`,
      median: s.median_mb_s as number,
      unit: 'MB/s',
    });
  emit({ type: 'done', experiment: 'network', seconds: (Date.now() - t0) / 1000 });
  return {
    name: 'network',
    title: 'Network: TCP throughput, host → container (published port) and container → container (bridge)',
    columns: NETWORK_COLUMNS,
    rows,
    summaryColumns: ['runtime', 'path', 'n', 'median_mb_s', 'iqr_mb_s', 'min_mb_s', 'max_mb_s', 'of_loopback'],
    summary,
    skipped: [...skipped, ...failedRuntimes(rows, skipped, 'network', 'every transfer failed (see the notes)')],
    notes,
    startedAt,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** A receiver left running for the whole experiment: a host process or a container. */
interface Server {
  stop: () => void;
}

/** The receiver of one runtime, and its cases; a string: why this runtime could not be set up. */
async function setUp(
  ctx: BenchContext,
  name: string,
  d: DockerLike | undefined,
  bytes: number,
  servers: Server[],
): Promise<NetCase[] | string> {
  const hostPort = await freePort();
  const send = (addr: string, port: number): string[] => ['netbench', 'send', addr, String(port), String(bytes)];
  if (!d) {
    const child: ChildProcess = spawn(NETBENCH, ['recv', String(hostPort)], { stdio: 'ignore' });
    servers.push({ stop: () => child.kill('SIGKILL') });
    return [{ runtime: name, path: 'loopback', argv: [NETBENCH, ...send('127.0.0.1', hostPort).slice(1)] }];
  }
  const id = newId(ctx, 'net');
  const flags = ['--network', 'bridge', '-p', `127.0.0.1:${hostPort}:${PORT}`];
  const r = runLaunch(
    ctx,
    {
      argv: runArgv(d, { detach: id, flags, cmd: ['/bin/netbench', 'recv', String(PORT)] }),
      env: d.env,
      stdout: 'ignore',
    },
    120_000,
  );
  servers.push({ stop: () => sh([...d.base, ...d.rm, id], { env: d.env, timeoutMs: 60_000 }) });
  if (r.code !== 0)
    return `the receiver container did not start: ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 300)}`;
  const ip = containerIp(sh([...d.base, 'inspect', id], { env: d.env }).stdout);
  const cases: NetCase[] = [
    { runtime: name, path: 'published', argv: [NETBENCH, ...send('127.0.0.1', hostPort).slice(1)] },
  ];
  if (ip)
    cases.push({
      runtime: name,
      path: 'bridge',
      argv: runArgv(d, { flags: ['--network', 'bridge'], cmd: ['/bin/netbench', ...send(ip, PORT).slice(1)] }),
      env: d.env,
    });
  return cases;
}

/** Every case once per repetition (warm-ups first, not kept), interleaved. */
async function measure(
  ctx: BenchContext,
  cases: NetCase[],
  o: ExperimentOptions,
  emit: Emit,
  notes: string[],
): Promise<Row[]> {
  const rows: Row[] = [];
  const total = (o.reps + o.warmup) * cases.length;
  emit({ type: 'experiment', name: 'network', runtimes: [...new Set(cases.map((c) => c.runtime))], total });
  const done = new Map<string, number>();
  const failed = new Set<string>();
  for (let rep = -o.warmup; rep < o.reps; rep++) {
    for (const c of cases) {
      const r = runLaunch(ctx, { argv: c.argv, env: c.env }, 300_000);
      const got = r.code === 0 ? parseNetbench(r.stdout) : undefined;
      const key = `${c.runtime} ${c.path}`;
      if (!got && !failed.has(key)) {
        failed.add(key);
        notes.push(
          `${key}: the transfer failed (exit ${r.code}: ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 300)})`,
        );
      }
      if (rep >= 0)
        rows.push({
          runtime: c.runtime,
          path: c.path,
          rep,
          bytes: got?.bytes,
          seconds: got?.seconds,
          mb_per_s: got?.mbPerS,
          ok: !!got,
        });
      done.set(c.runtime, (done.get(c.runtime) ?? 0) + 1);
      const mine = (o.reps + o.warmup) * cases.filter((x) => x.runtime === c.runtime).length;
      emit({
        type: 'step',
        experiment: 'network',
        runtime: c.runtime,
        done: done.get(c.runtime)!,
        total: mine,
        value: got?.mbPerS,
        unit: 'MB/s',
      });
      await tick();
    }
  }
  return rows;
}
