// Fake cgroup trees in a temp directory, for driving the v1 and v2 drivers without root.
//
// cgroupfs differs from a normal filesystem in two operations, and the fake imitates exactly those
// through CgroupFsOps: mkdir fills the new directory with the controllers' interface files, and rmdir
// removes a directory that still lists files (EBUSY while it has child cgroups or live processes).
// Everything else (reads, writes without O_CREAT) goes to the real temp files, so a write to a file
// the "kernel" does not have fails with ENOENT just like on a real kernel.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CgroupFsOps, CgroupOptions } from '../../src/runtime/cgroups/index.js';

function err(code: string, path: string): NodeJS.ErrnoException {
  const errno: Record<string, number> = { EBUSY: 16, EEXIST: 17, ENOENT: 2 };
  const e = new Error(`${code}: fake cgroupfs, ${path}`) as NodeJS.ErrnoException;
  e.code = code;
  e.errno = -(errno[code] ?? 0);
  return e;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

function fakeRmdir(dir: string): void {
  if (!existsSync(dir)) throw err('ENOENT', dir);
  if (readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory())) throw err('EBUSY', dir);
  const procs = existsSync(join(dir, 'cgroup.procs')) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8') : '';
  if (
    procs
      .split('\n')
      .map(Number)
      .some((p) => p > 0 && alive(p))
  )
    throw err('EBUSY', dir);
  rmSync(dir, { recursive: true });
}

function fill(dir: string, files: Record<string, string>): void {
  for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), v);
}

const V1_FILES: Record<string, (o: FakeV1Options) => Record<string, string>> = {
  memory: (o) => ({
    'memory.limit_in_bytes': '9223372036854771712\n',
    ...(o.swapAccounting === false ? {} : { 'memory.memsw.limit_in_bytes': '9223372036854771712\n' }),
    'memory.soft_limit_in_bytes': '9223372036854771712\n',
    'memory.max_usage_in_bytes': '0\n',
    'memory.usage_in_bytes': '0\n',
    'memory.failcnt': '0\n',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
  }),
  cpu: () => ({
    'cpu.cfs_period_us': '100000\n',
    'cpu.cfs_quota_us': '-1\n',
    'cpu.shares': '1024\n',
    'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n',
  }),
  cpuacct: () => ({ 'cpuacct.usage': '0\n', 'cpuacct.stat': 'user 0\nsystem 0\n' }),
  pids: () => ({ 'pids.max': 'max\n', 'pids.current': '0\n', 'pids.peak': '0\n', 'pids.events': 'max 0\n' }),
  cpuset: () => ({ 'cpuset.cpus': '\n', 'cpuset.mems': '\n' }),
};

export interface FakeTree {
  root: string;
  opts: CgroupOptions;
  cleanup(): void;
}

export interface FakeV1Options {
  /** hierarchies as mounted, e.g. ['cpu', 'cpuacct', 'memory'] or ['cpu,cpuacct', 'memory'] */
  hierarchies?: string[];
  /** /proc/self/cgroup path per hierarchy key (default "/") */
  own?: Record<string, string>;
  swapAccounting?: boolean;
}

