// The cgroup v2 driver: one unified tree. Two rules shape it:
//
// 1. A controller can be used in a cgroup only if its parent lists it in cgroup.subtree_control, all
//    the way down from the root. The driver writes "+memory", "+cpu", "+pids" (and "+cpuset") into
//    each ancestor that lacks them, one controller per write so that an error names the controller.
// 2. "No internal processes": a non-root cgroup that has processes cannot hand domain controllers to
//    children (the subtree_control write fails with EBUSY). The caller itself always sits in its own
//    cgroup, so the container's cgroup cannot go UNDER it unless that is the root. minidock's choice:
//    by default the container's cgroup becomes a LEAF SIBLING of the caller's cgroup (a child of the
//    caller's parent, which normally holds no processes: systemd keeps processes in leaves). When the
//    caller sits in the root cgroup it goes right under the root. --cgroup-parent overrides this; a
//    parent that holds processes is reported as a clear error, never silently "fixed" by moving them.
//
// Files written into the container's cgroup (only for the limits given): memory.max, memory.swap.max
// (= memory-swap - memory, "max" for -1), memory.low, cpu.max ("quota period"), cpu.weight,
// cpuset.cpus, pids.max, io.bfq.weight or io.weight (--blkio-weight). --oom-kill-disable and
// --memory-swappiness are refused: v2's memory controller has neither switch (v1Only below).

