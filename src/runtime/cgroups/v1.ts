// The cgroup v1 driver: one directory per hierarchy. Controllers may be mounted one per hierarchy
// (this project's machines: cpu and cpuacct separate) or co-mounted ("cpu,cpuacct" on most distros);
// either way the set of hierarchies comes from mountinfo, and each controller used maps to one of them.
//
// Files written, in order (only for the limits that were given):
//   memory:  memory.limit_in_bytes, then memory.memsw.limit_in_bytes (memsw may never be below the
//            memory limit, so the memory limit goes first), memory.soft_limit_in_bytes,
//            memory.oom_control (1: --oom-kill-disable), memory.swappiness
//   cpu:     cpu.cfs_period_us, then cpu.cfs_quota_us; cpu.shares
//   pids:    pids.max
//   cpuset:  cpuset.cpus, cpuset.mems (copied from the parent: a new cpuset cgroup starts EMPTY and
//            nothing can join it until both are set)
//   devices: "a" into devices.deny, then V1_DEVICE_RULES into devices.allow (unless --privileged;
//            see below and docs/security.md)
//   blkio:   blkio.bfq.weight or blkio.weight (--blkio-weight; the hierarchy is used only then)
// The cpuacct hierarchy (and memory/pids without limits) is still created: it gives the statistics.
// The freezer hierarchy gets a directory with nothing written: pause/unpause freeze it (freezer.ts).

import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fail, MinidockError } from '../../errors.js';
import type { Limits } from '../limits.js';
import { weightToShares } from '../limits.js';
import { dirInMount } from './detect.js';
import { DEVICE_RULES } from './device-bpf.js';
import type {
  Cgroup,
  CgroupDetection,
  CgroupfsMount,
  CgroupFsOps,
  CgroupOptions,
  CgroupStats,
  CgroupWrite,
  V1Hierarchy,
} from './types.js';
import {
  checkName,
  checkSwapWithoutAccounting,
  exists,
  killAndRemove,
  mkdirParents,
  normalizeParent,
  readKeyed,
  readNumber,
  realOps,
  V1_NO_LIMIT,
  removeCreated,
  writeFileStrict,
  writeRecorded,
  pidsStats,
  dropUndefined,
  mkdirCgroup,
  dryOps,
  nearestExisting,
  neededControllers,
} from './util.js';
import { readOpt } from '../../sys/read.js';

/** The controllers a container uses, in the order their directories are created and written. */
const USED = ['memory', 'cpu', 'cpuacct', 'pids', 'cpuset', 'devices', 'freezer', 'blkio'] as const;
type Used = (typeof USED)[number];

/**
 * The devices cgroup: which device nodes the container may open. Creating a node (mknod) needs only
 * CAP_MKNOD, which Docker grants, so without this list `mknod /tmp/disk b 8 0` followed by an open
 * would read the host's disk. The kernel checks the list at open(), whatever the node's path:
 * the minimal /dev's devices are allowed, every other open of a device node is refused with EPERM.
 * "m" (mknod) stays allowed for all, as in Docker: a node is harmless until it can be opened.
 * Rule syntax: TYPE MAJOR:MINOR ACCESS, with TYPE c (char), b (block) or a (all), r/w/m access.
 */
export const V1_DEVICE_RULES = DEVICE_RULES;

/** cpuacct.stat counts in USER_HZ, which is 100 on every Linux ABI. */
const USER_HZ = 100;

interface Placement {
  hierarchy: V1Hierarchy;
  controllers: Used[]; // the used controllers that live in this hierarchy
  parentDir: string; // where the container's directory goes
}

