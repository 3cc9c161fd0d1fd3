// The state store: what minidock knows about its containers, kept in plain files.
//
//   <root>/containers/<id>/config.json     the resolved spec, name, creation time (written once)
//   <root>/containers/<id>/state.json      status created | running | exited, pids, times, exit code,
//                                          OOM flag, cgroup paths (rewritten as the container lives)
//   <root>/containers/<id>/container.log   stdout/stderr of a detached container, json-file lines
//   <root>/containers/<id>/{upper,work,merged}   the overlay layers
//   <rundir>/lock                          flock(2)ed while a name is checked and taken
//
// <rundir> is /run/minidock for the default root (a tmpfs: gone at reboot, as a lock should be), and
// <root>/run for any other root, so that a test's private root shares nothing with the host's.
// state.json lives beside the layers rather than in /run: an exited container keeps its exit
// code and log across a reboot, as Docker's do; a "running" state from an earlier boot is
// recognized by its boot id (and by pid + start time) and treated as dead.
//
// Every write is atomic: a temp file then rename(), so a reader sees the old file or the new one,
// never half of one. There is no daemon: each minidock process reads the files it needs. Who keeps
// a container alive is recorded as a pid plus that process's start time (/proc/PID/stat field 22),
// which names a process for good: a recycled pid has another start time.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { MinidockError, fail } from '../errors.js';
import { mdRmtree } from '../sys/native.js';
import { killAndRemove, realOps } from './cgroups/util.js';
import type { ContainerSpec } from './spec.js';
import { DEFAULT_ROOT, sub } from './state.js';

export type Status = 'created' | 'running' | 'exited';

/** The spec as stored: the seccomp program as base64 (exec applies the same filter). */
export type StoredSpec = Omit<ContainerSpec, 'seccomp'> & { seccompB64?: string };

export interface ContainerConfig {
  id: string;
  name?: string;
  created: string; // RFC 3339
  detached: boolean;
  autoRemove: boolean;
  logPath?: string;
  spec: StoredSpec;
}

export interface ContainerState {
  status: Status;
  /** the container's first process (host pid) and its start time in clock ticks */
  pid?: number;
  pidStart?: number;
  /** who waits for the container: the C monitor (run -d) or the foreground minidock */
  monitorPid?: number;
  monitorStart?: number;
  /** the minidock process that is creating the container (until the monitor takes over) */
  launcherPid?: number;
  launcherStart?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  signal?: number;
  oomKilled?: boolean;
  oomKills?: number;
  cgroupPaths?: string[];
  bootId?: string;
  autoRemove?: boolean;
  error?: string;
}

export interface Entry {
  id: string;
  dir: string;
  config?: ContainerConfig;
  state?: ContainerState;
}

export function containersDir(root: string): string {
  return sub(root, 'containers');
}

export function runDir(root: string): string {
  return root === DEFAULT_ROOT ? '/run/minidock' : posix.join(root, 'run');
}

// ---- files ----

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Write JSON atomically: a temp file in the same directory, then rename() over the old one. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value) + '\n', { mode: 0o644 });
  renameSync(tmp, path);
}

export function writeState(dir: string, state: ContainerState): void {
  writeJsonAtomic(sub(dir, 'state.json'), state);
}

export function readState(dir: string): ContainerState | undefined {
  return readJson<ContainerState>(sub(dir, 'state.json'));
}

export function readConfig(dir: string): ContainerConfig | undefined {
  return readJson<ContainerConfig>(sub(dir, 'config.json'));
}

// ---- processes ----

/** Field 22 of /proc/PID/stat (start time, clock ticks since boot); undefined when gone or a zombie. */
export function procStart(pid: number | 'self'): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the name may hold spaces and ')'
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  return Number(rest[19]); // rest[0] is field 3
}

/** Is this exact process (pid + start time) still alive? */
export function isProcess(pid: number | undefined, start: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  const s = procStart(pid);
  return s !== undefined && (start === undefined || s === start);
}

let bootIdCache: string | undefined;
export function bootId(): string {
  bootIdCache ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return bootIdCache;
}

// ---- listing and names ----

export function listEntries(root: string): Entry[] {
  let names: string[];
  try {
    names = readdirSync(containersDir(root));
  } catch {
    return [];
  }
  const out: Entry[] = [];
  for (const id of names) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue; // staging directories start with "."
    const dir = sub(containersDir(root), id);
    out.push({ id, dir, config: readConfig(dir), state: readState(dir) });
  }
  return out;
}

