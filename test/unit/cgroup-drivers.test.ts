// The v1 and v2 drivers against FAKE cgroup trees in a temp dir (no root needed). See
// cgroup-fake-tree.ts for what the fake imitates; the real-kernel checks are in
// test/integration/cgroup-v1.test.ts.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors.js';
import {
  createCgroup,
  listCgroups,
  openCgroup,
  plannedFsMounts,
  type Cgroup,
} from '../../src/runtime/cgroups/index.js';
import { parseLimits, type Limits } from '../../src/runtime/limits.js';
import { cgroupWriteLine } from '../../src/runtime/trace.js';
import { allDirs, fakeV1, fakeV2, read, type FakeTree } from './cgroup-fake-tree.js';
import { minidockError } from '../helpers.js';

const trees: FakeTree[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const t of trees.splice(0)) t.cleanup();
});
function tree<T extends FakeTree>(t: T): T {
  trees.push(t);
  return t;
}

function sleeper(): ChildProcess {
  const c = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(c);
  return c;
}
function exitSignal(c: ChildProcess): Promise<NodeJS.Signals | null> {
  return new Promise((res) => {
    if (c.exitCode !== null || c.signalCode !== null) res(c.signalCode);
    else c.once('exit', (_code, sig) => res(sig));
  });
}

const error = (fn: () => unknown): string => minidockError(fn).message;

const FULL: Limits = {
  memory: 52_428_800,
  memorySwap: 104_857_600,
  memoryReservation: 20_971_520,
  cpuQuotaUs: 50_000,
  cpuPeriodUs: 100_000,
  cpuShares: 1024,
  cpusetCpus: '0',
  pids: 10,
};

