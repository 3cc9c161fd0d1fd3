// The startup, overhead and scale experiments end to end with made-up runtimes whose "containers" are
// host processes (echo, sh, a background sleep whose pid is kept in a file): the progress events in
// order, the rows, the summary, and what a failing runtime becomes (a skip record, a note). Times
// vary from run to run, so every time is checked to be a number and nothing more.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerPool } from '../../src/bench/experiments/common';
import { overhead } from '../../src/bench/experiments/overhead';
import { scale } from '../../src/bench/experiments/scale';
import { startup } from '../../src/bench/experiments/startup';
import type { PeerName } from '../../src/bench/peers/index';
import { rootlessUnavailable } from '../../src/bench/peers/minidock';
import { ALL_CAPS, type BenchContext, type Launch, type Peer } from '../../src/bench/peers/types';
import type { ActivePeer, BenchEvent, ExperimentOptions, Skip } from '../../src/bench/types';

let work: string;
const ctx = (): BenchContext =>
  ({
    work,
    tag: 'flowtest',
    daemons: { started: [] },
    rootfs: '',
    rootfsTar: '',
    ociTar: '',
    image: '',
    minidockRoot: '',
  }) as BenchContext;

/** A made-up runtime: `behave` turns a command into the host command that plays it. */
function fake(
  name: string,
  kind: Peer['kind'],
  behave: (cmd: string[], n: number) => string,
  extra: Partial<Peer> = {},
): Peer {
  let n = 0;
  const launch = (cmd: string[]): Launch => ({ argv: ['sh', '-c', behave(cmd, n++)] });
  return {
    name,
    kind,
    detect: () => ({ peer: name, available: true, notes: [], flags: [], caps: ALL_CAPS }),
    prepare: () => {},
    cleanup: () => {},
    run: (_c, _id, w) => launch(w.cmd),
    exec: (_c, _id, cmd) => launch(cmd),
    ...extra,
  };
}

/** Detached "containers": a background sleep, its pid in work/<id>.pid; removal kills it by that pid. */
const detached = (removeWorks = true): Partial<Peer> => ({
  start: (_c, id, w) => ({
    argv: ['sh', '-c', `${w.cmd.join(' ')} >/dev/null 2>&1 & echo $! > ${join(work, `${id}.pid`)}`],
    stdout: 'ignore',
  }),
  remove: (_c, ids) => [
    {
      argv: ['sh', '-c', removeWorks ? ids.map((id) => `kill $(cat ${join(work, `${id}.pid`)})`).join('; ') : 'true'],
    },
  ],
});

function pool(peers: Peer[], missing: Record<string, string> = {}): PeerPool {
  return {
    get: (name: PeerName): ActivePeer | Skip => {
      if (missing[name]) return { experiment: '', runtime: name, reason: missing[name], fix: `install ${name}` };
      const peer = peers.find((p) => p.name === name);
      if (!peer) throw new Error(`no fake ${name}`);
      return { peer, det: peer.detect(ctx()) };
    },
  };
}

const options = (runtimes: string[], more: Partial<ExperimentOptions> = {}): ExperimentOptions => ({
  runtimes: runtimes as PeerName[],
  reps: 2,
  warmup: 1,
  quick: true,
  ...more,
});

/** Times (and other measured values) -> 'number'; everything else as it is. */
function shape(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => shape(x));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x, k)]));
  const measured = /(_ms|_mib|^seconds|^value|^median|_pct|^x_\w+)$/.test(key);
  return measured && typeof v === 'number' ? 'number' : v;
}

