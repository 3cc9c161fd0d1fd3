// Rootless cgroups (issue 18): where a normal user's container gets a cgroup of its own — cgroup v2,
// in the subtree systemd delegates to the user — and where it gets none. Driven with the fake trees
// (cgroup-fake-tree.ts); "yours" is this test's own uid (the fake files are its), "not yours" another.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { controllersFor, rootlessCgroup, rootlessDelegation } from '../../src/runtime/cgroups/none';
import { fakeV1, fakeV2, read, type FakeTree } from './cgroup-fake-tree';
import { minidockError } from '../helpers';

const me = process.getuid!();
const other = me + 4242;
const DELEGATED = '/user.slice/user-1000.slice/user@1000.service';

describe('rootless cgroups: the decision', () => {
  let tree: FakeTree | undefined;
  afterEach(() => tree?.cleanup());

  it('cgroup v1: none for a normal user; a limit is refused naming v1 and how to get v2', () => {
    tree = fakeV1();
    expect(rootlessDelegation(me, tree.opts)).toMatchObject({
      why: 'cgroup v1: only root creates cgroups',
      fix: expect.stringMatching(/unified_cgroup_hierarchy=1/),
    });
    const e = minidockError(() =>
      rootlessCgroup(
        'minidock-x',
        { memory: 50 << 20, memorySwap: 100 << 20, memorySwapDefault: true },
        tree!.opts,
        me,
      ),
    );
    expect(e.message).toMatch(
      /^memory: a rootless container has no cgroup of its own \(cgroup v1: only root creates cgroups\), so it cannot be limited — .*unified_cgroup_hierarchy=1/,
    );
    // without limits: no cgroup, nothing made
    expect(rootlessCgroup('minidock-x', {}, tree.opts, me)).toMatchObject({ mode: 'v1', paths: [] });
  });

  it("cgroup v2, started inside the delegated subtree (app.slice/…scope): the container's cgroup beside ours, limits written", () => {
    tree = fakeV2({ own: `${DELEGATED}/app.slice/run-r1.scope` });
    const d = rootlessDelegation(me, tree.opts);
    expect(d).toMatchObject({
      parent: `${DELEGATED.slice(1)}/app.slice`,
      controllers: expect.arrayContaining(['memory', 'pids', 'cpu']),
    });
    const cg = rootlessCgroup('minidock-x', { memory: 50 << 20, pids: 20 }, tree.opts, me);
    const dir = join(tree.root, DELEGATED, 'app.slice', 'minidock-x');
    expect(cg.mode).toBe('v2');
    expect(cg.paths).toEqual([dir]);
    expect(read(join(dir, 'memory.max'))).toBe(String(50 << 20));
    expect(read(join(dir, 'pids.max'))).toBe('20');
    // no eBPF device filter: a normal user cannot attach one (and its user namespace refuses mknod)
    expect(cg.writes.map((w) => w.file).some((f) => /bpf|devices/.test(f))).toBe(false);
    cg.destroy();
    expect(existsSync(dir)).toBe(false);
  });

  it("cgroup v2, started in a login session (session-N.scope, root's parent): none, and the refusal says how to get one", () => {
    tree = fakeV2({ own: '/user.slice/user-1000.slice/session-3.scope' });
    const d = rootlessDelegation(other, tree.opts);
    expect(d).toMatchObject({
      why: expect.stringMatching(/user-1000\.slice is uid \d+'s, not yours/),
      fix: expect.stringMatching(/systemd-run --user --scope/),
    });
    const e = minidockError(() => rootlessCgroup('minidock-x', { pids: 10 }, tree!.opts, other));
    expect(e.message).toMatch(
      /^pids: a rootless container has no cgroup of its own \(cgroup v2: .* not yours .*\), so it cannot be limited — drop the limit flags, run as root, or start minidock inside your systemd user manager's subtree: systemd-run --user --scope minidock run/,
    );
  });

  it("cgroup v2: a delegated directory whose cgroup.subtree_control is not the user's is not a delegation", () => {
    tree = fakeV2({ own: `${DELEGATED}/app.slice/run-r1.scope` });
    // (what systemd chowns on delegation: the directory, cgroup.procs, cgroup.subtree_control; here we cannot chown, so ask as another uid)
    expect(rootlessDelegation(other, tree.opts)).toMatchObject({
      why: expect.stringMatching(/app\.slice is uid \d+'s, not yours/),
    });
  });

  it('cgroup v2: a limit whose controller the delegation lacks (systemd < 252 delegates memory pids) is refused in one line with the Delegate= fix', () => {
    tree = fakeV2({ own: `${DELEGATED}/app.slice/run-r1.scope` });
    writeFileSync(join(tree.root, DELEGATED, 'app.slice', 'cgroup.controllers'), 'memory pids\n');
    const e = minidockError(() =>
      rootlessCgroup('minidock-x', { cpuQuotaUs: 50000, cpuPeriodUs: 100000 }, tree!.opts, me),
    );
    expect(e.message).toMatch(
      /^cpu: your delegated cgroup .*app\.slice offers only "memory pids" — as root: systemctl edit user@\.service, \[Service\] Delegate=cpu cpuset io memory pids/,
    );
    expect(existsSync(join(tree.root, DELEGATED, 'app.slice', 'minidock-x'))).toBe(false);
  });

  it('--cgroup-parent inside the delegation is used as given; outside it, refused', () => {
    tree = fakeV2({ own: '/user.slice/user-1000.slice/session-3.scope' });
    expect(rootlessDelegation(me, { ...tree.opts, parent: '/user.slice/user-1000.slice' })).toMatchObject({
      parent: 'user.slice/user-1000.slice',
    });
    expect(rootlessDelegation(me, { ...tree.opts, parent: '/nope' })).toMatchObject({
      why: expect.stringMatching(/nope is missing/),
      fix: expect.stringMatching(/--cgroup-parent inside your delegated subtree/),
    });
  });

  it('which controller each limit needs', () => {
    expect(controllersFor({})).toEqual([]);
    expect(controllersFor({ memory: 1, cpuQuotaUs: 1, cpuPeriodUs: 1, pids: 3, cpusetCpus: '0' }).sort()).toEqual([
      'cpu',
      'cpuset',
      'memory',
      'pids',
    ]);
    expect(controllersFor({ memorySwap: 2, memorySwapDefault: true })).toEqual([]);
  });
});