describe('v2 driver (fake cgroup2 tree)', () => {
  it('enables controllers top-down, creates a leaf sibling of our cgroup and writes every limit', () => {
    const t = tree(fakeV2());
    const cg = createCgroup('md-test1', FULL, t.opts);
    expect(cg.mode).toBe('v2');
    const dir = join(t.root, 'user.slice', 'md-test1');
    expect(cg.v2Dir).toBe(dir);
    expect(cg.paths).toEqual([dir]);
    expect(cg.fsMounts).toEqual([{ dir: '', fstype: 'cgroup2', data: '', links: [] }]);
    const sc = (p: string) => join(t.root, p, 'cgroup.subtree_control');
    expect(cg.writes).toEqual([
      { file: sc(''), value: '+memory' },
      { file: sc(''), value: '+cpu' },
      { file: sc(''), value: '+pids' },
      { file: sc(''), value: '+cpuset' },
      { file: sc('user.slice'), value: '+memory' },
      { file: sc('user.slice'), value: '+cpu' },
      { file: sc('user.slice'), value: '+pids' },
      { file: sc('user.slice'), value: '+cpuset' },
      { file: join(dir, 'memory.max'), value: '52428800' },
      { file: join(dir, 'memory.swap.max'), value: '52428800' }, // memory-swap minus memory
      { file: join(dir, 'memory.low'), value: '20971520' },
      { file: join(dir, 'cpu.max'), value: '50000 100000' },
      { file: join(dir, 'cpu.weight'), value: '100' }, // shares 1024 -> weight 100 (limits.ts, sharesToWeight)
      { file: join(dir, 'cpuset.cpus'), value: '0' },
      { file: join(dir, 'pids.max'), value: '10' },
    ]);
    expect(read(join(dir, 'memory.max'))).toBe('52428800');
    expect(read(join(dir, 'cpu.max'))).toBe('50000 100000');
    expect(read(join(dir, 'pids.max'))).toBe('10');
    cg.destroy();
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(t.root, 'user.slice', 'session-1.scope'))).toBe(true);
    cg.destroy(); // idempotent
  });

  it('writes only what was asked, and "max" for unlimited', () => {
    const t = tree(fakeV2());
    const cg = createCgroup('md-min', { memory: 8 << 20, memorySwap: -1, pids: -1, cpuWeight: 500 }, t.opts);
    expect(
      cg.writes.filter((w) => !w.file.endsWith('subtree_control')).map((w) => [w.file.split('/').pop(), w.value]),
    ).toEqual([
      ['memory.max', '8388608'],
      ['memory.swap.max', 'max'],
      ['cpu.weight', '500'],
      ['pids.max', 'max'],
    ]);
    // cpuset is not enabled when --cpuset-cpus is not given
    expect(cg.writes.some((w) => w.value === '+cpuset')).toBe(false);
    cg.destroy();
  });

  it('cpuset memory nodes alone (OCI cpu.mems): cpuset enabled, cpuset.mems written', () => {
    const t = tree(fakeV2());
    const cg = createCgroup('md-mems', { cpusetMems: '0' }, t.opts);
    expect(cg.writes.filter((w) => w.value === '+cpuset').length).toBe(2);
    expect(cg.writes.filter((w) => !w.file.endsWith('subtree_control'))).toEqual([
      { file: join(cg.v2Dir!, 'cpuset.mems'), value: '0' },
    ]);
    cg.destroy();
  });

  it('attaches the eBPF device filter to the new cgroup (unless privileged), and rolls back if the kernel refuses', () => {
    const t = tree(fakeV2());
    const calls: Array<[string, number]> = [];
    const withOps = (attach: (dir: string, prog: Uint8Array) => number) => ({
      ...t.opts,
      restrictDevices: true,
      root: { ...t.opts.root, ops: { ...t.opts.root!.ops!, attachDeviceFilter: attach } },
    });
    const cg = createCgroup(
      'md-dev',
      {},
      withOps((dir, prog) => (calls.push([dir, prog.length]), 0)),
    );
    expect(calls).toEqual([[cg.v2Dir, expect.any(Number)]]);
    expect(calls[0][1] % 8).toBe(0); // struct bpf_insn[]
    expect(cg.writes.at(-1)?.file).toBe(`${cg.v2Dir} (bpf BPF_CGROUP_DEVICE)`);
    cg.destroy();
    // --privileged: no filter
    const all = createCgroup(
      'md-priv',
      {},
      {
        ...withOps(() => {
          throw new Error('must not attach');
        }),
        restrictDevices: false,
      },
    );
    all.destroy();
    // the kernel says no: a clear error, and the cgroup is gone again
    const e = (() => {
      try {
        createCgroup(
          'md-refused',
          {},
          withOps(() => -1),
        );
      } catch (x) {
        return x as MinidockError;
      }
    })();
    expect(e).toBeInstanceOf(MinidockError);
    expect(e!.message).toMatch(/^bpf\(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE\) on .*md-refused: EPERM/);
    expect(listCgroups('md-refused', t.opts)).toEqual([]);
  });

  it('goes right under the root when the caller sits in the root cgroup', () => {
    const t = tree(fakeV2({ own: '/' }));
    const cg = createCgroup('md-root', { pids: 5 }, t.opts);
    expect(cg.v2Dir).toBe(join(t.root, 'md-root'));
    cg.destroy();
  });

  it('reports stats from memory.events, memory.peak, cpu.stat and pids.*', () => {
    const t = tree(fakeV2());
    const cg = createCgroup('md-stats', { memory: 52_428_800 }, t.opts);
    const d = cg.v2Dir!;
    writeFileSync(join(d, 'memory.peak'), '52428800\n');
    writeFileSync(join(d, 'memory.current'), '1000\n');
    writeFileSync(join(d, 'memory.events'), 'low 0\nhigh 0\nmax 37\noom 2\noom_kill 1\noom_group_kill 0\n');
    writeFileSync(
      join(d, 'cpu.stat'),
      'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 30\nnr_throttled 29\nthrottled_usec 1450000\n',
    );
    writeFileSync(join(d, 'pids.current'), '3\n');
    writeFileSync(join(d, 'pids.peak'), '10\n');
    writeFileSync(join(d, 'pids.events'), 'max 12\n');
    expect(cg.stats()).toEqual({
      memoryPeakBytes: 52_428_800,
      memoryLimitBytes: 52_428_800,
      memoryUsageBytes: 1000,
      oomKills: 1,
      oomEvents: 2,
      memoryLimitHits: 37,
      cpuUsageUs: 1500,
      cpuUserUs: 1000,
      cpuSystemUs: 500,
      nrPeriods: 30,
      nrThrottled: 29,
      throttledUs: 1_450_000,
      pidsCurrent: 3,
      pidsPeak: 10,
      pidsLimitHits: 12, // pids.max "max" -> no pidsLimit
    });
    cg.destroy();
  });

  it('joins a process and destroy() kills it before removing the directory', async () => {
    const t = tree(fakeV2({ cgroupKill: false }));
    const cg = createCgroup('md-join', { pids: 10 }, t.opts);
    const c = sleeper();
    cg.join(c.pid!);
    expect(read(join(cg.v2Dir!, 'cgroup.procs'))).toBe(String(c.pid));
    cg.destroy(); // the fake refuses rmdir (EBUSY) while a live pid is listed
    expect(existsSync(cg.v2Dir!)).toBe(false);
    expect(await exitSignal(c)).toBe('SIGKILL');
  });

  it('open and list find existing cgroups by name', () => {
    const t = tree(fakeV2());
    const a = createCgroup('md-list-a', {}, t.opts);
    const b = createCgroup('md-list-b', {}, t.opts);
    expect(listCgroups('md-list-', t.opts)).toEqual(['md-list-a', 'md-list-b']);
    const again = openCgroup('md-list-a', t.opts)!;
    expect(again.v2Dir).toBe(a.v2Dir);
    expect(again.writes).toEqual([]);
    expect(openCgroup('md-nope', t.opts)).toBeUndefined();
    again.destroy();
    b.destroy();
    expect(listCgroups('md-list-', t.opts)).toEqual([]);
  });

  it('creates --cgroup-parent directories and keeps them on destroy', () => {
    const t = tree(fakeV2());
    const cg = createCgroup('md-p', { memory: 8 << 20 }, { ...t.opts, parent: '/minidock/lab' });
    expect(cg.v2Dir).toBe(join(t.root, 'minidock', 'lab', 'md-p'));
    expect(cg.writes.filter((w) => w.value === '+memory').map((w) => w.file)).toEqual([
      join(t.root, 'cgroup.subtree_control'),
      join(t.root, 'minidock', 'cgroup.subtree_control'),
      join(t.root, 'minidock', 'lab', 'cgroup.subtree_control'),
    ]);
    cg.destroy();
    expect(existsSync(join(t.root, 'minidock', 'lab'))).toBe(true);
    expect(listCgroups('', { ...t.opts, parent: 'minidock/lab' })).toEqual([]);
  });

  it('refuses a parent that holds processes ("no internal processes") and creates nothing', () => {
    const t = tree(fakeV2());
    const before = allDirs(t.root);
    expect(
      error(() => createCgroup('md-x', { memory: 8 << 20 }, { ...t.opts, parent: '/user.slice/session-1.scope' })),
    ).toBe(
      `cannot enable the memory, cpu, pids controllers in ${join(t.root, 'user.slice/session-1.scope/cgroup.subtree_control')} (EBUSY): ${join(t.root, 'user.slice/session-1.scope')} holds processes, and cgroup v2 allows controllers for child cgroups only in cgroups without processes ("no internal processes"); pass a --cgroup-parent that holds none, e.g. /minidock`,
    );
    expect(allDirs(t.root)).toEqual(before);
  });

  it('fails clearly when the tree lacks a controller a limit needs (hybrid cgroup2)', () => {
    const t = tree(fakeV2({ controllers: ['hugetlb'] }));
    expect(error(() => createCgroup('md-x', { memory: 8 << 20 }, t.opts))).toBe(
      `cannot apply the memory limit: ${join(t.root, 'cgroup.controllers')} does not list memory (it has "hugetlb"): the kernel gives memory to a cgroup v1 hierarchy or disabled it at boot; boot with cgroup_no_v1=all (or systemd.unified_cgroup_hierarchy=1) and without cgroup_disable=memory`,
    );
    // without limits that need it, the cgroup is still usable (for statistics and grouping)
    const cg = createCgroup('md-y', {}, t.opts);
    expect(cg.writes).toEqual([]);
    cg.destroy();
  });

  it('rolls back when a write fails (no swap accounting) and refuses duplicates', () => {
    const t = tree(fakeV2({ swapAccounting: false }));
    const before = allDirs(t.root);
    const dir = join(t.root, 'user.slice', 'md-s');
    expect(error(() => createCgroup('md-s', { memory: 50 << 20, memorySwap: 100 << 20 }, t.opts))).toBe(
      `cannot apply --memory-swap 104857600: ${join(dir, 'memory.swap.max')} does not exist (ENOENT) because swap accounting is off in this kernel; boot with swapaccount=1, or use --memory-swap -1 or equal to --memory`,
    );
    expect(allDirs(t.root)).toEqual(before);
    // memory-swap equal to memory (no swap) or -1 is fine without the file
    const ok = createCgroup('md-s', { memory: 50 << 20, memorySwap: 50 << 20 }, t.opts);
    expect(error(() => createCgroup('md-s', {}, t.opts))).toBe(
      `cannot create cgroup ${dir} (EEXIST): a cgroup named md-s already exists (another container, or a leftover: remove it with rmdir or minidock gc)`,
    );
    expect(existsSync(dir)).toBe(true); // the existing one is left alone
    ok.destroy();
  });

  it('rejects unsafe names', () => {
    const t = tree(fakeV2());
    expect(error(() => createCgroup('../evil', {}, t.opts))).toBe(
      'invalid cgroup name "../evil": use letters, digits, "_", "." and "-" only, starting with a letter or digit',
    );
    expect(error(() => createCgroup('ok', {}, { ...t.opts, parent: '/a/../b' }))).toBe(
      'invalid --cgroup-parent "/a/../b": ".." is not allowed; give a path inside the cgroup hierarchy like /minidock',
    );
  });
});

