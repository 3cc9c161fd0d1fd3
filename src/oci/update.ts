// `minidock-oci update`: new resource limits for a live OCI container, as runc update does them.
//
// The input is OCI's LinuxResources (config-linux.md), from `--resources FILE` (or `-`: stdin) or
// from runc's flags, which make the same object. runc's rule for it: a value left out, or 0, keeps
// what the container has; -1 is "no limit" (memory, swap, reservation, cpu quota, pids). What the
// object asks for becomes a Limits and goes to the cgroup drivers' own writes (updateCgroup, the
// same as `minidock update`), into the directories create recorded. `devices` is ignored, as runc
// update ignores it (containerd sends the whole LinuxResources, device rules included); the
// sections minidock's drivers cannot write (blockIO, hugepageLimits, network, rdma, unified, the
// realtime and burst CPU fields) are refused when they ask for something.
//
// Library code: returns values, throws MinidockError; never prints.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, MinidockError } from '../errors.js';
import { updateCgroup } from '../runtime/cgroups/index.js';
import type { Cgroup, CgroupWrite } from '../runtime/cgroups/types.js';
import { MAX_CPU_SHARES, MIN_CPU_SHARES, parseCpuList, parseMemory, type Limits } from '../runtime/limits.js';
import { readOpt } from '../sys/read.js';
import { ociCgroup } from './cgroup.js';
import { Fields, parseConfigText } from './config.js';
import { loadState } from './state.js';

type Obj = Record<string, unknown>;

/** runc update's flags (runc 1.1), each with the LinuxResources field it sets. */
export const UPDATE_FLAG_FIELDS: Readonly<Record<string, readonly [string, string]>> = {
  memory: ['memory', 'limit'],
  'memory-swap': ['memory', 'swap'],
  'memory-reservation': ['memory', 'reservation'],
  'cpu-share': ['cpu', 'shares'],
  'cpu-quota': ['cpu', 'quota'],
  'cpu-period': ['cpu', 'period'],
  'cpu-rt-runtime': ['cpu', 'realtimeRuntime'],
  'cpu-rt-period': ['cpu', 'realtimePeriod'],
  'cpuset-cpus': ['cpu', 'cpus'],
  'cpuset-mems': ['cpu', 'mems'],
  'pids-limit': ['pids', 'limit'],
  'blkio-weight': ['blockIO', 'weight'],
};
const MEMORY_FLAGS = new Set(['memory', 'memory-swap', 'memory-reservation']);
const STRING_FLAGS = new Set(['cpuset-cpus', 'cpuset-mems']);

/**
 * runc's flags -> the LinuxResources they stand for. Memory sizes take units ("50m", "1g"; runc's
 * RAMInBytes) or -1; the others are integers. `--cpu-shares` is accepted for runc's `--cpu-share`.
 */
export function resourcesFromFlags(flags: Record<string, string | boolean>): Obj {
  const r: Record<string, Obj> = {};
  for (const [flag, [section, field]] of Object.entries(UPDATE_FLAG_FIELDS)) {
    const v = flags[flag] ?? (flag === 'cpu-share' ? flags['cpu-shares'] : undefined);
    if (v === undefined || v === '') continue;
    const text = String(v).trim();
    let value: string | number;
    if (STRING_FLAGS.has(flag)) value = text;
    else if (MEMORY_FLAGS.has(flag)) value = text === '-1' ? -1 : parseMemory(flag, text);
    else if (/^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))) value = Number(text);
    else return fail(`invalid --${flag} "${text}": give an integer`);
    r[section] = { ...r[section], [field]: value };
  }
  return r;
}

/** `--resources FILE` (`-`: stdin) as a JSON object. */
export function readResources(file: string, read = (f: string | number) => readFileSync(f, 'utf8')): Obj {
  let text: string;
  try {
    text = read(file === '-' ? 0 : file);
  } catch (e) {
    return fail(
      `--resources ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}) — give a JSON file of OCI LinuxResources, or - for stdin`,
    );
  }
  return parseConfigText(text, `--resources ${file}`);
}

const positiveOrUnlimited = (f: Fields, k: string): number | undefined => {
  const v = f.raw(k);
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < -1)
    return f.bad(k, 'a positive integer, -1 (no limit) or 0 (unchanged)');
  return v;
};

/**
 * LinuxResources -> the Limits to write (pure): only what the object sets; 0, "" and absent keep the
 * container's value (runc update's rule). `source` names the input in errors.
 */
