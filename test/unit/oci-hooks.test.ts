// The in-container hooks (createContainer, startContainer) without root: the HOOK steps and where
// create's plan puts them (and the SYNC that brings the pid), their bytes, the state JSON cut at the
// pid, what a failed HOOK record says, the 'P' release; then the HOOK op run by real children (the
// pid from the release on the hook's stdin, an exit status, a timeout that kills, a missing
// program, the startContainer records on a kept exec fifo).
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  constants as fsc,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOciArgv } from '../../src/oci/argv';
import { mapConfig } from '../../src/oci/config';
import { features } from '../../src/oci/features';
import { hookSteps } from '../../src/oci/hooks';
import { loadBundle, ociPlan, type HookState } from '../../src/oci/launch';
import {
  closeChildFds,
  readReport,
  release,
  releaseWithPid,
  spawnChild,
  waitAtSync,
} from '../../src/runtime/handshake';
import { HOOK_EXITED, HOOK_SIGNALED, MSG, Op, describeStep, encodePlan, type Step } from '../../src/runtime/plan';
import { exitCodeOf } from '../../src/runtime/process';
import { parseRecords, stepError } from '../../src/runtime/step-error';
import type { ContainerSpec } from '../../src/runtime/spec';
import { ROOT_DIR, minidockError } from '../helpers';

