// Experiment 4: the limits scoreboard. The same limit, set through each runtime's own flag (or OCI
// linux.resources), and the same workload; then what *happened* (seen from inside the container
// and from its cgroup) beside what the engine *reported*.
//   memory 50/100/256M: `head -c 2×LIMIT /dev/zero | tail` — tail keeps everything (no newline ever
//     comes), so it allocates anonymous memory until the kernel's OOM killer stops it (rc 137).
//   pids 10/50/100: start LIMIT+20 background sleeps from a subshell; count how many started.
//   cpu 25/50/75/100%: one busy loop for a few seconds; CPU time / wall time = achieved share.
import { PodmanRootless } from '../peers/engines.js';
import { rootlessLaunch, rootlessUnavailable } from '../peers/minidock.js';
import type { BenchContext, BenchLimits, EngineReport, Launch, Peer, Workload } from '../peers/types.js';
import type { ActivePeer, Emit, ExperimentOptions, ExperimentResult, Row, Skip } from '../types.js';
import { failure, newId, runLaunch, selectPeers, tick, type PeerPool } from './common.js';

export interface LimitCase {
  test: 'memory' | 'pids' | 'cpu';
  label: string;
  limits: BenchLimits;
  script: string;
}

const MiB = 1024 * 1024;

/**
 * Read the container's own cgroup files from inside (runc, crun, Docker, Podman mount them; v1 or v2
 * names), each line printed with `prefix`. Shell builtins only (`[`, read, echo), no fork: the pids
 * case reads its counters right after `kill -9 -1`, while the killed sleeps may still count against
 * the limit (SIGKILLed tasks exit asynchronously, and PID 1 reaps the orphans when it gets to them);
 * busybox sh exits with status 2 at a failed fork, and the old `cat ... | sed` there lost the
 * counters. `if`, not `[ -r $f ] && ...`: the file of the other cgroup version is always missing,
 * and `&&` made that the script's exit status (the CPU rows' `1`).
 */
const CG = (v1: string, v2: string, prefix = ''): string =>
  `for f in /sys/fs/cgroup/${v1} /sys/fs/cgroup/${v2}; do if [ -r $f ]; then while read -r l; do echo "${prefix}$l"; done < $f; fi; done`;

/**
 * Every workload ends with `exit 0`: the runtime's exit status (run_exit) is then 0 exactly when the
 * script ran to its end, and anything else is the runtime's own failure or the script cut short —
 * never the workload's result, which each case prints itself (victim_rc, started=, ticks=).
 */
const DONE = 'exit 0';

export function memoryCase(mib: number): LimitCase {
  return {
    // memory-swap = memory: no swap. With -m alone Docker (and minidock, and Podman) allow as much
    // again in swap, and on a host with swap tail would be swapped out instead of killed at the limit.
    test: 'memory',
    label: `${mib}M`,
    limits: { memoryBytes: mib * MiB, memorySwapBytes: mib * MiB },
    script: [
      `head -c ${2 * mib}m /dev/zero | tail`,
      'echo "rc=$?"',
      `echo "peak=$(${CG('memory/memory.max_usage_in_bytes', 'memory.peak')})"`,
      // "oom_kill N" among the other counters (v1 memory.oom_control, v2 memory.events): parseKv picks it
      CG('memory/memory.oom_control', 'memory.events'),
      DONE,
    ].join('\n'),
  };
}

export function pidsCase(n: number): LimitCase {
  return {
    test: 'pids',
    label: `${n}`,
    limits: { pids: n },
    // the subshell dies at the first failed fork; its sleeps stay (children of PID 1, this sh)
    script: [
      `( i=0; while [ $i -lt ${n + 20} ]; do sleep 30 & i=$((i+1)); echo "started=$i"; done ) 2>/tmp/pids.err`,
      'read -r err < /tmp/pids.err; echo "err=$err"',
      'set -- /proc/[0-9]*; echo "tasks_now=$#"',
      'kill -9 -1 2>/dev/null; wait',
      CG('pids/pids.events', 'pids.events', 'pids_events_'),
      DONE,
    ].join('\n'),
  };
}

export function cpuCase(pct: number, seconds: number): LimitCase {
  return {
    test: 'cpu',
    label: `${pct}%`,
    limits: { cpus: pct / 100 },
    script: [
      '( while :; do :; done ) & P=$!',
      `sleep ${seconds}`,
      'read -r s < /proc/$P/stat; kill -9 $P',
      // utime + stime, fields 14 and 15 of /proc/PID/stat, in clock ticks (USER_HZ = 100)
      'set -- $s; echo "ticks=$((${14} + ${15}))"',
      `echo "seconds=${seconds}"`,
      CG('cpu/cpu.stat', 'cpu.stat'),
      DONE,
    ].join('\n'),
  };
}