/** Map each used controller to its hierarchy (deduplicating co-mounted ones) and find the parent dir. */
function place(detected: CgroupDetection, want: Set<Used>, opts: CgroupOptions, withCpuset: boolean): Placement[] {
  const out: Placement[] = [];
  for (const c of USED) {
    if (c === 'cpuset' && !withCpuset) continue;
    if (c === 'blkio' && !want.has('blkio')) continue; // only for --blkio-weight
    if (c === 'devices' && !opts.restrictDevices) continue; // --privileged: the caller's devices cgroup (all)
    const h = detected.mounts.v1.find((x) => x.controllers.includes(c));
    if (!h) {
      if (want.has(c)) {
        fail(
          `cannot apply the ${c} limit: no cgroup v1 hierarchy carries the ${c} controller (see /proc/self/mountinfo); mount it, e.g. mount -t cgroup -o ${c} cgroup /sys/fs/cgroup/${c}`,
        );
      }
      continue; // only statistics would come from it
    }
    const prev = out.find((p) => p.hierarchy === h);
    if (prev) {
      prev.controllers.push(c);
      continue;
    }
    let parentDir: string | undefined;
    if (opts.parent !== undefined) {
      parentDir = join(h.mountPoint, normalizeParent(opts.parent));
    } else {
      parentDir = h.ownPath === undefined ? undefined : dirInMount(h.mountPoint, h.mountRoot, h.ownPath);
      if (parentDir === undefined) {
        fail(
          `cannot find this process's own ${h.controllers.join(',')} cgroup under ${h.mountPoint} (/proc/self/cgroup says ${h.ownPath ?? 'nothing'}): pass --cgroup-parent /minidock`,
        );
      }
    }
    out.push({ hierarchy: h, controllers: [c], parentDir });
  }
  return out;
}

/** /sys/fs/cgroup inside the container: each hierarchy the container has a cgroup in, at the name
 * it has on the host (the last component of its mount point). */
function fsMountsOf(hierarchies: V1Hierarchy[]): CgroupfsMount[] {
  return hierarchies.map((h) => {
    const dir = basename(h.mountPoint);
    return {
      dir,
      fstype: 'cgroup',
      data: h.controllers.join(','),
      links: dir.includes(',') ? h.controllers.filter((c) => c !== dir) : [],
    };
  });
}

/** Where a container with these limits gets a directory: one placement per hierarchy used. */
function placements(limits: Limits, detected: CgroupDetection, opts: CgroupOptions): Placement[] {
  const want: Set<Used> = neededControllers(limits);
  if (limits.oomKillDisable || limits.memorySwappiness !== undefined) want.add('memory');
  if (limits.blkioWeight !== undefined) want.add('blkio');
  // Fail closed: a v1 host without a devices hierarchy cannot keep a container off its devices.
  if (opts.restrictDevices) want.add('devices');
  return place(detected, want, opts, want.has('cpuset'));
}

/** A directory of the container's cgroup; `hierarchy` is absent for one reopened by name (gc, stats). */
interface V1Dir {
  dir: string;
  controllers: Used[];
  hierarchy?: V1Hierarchy;
}

class V1Cgroup implements Cgroup {
  readonly mode = 'v1' as const;
  readonly v2Dir = undefined;
  private destroyed = false;

  constructor(
    readonly name: string,
    private readonly dirs: V1Dir[],
    readonly writes: CgroupWrite[],
    private readonly ops: CgroupFsOps,
  ) {}

  get paths(): string[] {
    return this.dirs.map((d) => d.dir);
  }

  get fsMounts(): CgroupfsMount[] {
    return fsMountsOf(this.dirs.flatMap((d) => (d.hierarchy ? [d.hierarchy] : [])));
  }

  private dirOf(c: Used): string | undefined {
    return this.dirs.find((d) => d.controllers.includes(c))?.dir;
  }

  join(pid: number): void {
    for (const { dir, controllers } of this.dirs) {
      writeFileStrict(join(dir, 'cgroup.procs'), String(pid), (code) =>
        code === 'ESRCH'
          ? `pid ${pid} has already exited`
          : code === 'ENOSPC' && controllers.includes('cpuset')
            ? `${dir} has an empty cpuset.cpus or cpuset.mems`
            : undefined,
      );
    }
  }

  oomKills(): number | undefined {
    const mem = this.dirOf('memory');
    return mem ? readKeyed(join(mem, 'memory.oom_control'))?.get('oom_kill') : undefined;
  }