/** Is anybody still looking after this container? (exited ones are complete, not stale) */
export function isStale(e: Entry): boolean {
  const s = e.state;
  if (!s) return true; // a directory without state.json is never left by a live minidock (see createContainer)
  if (s.status === 'exited') return false;
  if (s.bootId && s.bootId !== bootId()) return true;
  if (s.monitorPid) return !isProcess(s.monitorPid, s.monitorStart);
  return !isProcess(s.launcherPid, s.launcherStart);
}

/** The status to show: a running container whose monitor vanished is reported as dead. */
export function effectiveStatus(e: Entry): Status | 'dead' {
  if (!e.state) return 'dead';
  return isStale(e) ? 'dead' : e.state.status;
}

export const shortId = (id: string): string => id.slice(0, 12);
export const displayName = (e: Entry): string => e.config?.name ?? shortId(e.id);

/**
 * Find a container by full ID, name, or unique ID prefix (Docker's order). Unknown or ambiguous:
 * exit 1 with one line, as Docker's client does.
 */
export function resolve(root: string, ref: string, entries = listEntries(root)): Entry {
  if (!ref) throw new MinidockError('a container ID or name is required', 1);
  const exact = entries.find((e) => e.id === ref);
  if (exact) return exact;
  const named = entries.find((e) => e.config?.name === ref);
  if (named) return named;
  const prefix = /^[0-9a-f]+$/.test(ref) ? entries.filter((e) => e.id.startsWith(ref)) : [];
  if (prefix.length === 1) return prefix[0];
  if (prefix.length > 1) {
    throw new MinidockError(`container ID prefix "${ref}" is ambiguous: it matches ${prefix.map((e) => shortId(e.id)).join(', ')} — give more characters`, 1);
  }
  throw new MinidockError(`no such container: ${ref} (see minidock ps -a)`, 1);
}

// ---- the lock ----

/** Run fn while holding flock(LOCK_EX) on <rundir>/lock. The kernel drops it if we die. */
export async function withLock<T>(root: string, fn: () => T | Promise<T>): Promise<T> {
  const dir = runDir(root);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(posix.join(dir, 'lock'), 'a', 0o600);
  try {
    const { mdFlock } = await import('../sys/native.js');
    const r = mdFlock(fd, 2 /* LOCK_EX */);
    if (r < 0) throw new MinidockError(`flock(${posix.join(dir, 'lock')}): errno ${-r}`);
    return await fn();
  } finally {
    closeSync(fd); // closing the last fd releases the lock
  }
}

// ---- creating and removing ----

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function checkName(name: string): void {
  if (!NAME.test(name) || name.length > 128) {
    fail(`--name ${name}: use letters, digits, "_", "." and "-", starting with a letter or digit (at most 128)`);
  }
  if (/^[0-9a-f]{64}$/.test(name)) fail(`--name ${name}: a name may not look like a full container ID`);
}

export function storedSpec(spec: ContainerSpec): StoredSpec {
  const { seccomp, ...rest } = spec;
  return { ...rest, seccompB64: seccomp ? Buffer.from(seccomp).toString('base64') : undefined };
}

export function specFromStored(s: StoredSpec): ContainerSpec {
  const { seccompB64, ...rest } = s;
  return { ...rest, seccomp: seccompB64 ? new Uint8Array(Buffer.from(seccompB64, 'base64')) : undefined };
}

export interface CreateOptions {
  detached: boolean;
  autoRemove: boolean;
  /** fill the directory (overlay layers) before it becomes visible; gets the staging path */
  populate?: (stagingDir: string) => void;
}

/**
 * Create <root>/containers/<id> with config.json and state.json ("created", owned by this process).
 * The directory is assembled under a dot-name and renamed into place, so every visible container
 * directory has its state.json: gc never has to guess. With a name, the check and the rename
 * happen under the lock, so that of ten concurrent `run --name x` exactly one wins.
 */