export function limitsFromResources(json: Obj, source = 'resources'): Limits {
  const known = ['devices', 'memory', 'cpu', 'pids', 'blockIO', 'hugepageLimits', 'network', 'rdma', 'unified'];
  const r = new Fields(json, '', [], known, source);
  const limits: Limits = {};
  const notHere = (k: string): never =>
    fail(
      `${source}: ${k} cannot be changed by minidock-oci update (the cgroup drivers do not write it) — leave it out or 0`,
    );
  const mem = r.obj('memory', [
    'limit',
    'reservation',
    'swap',
    'kernel',
    'kernelTCP',
    'swappiness',
    'disableOOMKiller',
  ]);
  if (mem) {
    limits.memory = positiveOrUnlimited(mem, 'limit');
    limits.memorySwap = positiveOrUnlimited(mem, 'swap');
    limits.memoryReservation = positiveOrUnlimited(mem, 'reservation');
    for (const k of ['kernel', 'kernelTCP', 'swappiness']) if (mem.int(k)) notHere(`memory.${k}`);
    if (mem.bool('disableOOMKiller')) notHere('memory.disableOOMKiller');
    if (limits.memory! > 0 && limits.memorySwap! > 0 && limits.memorySwap! < limits.memory!)
      fail(`${source}: memory.swap is memory plus swap: it must be at least memory.limit (${limits.memory}), or -1`);
  }
  const cpu = r.obj('cpu', [
    'shares',
    'quota',
    'burst',
    'period',
    'realtimeRuntime',
    'realtimePeriod',
    'cpus',
    'mems',
    'idle',
  ]);
  if (cpu) {
    const shares = cpu.int('shares', 0);
    if (shares)
      limits.cpuShares =
        shares >= MIN_CPU_SHARES && shares <= MAX_CPU_SHARES
          ? shares
          : cpu.bad('shares', `from ${MIN_CPU_SHARES} to ${MAX_CPU_SHARES}`);
    const quota = cpu.int('quota');
    if (quota)
      limits.cpuQuotaUs =
        quota === -1 || quota >= 1000 ? quota : cpu.bad('quota', 'at least 1000 (microseconds), or -1 (no limit)');
    const period = cpu.int('period', 0);
    if (period)
      limits.cpuPeriodUs =
        period >= 1000 && period <= 1_000_000 ? period : cpu.bad('period', 'from 1000 to 1000000 (microseconds)');
    for (const k of ['cpus', 'mems'] as const) {
      const v = cpu.str(k);
      if (!v) continue;
      if (!parseCpuList(v)) cpu.bad(k, 'a list like "0-1,3"');
      if (k === 'cpus') limits.cpusetCpus = v;
      else limits.cpusetMems = v;
    }
    for (const k of ['burst', 'realtimeRuntime', 'realtimePeriod', 'idle']) if (cpu.int(k)) notHere(`cpu.${k}`);
  }
  const pids = r.obj('pids', ['limit']);
  if (pids) limits.pids = positiveOrUnlimited(pids, 'limit');
  const blkio = r.raw('blockIO');
  if (
    blkio !== undefined &&
    blkio !== null &&
    JSON.stringify(blkio) !== '{}' &&
    JSON.stringify(blkio) !== '{"weight":0}'
  )
    notHere('blockIO');
  for (const k of ['hugepageLimits', 'network', 'rdma', 'unified']) {
    const v = r.raw(k);
    if (v !== undefined && v !== null && !['[]', '{}'].includes(JSON.stringify(v))) notHere(k);
  }
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as Limits;
}

/** First line of a cgroup file in one of the directories, or undefined. */
function readIn(dirs: string[], file: string): string | undefined {
  for (const d of dirs) {
    const v = readOpt(join(d, file))?.trim();
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * What the drivers need besides the change, read from the live cgroup: they write the CFS quota and
 * period together (and v1 a cpuset's cpus and mems together), and v2 writes swap as memory.swap.max
 * = swap - memory, so the value not being changed is the container's current one.
 */
export function completeLimits(change: Limits, cg: Cgroup): Limits {
  const l = { ...change };
  const dirs = cg.mode === 'v2' ? [cg.v2Dir!] : cg.paths;
  if (l.cpuQuotaUs !== undefined || l.cpuPeriodUs !== undefined) {
    const [q, p] =
      cg.mode === 'v2'
        ? (readIn(dirs, 'cpu.max') ?? 'max 100000').split(' ')
        : [readIn(dirs, 'cpu.cfs_quota_us') ?? '-1', readIn(dirs, 'cpu.cfs_period_us') ?? '100000'];
    l.cpuQuotaUs ??= q === 'max' ? -1 : Number(q);
    l.cpuPeriodUs ??= Number(p);
  }
  if (cg.mode === 'v1' && (l.cpusetCpus !== undefined || l.cpusetMems !== undefined)) {
    if (readIn(dirs, 'cpuset.cpus') === undefined)
      fail(
        'the container has no cpuset cgroup (it was created without linux.resources.cpu.cpus or mems): its cpuset cannot be changed live',
      );
    l.cpusetCpus ??= readIn(dirs, 'cpuset.cpus');
    l.cpusetMems ??= readIn(dirs, 'cpuset.mems');
  }
  if (cg.mode === 'v2' && l.memorySwap !== undefined && l.memorySwap !== -1 && l.memory === undefined) {
    const cur = readIn(dirs, 'memory.max');
    if (cur === undefined || cur === 'max')
      fail(
        'memory.swap needs a memory limit: the container has none — give memory.limit with it (runc refuses the same)',
      );
    l.memory = Number(cur);
  }
  return l;
}

/** runc update on container `id`: the change written into its live cgroup; returns the writes made. */
export function ociUpdate(root: string, id: string, change: Limits): CgroupWrite[] {
  const { rec, state } = loadState(root, id);
  if (state.status === 'stopped') throw new MinidockError('container not running', 1);
  if (Object.keys(change).length === 0) return []; // (runc: nothing asked, nothing done, exit 0)
  const cg = ociCgroup(rec.cgroupPaths);
  if (!cg) throw new MinidockError(`container ${id} has no cgroup left to update`, 1);
  return updateCgroup(cg, completeLimits(change, cg));
}