export function limitCases(quick: boolean, cpuSeconds = quick ? 1 : 3): LimitCase[] {
  if (quick) return [memoryCase(50), pidsCase(10), cpuCase(50, cpuSeconds)];
  return [
    ...[50, 100, 256].map(memoryCase),
    ...[10, 50, 100].map(pidsCase),
    ...[25, 50, 75, 100].map((p) => cpuCase(p, cpuSeconds)),
  ];
}

/** key=value and "key value" lines from the workload's output. */
export function parseKv(out: string): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const line of out.split('\n')) {
    let m = /^([a-z_]+)=(.*)$/.exec(line.trim());
    if (!m) m = /^([a-z_]+) (\d+)$/.exec(line.trim());
    if (m) kv[m[1]] = m[2]; // the last value wins (started=1, started=2, ...)
  }
  return kv;
}

const num = (s: string | undefined): number | undefined =>
  s === undefined || s === '' || !Number.isFinite(Number(s)) ? undefined : Number(s);

/** The verdict of a CPU row whose share was held below the limit while the host was busy. */
export const HOST_BUSY = 'host busy: not judged';

/**
 * A CPU quota can only hold a busy loop *down*, so:
 *  - above the limit (> 15 %): the limit failed, whatever else ran on the host — 'not enforced';
 *  - within 5 % / 15 %: 'exact' / 'close';
 *  - below it by more than 15 %, either the quota over-throttled (the limit's fault) or other tasks
 *    took the CPU (the host's). A busy loop always wants to run, so in every period where the quota
 *    did *not* throttle it, what it missed was taken by the scheduler, not by the limit. Only a
 *    loop throttled in (nearly) every period — ≥ 90 % of nr_periods — was governed by its quota:
 *    that shortfall is the limit's, 'off'. Otherwise 'host busy: not judged' (zero throttled
 *    periods on a loaded host, say; and a single loop under a limit ≥ 1 CPU is never throttled).
 *    Without the counters (no cpu.stat inside, no engine stats) nobody can tell: 'not judged'.
 */
export function cpuVerdict(
  achieved: number,
  cpus: number,
  throttled: number | undefined,
  periods: number | undefined,
): string {
  const err = Math.abs(achieved - cpus) / cpus;
  if (err <= 0.05) return 'exact';
  if (err <= 0.15) return 'close';
  if (achieved > cpus) return 'not enforced';
  if (throttled === undefined || !periods) return 'not judged';
  return throttled >= 0.9 * periods ? 'off' : HOST_BUSY;
}

/** Turn one run into a scoreboard row: what happened, what was reported, and a verdict. */
export function judge(c: LimitCase, code: number, stdout: string, rep: EngineReport | undefined): Row {
  const kv = parseKv(stdout);
  const row: Row = { test: c.test, limit: c.label, run_exit: code };
  if (rep) {
    row.engine_oom_killed = rep.oomKilled;
    row.engine_message = rep.message;
  }
  if (c.test === 'memory') {
    const limit = c.limits.memoryBytes!;
    const rc = num(kv.rc);
    const peak = num(kv.peak) ?? rep?.memoryPeakBytes;
    const kills = num(kv.oom_kill) ?? rep?.oomKills;
    Object.assign(row, {
      victim_rc: rc,
      peak_mib: peak !== undefined ? peak / MiB : undefined,
      oom_kills: kills,
      limit_mib: limit / MiB,
      peak_source:
        num(kv.peak) !== undefined ? 'cgroup (inside)' : rep?.memoryPeakBytes !== undefined ? 'engine stats' : '',
    });
    if (rc === undefined) row.verdict = 'failed';
    else if (rc === 0) row.verdict = 'not enforced';
    // killed with the peak unseen (no cgroup inside, no engine stats): enforced, but not provably at the limit
    else if (rc === 137 && (peak === undefined || peak <= limit * 1.01))
      row.verdict = peak !== undefined && peak >= limit * 0.9 ? 'exact' : 'close';
    else row.verdict = 'off';
    row.label = rc === undefined ? 'failed' : `${rc}${peak !== undefined ? ` @${(peak / MiB).toFixed(0)}M` : ''}`;
  } else if (c.test === 'pids') {
    const limit = c.limits.pids!;
    const started = num(kv.started) ?? 0;
    // peak tasks: PID 1 (sh) + the subshell + the sleeps it started
    const reached = kv.started !== undefined ? started + 2 : undefined;
    const eagain = /Resource temporarily unavailable|can't fork|EAGAIN/i.test(kv.err ?? '');
    Object.assign(row, { started, tasks_reached: reached, eagain, limit_hits: num(kv.pids_events_max) });
    if (reached === undefined) row.verdict = 'failed';
    else if (!eagain && started >= limit + 20) row.verdict = 'not enforced';
    else if (reached === limit) row.verdict = 'exact';
    else if (Math.abs(reached - limit) <= 1) row.verdict = 'close';
    else row.verdict = 'off';
    row.label = reached === undefined ? 'failed' : `${reached}/${limit}`;
  } else {
    const cpus = c.limits.cpus!;
    const ticks = num(kv.ticks);
    const secs = num(kv.seconds);
    const achieved = ticks !== undefined && secs ? ticks / 100 / secs : undefined;
    const throttled = num(kv.nr_throttled) ?? rep?.nrThrottled;
    const periods = num(kv.nr_periods) ?? rep?.nrPeriods;
    Object.assign(row, { achieved_cpus: achieved, limit_cpus: cpus, nr_throttled: throttled, nr_periods: periods });
    row.verdict = achieved === undefined ? 'failed' : cpuVerdict(achieved, cpus, throttled, periods);
    row.label = achieved === undefined ? 'failed' : achieved.toFixed(2);
  }
  return row;
}