const dir = mkdtempSync(join(tmpdir(), 'minidock-oci-hooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bundle = join(dir, 'bundle');
mkdirSync(join(bundle, 'rootfs'), { recursive: true });

const fresh = () => {
  const c = JSON.parse(readFileSync(join(__dirname, 'oci-runc-spec.json'), 'utf8'));
  c.process.terminal = false;
  return c;
};
const HOOKS = {
  createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /tmp/x'], env: ['A=1'], timeout: 3 }],
  startContainer: [{ path: '/bin/true' }, { path: '/bin/echo', args: ['echo', 'two'], env: [] }],
};
const mapped = (hooks: unknown) => {
  const c = fresh();
  c.hooks = hooks;
  return mapConfig(c, bundle, { id: 'h'.repeat(64), name: 'h', hostHostname: () => 'h', apparmorEnabled: () => false });
};
const state: HookState = {
  ociVersion: '1.0.2',
  id: 'c1',
  bundle,
  rootfs: join(bundle, 'rootfs'),
  created: '2026-12-05T17:00:00.000Z',
  annotations: { a: 'b' },
  owner: 'root',
};
const V1 = { mode: 'v1' as const, paths: ['/sys/fs/cgroup/pids/h'], fsMounts: [], writes: [] };
const V2 = { mode: 'v2' as const, paths: ['/sys/fs/cgroup/h'], fsMounts: [], writes: [] };

describe("create's plan with in-container hooks", () => {
  for (const cg of [V1, V2]) {
    it(`cgroup ${cg.mode}: SYNC (the pid) then createContainer before pivot_root; startContainer after EXEC_FIFO (kept), before seccomp and execve`, () => {
      const plan = ociPlan(mapped(HOOKS), cg, 9, 0, state);
      const ops = plan.steps.map((s) => s.op);
      expect(plan.sync).toBe(true);
      expect(ops.filter((o) => o === Op.SYNC)).toHaveLength(1);
      const sync = ops.indexOf(Op.SYNC);
      const first = ops.indexOf(Op.HOOK);
      expect(sync).toBe(first - 1);
      // right before the pivot_root phase (chdir into the rootfs, pivot_root), after every rootfs mount
      expect(plan.steps[first + 1]).toMatchObject({ op: Op.CHDIR, phase: 'pivot_root' });
      expect(ops.indexOf(Op.PIVOT_ROOT)).toBe(first + 2);
      expect(ops.slice(0, first).filter((o) => o === Op.MOUNT).length).toBeGreaterThan(10);
      const fifo = ops.indexOf(Op.EXEC_FIFO);
      expect(ops.slice(fifo)).toEqual([Op.EXEC_FIFO, Op.HOOK, Op.HOOK, Op.EXEC]);
      expect(plan.steps[fifo]!.ints).toEqual([9, 1]);
      expect(describeStep(plan.steps[fifo]!)).toMatch(/the fifo is the report pipe from here to execve$/);
      if (cg.mode === 'v2') expect(plan.steps[sync]!.why).toMatch(/^minidock writes our pid into cgroup.procs/);
      else expect(plan.steps[sync]!.why).toMatch(/getpid\(\) says 1 in a new PID namespace/);
      // and without hooks, no HOOK step, v1 no SYNC, EXEC_FIFO as before
      const none = ociPlan(mapped({}), cg, 9, 0, state);
      expect(none.steps.some((s) => s.op === Op.HOOK)).toBe(false);
      expect(none.sync).toBe(cg.mode === 'v2');
      expect(none.steps.find((s) => s.op === Op.EXEC_FIFO)!.ints).toEqual([9]);
    });
  }

  it('only startContainer hooks: the SYNC comes before EXEC_FIFO (cgroup v1)', () => {
    const plan = ociPlan(mapped({ startContainer: HOOKS.startContainer }), V1, 9, 0, state);
    const ops = plan.steps.map((s) => s.op);
    expect(ops.indexOf(Op.SYNC)).toBe(ops.indexOf(Op.EXEC_FIFO) - 1);
  });

  it('a user namespace: its SYNC (first, for the maps) carries the pid; the hooks keep their host paths, unrewritten', () => {
    const c = fresh();
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 2000 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 2000 }];
    c.hooks = { createContainer: [{ path: join(bundle, 'rootfs', 'hook'), args: ['hook', join(bundle, 'rootfs')] }] };
    const cfg = mapConfig(c, bundle, { id: 'h'.repeat(64), name: 'h', hostHostname: () => 'h' });
    const plan = ociPlan(cfg, V1, 9, 0, state);
    const ops = plan.steps.map((s) => s.op);
    expect(ops.filter((o) => o === Op.SYNC)).toHaveLength(1);
    const hook = ops.indexOf(Op.HOOK);
    expect(ops.indexOf(Op.SYNC)).toBeLessThan(hook);
    expect(ops.indexOf(Op.PIVOT_ROOT)).toBeGreaterThan(hook);
    // (reachRootfsFirst makes rootfs paths relative: not the hook's, added after it)
    expect(plan.steps[hook]!.strs!.slice(3, 5)).toEqual(['hook', join(bundle, 'rootfs')]);
    expect(plan.steps[hook]!.strs![0]).toBe(join(bundle, 'rootfs', 'hook'));
  });

  it("the host's mount namespace shared: createContainer before the process's own steps", () => {
    const c = fresh();
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'mount');
    c.hooks = { createContainer: [{ path: '/bin/true' }] };
    const cfg = mapConfig(c, bundle, { id: 'h'.repeat(64), name: 'h', hostHostname: () => 'h' });
    const steps = ociPlan(cfg, V1, 9, 0, state).steps;
    const at = steps.findIndex((s) => s.op === Op.HOOK);
    expect(steps.some((s) => s.op === Op.PIVOT_ROOT)).toBe(false);
    expect(steps[at - 1]!.op).toBe(Op.SYNC);
    expect(steps[at + 1]!.phase).toMatch(/identity|capabilities/);
  });

  for (const cg of [V1, V2]) {
    it(`cgroup ${cg.mode}: prestart/createRuntime only: a SYNC after every rootfs mount, right before pivot_root (the hooks run while the child waits there); no HOOK step`, () => {
      const plan = ociPlan(
        mapped({ prestart: [{ path: '/bin/true' }], createRuntime: [{ path: '/bin/true' }] }),
        cg,
        9,
        0,
        state,
      );
      const ops = plan.steps.map((s) => s.op);
      expect(plan.sync).toBe(true);
      expect(ops.filter((o) => o === Op.SYNC)).toHaveLength(1);
      expect(ops).not.toContain(Op.HOOK);
      const sync = ops.indexOf(Op.SYNC);
      expect(plan.steps[sync + 1]).toMatchObject({ op: Op.CHDIR, phase: 'pivot_root' });
      // (what is mounted after it, masked and read-only paths, is mounted in the pivoted root, as runc's)
      expect(plan.steps.slice(sync + 1, ops.indexOf(Op.PIVOT_ROOT)).every((s) => s.phase === 'pivot_root')).toBe(true);
      expect(ops.slice(0, sync).filter((o) => o === Op.MOUNT).length).toBeGreaterThan(10);
      expect(plan.steps[sync]!.why).toMatch(/prestart and createRuntime hooks meanwhile/);
      expect(plan.steps[sync]!.why).not.toMatch(/sends (our pid|it to us)/); // 'G', no pid: no HOOK step needs it
      // with createContainer too: the same SYNC, then the HOOK steps, then pivot_root
      const both = ociPlan(mapped({ prestart: [{ path: '/bin/true' }], ...HOOKS }), cg, 9, 0, state).steps;
      const at = both.findIndex((s) => s.op === Op.SYNC);
      expect(both[at + 1]!.op).toBe(Op.HOOK);
      expect(both[at]!.why).toMatch(/prestart and createRuntime hooks meanwhile.*(pid|sends it to us)/);
    });
  }

  it('prestart with a user namespace: its first SYNC (the maps) keeps the pipe, a second one right before pivot_root is where the hooks run', () => {
    const c = fresh();
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 2000 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 2000 }];
    c.hooks = { prestart: [{ path: '/bin/true' }], createContainer: [{ path: '/bin/true' }] };
    const cfg = mapConfig(c, bundle, { id: 'h'.repeat(64), name: 'h', hostHostname: () => 'h' });
    const plan = ociPlan(cfg, V1, 9, 0, state);
    const ops = plan.steps.map((s) => s.op);
    const syncs = ops.flatMap((o, i) => (o === Op.SYNC ? [i] : []));
    expect(syncs).toHaveLength(2);
    expect(syncs[0]).toBeLessThan(ops.indexOf(Op.MOUNT));
    expect(plan.steps[syncs[0]!]).toMatchObject({ ints: [1] });
    expect(describeStep(plan.steps[syncs[0]!]!)).toMatch(/the pipe kept for the next SYNC$/);
    expect(plan.steps[syncs[1]!]!.ints).toBeUndefined();
    expect(ops[syncs[1]! + 1]).toBe(Op.HOOK);
    expect(ops.slice(syncs[1]!).indexOf(Op.PIVOT_ROOT)).toBeGreaterThan(0);
    expect(ops.slice(0, syncs[1]).filter((o) => o === Op.MOUNT).length).toBeGreaterThan(10);
    expect(plan.steps[syncs[1]!]!.why).toMatch(/prestart and createRuntime hooks meanwhile.*sends our pid/);
    // without prestart/createRuntime: the one SYNC, as before
    c.hooks = { createContainer: [{ path: '/bin/true' }] };
    const one = ociPlan(
      mapConfig(c, bundle, { id: 'h'.repeat(64), name: 'h', hostHostname: () => 'h' }),
      V1,
      9,
      0,
      state,
    );
    expect(one.steps.filter((s) => s.op === Op.SYNC)).toHaveLength(1);
    expect(one.steps.find((s) => s.op === Op.SYNC)!.ints).toBeUndefined();
  });

  it('prestart with a PID namespace to join: the hooks wait after the FORK (the pid its record reports); on v2 the cgroup SYNC stays before the fork, the pipe kept', () => {
    const c = fresh();
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      n.type === 'pid' ? { type: 'pid', path: '/proc/1/ns/pid' } : n,
    );
    c.hooks = { createRuntime: [{ path: '/bin/true' }] };
    const cfg = mapConfig(c, bundle, { id: 'h'.repeat(64), name: 'h', hostHostname: () => 'h' });
    const v1 = ociPlan(cfg, V1, 9, 0, state).steps.map((s) => s.op);
    expect(v1.filter((o) => o === Op.SYNC)).toHaveLength(1);
    expect(v1.indexOf(Op.SYNC)).toBeGreaterThan(v1.indexOf(Op.FORK));
    const v2 = ociPlan(cfg, V2, 9, 0, state).steps;
    const syncs = v2.flatMap((s, i) => (s.op === Op.SYNC ? [i] : []));
    const fork = v2.findIndex((s) => s.op === Op.FORK);
    expect(syncs).toHaveLength(2);
    expect(syncs[0]).toBeLessThan(fork);
    expect(v2[syncs[0]!]!.ints).toEqual([1]);
    expect(syncs[1]).toBeGreaterThan(fork);
    expect(v2[syncs[1]! + 1]).toMatchObject({ phase: 'pivot_root' });
  });

  it('the HOOK bytes: ints [timeout ms, argc, envc], strs [path, state before the pid, after it, argv, envp]', () => {
    const [create] = hookSteps(HOOKS, 'createContainer', { ...state, status: 'creating' });
    expect(create!.ints).toEqual([3000, 3, 1]);
    const [before, after] = create!.strs!.slice(1, 3) as string[];
    expect(create!.strs).toEqual(['/bin/sh', before, after, 'sh', '-c', 'cat > /tmp/x', 'A=1']);
    // the state as stateOf (runc) orders it, the pid where the child puts it
    expect(`${before}4242${after}`).toBe(
      JSON.stringify({
        ociVersion: '1.0.2',
        id: 'c1',
        pid: 4242,
        status: 'creating',
        bundle,
        rootfs: join(bundle, 'rootfs'),
        created: state.created,
        annotations: { a: 'b' },
        owner: 'root',
      }),
    );
    expect(describeStep(create!)).toBe(
      'clone(SIGCHLD); execve("/bin/sh", ["sh", "-c", "cat > /tmp/x"], [1 vars]) with the state on stdin; wait4(SIGKILL after 3 s)',
    );
    expect(create!.why).toMatch(
      /^createContainer hook #0 \(config.json hooks.createContainer\[0\]\): in the container/,
    );
    // no env: the runtime's own (as runc's hooks); no args: argv[0] is the path
    const [t] = hookSteps(
      { startContainer: [{ path: '/bin/true' }] },
      'startContainer',
      { ...state, status: 'created' },
      {
        X: '1',
        Y: 'z=2',
      },
    );
    expect(t!.ints).toEqual([0, 1, 2]);
    expect(t!.strs!.slice(3)).toEqual(['/bin/true', 'X=1', 'Y=z=2']);
    expect(describeStep(t!)).toMatch(/wait4\(no timeout\)$/);
  });

  it('a failed HOOK record as one line: exit status, signal, timeout, errno', () => {
    const [step] = hookSteps(HOOKS, 'createContainer', { ...state, status: 'creating' });
    const spec = { args: ['sh'], cwd: '/' } as ContainerSpec;
    const line = (err: number) => stepError(step, err, spec).message;
    expect(line(HOOK_EXITED | 3)).toMatch(/^hook\(\/bin\/sh\): exit status 3 — createContainer hook #0 /);
    expect(line(HOOK_SIGNALED | 9)).toMatch(/^hook\(\/bin\/sh\): killed by signal 9 — /);
    expect(line(110)).toMatch(/^hook\(\/bin\/sh\): timed out after 3 s, killed \(ETIMEDOUT\) — /);
    expect(line(2)).toMatch(/^hook\(\/bin\/sh\): ENOENT — /);
  });

  it('exec takes --preserve-fds as create does', () => {
    expect(parseOciArgv(['exec', '--preserve-fds', '2', 'c1', 'sh']).flags).toEqual({ 'preserve-fds': '2' });
  });

  it("the release with the pid: 'P' and a u32 little-endian, one write", () => {
    expect(MSG.RELEASE_PID).toBe('P');
    expect([...releaseWithPid(0x01020304)]).toEqual([0x50, 4, 3, 2, 1]);
  });

  it('features lists every hook point; a PID namespace to join with in-container hooks is refused in one line', () => {
    expect(features('x').hooks).toEqual([
      'prestart',
      'createRuntime',
      'createContainer',
      'startContainer',
      'poststart',
      'poststop',
    ]);
    const c = fresh();
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      n.type === 'pid' ? { type: 'pid', path: '/proc/1/ns/pid' } : n,
    );
    c.hooks = { startContainer: [{ path: '/bin/true' }] };
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
    const e = minidockError(() => loadBundle({ id: 'c1', bundle }, () => new Uint8Array(8)));
    expect(e.message).toMatch(/^config.json: hooks.startContainer with a PID namespace to join .* not supported/);
    expect(e.message).not.toContain('\n');
  });
});

