// The cycle experiment (issue 16): create + start + wait + delete of one bundle, per OCI runtime,
// interleaved. The pure parts (the argv of each step, the summary's medians and ratios), then the
// experiment end to end with made-up runtimes: shell scripts that speak runc's verbs and whose
// "container" is a host process waiting on a fifo until `start` — orphaned when `create` exits, as a
// real init is, and reaped by the bench as its subreaper. Times vary: they are checked to be numbers.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartSpecs } from '../../src/bench/charts';
import { cycle, cycleArgv, cycleRuntimes, cycleSummary, type OciPool } from '../../src/bench/experiments/cycle';
import type { OciRuntime, OciRuntimeName } from '../../src/bench/peers/oci-runtimes';
import type { BenchContext } from '../../src/bench/peers/types';
import type { BenchEvent, ExperimentResult, Row } from '../../src/bench/types';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'minidock-bench-cycle-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cycle: the pure parts', () => {
  it("each step's argv: runc's verbs, the runtime's own --root", () => {
    expect(cycleArgv('/usr/sbin/runc', '/w/st', '/w/b', '/w/io/x.pid', 'x')).toEqual({
      create: ['/usr/sbin/runc', '--root', '/w/st', 'create', '--bundle', '/w/b', '--pid-file', '/w/io/x.pid', 'x'],
      start: ['/usr/sbin/runc', '--root', '/w/st', 'start', 'x'],
      delete: ['/usr/sbin/runc', '--root', '/w/st', 'delete', 'x'],
      forceDelete: ['/usr/sbin/runc', '--root', '/w/st', 'delete', '--force', 'x'],
    });
    // (bench cycle --runtimes takes OCI runtimes; anything else in the list is not one of them)
    expect(cycleRuntimes(['bare', 'minidock', 'crun', 'podman', 'runc'])).toEqual(['minidock', 'crun', 'runc']);
  });

  it('medians of the cycle and of each step; ratios to crun and runc; failed cycles left out', () => {
    const rows: Row[] = [];
    const add = (runtime: string, cycles: number[], ok = true) => {
      for (const [i, c] of cycles.entries())
        rows.push({
          runtime,
          rep: i,
          create_ms: c / 2,
          start_ms: c / 4,
          wait_ms: 1,
          delete_ms: c / 4 - 1,
          cycle_ms: c,
          ok,
        });
    };
    add('runc', [40, 50, 60]);
    add('crun', [20, 25, 30]);
    add('minidock', [100, 120, 140]);
    add('minidock', [9999], false);
    const s = cycleSummary(rows, ['runc', 'crun', 'minidock', 'absent']);
    expect(
      s.map((r) => [r.runtime, r.n, r.median_ms, r.create_median_ms, r.wait_median_ms, r.x_crun, r.x_runc]),
    ).toEqual([
      ['runc', 3, 50, 25, 1, 2, 1],
      ['crun', 3, 25, 12.5, 1, 1, 0.5],
      ['minidock', 3, 120, 60, 1, 120 / 25, 120 / 50],
    ]);
    const chart = chartSpecs({ name: 'cycle', rows, summary: s } as unknown as ExperimentResult);
    expect(chart.map((c) => c.name)).toEqual(['cycle']);
    const values = (chart[0].spec as { data: { values: Row[] } }).data.values;
    expect(values.filter((v) => v.runtime === 'crun').map((v) => `${v.step}=${v.ms}`)).toEqual([
      'create=12.5',
      'start=6.25',
      'wait=1',
      'delete=5.25',
    ]);
  });
});

/** A runtime speaking runc's verbs; its container is `sh` reading a fifo that `start` writes. */
const FAKE = `#!/bin/sh
root=$2; verb=$3
case $verb in
create)
  pidfile=$7; id=$8
  [ -n "$FAIL" ] && { echo "$FAIL" >&2; exit 1; }
  mkdir -p "$root/$id" && mkfifo "$root/$id/fifo"
  sh -c "read x < '$root/$id/fifo'" </dev/null >/dev/null 2>&1 &
  echo $! > "$pidfile"; echo $! > "$root/$id/pid" ;;
start) echo go > "$root/$4/fifo" ;;
delete)
  if [ "$4" = --force ]; then kill -9 "$(cat "$root/$5/pid")" 2>/dev/null; rm -rf "\${root:?}/$5"
  else rm -rf "\${root:?}/$4"; fi ;;
list) ls "$root" ;;
esac
`;