export async function createContainer(root: string, spec: ContainerSpec, o: CreateOptions): Promise<Entry> {
  const base = containersDir(root);
  mkdirSync(base, { recursive: true, mode: 0o711 });
  const dir = sub(base, spec.id);
  const me = procStart('self');
  const staging = sub(base, `.new-${process.pid}-${me}-${spec.id}`);
  const config: ContainerConfig = {
    id: spec.id, name: spec.name, created: new Date().toISOString(), detached: o.detached, autoRemove: o.autoRemove,
    logPath: o.detached ? sub(dir, 'container.log') : undefined, spec: storedSpec(spec),
  };
  const state: ContainerState = { status: 'created', launcherPid: process.pid, launcherStart: me, bootId: bootId(), autoRemove: o.autoRemove };
  mkdirSync(staging, { mode: 0o700 });
  try {
    // (plain writes: nobody can see the staging directory; the rename below publishes all at once)
    writeFileSync(sub(staging, 'config.json'), JSON.stringify(config) + '\n', { mode: 0o644 });
    writeFileSync(sub(staging, 'state.json'), JSON.stringify(state) + '\n', { mode: 0o644 });
    o.populate?.(staging);
    const publish = (): void => renameSync(staging, dir);
    if (spec.name) {
      checkName(spec.name);
      const name = spec.name;
      await withLock(root, () => {
        const entries = listEntries(root);
        const dead = new Set(gcEntries(root, entries).map((r) => r.id)); // a dead container's name is free again
        const other = entries.find((e) => !dead.has(e.id) && e.config?.name === name);
        if (other) {
          fail(`the container name "${name}" is already in use by container ${shortId(other.id)}: remove it (minidock rm ${name}) or choose another --name`);
        }
        publish();
      });
    } else {
      publish();
    }
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return { id: spec.id, dir, config, state };
}

/** Mount points at or below dir in our mount namespace (a leak: the overlay is mounted in the container's). */
function mountsUnder(dir: string): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
      .map((l) => l.split(' ')[4].replace(/\\040/g, ' '))
      .filter((m) => m === dir || m.startsWith(dir + '/'))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

/** Remove a container's directory (upper layer, log, state): in C, which takes a fraction of what
 * fs.rmSync's recursive walk takes; where that fails (a mount still going away: EBUSY), Node's walk
 * with retries, which throws if the directory cannot be removed. */
export function removeDir(dir: string): void {
  try {
    if (mdRmtree(dir) === 0) return;
  } catch { /* no native library: Node's walk below */ }
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
}

/**
 * Remove everything a container left on the host: its processes (by cgroup), cgroups, mounts, and
 * directory. Safe to call twice, and on a half-made container. Returns what it removed.
 */
export async function removeEverything(e: Entry): Promise<string[]> {
  const removed: string[] = [];
  const cg = (e.state?.cgroupPaths ?? []).filter((p) => existsSync(p));
  if (cg.length) {
    killAndRemove(cg, realOps, false, 2000);
    removed.push(`${cg.length} cgroup director${cg.length === 1 ? 'y' : 'ies'}`);
  }
  const mounts = mountsUnder(e.dir);
  if (mounts.length) {
    const { spawnSync } = await import('node:child_process');
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    removed.push(`${mounts.length} mount(s)`);
  }
  if (existsSync(e.dir)) {
    removeDir(e.dir);
    removed.push('directory');
  }
  return removed;
}

export interface GcReport {
  id: string;
  name?: string;
  why: string;
  removed: string[];
}

/** Remove stale containers among entries (and staging directories of dead processes). */
export function gcEntries(root: string, entries: Entry[]): GcReport[] {
  const out: GcReport[] = [];
  for (const e of entries) {
    if (!isStale(e)) continue;
    const s = e.state;
    const why = !s ? 'no state.json'
      : s.bootId && s.bootId !== bootId() ? 'left from an earlier boot'
        : s.monitorPid ? `its monitor (pid ${s.monitorPid}) is gone`
          : `the minidock that launched it (pid ${s.launcherPid}) is gone`;
    // synchronous path of removeEverything (no mounts expected): keep gc cheap for other verbs
    const removed: string[] = [];
    const cg = (s?.cgroupPaths ?? []).filter((p) => existsSync(p));
    try {
      if (cg.length) {
        killAndRemove(cg, realOps, false, 2000);
        removed.push(`${cg.length} cgroup director${cg.length === 1 ? 'y' : 'ies'}`);
      }
      removeDir(e.dir);
      removed.push('directory');
    } catch (err) {
      removed.push(`failed: ${(err as Error).message}`);
    }
    out.push({ id: e.id, name: e.config?.name, why, removed });
  }
  // staging directories whose creator died between mkdir and rename
  try {
    for (const n of readdirSync(containersDir(root))) {
      const m = /^\.new-(\d+)-(\d+|undefined)-([0-9a-f]{64})$/.exec(n);
      if (!m || isProcess(Number(m[1]), m[2] === 'undefined' ? undefined : Number(m[2]))) continue;
      rmSync(posix.join(containersDir(root), n), { recursive: true, force: true });
      out.push({ id: m[3], why: 'half-created (its minidock died before the directory was complete)', removed: ['directory'] });
    }
  } catch { /* no containers dir */ }
  return out;
}

/** The cheap, opportunistic form other verbs run: returns the live entries. */
export function listAfterGc(root: string): Entry[] {
  const entries = listEntries(root);
  if (entries.some(isStale)) {
    gcEntries(root, entries);
    return listEntries(root);
  }
  return entries;
}
