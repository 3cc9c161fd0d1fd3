// `minidock cgroup PID`: the lesson-friendly view of a process's cgroups. For every hierarchy the
// process belongs to, it shows the cgroup directory and the limit and counter files in it with their
// current values: the same plain files minidock wrote (see --trace), read back from the kernel.
//
// Where a process sits comes from /proc/PID/cgroup ("4:memory:/a/b" per v1 hierarchy, "0::/a/b" for
// v2); where each hierarchy is mounted comes from our own /proc/self/mountinfo. The path in
// /proc/PID/cgroup is relative to the hierarchy's root as seen from the READER's cgroup namespace, so
// this works from the host for a container that has its own cgroup namespace.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../errors.js';
import { detectCgroups, dirInMount, parseSelfCgroup } from './detect.js';
import type { CgroupDetection, CgroupOptions } from './types.js';
import { V1_NO_LIMIT } from './util.js';
import { readOpt } from '../../sys/read.js';
import { stateRoot } from '../state-root.js';
import { isProcess } from '../../sys/proc.js';
import { resolve } from '../container-store/listing.js';

/** The files worth showing, per controller, with one line saying what each one means. */
const V1_FILES: Record<string, Array<[string, string]>> = {
  memory: [
    ['memory.limit_in_bytes', 'hard limit: at this usage the kernel reclaims, then OOM-kills (-m)'],
    ['memory.memsw.limit_in_bytes', 'memory + swap limit (--memory-swap)'],
    ['memory.soft_limit_in_bytes', 'soft limit, enforced only under host memory pressure (--memory-reservation)'],
    ['memory.usage_in_bytes', 'charged now (anonymous memory + page cache)'],
    ['memory.max_usage_in_bytes', 'peak usage'],
    ['memory.failcnt', 'times usage hit the limit'],
    ['memory.oom_control', 'oom_kill = processes the OOM killer took in this cgroup'],
  ],
  cpu: [
    ['cpu.cfs_period_us', 'CFS period (us)'],
    ['cpu.cfs_quota_us', 'CPU time allowed per period (us); -1 = no limit (--cpus, --cpu)'],
    ['cpu.shares', 'relative weight under contention (--cpu-shares)'],
    ['cpu.stat', 'nr_throttled = periods in which the quota ran out'],
  ],
  cpuacct: [
    ['cpuacct.usage', 'CPU time used (ns)'],
    ['cpuacct.stat', 'user / system time (USER_HZ ticks, 1/100 s)'],
  ],
  pids: [
    ['pids.max', 'maximum number of tasks (--pids-limit)'],
    ['pids.current', 'tasks now'],
    ['pids.peak', 'most tasks at once'],
    ['pids.events', 'max = forks refused at the limit (EAGAIN)'],
  ],
  cpuset: [
    ['cpuset.cpus', 'CPUs the tasks may run on (--cpuset-cpus)'],
    ['cpuset.mems', 'memory nodes'],
  ],
  devices: [['devices.list', 'device nodes the tasks may open (type major:minor access)']],
};

const V2_FILES: Array<[string, string]> = [
  ['cgroup.controllers', 'controllers available here (handed down by the parent)'],
  ['memory.max', 'hard limit: above it the kernel reclaims, then OOM-kills (-m)'],
  ['memory.swap.max', 'swap allowed on top of memory.max (--memory-swap minus -m)'],
  ['memory.low', 'protected memory (--memory-reservation)'],
  ['memory.current', 'charged now'],
  ['memory.peak', 'peak usage'],
  ['memory.events', 'max = limit hits, oom_kill = processes the OOM killer took'],
  ['cpu.max', '"quota period" in us; "max" = no limit (--cpus, --cpu)'],
  ['cpu.weight', 'relative weight under contention (--cpu-weight)'],
  ['cpu.stat', 'usage_usec, nr_throttled, throttled_usec'],
  ['pids.max', 'maximum number of tasks (--pids-limit)'],
  ['pids.current', 'tasks now'],
  ['pids.peak', 'most tasks at once'],
  ['pids.events', 'max = forks refused at the limit (EAGAIN)'],
  ['cpuset.cpus', 'CPUs the tasks may run on (--cpuset-cpus)'],
  ['cpuset.cpus.effective', 'CPUs actually usable'],
];

export interface ViewFile {
  file: string;
  value: string;
  note: string;
  /** the value in words: "50.0 MiB", "no limit", "0.50 CPU" */
  meaning?: string;
}

export interface ViewHierarchy {
  version: 'v1' | 'v2';
  controllers: string[];
  /** the process's path inside the hierarchy, from /proc/PID/cgroup */
  path: string;
  /** the directory on this host, or undefined when that hierarchy is not mounted here */
  dir?: string;
  files: ViewFile[];
}

export interface CgroupView {
  pid: number;
  mode: string;
  reason: string;
  hierarchies: ViewHierarchy[];
}

function meaning(
  file: string,
  value: string,
  dir: string,
  read: (p: string) => string | undefined,
): string | undefined {
  const v = value.trim();
  const n = Number(v);
  const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
  if (/(limit_in_bytes|usage_in_bytes|^memory\.(max|low|current|peak|swap\.max))$/.test(file)) {
    if (v === 'max' || (Number.isFinite(n) && n >= V1_NO_LIMIT)) return 'no limit';
    if (Number.isFinite(n)) return mib(n);
  }
  if (file === 'pids.max' && v === 'max') return 'no limit';
  if (file === 'cpu.cfs_quota_us') {
    if (n === -1) return 'no limit';
    const period = Number(read(join(dir, 'cpu.cfs_period_us'))?.trim());
    if (n > 0 && period > 0) return `${(n / period).toFixed(2)} CPU`;
  }
  if (file === 'cpu.max') {
    const [q, p] = v.split(/\s+/);
    if (q === 'max') return 'no limit';
    if (Number(q) > 0 && Number(p) > 0) return `${(Number(q) / Number(p)).toFixed(2)} CPU`;
  }
  if (file === 'cpuacct.usage' && Number.isFinite(n)) return `${(n / 1e9).toFixed(3)} s`;
  return undefined;
}

