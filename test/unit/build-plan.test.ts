// The order of the launch is the lesson: check the invariants that make a container safe.
import { describe, expect, it } from 'vitest';
import { buildPlan, cloneFlags, overlayPath, planLaunch, VFORK_FLAGS } from '../../src/runtime/build-plan';
import { Op, type Step } from '../../src/runtime/plan';
import type { ContainerSpec } from '../../src/runtime/spec';
import { testSpec } from './spec-fixture';
import { MS } from '../../src/sys/constants';

const base: ContainerSpec = testSpec({ args: ['sh', '-c', 'x'], env: ['PATH=/bin:/usr/bin'], cwd: '/w' });
const dirs = { merged: '/s/m', upper: '/s/u', work: '/s/w' };
const plan = (over: Partial<ContainerSpec> = {}) => buildPlan({ ...base, ...over }, dirs);
const idx = (steps: Step[], pred: (s: Step) => boolean) => steps.findIndex(pred);

describe('buildPlan', () => {
  it('makes / private before mounting anything', () => {
    const s = plan();
    expect(s[0]).toMatchObject({ op: Op.MOUNT, strs: ['', '/', '', ''], ints: [MS.MS_REC | MS.MS_PRIVATE] });
  });

  it('mounts the overlay with the rootfs as the lower layer', () => {
    const ov = plan().find((s) => s.op === Op.MOUNT && s.strs?.[2] === 'overlay')!;
    expect(ov.strs).toEqual(['overlay', '/s/m', 'overlay', 'lowerdir=/r,upperdir=/s/u,workdir=/s/w']);
    expect(plan({ lowerDirs: ['/l1', '/l2'] }).find((s) => s.strs?.[2] === 'overlay')!.strs![3]).toMatch(
      /^lowerdir=\/l1:\/l2,/,
    );
    expect(overlayPath('/a,b:c')).toBe('/a\\,b\\:c');
  });

  it('pivots: chdir(new root), pivot_root(".", "."), detach the old root, chdir("/")', () => {
    const s = plan();
    const p = idx(s, (x) => x.op === Op.PIVOT_ROOT);
    expect(s.slice(p - 1, p + 3).map((x) => [x.op, x.strs?.[0]])).toEqual([
      [Op.CHDIR, '/s/m'],
      [Op.PIVOT_ROOT, '.'],
      [Op.UMOUNT2, '.'],
      [Op.CHDIR, '/'],
    ]);
    // every mount under the new root happens before the pivot; masks after (they use container paths)
    const lastHostMount = Math.max(...s.map((x, i) => (x.op === Op.MOUNT && x.strs?.[1].startsWith('/s/m') ? i : -1)));
    expect(lastHostMount).toBeLessThan(p);
    expect(idx(s, (x) => x.strs?.[1] === '/proc/kcore')).toBeGreaterThan(p);
  });

  it('v1: the child joins its own cgroups first, by writing "0" to each tasks file', () => {
    const s = buildPlan(base, dirs, ['/sys/fs/cgroup/memory/c/tasks', '/sys/fs/cgroup/pids/c/tasks']);
    expect(s.slice(0, 2).map((x) => [x.op, ...(x.strs ?? [])])).toEqual([
      [Op.WRITE_FILE, '/sys/fs/cgroup/memory/c/tasks', '0'],
      [Op.WRITE_FILE, '/sys/fs/cgroup/pids/c/tasks', '0'],
    ]);
    expect(plan().some((x) => x.op === Op.WRITE_FILE)).toBe(false);
    // joined by itself, it waits for nothing: no SYNC step (the launch is vfork-style)
    expect(s.some((x) => x.op === Op.SYNC)).toBe(false);
  });

  // planLaunch is the one decision behind a launch and --dry-run (they used to differ: the dry run
  // showed a SYNC step and no tasks self-join on v1, and none of the cgroup writes)
  describe('planLaunch', () => {
    const writes = [{ file: '/sys/fs/cgroup/memory/c/memory.limit_in_bytes', value: '52428800' }];
    it('cgroup v1: the child joins each hierarchy through tasks, no SYNC, vfork clone, no parent join', () => {
      const p = planLaunch(base, dirs, {
        mode: 'v1',
        paths: ['/sys/fs/cgroup/memory/c', '/sys/fs/cgroup/pids/c'],
        fsMounts: [],
        writes,
      });
      expect(p.steps.slice(0, 2).map((x) => x.strs)).toEqual([
        ['/sys/fs/cgroup/memory/c/tasks', '0'],
        ['/sys/fs/cgroup/pids/c/tasks', '0'],
      ]);
      expect(p.steps.some((x) => x.op === Op.SYNC)).toBe(false);
      expect(p).toMatchObject({
        sync: false,
        parentJoins: [],
        cgroupWrites: writes,
        cgroupMode: 'v1',
        cloneFlags: cloneFlags() | VFORK_FLAGS,
      });
    });
    it('cgroup v2: minidock writes the pid into cgroup.procs while the child waits at SYNC; a plain clone', () => {
      const p = planLaunch(base, dirs, { mode: 'v2', paths: ['/sys/fs/cgroup/c'], fsMounts: [], writes });
      expect(p.steps.some((x) => x.op === Op.WRITE_FILE)).toBe(false);
      expect(p.steps.filter((x) => x.op === Op.SYNC)).toHaveLength(1);
      expect(p).toMatchObject({
        sync: true,
        parentJoins: ['/sys/fs/cgroup/c/cgroup.procs'],
        cgroupWrites: writes,
        cgroupMode: 'v2',
        cloneFlags: cloneFlags(),
      });
    });
  });

  it('joins the cgroup (SYNC) before unsharing the cgroup namespace, and both before exec', () => {
    const s = plan();
    const sync = idx(s, (x) => x.op === Op.SYNC);
    const cg = idx(s, (x) => x.op === Op.UNSHARE);
    expect(sync).toBeGreaterThan(0);
    expect(cg).toBe(sync + 1);
    expect(cg).toBeLessThan(idx(s, (x) => x.op === Op.EXEC));
  });

  it("mounts the container's own cgroups read-only at /sys/fs/cgroup, inside its cgroup namespace", () => {
    const v1 = [
      { dir: 'memory', fstype: 'cgroup' as const, data: 'memory', links: [] },
      { dir: 'cpu,cpuacct', fstype: 'cgroup' as const, data: 'cpu,cpuacct', links: ['cpu', 'cpuacct'] },
    ];
    const s = buildPlan(base, dirs, [], { cgroupfs: v1 });
    const ns = idx(s, (x) => x.op === Op.UNSHARE);
    const ro = MS.MS_RDONLY | MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC;
    // after the unshare: a cgroup filesystem mounted in a cgroup namespace is rooted at its root
    expect(s.slice(ns + 1, ns + 9).map((x) => [x.op, ...(x.strs ?? []), ...(x.ints ?? [])])).toEqual([
      [Op.MOUNT, 'tmpfs', '/sys/fs/cgroup', 'tmpfs', 'mode=755', MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC],
      [Op.MKDIR, '/sys/fs/cgroup/memory', 0o755],
      [Op.MOUNT, 'cgroup', '/sys/fs/cgroup/memory', 'cgroup', 'memory', ro],
      [Op.MKDIR, '/sys/fs/cgroup/cpu,cpuacct', 0o755],
      [Op.MOUNT, 'cgroup', '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'cpu,cpuacct', ro],
      [Op.SYMLINK, 'cpu,cpuacct', '/sys/fs/cgroup/cpu'],
      [Op.SYMLINK, 'cpu,cpuacct', '/sys/fs/cgroup/cpuacct'],
      [Op.MOUNT, '', '/sys/fs/cgroup', '', 'mode=755', MS.MS_REMOUNT | ro],
    ]);
    // v2: the one cgroup2 filesystem; --privileged: read-write, as in Docker
    const v2 = [{ dir: '', fstype: 'cgroup2' as const, data: '', links: [] }];
    const m2 = buildPlan(base, dirs, [], { cgroupfs: v2 }).filter((x) => x.strs?.[1] === '/sys/fs/cgroup');
    expect(m2.map((x) => [...x.strs!, ...x.ints!])).toEqual([['cgroup2', '/sys/fs/cgroup', 'cgroup2', '', ro]]);
    const priv = buildPlan({ ...base, privileged: true }, dirs, [], { cgroupfs: v1 }).filter(
      (x) => x.op === Op.MOUNT && x.strs?.[0] === 'cgroup',
    );
    expect(priv.map((x) => x.ints![0])).toEqual([
      MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC,
      MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC,
    ]);
    // none without a cgroup (the exec plan reuses everything after the unshare)
    expect(plan().some((x) => x.strs?.[1]?.startsWith('/sys/fs/cgroup'))).toBe(false);
  });

  it('drops the bounding set before setuid, sets no_new_privs, and loads seccomp last before exec', () => {
    const s = plan({ uid: 1000, gid: 1000 });
    const bset = idx(s, (x) => x.op === Op.CAPBSET);
    const setuid = idx(s, (x) => x.op === Op.SETUID);
    expect(bset).toBeLessThan(setuid);
    expect(idx(s, (x) => x.op === Op.KEEPCAPS)).toBeLessThan(setuid);
    const capset = s.find((x) => x.op === Op.CAPSET)!;
    expect(capset.ints).toEqual([0, 0, 0]); // non-root: nothing in effect
    expect(idx(s, (x) => x.op === Op.NO_NEW_PRIVS)).toBeGreaterThan(setuid);
    expect(s[s.length - 2].op).toBe(Op.SECCOMP);
    expect(s[s.length - 1].op).toBe(Op.EXEC);
  });

  it('lays out exec as argv, env and PATH directories', () => {
    const e = plan().at(-1)!;
    expect(e.ints).toEqual([3, 1, 2]);
    expect(e.strs).toEqual(['sh', '-c', 'x', 'PATH=/bin:/usr/bin', '/bin', '/usr/bin']);
  });

  it('makes -v :ro a bind plus a read-only remount, and --read-only remounts /', () => {
    const s = plan({ mounts: [{ source: '/h', destination: '/a/b', readonly: true }], readonlyRootfs: true });
    const binds = s.filter((x) => x.op === Op.MOUNT && x.strs?.[1] === '/s/m/a/b');
    expect(binds.map((b) => b.ints![0])).toEqual([
      MS.MS_BIND | MS.MS_REC,
      MS.MS_BIND | MS.MS_REMOUNT | MS.MS_RDONLY | MS.MS_REC,
    ]);
    expect(s.some((x) => x.op === Op.MKDIR && x.strs?.[0] === '/s/m/a')).toBe(true);
    expect(
      s.some(
        (x) => x.op === Op.MOUNT && x.strs?.[1] === '/' && x.ints![0] === (MS.MS_BIND | MS.MS_REMOUNT | MS.MS_RDONLY),
      ),
    ).toBe(true);
  });

  it('--privileged: no masks, no seccomp step when unconfined', () => {
    const s = plan({ privileged: true, seccomp: undefined });
    expect(s.some((x) => x.strs?.[1] === '/proc/kcore')).toBe(false);
    expect(s.some((x) => x.op === Op.SECCOMP)).toBe(false);
  });

  it("-t: the console step comes after pivot_root (it opens the container's own /dev/ptmx)", () => {
    const s = plan({ tty: true, ttySize: { rows: 30, cols: 100 } });
    const c = idx(s, (x) => x.op === Op.CONSOLE);
    expect(c).toBeGreaterThan(idx(s, (x) => x.op === Op.PIVOT_ROOT));
    expect(s[c].ints).toEqual([30, 100]);
  });
});