export const LIMIT_COLUMNS = [
  'runtime',
  'test',
  'limit',
  'verdict',
  'label',
  'run_exit',
  'victim_rc',
  'limit_mib',
  'peak_mib',
  'peak_source',
  'oom_kills',
  'started',
  'tasks_reached',
  'eagain',
  'limit_hits',
  'limit_cpus',
  'achieved_cpus',
  'nr_throttled',
  'nr_periods',
  'engine_oom_killed',
  'engine_message',
];

/**
 * One series of rows: an active runtime, or a rootless one beside it (minidock-rootless, the same
 * CLI as nobody; podman-rootless, Podman as a normal user), which runs `--rm` and reports nothing.
 */
interface LimitRun {
  name: string;
  peer: Peer;
  active?: ActivePeer;
  run?: (id: string, w: Workload) => Launch;
}

/** The rootless series beside minidock and podman, where they can run; else a skip saying why. */
function rootlessRuns(ctx: BenchContext, active: ActivePeer[], skipped: Skip[], podman: PodmanRootless): LimitRun[] {
  const runs: LimitRun[] = [];
  const skip = (runtime: string, reason: string): void => {
    skipped.push({ experiment: 'limits', runtime, reason });
  };
  const md = active.find((a) => a.peer.name === 'minidock');
  if (md) {
    const why = rootlessUnavailable();
    if (why) skip('minidock-rootless', why);
    else
      runs.push({
        name: 'minidock-rootless',
        peer: { name: 'minidock-rootless' } as Peer,
        run: (id, w) => rootlessLaunch(ctx, md.peer.run(ctx, id, w)),
      });
  }
  if (active.some((a) => a.peer.name === 'podman')) {
    const why = podman.unavailable(ctx);
    // Podman says so itself at every run ("Resource limits are not supported and ignored on cgroups
    // V1 rootless systems") and runs unlimited: no row would measure a limit (and the memory case
    // would pour 2×LIMIT of zeros through tail into the bench)
    if (why) skip('podman-rootless', why);
    else if (podman.cgroups === 'v1')
      skip(
        'podman-rootless',
        'cgroup v1: rootless Podman ignores every limit ("Resource limits are not supported and ignored on cgroups V1 rootless systems"): not limited, so not run',
      );
    else
      runs.push({ name: 'podman-rootless', peer: podman as unknown as Peer, run: (id, w) => podman.run(ctx, id, w) });
  }
  return runs;
}

/**
 * A rootless minidock run refused because it cannot have the limit (cgroup v1, or v2 without a
 * delegated subtree): the row says so with minidock's own line, never a number.
 */
export function refusedRow(c: LimitCase, code: number, stderr: string): Row | undefined {
  const line = stderr.split('\n').find((l) => /a rootless container has no cgroup of its own/.test(l));
  if (code !== 125 || !line) return undefined;
  return {
    test: c.test,
    limit: c.label,
    run_exit: code,
    verdict: 'cannot be limited',
    label: 'refused',
    engine_message: line.replace(/^minidock: /, ''),
  };
}

