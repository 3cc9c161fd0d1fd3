// OCI create/start's half of the launch protocol, without root: the EXEC_FIFO op with real children
// (held until a reader opens the fifo, its last record readable before exec, the report pipe closed
// so that steps after it cannot kill it with SIGPIPE) and the plan create builds (planLaunch with an
// exec fifo: no vfork clone, EXEC_FIFO after STDIO and before exec, the rootfs as given).
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  constants as fsc,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cloneFlags, planLaunch, VFORK_FLAGS } from '../../src/runtime/build-plan';
import { closeChildFds, readReport, spawnChild } from '../../src/runtime/handshake';
import { Op, describeStep, encodePlan, type Step } from '../../src/runtime/plan';
import { exitCodeOf } from '../../src/runtime/process';
import type { ContainerSpec } from '../../src/runtime/spec';
import { mdTryReap } from '../../src/sys/native';
import { ROOT_DIR } from '../helpers';
import { testSpec } from './spec-fixture';

const lib = join(ROOT_DIR, 'native/build/libminidock.so');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const O_PATH = 0o10000000;
const dir = mkdtempSync(join(tmpdir(), 'minidock-oci-launch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fifo and an O_PATH fd of it, as create makes them. */
function fifo(name: string): { path: string; fd: number } {
  const path = join(dir, name);
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return { path, fd: openSync(path, O_PATH) };
}

/** Read the release byte as start does (O_NONBLOCK open, poll for the byte). */
async function startReads(path: string): Promise<string> {
  const fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  const buf = Buffer.alloc(1);
  try {
    for (let i = 0; i < 500; i++) {
      try {
        if (readSync(fd, buf, 0, 1, null) === 1) return buf.toString();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      await sleep(10);
    }
    return '';
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(!existsSync(lib))('EXEC_FIFO with real children (needs native/build/libminidock.so)', () => {
  it('the child reports, closes the report pipe (EOF before exec), blocks in the fifo open, and execs once start reads the byte', async () => {
    const f = fifo('exec.fifo');
    const steps: Step[] = [
      { op: Op.EXEC_FIFO, ints: [f.fd], why: 'wait for start', phase: 'exec' },
      { op: Op.EXEC, ints: [3, 0, 0], strs: ['/bin/sh', '-c', 'exit 5'], why: 'the command', phase: 'exec' },
    ];
    const child = spawnChild(encodePlan(steps), 0, 'clone');
    closeSync(f.fd);
    // EOF now, not at exec: the last record is the fifo step's, and the child is still there, not exec'd
    const { records } = readReport(child);
    expect(records.map((r) => [r.step, r.err])).toEqual([[0, 0]]);
    await sleep(100);
    expect(mdTryReap(child.pid)).toEqual({ state: 'running' });
    expect(readFileSync(`/proc/${child.pid}/wchan`, 'utf8')).toMatch(/fifo|wait_for_partner|pipe/); // blocked in open(O_WRONLY)
    expect(readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim()).not.toBe('sh');
    expect(await startReads(f.path)).toBe('0');
    // the EXEC record went to a closed report pipe (EBADF, no SIGPIPE): the child still ran its command
    expect(exitCodeOf(await child.exited)).toEqual({ code: 5 });
    closeChildFds(child);
  });

  it('a child killed while held is gone without a reader ever coming (start finds no byte)', async () => {
    const f = fifo('killed.fifo');
    const steps: Step[] = [
      { op: Op.EXEC_FIFO, ints: [f.fd], why: 'wait for start', phase: 'exec' },
      { op: Op.EXEC, ints: [3, 0, 0], strs: ['/bin/sh', '-c', 'exit 0'], why: 'the command', phase: 'exec' },
    ];
    const child = spawnChild(encodePlan(steps), 0, 'clone');
    closeSync(f.fd);
    readReport(child);
    process.kill(child.pid, 'SIGKILL');
    expect(exitCodeOf(await child.exited)).toEqual({ code: 137, signal: 9 });
    closeChildFds(child);
  });
});

const base: ContainerSpec = testSpec({ rootfs: '/bundle/rootfs' });
const asGiven = { merged: '/bundle/rootfs', upper: '', work: '', asGiven: true };

describe('the plan create runs (planLaunch with an exec fifo)', () => {
  it('cgroup v1: no vfork clone (the child waits before exec), EXEC_FIFO after STDIO, before the last seccomp and exec', () => {
    const p = planLaunch(
      base,
      asGiven,
      { mode: 'v1', paths: ['/sys/fs/cgroup/pids/c'], fsMounts: [], writes: [] },
      0,
      7,
    );
    expect(p.cloneFlags).toBe(cloneFlags());
    expect(p.cloneFlags & VFORK_FLAGS).toBe(0);
    const ops = p.steps.map((s) => s.op);
    const at = ops.indexOf(Op.EXEC_FIFO);
    expect(ops.filter((o) => o === Op.EXEC_FIFO)).toHaveLength(1);
    expect(ops.slice(at - 1, at + 3)).toEqual([Op.STDIO, Op.EXEC_FIFO, Op.SECCOMP, Op.EXEC]);
    expect(p.steps[at]!.ints).toEqual([7]);
    expect(describeStep(p.steps[at]!)).toMatch(/open\("\/proc\/self\/fd\/7", O_WRONLY\)/);
    // without the fifo, the same spec keeps the vfork launch
    expect(
      planLaunch(base, asGiven, { mode: 'v1', paths: ['/sys/fs/cgroup/pids/c'], fsMounts: [], writes: [] }).cloneFlags,
    ).toBe(cloneFlags() | VFORK_FLAGS);
  });

  it('cgroup v2: SYNC (released by create) comes before EXEC_FIFO', () => {
    const ops = planLaunch(
      base,
      asGiven,
      { mode: 'v2', paths: ['/sys/fs/cgroup/c'], fsMounts: [], writes: [] },
      0,
      7,
    ).steps.map((s) => s.op);
    expect(ops.indexOf(Op.SYNC)).toBeGreaterThanOrEqual(0);
    expect(ops.indexOf(Op.SYNC)).toBeLessThan(ops.indexOf(Op.EXEC_FIFO));
  });

  it('the rootfs as given: bound onto itself, no overlay, pivot_root into it', () => {
    const steps = planLaunch(
      base,
      asGiven,
      { mode: 'v2', paths: ['/sys/fs/cgroup/c'], fsMounts: [], writes: [] },
      0,
      7,
    ).steps;
    expect(steps.some((s) => s.op === Op.MOUNT && s.strs?.[2] === 'overlay')).toBe(false);
    const bind = steps.findIndex(
      (s) => s.op === Op.MOUNT && s.strs?.[0] === '/bundle/rootfs' && s.strs?.[1] === '/bundle/rootfs',
    );
    expect(bind).toBeGreaterThan(0);
    expect(steps.findIndex((s) => s.op === Op.CHDIR && s.strs?.[0] === '/bundle/rootfs')).toBeGreaterThan(bind);
  });
});