  stats(): CgroupStats {
    const s: CgroupStats = {};
    const mem = this.dirOf('memory');
    if (mem) {
      s.memoryPeakBytes = readNumber(join(mem, 'memory.max_usage_in_bytes'));
      const lim = readNumber(join(mem, 'memory.limit_in_bytes'));
      s.memoryLimitBytes = lim !== undefined && lim < V1_NO_LIMIT ? lim : undefined;
      s.memoryUsageBytes = readNumber(join(mem, 'memory.usage_in_bytes'));
      const oom = readKeyed(join(mem, 'memory.oom_control'));
      if (oom) {
        s.oomKills = oom.get('oom_kill');
        s.oomEvents = (oom.get('oom_kill') ?? 0) + (oom.get('under_oom') ?? 0);
      }
      s.memoryLimitHits = readNumber(join(mem, 'memory.failcnt'));
    }
    const acct = this.dirOf('cpuacct');
    if (acct) {
      const ns = readNumber(join(acct, 'cpuacct.usage'));
      if (ns !== undefined) s.cpuUsageUs = Math.round(ns / 1000);
      const st = readKeyed(join(acct, 'cpuacct.stat'));
      if (st?.has('user')) s.cpuUserUs = st.get('user')! * (1_000_000 / USER_HZ);
      if (st?.has('system')) s.cpuSystemUs = st.get('system')! * (1_000_000 / USER_HZ);
    }
    const cpu = this.dirOf('cpu');
    if (cpu) {
      const st = readKeyed(join(cpu, 'cpu.stat'));
      s.nrPeriods = st?.get('nr_periods');
      s.nrThrottled = st?.get('nr_throttled');
      const t = st?.get('throttled_time');
      if (t !== undefined) s.throttledUs = Math.round(t / 1000);
    }
    const pids = this.dirOf('pids');
    if (pids) Object.assign(s, pidsStats(pids));
    return dropUndefined(s);
  }

  destroy(): void {
    if (this.destroyed) return;
    killAndRemove(this.paths, this.ops, false);
    this.destroyed = true;
  }
}

function copyFromParent(ops: CgroupFsOps, dir: string, file: string, writes: CgroupWrite[]): void {
  const v = readOpt(join(nearestExisting(dirname(dir)), file))?.trim() ?? '';
  if (v === '') {
    fail(
      `cannot set up cpuset ${dir}: the parent's ${file} is empty, so a child cannot get any; set it in the parent first`,
    );
  }
  writeRecorded(ops, writes, join(dir, file), v);
}

export function createV1(name: string, limits: Limits, detected: CgroupDetection, opts: CgroupOptions): Cgroup {
  checkName(name);
  const ops = opts.dryRun ? dryOps() : (opts.root?.ops ?? realOps);
  const places = placements(limits, detected, opts);
  const created: string[] = [];
  const writes: CgroupWrite[] = [];
  const dirs: V1Dir[] = [];
  try {
    for (const p of places) {
      if (opts.parent !== undefined) {
        const isCpuset = p.controllers.includes('cpuset');
        created.push(
          ...mkdirParents(p.hierarchy.mountPoint, normalizeParent(opts.parent), ops, (d) => {
            if (!isCpuset) return;
            copyFromParent(ops, d, 'cpuset.cpus', writes);
            copyFromParent(ops, d, 'cpuset.mems', writes);
          }),
        );
      }
      const dir = join(p.parentDir, name);
      mkdirCgroup(
        ops,
        dir,
        name,
        `the parent ${p.parentDir} does not exist; create it or pass another --cgroup-parent`,
      );
      created.push(dir);
      dirs.push({ dir, controllers: p.controllers, hierarchy: p.hierarchy });
      for (const c of p.controllers) writeLimits(ops, c, dir, limits, writes);
      // --device: its node allowed too, one rule per write() as the minimal /dev's
      if (p.controllers.includes('devices') && opts.deviceRules?.length)
        writeRecorded(ops, writes, join(dir, 'devices.allow'), opts.deviceRules);
    }
  } catch (e) {
    removeCreated(created, ops);
    if (e instanceof MinidockError) throw e;
    fail(`cannot create cgroup ${name}: ${(e as Error).message}`);
  }
  return new V1Cgroup(name, dirs, writes, ops);
}

