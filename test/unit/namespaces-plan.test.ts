// --ipc, --pid, --uts, --shm-size without root: namespaceFlags (one line per bad input, exit 125),
// and the plan planLaunch makes of them — the clone flags, the SETNS/FORK steps first of the plan
// (the one join mechanism of build-plan.ts, shared with --network container: and OCI bundles), the
// SYNC before a PID join's fork, no hostname in a host or joined UTS namespace, /dev/shm bound
// (host) or copied from another mount namespace (BIND_FROM_NS), --shm-size in the tmpfs options.
import { describe, expect, it } from 'vitest';
import { minidockError } from '../helpers';
import { planLaunch } from '../../src/runtime/build-plan';
import { namespaceFlags } from '../../src/runtime/namespaces';
import { Op, describeStep, type Step } from '../../src/runtime/plan';
import type { ContainerSpec } from '../../src/runtime/spec';
import { CLONE } from '../../src/sys/constants';

const spec = {
  id: 'a'.repeat(64),
  rootfs: '/r',
  args: ['/bin/true'],
  env: [],
  cwd: '/',
  hostname: 'h',
  uid: 0,
  gid: 0,
  additionalGids: [],
  tty: false,
  interactive: false,
  readonlyRootfs: false,
  mounts: [],
  capabilities: [],
  noNewPrivileges: true,
  privileged: false,
  maskedPaths: [],
  readonlyPaths: [],
  rlimits: [],
  limits: {},
  stopTimeoutSec: 10,
} as unknown as ContainerSpec;
const dirs = { merged: '/c/merged', upper: '/c/upper', work: '/c/work' };
const v1 = { mode: 'v1' as const, paths: ['/sys/fs/cgroup/memory/x'], fsMounts: [], writes: [] };
const v2 = { mode: 'v2' as const, paths: ['/sys/fs/cgroup/x'], fsMounts: [], writes: [] };
const at = (steps: Step[], op: number, pred: (s: Step) => boolean = () => true): number =>
  steps.findIndex((s) => s.op === op && pred(s));
const firstMount = (steps: Step[]): number => at(steps, Op.MOUNT);
const shmStep = (steps: Step[]): Step =>
  steps.find((s) => s.strs?.[1] === '/c/merged/dev/shm' || s.strs?.[2] === '/c/merged/dev/shm')!;
const ALL_NEW = CLONE.CLONE_NEWPID | CLONE.CLONE_NEWNS | CLONE.CLONE_NEWUTS | CLONE.CLONE_NEWIPC | CLONE.CLONE_NEWNET;