import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fail, MinidockError } from '../../errors.js';
import type { Limits } from '../limits.js';
import { blkioToIoWeight, sharesToWeight } from '../limits.js';
import { dirInMount } from './detect.js';
import { DEVICE_RULES, deviceProgram, encodeEbpf, parseDeviceRule } from './device-bpf.js';
import { errnoName } from '../../sys/errno.js';
import type {
  Cgroup,
  CgroupDetection,
  CgroupfsMount,
  CgroupFsOps,
  CgroupOptions,
  CgroupStats,
  CgroupWrite,
  V2Mount,
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

const BASE_CONTROLLERS = ['memory', 'cpu', 'pids'] as const;

function words(text: string | undefined): string[] {
  return (text ?? '')
    .split(/\s+/)
    .map((w) => w.replace(/^\+/, ''))
    .filter(Boolean);
}

function hasProcesses(dir: string): boolean {
  return (readOpt(join(dir, 'cgroup.procs')) ?? '').trim() !== '';
}

/** The real root cgroup is the only one without cgroup.type (and is exempt from "no internal processes"). */
function isRealRoot(dir: string): boolean {
  return readOpt(join(dir, 'cgroup.type')) === undefined;
}

function v2Mount(detected: CgroupDetection): V2Mount {
  const mount = detected.mounts.v2;
  if (!mount)
    fail(
      'no cgroup2 filesystem is mounted (see /proc/self/mountinfo): mount one, e.g. mount -t cgroup2 none /sys/fs/cgroup',
    );
  return mount;
}

/** Where the container's cgroup goes (see rule 2 above); never creates anything. */
function parentDirOf(mount: V2Mount, opts: CgroupOptions): string {
  if (opts.parent !== undefined) return join(mount.mountPoint, normalizeParent(opts.parent));
  const own = mount.ownPath === undefined ? undefined : dirInMount(mount.mountPoint, mount.mountRoot, mount.ownPath);
  if (own === undefined) {
    fail(
      `cannot find this process's own cgroup under ${mount.mountPoint} (/proc/self/cgroup "0::" says ${mount.ownPath ?? 'nothing'}): pass --cgroup-parent /minidock`,
    );
  }
  if (isRealRoot(own)) return own;
  if (own === mount.mountPoint) {
    fail(
      `cannot place the container's cgroup: this process sits in ${own}, the top of the visible cgroup tree, which holds processes and so cannot have child cgroups with controllers (cgroup v2 "no internal processes"); move this process into a child cgroup first, or pass --cgroup-parent`,
    );
  }
  return dirname(own); // a leaf sibling of our own cgroup
}

/** The directories from the mount point down to dir, inclusive. */
function chain(mountPoint: string, dir: string): string[] {
  const rel = dir.slice(mountPoint.length).split('/').filter(Boolean);
  const out = [mountPoint];
  for (const part of rel) out.push(join(out[out.length - 1]!, part));
  return out;
}

/** Make sure every ancestor from the top down to parentDir hands `controllers` to its children. */
function enableControllers(
  ops: CgroupFsOps,
  mount: V2Mount,
  parentDir: string,
  want: string[],
  required: Set<string>,
  writes: CgroupWrite[],
): string[] {
  const top = mount.mountPoint;
  const available = words(readOpt(join(top, 'cgroup.controllers')));
  const usable = want.filter((c) => available.includes(c));
  for (const c of want) {
    if (!available.includes(c) && required.has(c))
      fail(`cannot apply the ${c} limit: ${notOffered(mount, c, available)}`);
  }
  for (const node of chain(top, parentDir)) {
    const file = join(node, 'cgroup.subtree_control');
    const enabled = words(readOpt(file));
    const missing = usable.filter((c) => !enabled.includes(c));
    if (missing.length === 0) continue;
    const internal = !isRealRoot(node) && hasProcesses(node);
    const rule = `${node} holds processes, and cgroup v2 allows controllers for child cgroups only in cgroups without processes ("no internal processes"); pass a --cgroup-parent that holds none, e.g. /minidock`;
    if (internal) {
      fail(
        `cannot enable the ${missing.join(', ')} controller${missing.length > 1 ? 's' : ''} in ${file} (EBUSY): ${rule}`,
      );
    }
    for (const c of missing) {
      writeRecorded(ops, writes, file, `+${c}`, (code) =>
        code === 'EBUSY'
          ? rule
          : code === 'ENOENT' || code === 'EINVAL'
            ? `the ${c} controller is not available in ${node} (is it bound to a cgroup v1 hierarchy, or, for cpu, do realtime processes run outside the root?)`
            : // (minidock runs as root: refused anyway, the tree is someone else's, e.g. a container's)
              code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
              ? `${node} is not delegated to minidock${code === 'EROFS' ? ' (its cgroupfs is mounted read-only, as inside a container)' : ''}; where the tree is writable (on the host, as root): echo +${c} > ${file}, or for a systemd unit, Delegate=yes in its [Service] section`
              : undefined,
      );
    }
  }
  return usable;
}

/**
 * Why the cgroup2 tree mounted at mount lacks controller `c`, and the fix. Below the real root, a cgroup
 * has only the controllers its parent lists in cgroup.subtree_control: that parent, outside the
 * visible tree (a container's cgroup, a cgroup namespace, a systemd unit without Delegate=), did not
 * hand `c` down; a mount of a subtree names it in mountinfo's root field. At the real root, the
 * kernel itself withholds it: bound to a v1 hierarchy, or disabled at boot.
 */
function notOffered(mount: V2Mount, c: string, available: string[]): string {
  const top = mount.mountPoint;
  const has = `${join(top, 'cgroup.controllers')} does not list ${c} (it has "${available.join(' ')}")`;
  if (isRealRoot(top)) {
    return `${has}: the kernel gives ${c} to a cgroup v1 hierarchy or disabled it at boot; boot with cgroup_no_v1=all (or systemd.unified_cgroup_hierarchy=1) and without cgroup_disable=${c}`;
  }
  const parent =
    mount.mountRoot && mount.mountRoot !== '/' ? join('/sys/fs/cgroup', dirname(mount.mountRoot)) : '<its parent>';
  return `${has}: ${top} is not the root of the cgroup tree, and its parent outside it does not delegate ${c}; on the host, as root: echo +${c} > ${join(parent, 'cgroup.subtree_control')} (for a systemd unit: Delegate=yes), or run minidock on the host`;
}

/** /sys/fs/cgroup inside the container: the whole cgroup2 filesystem, rooted at its own cgroup. */
export const V2_FS_MOUNT: CgroupfsMount = { dir: '', fstype: 'cgroup2', data: '', links: [] };

class V2Cgroup implements Cgroup {
  readonly mode = 'v2' as const;
  private destroyed = false;

  constructor(
    readonly name: string,
    readonly v2Dir: string,
    readonly writes: CgroupWrite[],
    private readonly ops: CgroupFsOps,
  ) {}

  get paths(): string[] {
    return [this.v2Dir];
  }

  get fsMounts(): CgroupfsMount[] {
    return [V2_FS_MOUNT];
  }

  join(pid: number): void {
    writeFileStrict(join(this.v2Dir, 'cgroup.procs'), String(pid), (code) =>
      code === 'ESRCH'
        ? `pid ${pid} has already exited`
        : code === 'EBUSY'
          ? `${this.v2Dir} has child cgroups with controllers enabled ("no internal processes")`
          : undefined,
    );
  }

  oomKills(): number | undefined {
    return readKeyed(join(this.v2Dir, 'memory.events'))?.get('oom_kill');
  }

  stats(): CgroupStats {
    const d = this.v2Dir;
    const s: CgroupStats = {};
    s.memoryPeakBytes = readNumber(join(d, 'memory.peak'));
    s.memoryLimitBytes = readNumber(join(d, 'memory.max'));
    s.memoryUsageBytes = readNumber(join(d, 'memory.current'));
    const ev = readKeyed(join(d, 'memory.events'));
    s.oomKills = ev?.get('oom_kill');
    s.oomEvents = ev?.get('oom');
    s.memoryLimitHits = ev?.get('max');
    const cpu = readKeyed(join(d, 'cpu.stat'));
    s.cpuUsageUs = cpu?.get('usage_usec');
    s.cpuUserUs = cpu?.get('user_usec');
    s.cpuSystemUs = cpu?.get('system_usec');
    s.nrPeriods = cpu?.get('nr_periods');
    s.nrThrottled = cpu?.get('nr_throttled');
    s.throttledUs = cpu?.get('throttled_usec');
    Object.assign(s, pidsStats(d));
    return dropUndefined(s);
  }

  destroy(): void {
    if (this.destroyed) return;
    killAndRemove([this.v2Dir], this.ops, true);
    this.destroyed = true;
  }
}

export function createV2(name: string, limits: Limits, detected: CgroupDetection, opts: CgroupOptions): Cgroup {
  checkName(name);
  const ops = opts.dryRun ? dryOps() : (opts.root?.ops ?? realOps);
  const mount = v2Mount(detected);
  const parentDir = parentDirOf(mount, opts);

  v1Only(limits);
  const required: Set<string> = neededControllers(limits);
  if (limits.blkioWeight !== undefined) required.add('io');
  const want: string[] = [
    ...BASE_CONTROLLERS,
    ...(required.has('cpuset') ? ['cpuset'] : []),
    ...(required.has('io') ? ['io'] : []),
  ];

  const writes: CgroupWrite[] = [];
  const created: string[] = [];
  const dir = join(parentDir, name);
  try {
    if (opts.parent !== undefined) created.push(...mkdirParents(mount.mountPoint, normalizeParent(opts.parent), ops));
    enableControllers(ops, mount, parentDir, want, required, writes);
    mkdirCgroup(ops, dir, name);
    created.push(dir);
    writeLimits(ops, dir, limits, writes);
    if (opts.restrictDevices) attachDevices(dir, ops, writes, opts.deviceRules ?? []);
  } catch (e) {
    removeCreated(created, ops);
    if (e instanceof MinidockError) throw e;
    fail(`cannot create cgroup ${name}: ${(e as Error).message}`);
  }
  return new V2Cgroup(name, dir, writes, ops);
}

function writeLimits(ops: CgroupFsOps, dir: string, l: Limits, writes: CgroupWrite[]): void {
  const w = (file: string, value: string, hint?: (code: string) => string | undefined): void =>
    writeRecorded(ops, writes, join(dir, file), value, hint);
  // (-1: no limit, as OCI's LinuxResources says it; v1 takes -1 itself, v2 only "max")
  if (l.memory !== undefined) w('memory.max', l.memory === -1 ? 'max' : String(l.memory));
  if (l.memorySwap !== undefined) {
    const swapFile = join(dir, 'memory.swap.max');
    const swap = l.memorySwap === -1 ? 'max' : String(l.memorySwap - (l.memory ?? 0));
    // --dry-run asks the parent (a new cgroup has its parent's files), but the root cgroup has no
    // memory.* limit files at all: under it the dry run assumes swap accounting is on
    const probe = nearestExisting(dir);
    if (
      probe === dir
        ? readOpt(swapFile) !== undefined
        : isRealRoot(probe) || readOpt(join(probe, 'memory.swap.max')) !== undefined
    ) {
      w('memory.swap.max', swap);
    } else if (!l.memorySwapDefault) {
      // (no swap accounting: Docker's default is dropped silently, an explicit --memory-swap refused)
      checkSwapWithoutAccounting(l, swapFile);
    }
  }
  if (l.memoryReservation !== undefined)
    w('memory.low', l.memoryReservation === -1 ? 'max' : String(l.memoryReservation));
  if (l.cpuQuotaUs !== undefined) {
    w('cpu.max', `${l.cpuQuotaUs === -1 ? 'max' : l.cpuQuotaUs} ${l.cpuPeriodUs ?? 100_000}`, (code) =>
      code === 'EINVAL' ? 'the quota must be at least 1000us' : undefined,
    );
  }
  const weight = l.cpuWeight ?? (l.cpuShares !== undefined ? sharesToWeight(l.cpuShares) : undefined);
  if (weight !== undefined) w('cpu.weight', String(weight));
  if (l.cpusetCpus !== undefined) {
    w('cpuset.cpus', l.cpusetCpus, (code) =>
      code === 'EINVAL'
        ? `CPUs ${l.cpusetCpus} are not all available in the parent cgroup (cpuset.cpus.effective)`
        : undefined,
    );
  }
  if (l.cpusetMems !== undefined) {
    w('cpuset.mems', l.cpusetMems, (code) =>
      code === 'EINVAL'
        ? `memory nodes ${l.cpusetMems} are not all available in the parent cgroup (cpuset.mems.effective)`
        : undefined,
    );
  }
  if (l.pids !== undefined) w('pids.max', l.pids === -1 ? 'max' : String(l.pids));
  if (l.blkioWeight !== undefined) {
    const f = ioWeightFile(dir);
    w(f, String(f === 'io.weight' ? blkioToIoWeight(l.blkioWeight) : l.blkioWeight));
  }
}

/**
 * The v1 memory switches cgroup v2 does not have, refused in one line before anything is made:
 * v2's memory controller never lets a cgroup turn the OOM killer off (memory.oom.group only makes
 * it kill the whole cgroup at once; memory.high throttles instead), and it has no per-cgroup
 * swappiness (memory.swap.max bounds swap, the host's vm.swappiness decides how eagerly).
 */
function v1Only(l: Limits): void {
  if (l.oomKillDisable)
    fail(
      '--oom-kill-disable: cgroup v2 has no switch to turn the OOM killer off for a cgroup (v1 memory.oom_control has no v2 counterpart; memory.oom.group only makes it kill the whole cgroup at once) — drop the flag, or run on a cgroup v1 host',
    );
  if (l.memorySwappiness !== undefined)
    fail(
      `--memory-swappiness ${l.memorySwappiness}: cgroup v2 has no per-cgroup swappiness (v1 memory.swappiness has no v2 counterpart; the host's vm.swappiness applies) — drop the flag, or bound swap with --memory-swap`,
    );
}

/**
 * Which file takes --blkio-weight: io.bfq.weight (the BFQ scheduler, 1..1000: the value as given),
 * else io.weight (the iocost controller, 1..10000: blkioToIoWeight), as runc chooses. Neither is on
 * the root cgroup, so --dry-run, which asks the parent, assumes io.weight there.
 */
function ioWeightFile(dir: string): string {
  const probe = nearestExisting(dir);
  for (const f of ['io.bfq.weight', 'io.weight']) if (existsSync(join(probe, f))) return f;
  if (probe !== dir && isRealRoot(probe)) return 'io.weight';
  return fail(
    `cannot apply --blkio-weight: ${dir} has neither io.bfq.weight nor io.weight — the kernel has neither the BFQ I/O scheduler nor the iocost controller (CONFIG_BLK_CGROUP_IOCOST); drop the flag`,
  );
}

export function openV2(name: string, detected: CgroupDetection, opts: CgroupOptions): Cgroup | undefined {
  checkName(name);
  const dir = join(parentDirOf(v2Mount(detected), opts), name);
  if (!exists(dir)) return undefined;
  return new V2Cgroup(name, dir, [], opts.root?.ops ?? realOps);
}

/** Re-open a container's cgroup by the directory it recorded (state.json cgroupPaths), from
 * whichever cgroup the caller is in (exec); undefined once it is gone. */
export function openV2At(path: string, opts: CgroupOptions): Cgroup | undefined {
  return exists(path) ? new V2Cgroup(basename(path), path, [], opts.root?.ops ?? realOps) : undefined;
}

export function listV2(prefix: string, detected: CgroupDetection, opts: CgroupOptions): string[] {
  let entries;
  try {
    entries = readdirSync(parentDirOf(v2Mount(detected), opts), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && e.name.startsWith(prefix))
    .map((e) => e.name)
    .sort();
}

/**
 * The device allow-list, v2 style: cgroup v2 has no devices.allow file, so the same rules as v1
 * (DEVICE_RULES) become an eBPF program the kernel runs on every device open and mknod by a
 * process of this cgroup (src/runtime/cgroups/device-bpf.ts).
 */
function attachDevices(dir: string, ops: CgroupFsOps, writes: CgroupWrite[], extra: readonly string[]): void {
  const rules = [...DEVICE_RULES, ...extra]; // (extra: run --device's nodes)
  const prog = deviceProgram(rules.map(parseDeviceRule));
  const bytes = encodeEbpf(prog);
  const r = (ops.attachDeviceFilter ?? realOps.attachDeviceFilter!)(dir, bytes);
  if (r < 0) {
    fail(
      `bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE) on ${dir}: ${errnoName(-r)} — the kernel refused the device filter (it needs CONFIG_CGROUP_BPF and root); without it a container could open host devices, so minidock stops here`,
    );
  }
  writes.push({
    file: `${dir} (bpf BPF_CGROUP_DEVICE)`,
    value: `device filter: ${prog.length} eBPF instructions allowing ${rules.join(', ')}`,
  });
}

/** minidock update: write `limits` into a running container's existing cgroup, through the same
 * writes as at creation. */
export function updateV2(dir: string, limits: Limits, writes: CgroupWrite[]): void {
  writeLimits(realOps, dir, limits, writes);
}