function writeLimits(ops: CgroupFsOps, c: Used, dir: string, l: Limits, writes: CgroupWrite[]): void {
  const w = (file: string, value: string | readonly string[], hint?: (code: string) => string | undefined): void =>
    writeRecorded(ops, writes, join(dir, file), value, hint);
  switch (c) {
    case 'memory': {
      if (l.memory !== undefined) w('memory.limit_in_bytes', String(l.memory));
      if (l.memorySwap !== undefined) {
        // (every memory cgroup has memsw files when swap accounting is on: --dry-run asks the parent)
        if (readOpt(join(nearestExisting(dir), 'memory.memsw.limit_in_bytes')) !== undefined) {
          w('memory.memsw.limit_in_bytes', String(l.memorySwap));
        } else if (!l.memorySwapDefault) {
          // (no swap accounting: the kernel cannot limit swap; Docker's default is dropped silently,
          // an explicit --memory-swap that asks for a limit is refused)
          checkSwapWithoutAccounting(l, join(dir, 'memory.memsw.limit_in_bytes'));
        }
      }
      if (l.memoryReservation !== undefined) w('memory.soft_limit_in_bytes', String(l.memoryReservation));
      // (with the killer off, a task that hits the limit sleeps in the kernel until memory is freed
      // or the limit raised: the container hangs instead of losing a process; under_oom says so)
      if (l.oomKillDisable) w('memory.oom_control', '1');
      if (l.memorySwappiness !== undefined) w('memory.swappiness', String(l.memorySwappiness));
      break;
    }
    case 'blkio':
      if (l.blkioWeight !== undefined) w(blkioWeightFile(dir), String(l.blkioWeight));
      break;
    case 'cpu': {
      if (l.cpuQuotaUs !== undefined) {
        w('cpu.cfs_period_us', String(l.cpuPeriodUs ?? 100_000));
        w('cpu.cfs_quota_us', String(l.cpuQuotaUs), (code) =>
          code === 'EINVAL' ? "the quota must be at least 1000us and not above the parent cgroup's quota" : undefined,
        );
      }
      const shares = l.cpuShares ?? (l.cpuWeight !== undefined ? weightToShares(l.cpuWeight) : undefined);
      if (shares !== undefined) w('cpu.shares', String(shares));
      break;
    }
    case 'pids':
      if (l.pids !== undefined) w('pids.max', l.pids === -1 ? 'max' : String(l.pids));
      break;
    case 'cpuset':
      // (a new v1 cpuset cgroup starts empty: what is not given is copied from the parent)
      if (l.cpusetCpus !== undefined) {
        w('cpuset.cpus', l.cpusetCpus, (code) =>
          code === 'EINVAL'
            ? `CPUs ${l.cpusetCpus} are not all in the parent's cpuset.cpus (${readOpt(join(dir, '..', 'cpuset.cpus'))?.trim() ?? '?'})`
            : undefined,
        );
      } else if (l.cpusetMems !== undefined) copyFromParent(ops, dir, 'cpuset.cpus', writes);
      if (l.cpusetMems !== undefined) {
        w('cpuset.mems', l.cpusetMems, (code) =>
          code === 'EINVAL'
            ? `memory nodes ${l.cpusetMems} are not all in the parent's cpuset.mems (${readOpt(join(dir, '..', 'cpuset.mems'))?.trim() ?? '?'})`
            : undefined,
        );
      } else if (l.cpusetCpus !== undefined) copyFromParent(ops, dir, 'cpuset.mems', writes);
      break;
    case 'cpuacct':
      break; // statistics only
    case 'freezer':
      break; // nothing until pause (freezer.ts)
    case 'devices':
      // A new devices cgroup starts as a copy of its parent's list (on the host: "a *:* rwm").
      // "a" into devices.deny empties it and makes deny the default; then allow what /dev holds.
      w('devices.deny', 'a');
      w('devices.allow', V1_DEVICE_RULES); // one rule per write()
      break;
  }
}

