// linux.namespaces with a path for pid and mount (oci/launch.ts namespaceJoins): the plan create
// builds, without root. A PID namespace is entered by the children of a setns() caller, never by the
// caller: the plan joins and then FORKs (the forked process is the container's init), and whatever
// releases the child at SYNC (the cgroup join by pid on v2) comes before that fork. A mount
// namespace is joined last of all, before the plan's first mount, which then happens in it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapConfig, type MapOptions } from '../../src/oci/config';
import { loadBundle, ociPlan } from '../../src/oci/launch';
import { Op, type Step } from '../../src/runtime/plan';
import { CLONE } from '../../src/sys/constants';
import { MinidockError } from '../../src/errors';

const opts: MapOptions = {
  id: 'j'.repeat(64),
  name: 'join1',
  hostHostname: () => 'hosty',
  apparmorEnabled: () => false,
};
// `runc spec` output, committed (runc 1.1.5)
const RUNC_SPEC = readFileSync(join(__dirname, 'oci-runc-spec.json'), 'utf8');
let bundle: string;
beforeAll(() => {
  bundle = mkdtempSync(join(tmpdir(), 'minidock-oci-join-'));
  mkdirSync(join(bundle, 'rootfs'));
});
afterAll(() => rmSync(bundle, { recursive: true, force: true }));

/** runc's default config.json, with these namespaces joined by path */
function joining(paths: Record<string, string>): Record<string, any> {
  const c = JSON.parse(RUNC_SPEC);
  c.process.terminal = false;
  for (const n of c.linux.namespaces) if (paths[n.type]) n.path = paths[n.type];
  return c;
}
const V1 = { mode: 'v1' as const, paths: ['/sys/fs/cgroup/pids/j'], fsMounts: [], writes: [] };
const V2 = { mode: 'v2' as const, paths: ['/sys/fs/cgroup/j'], fsMounts: [], writes: [] };
const planOf = (c: Record<string, any>, cg: typeof V1 | typeof V2) => ociPlan(mapConfig(c, bundle, opts), cg, 3);
const index = (steps: Step[], pred: (s: Step) => boolean): number => steps.findIndex(pred);
const firstMount = (steps: Step[]): number => index(steps, (s) => s.op === Op.MOUNT);

describe('joining a PID namespace by path', () => {
  it("cgroup v1: no CLONE_NEWPID; SETNS(pid) then FORK, both before the first mount (the forked init mounts /proc: its PID namespace's)", () => {
    const plan = planOf(joining({ pid: '/proc/42/ns/pid' }), V1);
    expect(plan.cloneFlags & CLONE.CLONE_NEWPID).toBe(0);
    expect(plan.cloneFlags & CLONE.CLONE_NEWNS).toBe(CLONE.CLONE_NEWNS);
    const setns = index(plan.steps, (s) => s.op === Op.SETNS && s.strs?.[0] === '/proc/42/ns/pid');
    const fork = index(plan.steps, (s) => s.op === Op.FORK);
    expect(setns).toBeGreaterThanOrEqual(0);
    expect(plan.steps[setns]!.ints).toEqual([CLONE.CLONE_NEWPID]);
    expect(fork).toBe(setns + 1);
    expect(fork).toBeLessThan(firstMount(plan.steps));
    // v1: the child joined its cgroups itself, first of all, before the fork: the init inherits them
    expect(plan.steps[0]!.op).toBe(Op.WRITE_FILE);
    expect(plan.steps.filter((s) => s.op === Op.FORK)).toHaveLength(1);
  });

  it('cgroup v2: the SYNC create releases after joining the child to the cgroup by pid comes before the fork', () => {
    const without = planOf(joining({}), V2).steps;
    expect(index(without, (s) => s.op === Op.SYNC)).toBeGreaterThan(firstMount(without)); // where it is otherwise
    const steps = planOf(joining({ pid: '/proc/42/ns/pid' }), V2).steps;
    const sync = index(steps, (s) => s.op === Op.SYNC);
    expect(steps.filter((s) => s.op === Op.SYNC)).toHaveLength(1);
    expect(sync).toBeLessThan(index(steps, (s) => s.op === Op.SETNS));
    expect(sync).toBeLessThan(index(steps, (s) => s.op === Op.FORK));
  });

  it('no pid path: no FORK, CLONE_NEWPID as before', () => {
    const plan = planOf(joining({ network: '/proc/42/ns/net' }), V1);
    expect(plan.steps.some((s) => s.op === Op.FORK)).toBe(false);
    expect(plan.cloneFlags & CLONE.CLONE_NEWPID).toBe(CLONE.CLONE_NEWPID);
  });
});

describe('joining a mount namespace by path', () => {
  it("no CLONE_NEWNS; SETNS(mnt) after every other join, before the first mount (the plan's mounts go into it)", () => {
    const plan = planOf(joining({ mount: '/proc/42/ns/mnt', network: '/proc/42/ns/net', ipc: '/proc/42/ns/ipc' }), V1);
    expect(plan.cloneFlags & CLONE.CLONE_NEWNS).toBe(0);
    const joins = plan.steps.filter((s) => s.op === Op.SETNS);
    expect(joins.map((s) => s.strs?.[0])).toEqual(['/proc/42/ns/net', '/proc/42/ns/ipc', '/proc/42/ns/mnt']);
    expect(joins[2]!.ints).toEqual([CLONE.CLONE_NEWNS]);
    expect(index(plan.steps, (s) => s === joins[2])).toBeLessThan(firstMount(plan.steps));
  });

  it('create accepts pid and mount paths; a cgroup namespace path is still refused in one line', () => {
    const load = (c: Record<string, any>) => {
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
      return loadBundle({ id: 'join1', bundle }, () => new Uint8Array());
    };
    expect(
      load(joining({ pid: '/proc/42/ns/pid', mount: '/proc/42/ns/mnt' }))
        .extras.joinNamespaces.map((j) => j.type)
        .sort(),
    ).toEqual(['mount', 'pid']);
    const c = joining({});
    c.linux.namespaces.push({ type: 'cgroup', path: '/proc/42/ns/cgroup' });
    let err: unknown;
    try {
      load(c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MinidockError);
    expect((err as Error).message).toMatch(
      /joining a cgroup namespace .* only network, ipc, uts, pid and mount namespaces can be joined/,
    );
  });
});