/** A v1 tree like this project's machines: separate hierarchies, the caller in memory:/process_api/abc. */
export function fakeV1(o: FakeV1Options = {}): FakeTree {
  const root = mkdtempSync(join(tmpdir(), 'md-cg1-'));
  const hierarchies = o.hierarchies ?? ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids'];
  const own: Record<string, string> = { memory: '/process_api/abc', ...o.own };
  const byMount = new Map<string, string[]>();
  const mi: string[] = [`31 23 0:28 / ${root} rw,relatime - tmpfs tmpfs rw,mode=755`];
  const cg: string[] = [];
  hierarchies.forEach((h, i) => {
    const mp = join(root, h);
    mkdirSync(mp);
    const ctrls = h.split(',');
    byMount.set(mp, ctrls);
    fill(mp, {
      'cgroup.procs': '1\n',
      tasks: '1\n',
      ...(ctrls.includes('cpuset') ? { 'cpuset.cpus': '0-1\n', 'cpuset.mems': '0\n' } : {}),
    });
    mi.push(`${32 + i} 31 0:${29 + i} / ${mp} rw,relatime - cgroup cgroup rw,${h}`);
    cg.push(`${hierarchies.length - i}:${h}:${own[h] ?? '/'}`);
  });
  mi.push(`50 31 0:50 / ${join(root, 'systemd')} rw,relatime - cgroup cgroup rw,name=systemd`);
  mi.push(`51 31 0:51 / ${join(root, 'unified')} rw,relatime - cgroup2 cgroup2 rw`);
  mkdirSync(join(root, 'systemd'));
  mkdirSync(join(root, 'unified'));
  cg.push('9:name=systemd:/', '0::/');

  const ops: CgroupFsOps = {
    mkdir(dir) {
      if (existsSync(dir)) throw err('EEXIST', dir);
      if (!existsSync(dirname(dir))) throw err('ENOENT', dir);
      mkdirSync(dir);
      const mp = [...byMount.keys()].find((m) => dir.startsWith(m + '/'))!;
      const files: Record<string, string> = { 'cgroup.procs': '', tasks: '', notify_on_release: '0\n' };
      for (const c of byMount.get(mp)!) Object.assign(files, V1_FILES[c]?.(o) ?? {});
      fill(dir, files);
    },
    rmdir: fakeRmdir,
  };
  // the caller's own cgroups exist (the kernel put us there)
  for (const [h, p] of Object.entries(own)) {
    let cur = join(root, h);
    for (const part of p.split('/').filter(Boolean)) {
      cur = join(cur, part);
      if (!existsSync(cur)) ops.mkdir(cur);
    }
    writeFileSync(join(cur, 'cgroup.procs'), '1234\n');
  }
  return {
    root,
    opts: { root: { mountinfo: mi.join('\n') + '\n', selfCgroup: cg.join('\n') + '\n', ops } },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface FakeV2Options {
  /** the caller's cgroup ("0::" line), default /user.slice/session-1.scope */
  own?: string;
  /** controllers the root offers (cgroup.controllers) */
  controllers?: string[];
  swapAccounting?: boolean;
  cgroupKill?: boolean;
}

/** A pure v2 tree like a systemd laptop's, mounted at the temp dir. */
export function fakeV2(o: FakeV2Options = {}): FakeTree {
  const root = mkdtempSync(join(tmpdir(), 'md-cg2-'));
  const controllers = o.controllers ?? ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'];
  const own = o.own ?? '/user.slice/session-1.scope';
  // the real root: no cgroup.type, processes allowed
  fill(root, {
    'cgroup.controllers': controllers.join(' ') + '\n',
    'cgroup.subtree_control': '\n',
    'cgroup.procs': '1\n',
  });
  const ops: CgroupFsOps = {
    mkdir(dir) {
      if (existsSync(dir)) throw err('EEXIST', dir);
      if (!existsSync(dirname(dir))) throw err('ENOENT', dir);
      mkdirSync(dir);
      const files: Record<string, string> = {
        'cgroup.controllers': controllers.join(' ') + '\n',
        'cgroup.subtree_control': '\n',
        'cgroup.procs': '',
        'cgroup.type': 'domain\n',
        'cgroup.events': 'populated 0\nfrozen 0\n',
        'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n',
      };
      if (o.cgroupKill !== false) files['cgroup.kill'] = '';
      if (controllers.includes('memory')) {
        Object.assign(files, {
          'memory.max': 'max\n',
          'memory.low': '0\n',
          'memory.current': '0\n',
          'memory.peak': '0\n',
          'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
          ...(o.swapAccounting === false ? {} : { 'memory.swap.max': 'max\n' }),
        });
      }
      if (controllers.includes('cpu')) Object.assign(files, { 'cpu.max': 'max 100000\n', 'cpu.weight': '100\n' });
      if (controllers.includes('pids'))
        Object.assign(files, {
          'pids.max': 'max\n',
          'pids.current': '0\n',
          'pids.peak': '0\n',
          'pids.events': 'max 0\n',
        });
      if (controllers.includes('cpuset')) Object.assign(files, { 'cpuset.cpus': '\n', 'cpuset.mems': '\n' });
      fill(dir, files);
    },
    rmdir: fakeRmdir,
  };
  let cur = root;
  for (const part of own.split('/').filter(Boolean)) {
    cur = join(cur, part);
    ops.mkdir(cur);
  }
  if (own !== '/') writeFileSync(join(cur, 'cgroup.procs'), '1234\n');
  return {
    root,
    opts: {
      root: {
        mountinfo: `23 1 0:21 / /sys rw - sysfs sysfs rw\n30 23 0:26 / ${root} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n`,
        selfCgroup: `0::${own}\n`,
        ops,
      },
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export function read(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

/** Every directory below root, sorted (to prove nothing was left behind). */
export const allDirs = (root: string): string[] =>
  readdirSync(root, { withFileTypes: true, recursive: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(e.parentPath, e.name))
    .sort();