const lib = join(ROOT_DIR, 'native/build/libminidock.so');
const O_PATH = 0o10000000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A plan [SYNC, HOOK, EXEC true] run by a real child (no namespaces), released with its pid. */
async function runHookStep(hook: Step): Promise<{ records: Array<[number, number]>; ms: number; pid: number }> {
  const steps: Step[] = [
    { op: Op.SYNC, why: 'the pid', phase: 'cgroup' },
    hook,
    { op: Op.EXEC, ints: [1, 0, 0], strs: ['/bin/true'], why: 'the command', phase: 'exec' },
  ];
  const t0 = Date.now();
  const child = spawnChild(encodePlan(steps), 0, 'clone');
  await release(child, () => undefined, true, true);
  const { records } = readReport(child);
  await child.exited;
  closeChildFds(child);
  return { records: records.map((r) => [r.step, r.err]), ms: Date.now() - t0, pid: child.pid };
}

describe.skipIf(!existsSync(lib))('the HOOK op with real children (needs native/build/libminidock.so)', () => {
  const hook = (args: string[], timeout = 0): Step =>
    hookSteps(
      { createContainer: [{ path: args[0]!, args, env: ['PATH=/usr/bin:/bin'], timeout }] },
      'createContainer',
      {
        ...state,
        status: 'creating',
      },
    )[0]!;

  it("the hook gets the state with the pid from the release on its stdin, its argv and env; it is the child's child", async () => {
    const out = join(dir, 'state.txt');
    const r = await runHookStep(hook(['/bin/sh', '-c', `{ cat; echo; echo "$PATH"; echo $PPID; } > ${out}`]));
    expect(r.records).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
    const [json, path, ppid] = readFileSync(out, 'utf8').trim().split('\n');
    expect(JSON.parse(json!)).toMatchObject({ id: 'c1', pid: r.pid, status: 'creating', bundle });
    expect(path).toBe('/usr/bin:/bin');
    expect(Number(ppid)).toBe(r.pid);
  });

  it('a hook that exits 3 fails its step (the child goes no further); one killed by a signal too', async () => {
    expect((await runHookStep(hook(['/bin/sh', '-c', 'exit 3']))).records).toEqual([
      [0, 0],
      [1, HOOK_EXITED | 3],
    ]);
    expect((await runHookStep(hook(['/bin/sh', '-c', 'kill -9 $$']))).records).toEqual([
      [0, 0],
      [1, HOOK_SIGNALED | 9],
    ]);
  });

  it('a hook past its timeout is killed with its children (ETIMEDOUT); a missing one is ENOENT', async () => {
    const marker = `minidock-hook-timeout-${process.pid}`;
    const r = await runHookStep(hook(['/bin/sh', '-c', `sleep 30; : ${marker}`], 1));
    expect(r.records).toEqual([
      [0, 0],
      [1, 110],
    ]);
    expect(r.ms).toBeGreaterThanOrEqual(1000);
    expect(r.ms).toBeLessThan(5000);
    // the shell and its sleep: one process group, killed together
    expect(spawnSync('pgrep', ['-f', marker]).stdout.toString()).toBe('');
    expect((await runHookStep(hook(['/nonexistent/hook']))).records).toEqual([
      [0, 0],
      [1, 2],
    ]);
  });

  it('waitAtSync: true once the record of the step before SYNC is in (the child then waits); false when a step before it failed', async () => {
    const t = mkdtempSync(join(dir, 'sync-'));
    const plan = (first: Step): Step[] => [
      first,
      { op: Op.SYNC, why: 'the hooks', phase: 'cgroup' },
      { op: Op.EXEC, ints: [1, 0, 0], strs: ['/bin/true'], why: 'the command', phase: 'exec' },
    ];
    const ok = spawnChild(
      encodePlan(plan({ op: Op.MKDIR, strs: [join(t, 'made')], ints: [0o755], why: 'a step', phase: 'mounts' })),
      0,
      'clone',
    );
    expect(await waitAtSync(ok, 1)).toBe(true);
    expect(existsSync(join(t, 'made'))).toBe(true); // its step before SYNC is done
    await sleep(50);
    expect(readFileSync(`/proc/${ok.pid}/wchan`, 'utf8')).toMatch(/pipe_read|pipe_wait|wait/); // held at SYNC
    await release(ok, () => undefined, true);
    expect(readReport(ok).records.map((r) => [r.step, r.err])).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
    expect(exitCodeOf(await ok.exited).code).toBe(0);
    closeChildFds(ok);
    const bad = spawnChild(
      encodePlan(plan({ op: Op.MKDIR, strs: [join(t, 'no/such')], ints: [0o755], why: 'a step', phase: 'mounts' })),
      0,
      'clone',
    );
    expect(await waitAtSync(bad, 1)).toBe(false);
    expect(readReport(bad).records.map((r) => [r.step, r.err])).toEqual([[0, 2]]); // ENOENT, as readReport says it
    await bad.exited;
    closeChildFds(bad);
  });

  it('two SYNC steps on one pipe: the first keeps it open (ints [1]); released twice, the second after waitAtSync', async () => {
    const t = mkdtempSync(join(dir, 'sync2-'));
    const steps: Step[] = [
      { op: Op.SYNC, ints: [1], why: 'first', phase: 'cgroup' },
      { op: Op.MKDIR, strs: [join(t, 'between')], ints: [0o755], why: 'a step', phase: 'mounts' },
      { op: Op.SYNC, why: 'the hooks', phase: 'cgroup' },
      { op: Op.EXEC, ints: [1, 0, 0], strs: ['/bin/true'], why: 'the command', phase: 'exec' },
    ];
    const child = spawnChild(encodePlan(steps), 0, 'clone');
    await sleep(30);
    expect(existsSync(join(t, 'between'))).toBe(false); // held at the first
    await release(child, () => undefined, true, false, true);
    expect(child.syncFd).toBeGreaterThanOrEqual(0);
    expect(await waitAtSync(child, 2)).toBe(true);
    expect(existsSync(join(t, 'between'))).toBe(true);
    await release(child, () => undefined, true, true);
    expect(readReport(child).records.map((r) => [r.step, r.err])).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
    expect(exitCodeOf(await child.exited).code).toBe(0);
    closeChildFds(child);
  });

  it('EXEC_FIFO kept: the startContainer records go to the fifo reader, EOF at execve', async () => {
    const path = join(dir, 'exec.fifo');
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    const fd = openSync(path, O_PATH);
    const steps: Step[] = [
      { op: Op.EXEC_FIFO, ints: [fd, 1], why: 'wait for start', phase: 'exec' },
      hook(['/bin/sh', '-c', 'exit 0']),
      hook(['/bin/sh', '-c', 'exit 4']),
      { op: Op.EXEC, ints: [1, 0, 0], strs: ['/bin/true'], why: 'the command', phase: 'exec' },
    ];
    const child = spawnChild(encodePlan(steps), 0, 'clone');
    closeSync(fd);
    expect(readReport(child).records.map((r) => [r.step, r.err])).toEqual([[0, 0]]);
    const rd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(4096);
    for (let i = 0; i < 1000; i++) {
      let n = -1;
      try {
        n = readSync(rd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      if (n > 0) chunks.push(Buffer.from(buf.subarray(0, n)));
      else if (n === 0 && chunks.length) break;
      else await sleep(5);
    }
    closeSync(rd);
    const all = Buffer.concat(chunks);
    expect(all.subarray(0, 1).toString()).toBe('0');
    expect(parseRecords(all.subarray(1)).map((r) => [r.step, r.err])).toEqual([
      [0, 0],
      [1, 0],
      [2, HOOK_EXITED | 4],
    ]);
    expect(exitCodeOf(await child.exited)).toEqual({ code: 125 });
    closeChildFds(child);
  });
});