describe('namespaceFlags: --ipc, --pid, --uts, --shm-size', () => {
  it("the modes kept as given; --uts host takes the host's name; --shm-size in bytes", () => {
    expect(namespaceFlags({ ipc: 'container:web', pid: 'host' }, false)).toEqual({
      namespaces: { ipc: 'container:web', pid: 'host' },
    });
    expect(namespaceFlags({ uts: 'host' }, false)).toMatchObject({
      namespaces: { uts: 'host' },
      hostname: expect.any(String),
    });
    expect(namespaceFlags({ shmSize: '128m', ipc: 'private' }, false)).toEqual({
      namespaces: { ipc: 'private' },
      shmSize: 128 * 1024 * 1024,
    });
    expect(namespaceFlags({}, false)).toEqual({});
  });

  it.each([
    [{ ipc: 'none' }, false, /^--ipc none: use host, private, shareable or container:NAME$/],
    [{ pid: 'private' }, false, /^--pid private: use host or container:NAME$/],
    [{ uts: 'container:x' }, false, /^--uts container:x: use host$/],
    [{ ipc: 'container:' }, false, /^--ipc container: needs a container name or ID/],
    [{ uts: 'host', hostname: 'box' }, false, /^--hostname box with --uts host/],
    [{ shmSize: '0' }, false, /^--shm-size 0: give a size above 0/],
    [{ shmSize: '-1m' }, false, /^invalid --shm-size "-1m"/],
    [{ shmSize: '1m', ipc: 'host' }, false, /^--shm-size with --ipc host: \/dev\/shm is then the host's/],
    [{ shmSize: '1m', ipc: 'container:a' }, false, /^--shm-size with --ipc container:a/],
    [{ pid: 'host' }, true, /^--pid host with a user namespace .* cannot be shared/],
    [{ ipc: 'container:a' }, true, /^--ipc container:a with a user namespace .* cannot be joined/],
  ])('%j (user namespace: %s) refused: %s', (f, userns, re) => {
    const e = minidockError(() => namespaceFlags(f, userns));
    expect(e.code).toBe(125);
    expect(e.message).toMatch(re);
  });

  it('--ipc private/shareable with a user namespace is fine (a namespace of its own)', () => {
    expect(namespaceFlags({ ipc: 'private' }, true)).toEqual({ namespaces: { ipc: 'private' } });
  });
});

describe('the plan of host namespaces', () => {
  it('none given: every namespace new, a hostname, a 64 MiB /dev/shm of its own', () => {
    const p = planLaunch(spec, dirs, v1);
    expect(p.cloneFlags & ALL_NEW).toBe(ALL_NEW);
    expect(at(p.steps, Op.SETHOSTNAME)).toBeGreaterThan(0);
    expect(p.steps.some((s) => s.op === Op.SETNS || s.op === Op.FORK || s.op === Op.BIND_FROM_NS)).toBe(false);
    expect(shmStep(p.steps).strs).toEqual(['shm', '/c/merged/dev/shm', 'tmpfs', 'mode=1777,size=65536k']);
  });

  it("--pid host: no CLONE_NEWPID, no fork; /proc is the host's PID namespace's", () => {
    const p = planLaunch({ ...spec, namespaces: { pid: 'host' } }, dirs, v2);
    expect(p.cloneFlags & CLONE.CLONE_NEWPID).toBe(0);
    expect(p.cloneFlags & CLONE.CLONE_NEWNS).toBe(CLONE.CLONE_NEWNS);
    expect(at(p.steps, Op.FORK)).toBe(-1);
    expect(p.steps.find((s) => s.strs?.[2] === 'proc')!.why).toMatch(/host's PID namespace \(--pid host\)/);
  });

  it('--uts host: no CLONE_NEWUTS and no sethostname', () => {
    const p = planLaunch({ ...spec, namespaces: { uts: 'host' } }, dirs, v1);
    expect(p.cloneFlags & CLONE.CLONE_NEWUTS).toBe(0);
    expect(at(p.steps, Op.SETHOSTNAME)).toBe(-1);
  });

  it("--ipc host: no CLONE_NEWIPC; the host's /dev/shm bound in, mqueue of the host's namespace", () => {
    const p = planLaunch({ ...spec, namespaces: { ipc: 'host' }, shmFrom: { path: '/dev/shm' } }, dirs, v1);
    expect(p.cloneFlags & CLONE.CLONE_NEWIPC).toBe(0);
    const shm = shmStep(p.steps);
    expect(shm.op).toBe(Op.MOUNT);
    expect(shm.strs?.slice(0, 2)).toEqual(['/dev/shm', '/c/merged/dev/shm']);
    expect(describeStep(shm)).toContain('MS_BIND');
    expect(p.steps.find((s) => s.strs?.[2] === 'mqueue')!.why).toMatch(/the host's IPC namespace/);
  });

  it('--shm-size: the tmpfs size in bytes', () => {
    const p = planLaunch({ ...spec, shmSize: 128 * 1024 * 1024 }, dirs, v1);
    expect(shmStep(p.steps).strs?.[3]).toBe('mode=1777,size=134217728');
  });
});

describe('the plan of joined namespaces (--ipc/--pid container:, resolved by the launch)', () => {
  const joined = (cg: typeof v1 | typeof v2, extra: Partial<ContainerSpec> = {}) =>
    planLaunch(
      {
        ...spec,
        namespaces: { ipc: 'container:a', pid: 'container:a' },
        joinNamespaces: [
          { type: 'ipc', path: '/proc/9/fd/20', from: '--ipc container:a' },
          { type: 'pid', path: '/proc/9/fd/21', from: '--pid container:a' },
        ],
        shmFrom: { path: '/dev/shm', mountNamespace: '/proc/9/fd/22' },
        ...extra,
      },
      dirs,
      cg,
    );

  it('cgroup v1: SETNS(ipc), SETNS(pid), FORK right after the cgroup self-join, before any mount; no SYNC', () => {
    const p = joined(v1);
    expect(p.cloneFlags & (CLONE.CLONE_NEWIPC | CLONE.CLONE_NEWPID)).toBe(0);
    expect(p.cloneFlags & CLONE.CLONE_NEWNS).toBe(CLONE.CLONE_NEWNS);
    expect(p.steps[0]!.op).toBe(Op.WRITE_FILE);
    const ipc = at(p.steps, Op.SETNS, (s) => s.ints?.[0] === CLONE.CLONE_NEWIPC);
    expect(p.steps[ipc]!.strs).toEqual(['/proc/9/fd/20']);
    expect(p.steps[ipc + 1]).toMatchObject({ op: Op.SETNS, ints: [CLONE.CLONE_NEWPID] });
    expect(p.steps[ipc + 2]!.op).toBe(Op.FORK);
    expect(ipc + 2).toBeLessThan(firstMount(p.steps));
    expect(at(p.steps, Op.SYNC)).toBe(-1);
    expect(p.steps.filter((s) => s.op === Op.FORK)).toHaveLength(1);
  });

  it('cgroup v2: the SYNC (minidock joins us to the cgroup by pid) comes before the fork, once', () => {
    const p = joined(v2);
    expect(p.sync).toBe(true);
    expect(p.steps.filter((s) => s.op === Op.SYNC)).toHaveLength(1);
    expect(at(p.steps, Op.SYNC)).toBeLessThan(at(p.steps, Op.FORK));
    expect(p.steps[at(p.steps, Op.SYNC)]!.why).toMatch(/before the fork/);
  });

  it("/dev/shm: copied from the target's mount namespace (BIND_FROM_NS), after the joins; mqueue of the joined namespace", () => {
    const p = joined(v1);
    const shm = shmStep(p.steps);
    expect(shm.op).toBe(Op.BIND_FROM_NS);
    expect(shm.strs).toEqual(['/proc/9/fd/22', '/dev/shm', '/c/merged/dev/shm']);
    expect(describeStep(shm)).toBe(
      'setns(open("/proc/9/fd/22"), CLONE_NEWNS); open_tree("/dev/shm", OPEN_TREE_CLONE); setns(back); move_mount(tree, "/c/merged/dev/shm")',
    );
    expect(p.steps.find((s) => s.strs?.[2] === 'mqueue')!.why).toMatch(/the joined IPC namespace/);
    expect(p.steps.find((s) => s.strs?.[2] === 'proc')!.why).toMatch(/joined PID namespace/);
  });

  it('--network container: is one of the joins: SETNS(net) before the mounts (sysfs then shows its links), no lo step', () => {
    const p = planLaunch(spec, dirs, v1, 0, undefined, { mode: 'container', joinNetns: '/proc/7/ns/net' });
    expect(p.cloneFlags & CLONE.CLONE_NEWNET).toBe(0);
    const setns = at(p.steps, Op.SETNS);
    expect(p.steps[setns]).toMatchObject({ strs: ['/proc/7/ns/net'], ints: [CLONE.CLONE_NEWNET] });
    expect(setns).toBeLessThan(firstMount(p.steps));
    expect(at(p.steps, Op.LOOPBACK_UP)).toBe(-1);
    expect(at(p.steps, Op.SETHOSTNAME)).toBeGreaterThan(0); // its own UTS namespace still
  });
});
