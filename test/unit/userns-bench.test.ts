// bench startup's rootless row (issue 18): the same minidock launch, run as nobody through setpriv,
// with a state root of nobody's inside the bench's scratch directory.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryCase, pidsCase, refusedRow } from '../../src/bench/experiments/limits';
import { ROOTLESS_UID, rootlessLaunch } from '../../src/bench/peers/minidock';
import type { BenchContext } from '../../src/bench/peers/types';

describe('bench: the rootless minidock launch', () => {
  let work = '';
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it("setpriv to nobody, its own XDG_RUNTIME_DIR and state root, no cgroup parent of root's; the rest of the launch unchanged", () => {
    work = mkdtempSync(join(tmpdir(), 'md-bench-rl-'));
    mkdirSync(join(work, 'minidock-rootless')); // (made already: no chown needed, so this runs without root)
    const l = rootlessLaunch({ work } as BenchContext, {
      argv: ['/x/minidock.js', 'run', '--rm', 'R', 'echo', 'ok'],
      env: { A: '1', MINIDOCK_ROOT: '/root-state', MINIDOCK_CGROUP_PARENT: 'tag' },
      stdout: 'ignore',
    });
    expect(l.argv).toEqual([
      'setpriv',
      '--reuid',
      String(ROOTLESS_UID),
      '--regid',
      String(ROOTLESS_UID),
      '--clear-groups',
      '--',
      '/x/minidock.js',
      'run',
      '--rm',
      'R',
      'echo',
      'ok',
    ]);
    expect(l.env).toEqual({
      A: '1',
      XDG_RUNTIME_DIR: join(work, 'minidock-rootless'),
      MINIDOCK_ROOT: join(work, 'minidock-rootless', 'minidock'),
    });
    expect(l.stdout).toBe('ignore');
  });
});

describe('bench limits: a rootless row that cannot be limited', () => {
  const line =
    'minidock: memory, memorySwap: a rootless container has no cgroup of its own (cgroup v1: only root creates cgroups), so it cannot be limited — drop the limit flags, run as root, or boot with cgroup v2';
  it("minidock's refusal (125 and its line) becomes 'cannot be limited' with the line, no number", () => {
    expect(refusedRow(memoryCase(50), 125, `${line}\n`)).toEqual({
      test: 'memory',
      limit: '50M',
      run_exit: 125,
      verdict: 'cannot be limited',
      label: 'refused',
      engine_message: line.replace('minidock: ', ''),
    });
  });
  it('anything else is judged as a run: another exit status, or 125 for another reason', () => {
    expect(refusedRow(pidsCase(10), 0, line)).toBeUndefined();
    expect(refusedRow(pidsCase(10), 125, 'minidock: --pids-limit x: not a number')).toBeUndefined();
  });
});