function fakeRuntime(name: OciRuntimeName, fail?: string): OciRuntime {
  const bin = join(work, `fake-${name}`);
  writeFileSync(bin, fail ? FAKE.replace('#!/bin/sh\n', `#!/bin/sh\nFAIL='${fail}'\n`) : FAKE);
  chmodSync(bin, 0o755);
  return {
    name,
    binary: () => bin,
    detect: () => ({ peer: name, available: true, notes: [], flags: [bin], caps: {} as never }),
    prepare: () => {},
    cleanup: () => {},
  };
}

describe('cycle with made-up runtimes', () => {
  it('interleaved cycles, each step timed, the inits reaped; a broken runtime skipped after 3 failures, a missing one skipped', async () => {
    const c = {
      work,
      rootfs: join(work, 'rootfs'),
      tag: 'cycletest',
      daemons: { started: [] },
    } as unknown as BenchContext;
    const runtimes = { runc: fakeRuntime('runc'), crun: fakeRuntime('crun', 'crun: boom, no bundle') };
    const pool: OciPool = {
      oci: (n) =>
        n === 'minidock'
          ? { experiment: '', runtime: n, reason: 'minidock is not built', fix: 'npm run build' }
          : { rt: runtimes[n], det: runtimes[n].detect(c) },
    };
    const events: BenchEvent[] = [];
    const r = await cycle(c, pool, { runtimes: ['runc', 'crun', 'minidock'], reps: 3, warmup: 1, quick: true }, (e) =>
      events.push(e),
    );
    expect(events.filter((e) => e.type !== 'step').map((e) => `${e.type}:${'runtime' in e ? e.runtime : ''}`)).toEqual([
      'skip:minidock',
      'experiment:',
      'summary:runc',
      'done:',
    ]);
    // crun failed its first 3 cycles (one warm-up, two measured) and was not tried again
    const steps = events.filter((e) => e.type === 'step').map((e) => `${e.runtime}:${e.done}`);
    // (each repetition in the order of src/bench/experiments/common.ts balancedOrder: runc crun, crun runc, ...)
    expect(steps).toEqual(['runc:1', 'crun:1', 'crun:2', 'runc:2', 'runc:3', 'crun:3', 'runc:4']);
    expect(r.rows.map((x) => `${x.runtime}:${x.rep}:${x.ok}`)).toEqual([
      'runc:0:true',
      'crun:0:false',
      'runc:1:true',
      'crun:1:false',
      'runc:2:true',
    ]);
    for (const row of r.rows.filter((x) => x.ok)) {
      for (const k of ['create_ms', 'start_ms', 'wait_ms', 'delete_ms']) expect(row[k]).toBeGreaterThan(0);
      const sum =
        (row.create_ms as number) + (row.start_ms as number) + (row.wait_ms as number) + (row.delete_ms as number);
      expect(row.cycle_ms).toBeCloseTo(sum, 6);
    }
    expect(r.skipped).toEqual([
      { experiment: 'cycle', runtime: 'minidock', reason: 'minidock is not built', fix: 'npm run build' },
      { experiment: 'cycle', runtime: 'crun', reason: 'every cycle failed: create exited 1: crun: boom, no bundle' },
    ]);
    expect(r.summary.map((s) => [s.runtime, s.n, s.x_runc])).toEqual([['runc', 3, 1]]);
    expect(r.notes.join('\n')).toMatch(/the bench is the inits' subreaper/);
    expect(r.notes.join('\n')).not.toMatch(/PR_SET_CHILD_SUBREAPER\) failed/);
    // every container deleted, every init reaped: nothing in the state roots, no zombie child of ours
    expect(readdirSync(join(work, 'cycle-state-runc'))).toEqual([]);
    expect(zombieChildren()).toEqual([]);
    expect(existsSync(join(work, 'cycle-bundle', 'config.json'))).toBe(true);
  });
});

function zombieChildren(): string[] {
  return readdirSync('/proc').filter((p) => {
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return f[0] === 'Z' && Number(f[1]) === process.pid;
    } catch {
      return false;
    }
  });
}