describe('v1 driver (fake v1 tree)', () => {
  it('creates one directory per hierarchy under our own cgroup and writes limits in order', () => {
    const t = tree(fakeV1());
    const cg: Cgroup = createCgroup('md-v1', FULL, t.opts);
    expect(cg.mode).toBe('v1');
    expect(cg.v2Dir).toBeUndefined();
    const mem = join(t.root, 'memory/process_api/abc/md-v1');
    const cpu = join(t.root, 'cpu/md-v1');
    const acct = join(t.root, 'cpuacct/md-v1');
    const pids = join(t.root, 'pids/md-v1');
    const cpuset = join(t.root, 'cpuset/md-v1');
    // (the freezer's directory is made with nothing written: pause freezes it)
    expect(cg.paths).toEqual([mem, cpu, acct, pids, cpuset, join(t.root, 'freezer/md-v1')]);
    expect(cg.writes).toEqual([
      { file: join(mem, 'memory.limit_in_bytes'), value: '52428800' },
      { file: join(mem, 'memory.memsw.limit_in_bytes'), value: '104857600' },
      { file: join(mem, 'memory.soft_limit_in_bytes'), value: '20971520' },
      { file: join(cpu, 'cpu.cfs_period_us'), value: '100000' },
      { file: join(cpu, 'cpu.cfs_quota_us'), value: '50000' },
      { file: join(cpu, 'cpu.shares'), value: '1024' },
      { file: join(pids, 'pids.max'), value: '10' },
      { file: join(cpuset, 'cpuset.cpus'), value: '0' },
      { file: join(cpuset, 'cpuset.mems'), value: '0' }, // copied from the parent
    ]);
    expect(read(join(mem, 'memory.limit_in_bytes'))).toBe('52428800');
    expect(read(join(cpu, 'cpu.cfs_quota_us'))).toBe('50000');
    cg.destroy();
    for (const p of cg.paths) expect(existsSync(p)).toBe(false);
    expect(existsSync(join(t.root, 'memory/process_api/abc'))).toBe(true);
  });

  it('cpuset memory nodes alone (OCI cpu.mems): cpuset.cpus copied from the parent (a new cpuset starts empty), cpuset.mems written', () => {
    const t = tree(fakeV1());
    const cg = createCgroup('md-mems', { cpusetMems: '0' }, t.opts);
    const cpuset = join(t.root, 'cpuset/md-mems');
    expect(cg.paths).toContain(cpuset);
    expect(cg.writes.filter((w) => w.file.startsWith(cpuset))).toEqual([
      { file: join(cpuset, 'cpuset.cpus'), value: '0-1' }, // copied from the parent
      { file: join(cpuset, 'cpuset.mems'), value: '0' },
    ]);
    cg.destroy();
  });

  it('skips cpuset without --cpuset-cpus, converts weight to shares, "max" for unlimited pids', () => {
    const t = tree(fakeV1());
    const cg = createCgroup('md-w', { cpuWeight: 100, pids: -1 }, t.opts);
    expect(cg.paths.map((p) => p.slice(t.root.length))).toEqual([
      '/memory/process_api/abc/md-w',
      '/cpu/md-w',
      '/cpuacct/md-w',
      '/pids/md-w',
      '/freezer/md-w',
    ]);
    expect(cg.writes.map((w) => [w.file.split('/').pop(), w.value])).toEqual([
      ['cpu.shares', '1024'],
      ['pids.max', 'max'],
    ]);
    cg.destroy();
  });

  it('handles cpu,cpuacct co-mounted in one hierarchy', () => {
    const t = tree(
      fakeV1({
        hierarchies: ['cpu,cpuacct', 'memory', 'pids', 'net_cls,net_prio'],
        own: { 'cpu,cpuacct': '/user.slice' },
      }),
    );
    const cg = createCgroup('md-co', { cpuQuotaUs: 25_000, cpuPeriodUs: 100_000 }, t.opts);
    const cpu = join(t.root, 'cpu,cpuacct/user.slice/md-co');
    expect(cg.paths).toEqual([join(t.root, 'memory/process_api/abc/md-co'), cpu, join(t.root, 'pids/md-co')]);
    expect(cg.writes).toEqual([
      { file: join(cpu, 'cpu.cfs_period_us'), value: '100000' },
      { file: join(cpu, 'cpu.cfs_quota_us'), value: '25000' },
    ]);
    writeFileSync(join(cpu, 'cpuacct.usage'), '2500000\n');
    writeFileSync(join(cpu, 'cpuacct.stat'), 'user 1\nsystem 2\n');
    expect(cg.stats()).toMatchObject({ cpuUsageUs: 2500, cpuUserUs: 10_000, cpuSystemUs: 20_000 });
    expect(listCgroups('md-', t.opts)).toEqual(['md-co']);
    // inside the container: one mount per hierarchy it has a cgroup in, with the host's controller
    // set as mount data (the kernel answers EBUSY to any other), and the host's symlinks
    expect(cg.fsMounts).toEqual([
      { dir: 'memory', fstype: 'cgroup', data: 'memory', links: [] },
      { dir: 'cpu,cpuacct', fstype: 'cgroup', data: 'cpu,cpuacct', links: ['cpu', 'cpuacct'] },
      { dir: 'pids', fstype: 'cgroup', data: 'pids', links: [] },
    ]);
    expect(plannedFsMounts({ cpuQuotaUs: 25_000, cpuPeriodUs: 100_000 }, t.opts)).toEqual(cg.fsMounts);
    cg.destroy();
    expect(listCgroups('md-', t.opts)).toEqual([]);
  });

  it('reads v1 statistics', () => {
    const t = tree(fakeV1());
    const cg = createCgroup('md-st', { memory: 52_428_800, pids: 10 }, t.opts);
    const [mem, cpu, acct, pids] = cg.paths as [string, string, string, string];
    writeFileSync(join(mem, 'memory.max_usage_in_bytes'), '52428800\n');
    writeFileSync(join(mem, 'memory.usage_in_bytes'), '4096\n');
    writeFileSync(join(mem, 'memory.failcnt'), '120\n');
    writeFileSync(join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    writeFileSync(join(cpu, 'cpu.stat'), 'nr_periods 30\nnr_throttled 29\nthrottled_time 1450000000\nnr_bursts 0\n');
    writeFileSync(join(acct, 'cpuacct.usage'), '1500000000\n');
    writeFileSync(join(acct, 'cpuacct.stat'), 'user 100\nsystem 50\n');
    writeFileSync(join(pids, 'pids.current'), '2\n');
    writeFileSync(join(pids, 'pids.peak'), '10\n');
    writeFileSync(join(pids, 'pids.events'), 'max 12\n');
    expect(cg.stats()).toEqual({
      memoryPeakBytes: 52_428_800,
      memoryLimitBytes: 52_428_800,
      memoryUsageBytes: 4096,
      oomKills: 1,
      oomEvents: 1,
      memoryLimitHits: 120,
      cpuUsageUs: 1_500_000,
      cpuUserUs: 1_000_000,
      cpuSystemUs: 500_000,
      nrPeriods: 30,
      nrThrottled: 29,
      throttledUs: 1_450_000,
      pidsCurrent: 2,
      pidsPeak: 10,
      pidsLimit: 10,
      pidsLimitHits: 12,
    });
    cg.destroy();
  });

  it('joins every hierarchy, and destroy() kills the process and removes every directory', async () => {
    const t = tree(fakeV1());
    const cg = createCgroup('md-j', { memory: 52_428_800 }, t.opts);
    const c = sleeper();
    cg.join(c.pid!);
    for (const p of cg.paths) expect(read(join(p, 'cgroup.procs'))).toBe(String(c.pid));
    cg.destroy();
    for (const p of cg.paths) expect(existsSync(p)).toBe(false);
    expect(await exitSignal(c)).toBe('SIGKILL');
  });

  it('fails clearly without swap accounting and removes everything it created', () => {
    const t = tree(fakeV1({ swapAccounting: false }));
    const before = allDirs(t.root);
    const memsw = join(t.root, 'memory/process_api/abc/md-sw/memory.memsw.limit_in_bytes');
    expect(error(() => createCgroup('md-sw', { memory: 50 << 20, memorySwap: 100 << 20, pids: 5 }, t.opts))).toBe(
      `cannot apply --memory-swap 104857600: ${memsw} does not exist (ENOENT) because swap accounting is off in this kernel; boot with swapaccount=1, or use --memory-swap -1 or equal to --memory`,
    );
    expect(allDirs(t.root)).toEqual(before);
    const ok = createCgroup('md-sw', { memory: 50 << 20, memorySwap: -1 }, t.opts);
    expect(ok.writes.map((w) => w.file.split('/').pop())).toEqual(['memory.limit_in_bytes']);
    ok.destroy();
  });

  it('reports a write the kernel refuses with path, errno and hint, and rolls back', () => {
    const t = tree(fakeV1({ hierarchies: ['cpu', 'cpuacct', 'memory'] })); // no pids hierarchy
    const before = allDirs(t.root);
    expect(error(() => createCgroup('md-np', { memory: 50 << 20, pids: 5 }, t.opts))).toBe(
      'cannot apply the pids limit: no cgroup v1 hierarchy carries the pids controller (see /proc/self/mountinfo); mount it, e.g. mount -t cgroup -o pids cgroup /sys/fs/cgroup/pids',
    );
    expect(allDirs(t.root)).toEqual(before);
    // a missing interface file (here: a kernel without CFS bandwidth control) -> ENOENT, named
    const t2 = tree(fakeV1());
    const mkdir = t2.opts.root!.ops!.mkdir;
    t2.opts.root!.ops!.mkdir = (d) => {
      mkdir(d);
      if (d.includes('/cpu/')) unlinkSync(join(d, 'cpu.cfs_quota_us'));
    };
    const before2 = allDirs(t2.root);
    expect(
      error(() => createCgroup('md-q', { memory: 50 << 20, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000 }, t2.opts)),
    ).toBe(
      `cannot write "50000" to ${join(t2.root, 'cpu/md-q/cpu.cfs_quota_us')} (ENOENT): this kernel has no cpu.cfs_quota_us (the controller is not enabled for this cgroup, or the feature is compiled out)`,
    );
    expect(allDirs(t2.root)).toEqual(before2);
  });

  it('creates --cgroup-parent in every hierarchy, copying cpuset.cpus/mems into new cpuset parents', () => {
    const t = tree(fakeV1());
    const cg = createCgroup('md-pp', { cpusetCpus: '1' }, { ...t.opts, parent: '/minidock' });
    expect(cg.paths.map((p) => p.slice(t.root.length))).toEqual([
      '/memory/minidock/md-pp',
      '/cpu/minidock/md-pp',
      '/cpuacct/minidock/md-pp',
      '/pids/minidock/md-pp',
      '/cpuset/minidock/md-pp',
      '/freezer/minidock/md-pp',
    ]);
    expect(read(join(t.root, 'cpuset/minidock/cpuset.cpus'))).toBe('0-1');
    expect(read(join(t.root, 'cpuset/minidock/cpuset.mems'))).toBe('0');
    expect(read(join(t.root, 'cpuset/minidock/md-pp/cpuset.cpus'))).toBe('1');
    expect(openCgroup('md-pp', { ...t.opts, parent: '/minidock' })!.paths).toEqual(cg.paths);
    expect(openCgroup('md-pp', t.opts)).toBeUndefined(); // not under our own cgroup
    cg.destroy();
    expect(existsSync(join(t.root, 'cpuset/minidock'))).toBe(true);
    expect(listCgroups('', { ...t.opts, parent: '/minidock' })).toEqual([]);
  });
});

// Docker's swap rule, from the flags (parseLimits) to the files each driver writes, and the lines
// `run --dry-run` prints for them (the same writes, planned with dryRun; cgroupWriteLine is its format).
describe("swap with -m: Docker's rule on both drivers", () => {
  const swapLines = (t: FakeTree, flags: Record<string, string>, dryRun = false): string[] =>
    createCgroup('md-swap', parseLimits(flags), { ...t.opts, dryRun })
      .writes.filter((w) => /memory\.(memsw\.limit_in_bytes|swap\.max|limit_in_bytes|max)$/.test(w.file))
      .map((w) => cgroupWriteLine({ file: w.file.slice(t.root.length), value: w.value }));
  const v1 = '/memory/process_api/abc/md-swap/';
  const v2 = '/user.slice/md-swap/';
  it.each([
    [
      '-m 50M alone: as much swap as memory (memory + swap = 2 x memory)',
      { memory: '50M' },
      [`echo "52428800" > ${v1}memory.limit_in_bytes`, `echo "104857600" > ${v1}memory.memsw.limit_in_bytes`],
      [`echo "52428800" > ${v2}memory.max`, `echo "52428800" > ${v2}memory.swap.max`],
    ],
    [
      '--memory-swap equal to -m: no swap',
      { memory: '50M', memorySwap: '50M' },
      [`echo "52428800" > ${v1}memory.limit_in_bytes`, `echo "52428800" > ${v1}memory.memsw.limit_in_bytes`],
      [`echo "52428800" > ${v2}memory.max`, `echo "0" > ${v2}memory.swap.max`],
    ],
    [
      '--memory-swap -1: unlimited swap',
      { memory: '50M', memorySwap: '-1' },
      [`echo "52428800" > ${v1}memory.limit_in_bytes`, `echo "-1" > ${v1}memory.memsw.limit_in_bytes`],
      [`echo "52428800" > ${v2}memory.max`, `echo "max" > ${v2}memory.swap.max`],
    ],
  ])('%s: the writes and the --dry-run lines', (_name, flags, v1Lines, v2Lines) => {
    for (const [make, lines] of [
      [() => fakeV1(), v1Lines],
      [() => fakeV2(), v2Lines],
    ] as const) {
      const dry = swapLines(tree(make()), flags, true);
      expect(dry).toEqual(lines);
      expect(swapLines(tree(make()), flags)).toEqual(lines);
    }
  });

  it('without swap accounting: the default is dropped silently, an explicit --memory-swap still refused', () => {
    for (const make of [() => fakeV1({ swapAccounting: false }), () => fakeV2({ swapAccounting: false })]) {
      const t = tree(make());
      const cg = createCgroup('md-swap', parseLimits({ memory: '50M' }), t.opts);
      expect(cg.writes.filter((w) => w.file.includes('memory.')).map((w) => w.file.split('/').pop())).toEqual([
        cg.mode === 'v1' ? 'memory.limit_in_bytes' : 'memory.max',
      ]);
      cg.destroy();
      expect(error(() => createCgroup('md-swap', parseLimits({ memory: '50M', memorySwap: '100M' }), t.opts))).toMatch(
        /^cannot apply --memory-swap 104857600: .*memory\.(memsw\.limit_in_bytes|swap\.max) does not exist \(ENOENT\) because swap accounting is off/,
      );
    }
  });
});