/** One case on one series: its row. */
function limitRow(ctx: BenchContext, c: LimitCase, x: LimitRun): Row {
  const a = x.active;
  if (a && !a.det.caps.limits[c.test === 'cpu' ? 'cpus' : c.test]) {
    return {
      runtime: x.name,
      test: c.test,
      limit: c.label,
      verdict: 'no flag',
      label: 'n/a',
      engine_message: (a.det.caps.missing ?? []).join('; ') || `no ${c.test} limit flag`,
    };
  }
  const id = newId(ctx, 'lim');
  const w = { cmd: ['sh', '-c', c.script], limits: c.limits };
  const p = x.peer;
  const l = x.run ? x.run(id, w) : p.runKeep ? p.runKeep(ctx, id, w) : p.run(ctx, id, w);
  const r = runLaunch(ctx, l, 120_000);
  const rep = x.run ? undefined : p.report?.(ctx, id, r);
  if (!x.run && p.runKeep && p.remove && p.kind === 'engine') for (const y of p.remove(ctx, [id])) runLaunch(ctx, y);
  const refused = x.run ? refusedRow(c, r.code, r.stderr) : undefined;
  if (refused) return { runtime: x.name, ...refused };
  const row: Row = { runtime: x.name, ...judge(c, r.code, r.stdout, rep) };
  if (row.verdict === 'failed') row.engine_message = `${row.engine_message ?? ''} ${failure(p, r)}`.trim();
  return row;
}

export async function limits(
  ctx: BenchContext,
  pool: PeerPool,
  o: ExperimentOptions,
  emit: Emit,
): Promise<ExperimentResult> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const cases = limitCases(o.quick);
  const { active, skipped } = selectPeers(
    'limits',
    o.runtimes.filter((r) => r !== 'bare'),
    pool,
    emit,
    (a) => (a.det.caps.run ? undefined : 'cannot run containers'),
  );
  // the rootless series (issue 18): what a normal user's container can be limited by, here
  const podman = new PodmanRootless();
  const runs: LimitRun[] = [
    ...active.map((a) => ({ name: a.peer.name, peer: a.peer, active: a })),
    ...rootlessRuns(ctx, active, skipped, podman),
  ];
  emit({
    type: 'experiment',
    name: 'limits',
    runtimes: runs.map((x) => x.name),
    total: cases.length * runs.length,
  });
  const rows: Row[] = [];
  const notes: string[] = [
    "memory: `head -c 2×LIMIT /dev/zero | tail` (anonymous memory); victim_rc 137 = tail was SIGKILLed by the OOM killer; peak from the container's cgroup",
    'pids: a subshell starts LIMIT+20 background sleeps; tasks_reached = sleeps started + PID 1 + the subshell',
    `cpu: one busy loop for ${o.quick ? 1 : 3} s; achieved = its CPU time / wall time (from /proc/PID/stat); below the limit it is judged only when the quota throttled it in ≥ 90 % of its periods, else "${HOST_BUSY}" (the host's other tasks took the CPU, not the limit)`,
    "exit codes: run_exit = the exit status of the runtime's run command; every workload ends with `exit 0`, so 0 = the script ran to its end and anything else is the runtime's failure or the script cut short, not a result. victim_rc (memory, the first number of its label) = the status of `tail` inside, as its shell saw it: 137 = 128 + SIGKILL, the OOM killer",
    'engine_oom_killed: what `docker/podman inspect` (.State.OOMKilled) or minidock (--stats=json) reported; runc, crun and ctr report nothing',
    'minidock-rootless: the same minidock run as nobody (a user namespace, its own state root); where a normal user has no cgroup (cgroup v1, or v2 without a delegated subtree) it refuses the limit flags: verdict "cannot be limited", with its line. podman-rootless: Podman as the `minidock` user (its /etc/subuid range, a private storage); on cgroup v1 it ignores limits, so it is a skip there. Neither reports (runs with --rm)',
  ];
  // cases outer, runtimes inner: the same interleaving as startup, so drift hits every runtime alike
  const done = new Map<string, number>();
  try {
    for (const c of cases) {
      for (const x of runs) {
        rows.push(limitRow(ctx, c, x));
        const n = (done.get(x.name) ?? 0) + 1;
        done.set(x.name, n);
        emit({ type: 'step', experiment: 'limits', runtime: x.name, done: n, total: cases.length });
        await tick();
      }
    }
  } finally {
    podman.cleanup();
  }
  for (const x of runs) {
    const mine = rows.filter((r) => r.runtime === x.name);
    const exact = mine.filter((r) => r.verdict === 'exact').length;
    emit({ type: 'summary', experiment: 'limits', runtime: x.name, text: `${exact}/${mine.length} exact` });
  }
  emit({ type: 'done', experiment: 'limits', seconds: (Date.now() - t0) / 1000 });
  return {
    name: 'limits',
    title: 'Limits scoreboard: what happened vs what the engine reported',
    columns: LIMIT_COLUMNS,
    rows,
    summaryColumns: [
      'runtime',
      'test',
      'limit',
      'verdict',
      'label',
      'peak_mib',
      'oom_kills',
      'tasks_reached',
      'eagain',
      'achieved_cpus',
      'nr_throttled',
      'engine_oom_killed',
      'run_exit',
    ],
    summary: rows,
    skipped,
    notes,
    startedAt,
    seconds: (Date.now() - t0) / 1000,
  };
}