function recorder() {
  const events: BenchEvent[] = [];
  return { events, emit: (e: BenchEvent) => events.push(e) };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'minidock-bench-flow-'));
});
afterAll(() => {
  // the sticky runtime's sleeps, by the pids its start recorded
  for (const f of readdirSync(work).filter((x) => x.endsWith('.pid'))) {
    try {
      process.kill(Number(readFileSync(join(work, f), 'utf8')), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  rmSync(work, { recursive: true, force: true });
});

describe('startup with made-up runtimes', () => {
  it('interleaved launches, warm-up discarded, a flaky runtime noted, a broken one skipped after 3 failures', async () => {
    const ok = fake('bare', 'baseline', (cmd) => (cmd[0] === 'echo' ? 'echo ok' : 'echo firstinsn 5'));
    const flaky = fake('runc', 'runtime', (cmd, n) =>
      cmd[0] === 'echo' ? (n === 4 ? 'echo nope; exit 1' : 'echo ok') : 'echo probe broke >&2; exit 2',
    );
    const broken = fake('crun', 'runtime', () => 'echo boom >&2; exit 3');
    const noRun = fake('ctr', 'engine', () => 'true', {
      detect: () => ({ peer: 'ctr', available: true, notes: [], flags: [], caps: { ...ALL_CAPS, run: false } }),
    });
    const { events, emit } = recorder();
    const r = await startup(
      ctx(),
      pool([ok, flaky, broken, noRun], { docker: 'dockerd is not running' }),
      options(['bare', 'runc', 'crun', 'ctr', 'docker']),
      emit,
    );
    expect(shape(events.filter((e) => e.type !== 'step'))).toEqual([
      { type: 'skip', experiment: 'startup', runtime: 'ctr', reason: 'cannot run containers' },
      { type: 'skip', experiment: 'startup', runtime: 'docker', reason: 'dockerd is not running' },
      { type: 'experiment', name: 'startup', runtimes: ['bare', 'runc', 'crun'], total: 9 },
      { type: 'summary', experiment: 'startup', runtime: 'bare', median: 'number', unit: 'ms' },
      { type: 'summary', experiment: 'startup', runtime: 'runc', median: 'number', unit: 'ms' },
      { type: 'done', experiment: 'startup', seconds: 'number' },
    ]);
    const steps = events.filter((e) => e.type === 'step').map((e) => `${e.runtime}:${e.done}/${e.total}`);
    // (launched in the order of common.ts balancedOrder: each repetition another row of a Williams design)
    expect(steps).toEqual([
      'bare:1/3',
      'runc:1/3',
      'crun:1/3',
      'runc:2/3',
      'crun:2/3',
      'bare:2/3',
      'crun:3/3',
      'bare:3/3',
      'runc:3/3',
    ]);
    expect(r.rows.map((x) => [x.runtime, x.rep, x.ok, x.exit_code])).toEqual([
      ['bare', 0, true, 0],
      ['runc', 0, true, 0],
      ['crun', 0, false, 3],
      ['bare', 1, true, 0],
      ['runc', 1, false, 1],
      ['crun', 1, false, 3],
    ]);
    expect(shape(r.rows[0])).toEqual({
      runtime: 'bare',
      image: 'busybox',
      rep: 0,
      startup_ms: 'number',
      ttfi_ms: 'number',
      probe_ms: 'number',
      exit_code: 0,
      ok: true,
      network: 'none',
    });
    expect(r.rows[1].probe_ms).toBeUndefined();
    expect(r.skipped.map((s) => [s.runtime, s.reason])).toEqual([
      ['ctr', 'cannot run containers'],
      ['docker', 'dockerd is not running'],
      ['crun', 'every launch failed: crun exited 3: boom'],
    ]);
    expect(r.notes).toEqual([
      expect.stringMatching(/^network none for every runtime: an empty network namespace with only lo/),
      'runc: 1 of 2 launches failed (runc exited 1: nope)',
      'runc: the firstinsn probe failed at least once (runc exited 2: probe broke)',
      'crun: the firstinsn probe failed at least once (crun exited 3: boom)',
      expect.stringMatching(
        /^timed by benchexec \(vfork \+ CLOCK_MONOTONIC in C\); 1 warm-up repetition\(s\) discarded;/,
      ),
    ]);
    expect(r.summary.map((s) => s.runtime)).toEqual(['bare', 'runc']);
    expect(Object.keys(r.summary[0])).toEqual(r.summaryColumns);
    expect(r).toMatchObject({ name: 'startup', title: 'Startup: `echo ok` per runtime (network none)' });
  });
});

describe('startup: minidock is also measured rootless, where the bench can', () => {
  const why = rootlessUnavailable();
  it(`a fake "minidock": its rows, and minidock-rootless's (run as nobody through setpriv) or a skip saying why (here: ${why ?? 'rootless possible'})`, async () => {
    const md = fake('minidock', 'minidock', (cmd) => (cmd[0] === 'echo' ? 'echo ok' : 'echo firstinsn 5'));
    const { events, emit } = recorder();
    const r = await startup(ctx(), pool([md]), options(['minidock'], { reps: 1, warmup: 0 }), emit);
    const first = events.find((e) => e.type === 'experiment');
    if (why) {
      expect(first).toMatchObject({ runtimes: ['minidock'], total: 1 });
      expect(r.skipped).toEqual([{ experiment: 'startup', runtime: 'minidock-rootless', reason: why }]);
    } else {
      expect(first).toMatchObject({ runtimes: ['minidock', 'minidock-rootless'], total: 2 });
      expect(r.rows.map((x) => [x.runtime, x.ok])).toEqual([
        ['minidock', true],
        ['minidock-rootless', true],
      ]);
      expect(r.skipped).toEqual([]);
    }
  });
});

describe('overhead with made-up runtimes', () => {
  it('one container per runtime, every workload exec-ed, a failed start skipped, failures noted once, containers removed', async () => {
    const bare = fake('bare', 'baseline', () => 'true');
    const runc = fake(
      'runc',
      'runtime',
      (cmd) => (cmd[2].startsWith('seq') ? 'echo no shuf >&2; exit 4' : 'true'),
      detached(),
    );
    const crun = fake('crun', 'runtime', () => 'true', {
      ...detached(),
      start: () => ({ argv: ['sh', '-c', 'echo cannot start >&2; exit 5'] }),
    });
    const { events, emit } = recorder();
    const r = await overhead(
      ctx(),
      pool([bare, runc, crun]),
      options(['bare', 'runc', 'crun'], { reps: 1, warmup: 1 }),
      emit,
    );
    expect(shape(events.filter((e) => e.type !== 'step'))).toEqual([
      { type: 'experiment', name: 'overhead', runtimes: ['bare', 'runc'], total: 12 },
      { type: 'summary', experiment: 'overhead', runtime: 'bare', text: 'hash 0.0 %, sort 0.0 %' },
      {
        type: 'summary',
        experiment: 'overhead',
        runtime: 'runc',
        text: expect.stringMatching(/^hash -?\d+\.\d %, sort \? ?/),
      },
      { type: 'done', experiment: 'overhead', seconds: 'number' },
    ]);
    const steps = events.filter((e) => e.type === 'step').map((e) => `${e.runtime}:${e.done}/${e.total}`);
    expect(steps).toEqual([
      'bare:1/6',
      'runc:1/6',
      'bare:2/6',
      'runc:2/6',
      'bare:3/6',
      'runc:3/6',
      'bare:4/6',
      'runc:4/6',
      'bare:5/6',
      'runc:5/6',
      'bare:6/6',
      'runc:6/6',
    ]);
    expect(r.rows.map((x) => [x.runtime, x.workload, x.rep, x.exit_code])).toEqual([
      ['bare', 'noop', 0, 0],
      ['runc', 'noop', 0, 0],
      ['bare', 'hash', 0, 0],
      ['runc', 'hash', 0, 0],
      ['bare', 'sort', 0, 0],
      ['runc', 'sort', 0, 4],
    ]);
    expect(r.rows[5].wall_ms).toBeUndefined();
    expect(r.skipped).toEqual([
      { experiment: 'overhead', runtime: 'crun', reason: 'could not start a container: crun exited 5: cannot start' },
    ]);
    expect(r.notes.slice(2)).toEqual(['runc sort: runc exited 4: no shuf']);
    expect(r.notes[1]).toBe(
      'net_ms = median(workload) - median(noop exec): the exec mechanism itself is not the workload',
    );
    expect(r.summary).toEqual([
      expect.objectContaining({ runtime: 'bare', workload: 'hash', n: 1, overhead_pct: 0, within_noise: undefined }),
      expect.objectContaining({ runtime: 'bare', workload: 'sort', n: 1, overhead_pct: 0 }),
      expect.objectContaining({ runtime: 'runc', workload: 'hash', n: 1, overhead_pct: expect.any(Number) }),
      expect.objectContaining({ runtime: 'runc', workload: 'sort', n: 0 }),
    ]);
    expect(Object.keys(r.summary[0])).toEqual(r.summaryColumns);
    // runc's container (a sleep) was removed
    const pidFile = readdirSync(work).find((f) => f.includes('-ov-') && existsSync(join(work, f)));
    expect(pidFile).toBeDefined();
    const pid = Number(readFileSync(join(work, pidFile!), 'utf8'));
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
  });
});

describe('scale with made-up runtimes', () => {
  it('N = 1 then 5 per runtime: launches, the sleeps found, removal timed; failures, removal errors and leftovers noted', async () => {
    const runc = fake('runc', 'runtime', () => 'true', detached());
    let starts = 0;
    const crun = fake('crun', 'runtime', () => 'true', {
      ...detached(),
      start: (c, id, w) =>
        ++starts === 3 ? { argv: ['sh', '-c', 'echo no room >&2; exit 6'] } : detached().start!(c, id, w),
      remove: (_c, ids) => [
        {
          argv: [
            'sh',
            '-c',
            `${ids.map((id) => `kill $(cat ${join(work, `${id}.pid`)})`).join('; ')}; echo permission denied >&2; exit 1`,
          ],
        },
      ],
    });
    const sticky = fake('ctr', 'engine', () => 'true', detached(false));
    const bare = fake('bare', 'baseline', () => 'true');
    const { events, emit } = recorder();
    const r = await scale(ctx(), pool([runc, crun, sticky, bare]), options(['bare', 'runc', 'crun', 'ctr']), emit);
    expect(shape(events.filter((e) => e.type !== 'step'))).toEqual([
      { type: 'experiment', name: 'scale', runtimes: ['runc', 'crun', 'ctr'], total: 18 },
      { type: 'summary', experiment: 'scale', runtime: 'runc', text: expect.stringMatching(/^N=5: \d+ ms$/) },
      { type: 'summary', experiment: 'scale', runtime: 'crun', text: expect.stringMatching(/^N=5: \d+ ms$/) },
      { type: 'summary', experiment: 'scale', runtime: 'ctr', text: expect.stringMatching(/^N=5: \d+ ms$/) },
      { type: 'done', experiment: 'scale', seconds: 'number' },
    ]);
    expect(
      events.filter((e) => e.type === 'step' && e.runtime === 'crun').map((e) => (e.type === 'step' ? e.done : 0)),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.rows.filter((x) => x.runtime === 'crun').map((x) => [x.n, x.i, x.ok])).toEqual([
      [1, 0, true],
      [5, 0, true],
      [5, 1, false],
      [5, 2, true],
      [5, 3, true],
      [5, 4, true],
    ]);
    expect(r.summary.map((s) => [s.runtime, s.n, s.launched, s.running])).toEqual([
      ['runc', 1, 1, 1],
      ['crun', 1, 1, 1],
      ['ctr', 1, 1, 1],
      ['runc', 5, 5, 5],
      ['crun', 5, 4, 4],
      ['ctr', 5, 5, 5],
    ]);
    expect(shape(r.summary[0])).toEqual({
      runtime: 'runc',
      n: 1,
      launched: 1,
      running: 1,
      total_ms: 'number',
      per_container_ms: 'number',
      cgroup_mem_per_container_mib: 'number',
      engine_rss_mib: 'number',
      engine_pss_mib: 'number',
      engine_rss_delta_mib: 'number',
      remove_ms: 'number',
      x_runc: 'number',
    });
    expect(r.summary.find((s) => s.runtime === 'crun' && s.n === 5)?.x_runc).toEqual(expect.any(Number));
    expect(r.notes).toEqual([
      "launches are sequential; total_ms = sum of the N launch commands (`run -d`); removal = the engine's rm of all N (runc/crun/ctr: one delete per container)",
      'crun N=1: removal reported an error: crun exited 1: permission denied',
      'ctr N=1: 1 container process(es) still running after removal',
      'crun N=5: 1 launch(es) failed: crun exited 6: no room',
      'crun N=5: removal reported an error: crun exited 1: permission denied',
      'ctr N=5: 5 container process(es) still running after removal',
    ]);
    expect(r.skipped).toEqual([]);
    expect(r.summaryColumns).toContain('x_runc');
  }, 30_000);
});

// (keeps the helper honest: a measured key becomes 'number', any other stays)
it('shape() hides measured numbers only', () => {
  expect(shape({ total_ms: 3, n: 3, rows: [{ value: 1, done: 1 }] })).toEqual({
    total_ms: 'number',
    n: 3,
    rows: [{ value: 'number', done: 1 }],
  });
});