export interface ViewOptions extends CgroupOptions {
  /** for tests: the text of /proc/PID/cgroup, and a file reader */
  procCgroup?: string;
  read?: (path: string) => string | undefined;
}

/** Build the view of pid's cgroups. */
export function cgroupView(pid: number, opts: ViewOptions = {}): CgroupView {
  if (!Number.isInteger(pid) || pid <= 0)
    fail(`invalid PID "${pid}": give the number of a running process (e.g. from minidock ps or pgrep)`);
  const read = opts.read ?? readOpt;
  let text = opts.procCgroup;
  if (text === undefined) {
    try {
      text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      fail(
        `cannot read /proc/${pid}/cgroup (${code}): ${code === 'ENOENT' ? `no process ${pid} is running` : 'run as root'}`,
      );
    }
  }
  const detected: CgroupDetection = detectCgroups(opts);
  const hierarchies: ViewHierarchy[] = [];
  for (const [key, path] of parseSelfCgroup(text)) {
    if (key === '') {
      const v2mount = detected.mounts.v2;
      const dir = v2mount ? dirInMount(v2mount.mountPoint, v2mount.mountRoot, path) : undefined;
      const files: ViewFile[] = [];
      if (dir) {
        for (const [file, note] of V2_FILES) {
          const value = read(join(dir, file));
          if (value === undefined) continue;
          files.push({ file, value: value.trim(), note, meaning: meaning(file, value, dir, read) });
        }
      }
      const controllers = (dir && read(join(dir, 'cgroup.controllers'))?.trim().split(/\s+/).filter(Boolean)) || [];
      hierarchies.push({ version: 'v2', controllers, path, dir, files });
      continue;
    }
    const controllers = key.split(',').filter((c) => !c.startsWith('name='));
    if (controllers.length === 0) continue; // named hierarchies (name=systemd) hold no limits
    const h = detected.mounts.v1.find((x) => [...x.controllers].sort().join(',') === [...controllers].sort().join(','));
    const dir = h ? dirInMount(h.mountPoint, h.mountRoot, path) : undefined;
    const files: ViewFile[] = [];
    if (dir) {
      for (const c of controllers) {
        for (const [file, note] of V1_FILES[c] ?? []) {
          const value = read(join(dir, file));
          if (value === undefined) continue;
          files.push({ file, value: value.trim(), note, meaning: meaning(file, value, dir, read) });
        }
      }
    }
    hierarchies.push({ version: 'v1', controllers, path, dir, files });
  }
  // v1 controllers in a stable, lesson order; v2 last
  const order = ['memory', 'cpu', 'cpuacct', 'pids', 'cpuset', 'devices'];
  const rank = (h: ViewHierarchy): number =>
    h.version === 'v2' ? 99 : Math.min(...h.controllers.map((c) => (order.includes(c) ? order.indexOf(c) : 50)));
  hierarchies.sort((a, b) => rank(a) - rank(b));
  return { pid, mode: detected.mode, reason: detected.reason, hierarchies };
}

export function renderView(v: CgroupView, opts: { all?: boolean } = {}): string {
  const lines: string[] = [];
  lines.push(`process ${v.pid}: cgroup ${v.mode} (${v.reason})`);
  for (const h of v.hierarchies) {
    // Hierarchies the process shares with the host's root cgroup carry no limits: one line each.
    const atRoot = h.path === '/';
    const label = h.version === 'v2' ? 'cgroup2' : h.controllers.join(',');
    if (!h.dir) {
      lines.push('', `${label}  ${h.path}  (this hierarchy is not mounted here)`);
      continue;
    }
    if (atRoot && !opts.all) {
      lines.push('', `${label}  ${h.dir}  (the root cgroup: no limits)`);
      continue;
    }
    lines.push('', `${label}  ${h.dir}`);
    if (h.version === 'v2')
      lines.push(`  controllers: ${h.controllers.join(' ') || '(none: they are bound to v1 hierarchies)'}`);
    const width = Math.max(0, ...h.files.map((f) => f.file.length));
    for (const f of h.files) {
      const value = f.value.includes('\n')
        ? f.value
            .split('\n')
            .map((l) => l.trim())
            .join(', ')
        : f.value;
      lines.push(`  ${f.file.padEnd(width)}  ${value}${f.meaning ? `  (${f.meaning})` : ''}`);
      lines.push(`  ${''.padEnd(width)}  # ${f.note}`);
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * The PID to look at: a number naming a live process is a PID; anything else is a container
 * (ID, unique ID prefix or name) of the state root, which must be running — an exited container
 * has no cgroup left (minidock removes it when the container exits).
 */
export function pidOf(ref: string, root?: string): number {
  const r = ref.trim();
  if (/^\d+$/.test(r) && existsSync(`/proc/${r}`)) return Number(r);
  const e = resolve(stateRoot(root), r);
  const pid = e.state?.pid;
  if (!pid || !isProcess(pid, e.state?.pidStart)) {
    return fail(
      `container ${r} is not running: its cgroup was removed when it exited (minidock ps -a shows its exit code)`,
    );
  }
  return pid;
}
