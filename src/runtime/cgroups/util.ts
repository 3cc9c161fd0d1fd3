// File helpers shared by the v1 and v2 drivers. cgroup files are plain files written with fs; the
// only care needed: open WITHOUT O_CREAT (cgroupfs cannot create files, and a missing file must read
// as ENOENT, "this kernel has no such knob", not as a confusing EACCES), and report every failure as
// one line with the path, the errno name and a hint.

import { closeSync, mkdirSync, openSync, readdirSync, rmdirSync, statSync, writeSync, constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fail, MinidockError } from '../../errors.js';
import { errnoName } from '../../sys/errno.js';
import type { Limits } from '../limits.js';
import type { CgroupFsOps, CgroupStats, CgroupWrite } from './types.js';
import { mdBpfDeviceFilter } from '../../sys/native.js';
import { readOpt } from '../../sys/read.js';
import { sleepSync } from '../../sys/sleep.js';

export const realOps: CgroupFsOps = {
  mkdir: (dir) => mkdirSync(dir),
  rmdir: (dir) => rmdirSync(dir),
  attachDeviceFilter: (dir, program) => mdBpfDeviceFilter(program, dir),
};

/** The errno name of a Node fs error ("EBUSY"), via errnoName where Node gives the number. */
export function errName(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.errno === 'number' && err.errno !== 0) {
    const n = errnoName(Math.abs(err.errno));
    if (!n.startsWith('errno ')) return n;
  }
  return err?.code ?? String(e);
}

function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/** A generic hint per errno for a failed write; callers pass a better one where they know more. */
export function defaultHint(code: string, file: string): string {
  const f = basename(file);
  switch (code) {
    case 'ENOENT':
      return `this kernel has no ${f} (the controller is not enabled for this cgroup, or the feature is compiled out)`;
    case 'EACCES':
    case 'EPERM':
      return 'writing cgroup files needs root, or a cgroup delegated to this user';
    case 'EROFS':
      return 'cgroupfs is mounted read-only here (inside a container?); run minidock on the host';
    case 'EINVAL':
      return `the kernel rejected this value for ${f}`;
    case 'EBUSY':
      return `the kernel refused ${f} while the cgroup is in use`;
    case 'ESRCH':
      return 'that process has already exited';
    case 'ENOSPC':
      return 'the cgroup has no CPUs or memory nodes to run on (cpuset.cpus / cpuset.mems empty)';
    default:
      return `see the kernel's cgroup documentation for ${f}`;
  }
}

/**
 * Write value to an existing cgroup file (no O_CREAT); throws a one-line MinidockError.
 * Several values are several write()s on one open file: the kernel takes each write() as one
 * command (one rule of devices.allow, say), as `echo` would give it, at the cost of one open.
 */
