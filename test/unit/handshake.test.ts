// The launch protocol (src/runtime/handshake.ts) against real children, without namespaces or root:
// a plan of SYNC then execve, cloned by libminidock as a launch clones, released (or not) as a
// launch releases. What it shows: the fds come back by name; nothing runs past SYNC before the
// release byte; EOF on the sync pipe does not release the child (it holds the write end too), which
// is why a launch that gives up kills it; the step records end at exec; md_try_reap reports
// running / reaped / the errno explicitly.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abandon, closeChildFds, readReport, release, spawnChild } from '../../src/runtime/handshake';
import { Op, encodePlan, type Step } from '../../src/runtime/plan';
import { exitCodeOf } from '../../src/runtime/process';
import { launchFailure } from '../../src/runtime/step-error';
import type { ContainerSpec } from '../../src/runtime/spec';
import { mdTryReap } from '../../src/sys/native';
import { ROOT_DIR } from '../helpers';

const lib = join(ROOT_DIR, 'native/build/libminidock.so');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SYNC, then execve("/bin/sh", ["sh", "-c", script]) — the shape of a v2 launch's tail. */
function plan(script: string): Step[] {
  return [
    { op: Op.SYNC, why: 'wait for the release', phase: 'cgroup' },
    { op: Op.EXEC, ints: [3, 0, 0], strs: ['/bin/sh', '-c', script], why: 'the command', phase: 'exec' },
  ];
}
const spec = { args: ['/bin/sh'], cwd: '/' } as ContainerSpec;

describe.skipIf(!existsSync(lib))('the launch protocol with real children (needs native/build/libminidock.so)', () => {
  it('release: join runs first, the child execs only after MSG.RELEASE, the report ends at exec', async () => {
    const steps = plan('exit 7');
    const child = spawnChild(encodePlan(steps), 0, 'clone');
    expect(child.pid).toBeGreaterThan(0);
    expect(child.reportFd).toBeGreaterThanOrEqual(0);
    expect(child.syncFd).toBeGreaterThanOrEqual(0);
    expect(child.consoleFd).toBe(-1); // no CONSOLE step: no socket
    expect(child.stdioFds).toEqual([-1, -1, -1]); // no STDIO pipes
    await sleep(100);
    expect(mdTryReap(child.pid)).toEqual({ state: 'running' }); // parked at SYNC
    const order: string[] = [];
    await release(child, () => order.push(`join while parked: ${mdTryReap(child.pid).state}`), true);
    expect(order).toEqual(['join while parked: running']);
    expect(child.syncFd).toBe(-1);
    const { records, forkedPid } = readReport(child);
    expect(forkedPid).toBeUndefined();
    expect(records.map((r) => [r.step, r.err])).toEqual([
      [0, 0],
      [1, 0],
    ]); // SYNC ok, "exec starts now"
    expect(launchFailure(records, steps, spec)).toBeUndefined();
    expect(exitCodeOf(await child.exited)).toEqual({ code: 7 });
    expect(mdTryReap(child.pid)).toEqual({ state: 'failed', errno: 10 }); // ECHILD: reaped already
  });

  it('EOF on the sync pipe does not release a child that holds its write end: it must be killed', async () => {
    const child = spawnChild(encodePlan(plan('exit 0')), 0, 'clone');
    await release(child, () => {}, false); // closes our end, sends nothing
    await sleep(300);
    expect(mdTryReap(child.pid)).toEqual({ state: 'running' }); // still waiting at SYNC
    await abandon(child);
    expect(exitCodeOf(await child.exited)).toEqual({ code: 137, signal: 9 });
    const { records } = readReport(child);
    expect(records).toEqual([]); // it never got past SYNC
    expect(launchFailure(records, plan('exit 0'), spec)?.message).toMatch(/^container setup failed/); // no record: died before its first step
  });

  it('a join that fails kills the child and the error propagates; nothing ran past SYNC', async () => {
    const child = spawnChild(encodePlan(plan('exit 0')), 0, 'clone');
    await expect(
      release(
        child,
        () => {
          throw new Error('cgroup.procs: EBUSY');
        },
        true,
      ),
    ).rejects.toThrow('EBUSY');
    expect(exitCodeOf(await child.exited).signal).toBe(9);
    expect(readReport(child).records).toEqual([]);
    closeChildFds(child);
  });

  it('a failed exec is the last record, with its errno (ENOENT -> 127)', async () => {
    const steps: Step[] = [
      plan('')[0]!,
      { op: Op.EXEC, ints: [1, 0, 0], strs: ['/no/such/binary'], why: 'the command', phase: 'exec' },
    ];
    const child = spawnChild(encodePlan(steps), 0, 'clone');
    await release(child, () => {}, true);
    const { records } = readReport(child);
    expect(records.at(-1)).toMatchObject({ step: 1, err: 2 });
    const failure = launchFailure(records, steps, { args: ['/no/such/binary'], cwd: '/' } as ContainerSpec);
    expect(failure?.code).toBe(127);
    expect(exitCodeOf(await child.exited)).toEqual({ code: 125 });
  });
});