/**
 * Which file takes --blkio-weight: BFQ's blkio.bfq.weight (the proportional scheduler of blk-mq
 * kernels), else CFQ's blkio.weight (kernels before 5.0), as runc chooses. Neither exists when no
 * disk can use a proportional scheduler (mq-deadline, kyber and none have no weights): refused, as a
 * weight nobody applies would be a limit silently not kept. --dry-run asks the parent; both files
 * are absent from a hierarchy's root (BFQ's is not on the root), so there a loaded bfq module counts.
 */
function blkioWeightFile(dir: string): string {
  const probe = nearestExisting(dir);
  for (const f of ['blkio.bfq.weight', 'blkio.weight']) if (existsSync(join(probe, f))) return f;
  if (probe !== dir && existsSync('/sys/module/bfq')) return 'blkio.bfq.weight';
  return fail(
    `cannot apply --blkio-weight: ${dir} has neither blkio.bfq.weight nor blkio.weight — proportional I/O weights need the BFQ I/O scheduler (modprobe bfq; echo bfq > /sys/block/DEV/queue/scheduler); drop the flag`,
  );
}

/** The parent directory per used hierarchy, without creating anything. */
function parentDirs(detected: CgroupDetection, opts: CgroupOptions): { dir: string; controllers: Used[] }[] {
  const out: { dir: string; controllers: Used[] }[] = [];
  for (const c of USED) {
    const h = detected.mounts.v1.find((x) => x.controllers.includes(c));
    if (!h) continue;
    const dir =
      opts.parent !== undefined
        ? join(h.mountPoint, normalizeParent(opts.parent))
        : h.ownPath === undefined
          ? undefined
          : dirInMount(h.mountPoint, h.mountRoot, h.ownPath);
    if (dir === undefined) continue;
    const prev = out.find((p) => p.dir === dir);
    if (prev) prev.controllers.push(c);
    else out.push({ dir, controllers: [c] });
  }
  return out;
}

export function openV1(name: string, detected: CgroupDetection, opts: CgroupOptions): Cgroup | undefined {
  checkName(name);
  const dirs = parentDirs(detected, opts)
    .map((p) => ({ dir: join(p.dir, name), controllers: p.controllers }))
    .filter((d) => exists(d.dir));
  if (dirs.length === 0) return undefined;
  return new V1Cgroup(name, dirs, [], opts.root?.ops ?? realOps);
}

/** Re-open a container's cgroup by the directories it recorded (state.json cgroupPaths), from
 * whichever cgroup the caller is in (exec); the directories that still exist, undefined if none. */
export function openV1At(paths: string[], detected: CgroupDetection, opts: CgroupOptions): Cgroup | undefined {
  const dirs = paths
    .filter((d) => exists(d))
    .map((dir) => {
      const h = detected.mounts.v1.find((m) => dir.startsWith(m.mountPoint + '/'));
      return { dir, controllers: USED.filter((c) => h?.controllers.includes(c)) };
    });
  return dirs.length ? new V1Cgroup(basename(dirs[0]!.dir), dirs, [], opts.root?.ops ?? realOps) : undefined;
}

export function listV1(prefix: string, detected: CgroupDetection, opts: CgroupOptions): string[] {
  const names = new Set<string>();
  for (const p of parentDirs(detected, opts)) {
    let entries;
    try {
      entries = readdirSync(p.dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDirectory() && e.name.startsWith(prefix)) names.add(e.name);
  }
  return [...names].sort();
}

/** minidock update: write `limits` into a running container's existing directories (state.json
 * cgroupPaths), through the same writes as at creation (devices are never rewritten; cpuset only
 * when given — minidock-oci update — and then with both cpus and mems, or the other is copied
 * from the parent). */
export function updateV1(paths: string[], limits: Limits, detected: CgroupDetection, writes: CgroupWrite[]): void {
  for (const dir of paths) {
    const h = detected.mounts.v1.find((m) => dir.startsWith(m.mountPoint + '/'));
    for (const c of USED)
      if (c !== 'devices' && h?.controllers.includes(c)) writeLimits(realOps, c, dir, limits, writes);
  }
}