export function writeFileStrict(
  file: string,
  value: string | readonly string[],
  hint?: (code: string) => string | undefined,
): void {
  const values = typeof value === 'string' ? [value] : value;
  let fd: number | undefined;
  let current = values[0] ?? '';
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_TRUNC); // libuv adds O_CLOEXEC itself
    for (const v of values) writeSync(fd, (current = v));
  } catch (e) {
    const code = errName(e);
    fail(`cannot write "${current}" to ${file} (${code}): ${hint?.(code) ?? defaultHint(code, file)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write (through ops: dryOps write nothing) and record the write(s). */
export function writeRecorded(
  ops: CgroupFsOps,
  writes: CgroupWrite[],
  file: string,
  value: string | readonly string[],
  hint?: (code: string) => string | undefined,
): void {
  const values = typeof value === 'string' ? [value] : value;
  (ops.write ?? writeFileStrict)(file, values, hint);
  for (const v of values) writes.push({ file, value: v });
}

/**
 * The operations of --dry-run (CgroupOptions.dryRun): nothing is created or written, but a mkdir
 * still fails as the real one would (EEXIST, or ENOENT when the parent neither exists nor was planned
 * by an earlier mkdir), so that the dry run refuses what the launch would refuse.
 */
export function dryOps(): CgroupFsOps {
  const planned = new Set<string>();
  const fsError = (code: string, path: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`${code}: ${path}`), { code });
  return {
    mkdir: (dir) => {
      if (exists(dir) || planned.has(dir)) throw fsError('EEXIST', dir);
      if (!exists(dirname(dir)) && !planned.has(dirname(dir))) throw fsError('ENOENT', dir);
      planned.add(dir);
    },
    rmdir: (dir) => void planned.delete(dir),
    attachDeviceFilter: () => 0,
    write: () => {},
  };
}

/**
 * Where to read what a cgroup that does not exist yet will hold: a new cgroup starts with its
 * parent's interface files and, for cpuset.cpus/mems, the values copied down from the nearest
 * existing ancestor. Only --dry-run reads through a directory that does not exist; a launch has
 * created it by then, and this is `dir` itself.
 */
export function nearestExisting(dir: string): string {
  let d = dir;
  while (!exists(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** The controllers these limits need: each one missing is an error, never a limit silently not applied. */
export function neededControllers(limits: Limits): Set<'memory' | 'cpu' | 'pids' | 'cpuset'> {
  const s = new Set<'memory' | 'cpu' | 'pids' | 'cpuset'>();
  if (limits.memory !== undefined || limits.memorySwap !== undefined || limits.memoryReservation !== undefined)
    s.add('memory');
  if (limits.cpuQuotaUs !== undefined || limits.cpuShares !== undefined || limits.cpuWeight !== undefined) s.add('cpu');
  if (limits.pids !== undefined) s.add('pids');
  if (limits.cpusetCpus !== undefined || limits.cpusetMems !== undefined) s.add('cpuset');
  return s;
}

/**
 * The kernel has no swap file (memory.memsw.limit_in_bytes on v1, memory.swap.max on v2) when swap
 * accounting is off: then --memory-swap can only be honoured when it asks for nothing more than the
 * kernel does anyway, -1 (swap unlimited) or equal to --memory; anything else is refused.
 */
export function checkSwapWithoutAccounting(l: Limits, swapFile: string): void {
  if (l.memorySwap === undefined || l.memorySwap === -1 || l.memorySwap === l.memory) return;
  fail(
    `cannot apply --memory-swap ${l.memorySwap}: ${swapFile} does not exist (ENOENT) because swap accounting is off in this kernel; boot with swapaccount=1, or use --memory-swap -1 or equal to --memory`,
  );
}

/** v1 prints "no limit" as PAGE_COUNTER_MAX pages: 9223372036854771712 with 4 KiB pages. */
export const V1_NO_LIMIT = 2 ** 62;

/** A directory there (one stat; an error other than ENOENT/ENOTDIR, e.g. EACCES, counts as there). */
export function exists(path: string): boolean {
  try {
    // (throwIfNoEntry: no Error made for the common "not there", which costs more than the stat)
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch (e) {
    return codeOf(e) !== 'ENOENT' && codeOf(e) !== 'ENOTDIR';
  }
}

/** A number from a one-value file; "max" (and absent or unparsable) -> undefined. */
export function readNumber(file: string): number | undefined {
  const t = readOpt(file)?.trim();
  if (t === undefined || t === '' || t === 'max') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** "key value" lines (memory.events, cpu.stat, cpuacct.stat, memory.oom_control, pids.events) -> map. */
export function readKeyed(file: string): Map<string, number> | undefined {
  const t = readOpt(file);
  if (t === undefined) return undefined;
  const out = new Map<string, number>();
  for (const line of t.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && Number.isFinite(Number(v))) out.set(k, Number(v));
  }
  return out;
}

/** Valid cgroup names: one path component, no surprises in a shell or a path. */
export function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/.test(name)) {
    fail(`invalid cgroup name "${name}": use letters, digits, "_", "." and "-" only, starting with a letter or digit`);
  }
}

/** "/a/b", "a/b", "" -> "a/b" with no empty or ".." components. */
export function normalizeParent(parent: string): string {
  const parts = parent.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) {
    fail(
      `invalid --cgroup-parent "${parent}": ".." is not allowed; give a path inside the cgroup hierarchy like /minidock`,
    );
  }
  return parts.join('/');
}

/** Sub-directories of a cgroup (child cgroups), deepest first. */
function subtreeDeepestFirst(dir: string): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const sub = join(dir, e.name);
    out.push(...subtreeDeepestFirst(sub), sub);
  }
  return out;
}

function pidsIn(dir: string): number[] {
  const t = readOpt(join(dir, 'cgroup.procs'));
  if (!t) return [];
  return t
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Alive = exists and not a zombie (a zombie holds no resources and no longer blocks rmdir). */
export function isAlive(pid: number): boolean {
  const stat = readOpt(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * Kill every process in the given cgroups (and child cgroups), then remove them deepest first.
 * v2 uses cgroup.kill where the kernel has it (>= 5.14): one write kills the whole subtree atomically,
 * fork races included. Otherwise SIGKILL each pid from cgroup.procs, repeating until none is left.
 * rmdir is retried on EBUSY (processes still exiting) for up to timeoutMs; ENOENT is success.
 */
export function killAndRemove(dirs: string[], ops: CgroupFsOps, useCgroupKill: boolean, timeoutMs = 1000): void {
  // The usual case first: the container's processes are gone and it made no cgroups of its own.
  // rmdir removes only a cgroup with no tasks and no children (EBUSY otherwise), so trying it
  // first skips nothing; only what is left goes through the walk, the kills and the retries below.
  dirs = dirs.filter((d) => {
    try {
      ops.rmdir(d);
      return false;
    } catch (e) {
      return errName(e) !== 'ENOENT';
    }
  });
  if (dirs.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  const all: string[] = [];
  for (const d of dirs) all.push(...subtreeDeepestFirst(d), d);

  if (useCgroupKill) {
    for (const d of dirs) {
      try {
        writeFileStrict(join(d, 'cgroup.kill'), '1');
      } catch {
        /* no cgroup.kill (kernel < 5.14) or already gone: fall back to SIGKILL below */
      }
    }
  }
  for (;;) {
    const pids = new Set<number>();
    for (const d of all) for (const p of pidsIn(d)) if (p !== process.pid && isAlive(p)) pids.add(p);
    if (pids.size === 0 || Date.now() > deadline) break;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* ESRCH: exited meanwhile */
      }
    }
    // A paused container on cgroup v1 holds the SIGKILL pending until its freezer cgroup thaws
    // (freezer.ts): thawed after the kill, as Docker does, it dies at once.
    for (const d of all) {
      if (!readOpt(join(d, 'freezer.state'))?.startsWith('F')) continue;
      try {
        writeFileStrict(join(d, 'freezer.state'), 'THAWED');
      } catch {
        /* gone meanwhile */
      }
    }
    sleepSync(5);
  }

  const errors: string[] = [];
  for (const d of all) {
    for (let attempt = 0; ; attempt++) {
      try {
        ops.rmdir(d);
        break;
      } catch (e) {
        const code = errName(e);
        if (code === 'ENOENT') break;
        if (code === 'EBUSY' && (Date.now() < deadline || attempt < 3)) {
          sleepSync(10);
          continue;
        }
        const left = pidsIn(d);
        errors.push(
          `cannot remove cgroup ${d} (${code}): ${
            code === 'EBUSY'
              ? `still in use${left.length ? ` by pid ${left.join(', ')}` : ''} after ${timeoutMs} ms; kill those processes and rmdir it, or run minidock gc`
              : defaultHint(code, d)
          }`,
        );
        break;
      }
    }
  }
  if (errors.length) {
    throw new MinidockError(
      errors.length === 1 ? errors[0]! : `${errors[0]} (and ${errors.length - 1} more cgroup directories)`,
    );
  }
}

/**
 * mkdir -p for a parent path under a hierarchy directory; returns the directories it created (outermost
 * first). onCreate runs after each mkdir (v1 cpuset copies cpus/mems down).
 */
export function mkdirParents(base: string, rel: string, ops: CgroupFsOps, onCreate?: (dir: string) => void): string[] {
  const created: string[] = [];
  let cur = base;
  for (const part of rel.split('/').filter(Boolean)) {
    cur = join(cur, part);
    if (exists(cur)) continue;
    try {
      ops.mkdir(cur);
    } catch (e) {
      const code = errName(e);
      if (code !== 'EEXIST') {
        removeCreated(created, ops);
        fail(`cannot create cgroup parent ${cur} (${code}): ${defaultHint(code, cur)}`);
      }
      continue;
    }
    created.push(cur);
    try {
      onCreate?.(cur);
    } catch (e) {
      removeCreated(created, ops);
      throw e;
    }
  }
  return created;
}

/** Best-effort rmdir of directories this call created, innermost first (error paths only). */
export function removeCreated(created: string[], ops: CgroupFsOps): void {
  for (const d of [...created].reverse()) {
    try {
      ops.rmdir(d);
    } catch {
      /* best effort: the original error is the one to report */
    }
  }
}

/** The pids controller's files have the same names and meaning in v1 and v2. */
export function pidsStats(dir: string): Partial<CgroupStats> {
  return {
    pidsCurrent: readNumber(join(dir, 'pids.current')),
    pidsPeak: readNumber(join(dir, 'pids.peak')), // kernel >= 6.1
    pidsLimit: readNumber(join(dir, 'pids.max')),
    pidsLimitHits: readKeyed(join(dir, 'pids.events'))?.get('max'), // forks refused at the limit
  };
}

/** Stats without the keys a kernel did not provide. */
export function dropUndefined(s: CgroupStats): CgroupStats {
  for (const k of Object.keys(s) as (keyof CgroupStats)[]) if (s[k] === undefined) delete s[k];
  return s;
}

/** mkdir of the container's cgroup, with the one-line errors both drivers give. */
export function mkdirCgroup(ops: CgroupFsOps, dir: string, name: string, enoentHint?: string): void {
  try {
    ops.mkdir(dir);
  } catch (e) {
    const code = errName(e);
    fail(
      code === 'EEXIST'
        ? `cannot create cgroup ${dir} (EEXIST): a cgroup named ${name} already exists (another container, or a leftover: remove it with rmdir or minidock gc)`
        : `cannot create cgroup ${dir} (${code}): ${code === 'ENOENT' && enoentHint ? enoentHint : defaultHint(code, dir)}`,
    );
  }
}
