// The state store: what minidock knows about its containers, kept in plain files.
//
//   <root>/containers/<id>/config.json     the resolved spec, name, creation time (written once)
//   <root>/containers/<id>/state.json      status created | running | exited | dead, pids, times, exit
//                                          code, OOM flag, cgroup paths (rewritten as the container lives)
//   <root>/containers/<id>/container.log   stdout/stderr of a detached container, json-file lines
//   <root>/containers/<id>/{upper,work,merged}   the overlay layers
//   <rundir>/lock                          flock(2)ed while a name is checked and taken
//
// <rundir> is /run/minidock for the default root (a tmpfs: gone at reboot, as a lock should be), and
// <root>/run for any other root, so that a test's private root shares nothing with the host's.
// state.json lives beside the layers rather than in /run: an exited container keeps its exit
// code and log across a reboot, as Docker's do; a "running" state from an earlier boot is
// recognized by its boot id (and by pid + start time) and treated as dead. A dead container that
// was the user's (it ran, without --rm) keeps its log and upper layer until rm or prune, as
// Docker's do: nothing here deletes it on the way (see isKept and gcEntries).
//
// Every write is atomic: a temp file then rename(), so a reader sees the old file or the new one,
// never half of one. There is no daemon: each minidock process reads the files it needs. Who keeps
// a container alive is recorded as a pid plus that process's start time (/proc/PID/stat field 22),
// which names a process for good: a recycled pid has another start time.
import { closeSync, constants, existsSync, fdatasyncSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { MinidockError, fail } from '../errors.js';
import { mdFlock, mdRmtree } from '../sys/native.js';
import { isProcess, procStart } from '../sys/proc.js';
import { sleepSync } from '../sys/sleep.js';
import { isoNow } from '../sys/time.js';
import { killAndRemove, realOps } from './cgroups/util.js';
import type { ContainerSpec } from './spec.js';
import { DEFAULT_ROOT, ensureStateRoot, isNoSpace, onStateRoot, privateDir, storageError, pathIn } from './state-root.js';

/** dead: its monitor (or the minidock running it) died, so nobody saw how it ended (gc writes it).
 * unknown: its state.json cannot be parsed, so nobody can tell (shown, never collected: rm -f). */
export type Status = 'created' | 'running' | 'exited' | 'dead' | 'unknown';

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
  /** status "dead": why (whose death left it without a keeper) */
  error?: string;
}

export interface Entry {
  id: string;
  dir: string;
  config?: ContainerConfig;
  state?: ContainerState;
  /** state.json exists but cannot be parsed: the path and why (the container is "unknown") */
  stateError?: string;
}

export function containersDir(root: string): string {
  return pathIn(root, 'containers');
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

/**
 * Write JSON atomically: a temp file in the same directory, fdatasync, then rename() over the old
 * one. The rename alone protects readers from half a file while the machine runs; the fdatasync
 * protects it from a crash of the machine: without it the rename can reach the disk before the
 * data, and after the reboot the file is empty (ext4 with its auto_da_alloc default happens to
 * flush a file renamed over another, XFS and btrfs do not). fdatasync, not fsync: the size is the
 * only metadata that matters, and fdatasync writes it; it costs ~2.4 ms here against ~4.3.
 */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, JSON.stringify(value) + '\n');
    fdatasyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** state.json, atomically; on a full filesystem written in place as a last resort (overwriteInPlace):
 * an exit code is worth keeping. A filesystem that refuses it even so is storageError's one line. */
export function writeState(dir: string, state: ContainerState): void {
  const path = pathIn(dir, 'state.json');
  try {
    writeJsonAtomic(path, state);
  } catch (e) {
    if (!(isNoSpace(e) && overwriteInPlace(path, JSON.stringify(state) + '\n'))) throw storageError(e, path);
  }
}

/**
 * The last resort of a state write on a full filesystem (ENOSPC, EDQUOT): the new text written over
 * the old file's own bytes. A state.json is far smaller than one block, and the blocks a file has
 * (st_blocks, which on ext4 counts delayed allocations too) stay its own: writing into them needs
 * no new one, where the temp file of an atomic write does. The price is atomicity: a reader at that
 * instant may see a mix, which readState reports as unreadable rather than guessing. The text is
 * padded with spaces to the old length (JSON allows trailing whitespace), so no old tail stays.
 * The monitor does the same in C (native/monitor.c). False when the file is absent or too small.
 */
function overwriteInPlace(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    return false;
  }
  try {
    const st = fstatSync(fd);
    const bytes = Buffer.from(text.padEnd(st.size, ' '));
    if (bytes.length > st.blocks * 512) return false;
    writeSync(fd, bytes, 0, bytes.length, 0);
    fdatasyncSync(fd);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

export function readState(dir: string): ContainerState | undefined {
  return loadState(dir).state;
}

/**
 * state.json, told apart: absent ({}) or unreadable ({stateError}: the path and why). An
 * unreadable one must never make its container look like garbage: it may be running.
 */
export function loadState(dir: string): { state?: ContainerState; stateError?: string } {
  const path = pathIn(dir, 'state.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? {} : { stateError: `${path}: ${code}` };
  }
  try {
    const s = JSON.parse(text) as ContainerState;
    if (s && typeof s === 'object' && typeof s.status === 'string') return { state: s };
    return { stateError: `${path}: not a container state (no "status")` };
  } catch (e) {
    return { stateError: `${path}: cannot be parsed (${text.length ? (e as Error).message : 'empty file'})` };
  }
}

export function readConfig(dir: string): ContainerConfig | undefined {
  return readJson<ContainerConfig>(pathIn(dir, 'config.json'));
}

// ---- processes ----

// (pid + start time: see src/sys/proc.ts)
export { isProcess, procStart };

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
    const dir = pathIn(containersDir(root), id);
    out.push({ id, dir, config: readConfig(dir), ...loadState(dir) });
  }
  return out;
}

/**
 * Why nobody looks after this container any more, or undefined while somebody does (exited and
 * dead ones are complete, not stale). Only reads: the caller decides what to do about it.
 */
export function staleReason(e: Entry): string | undefined {
  const s = e.state;
  if (e.stateError) return undefined; // unknown: it may be running; only rm -f decides
  if (!s) return 'no state.json'; // a directory without one is never left by a live minidock (see createContainer)
  if (s.status === 'exited' || s.status === 'dead') return undefined;
  if (s.bootId && s.bootId !== bootId()) return 'left from an earlier boot';
  const why = keeperGone(e, s);
  if (why === undefined) return undefined;
  // A keeper writes its last state.json and only then exits: the monitor its "exited" with the
  // exit code (monitor.c), a launcher the monitor's "running" before it goes. e.state may have been
  // read before that last write and the keeper found gone after it, which would call an exited
  // container dead (and gc would write "dead" over its exit code). Read after the keeper was seen
  // gone, state.json is final: the verdict is the one on that read.
  const now = loadState(e.dir);
  if (now.stateError) return undefined;
  if (!now.state) return why; // removed meanwhile, or never on disk
  if (now.state.status === 'exited' || now.state.status === 'dead') return undefined;
  return keeperGone(e, now.state);
}

/** Why the process recorded as looking after the container (its monitor, or the minidock launching
 * it) is gone, or undefined while it lives. */
function keeperGone(e: Entry, s: ContainerState): string | undefined {
  if (s.monitorPid) {
    if (isProcess(s.monitorPid, s.monitorStart)) return undefined;
    return e.config?.detached === false
      ? `the minidock running it in the foreground (pid ${s.monitorPid}) is gone; exit status unknown`
      : `its monitor (pid ${s.monitorPid}) is gone; exit status unknown`;
  }
  return isProcess(s.launcherPid, s.launcherStart) ? undefined : `the minidock that launched it (pid ${s.launcherPid}) is gone`;
}

export const isStale = (e: Entry): boolean => staleReason(e) !== undefined;

/**
 * Is this container the user's, to be kept until rm or prune whatever happened to its keeper? One
 * that ran without --rm is (Docker keeps its dead containers, logs and filesystem too). One whose
 * launch never got as far as running, or that asked for --rm, is garbage once stale: gc removes it.
 */
export function isKept(e: Entry): boolean {
  const s = e.state;
  return !!s?.startedAt && !s.autoRemove && !e.config?.autoRemove;
}

/** The status to show: a running container whose monitor vanished is reported as dead. */
export function effectiveStatus(e: Entry): Status {
  if (e.stateError) return 'unknown';
  if (!e.state) return 'dead';
  return isStale(e) ? 'dead' : e.state.status;
}

/** Why a dead container is dead (recorded by gc, or seen now); undefined for any other. */
export function deadReason(e: Entry): string | undefined {
  return e.state?.status === 'dead' ? e.state.error ?? 'unknown' : staleReason(e);
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

/** Run fn while holding flock(LOCK_EX) on <rundir>/lock (changes to the name registry below). The
 * kernel drops the lock if we die. */
export function withLock<T>(root: string, fn: () => T): T {
  const dir = runDir(root);
  const fd = onStateRoot(dir, () => (mkdirSync(dir, { recursive: true, mode: 0o700 }), openSync(posix.join(dir, 'lock'), 'a', 0o600)));
  try {
    const r = mdFlock(fd, 2 /* LOCK_EX */);
    if (r < 0) throw new MinidockError(`flock(${posix.join(dir, 'lock')}): errno ${-r}`);
    return fn();
  } finally {
    closeSync(fd); // closing the last fd releases the lock
  }
}

// ---- the container lock ----
//
// A container being created or removed is locked: flock(LOCK_EX) on its directory itself (an fd
// opened O_DIRECTORY). The launch takes it on the staging directory before the directory becomes
// visible (a rename keeps the inode, and the lock with it) and holds it until the container runs;
// rm takes it before it kills and removes. So rm never pulls the directory or the cgroups from
// under a launch half-way (which failed in mount, in the cgroup join, or in a state.json write),
// and a second rm waits for the first and then finds nothing: "no such container". The kernel
// drops the lock when its holder dies, SIGKILL included; the file is the directory, so nothing is
// left behind. Readers (ps, inspect, ...) never take it.

const held = new Map<string, number>();

/** Lock the container directory `dir`; false when another process holds it (and `waitMs` passed)
 * or the directory is gone. Released by unlockContainer(dir) or by this process's exit. */
export function lockContainer(dir: string, waitMs = 0): boolean {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return false; // gone
  }
  const end = Date.now() + waitMs;
  for (;;) {
    const r = mdFlock(fd, 2 /* LOCK_EX */ | 4 /* LOCK_NB */);
    if (r === 0) break;
    if (r !== -11 /* EWOULDBLOCK */ || Date.now() >= end) {
      closeSync(fd);
      return false;
    }
    sleepSync(10);
  }
  held.set(dir, fd);
  return true;
}

/** Release the lock taken by lockContainer or createContainer (no-op when not held). LOCK_UN,
 * not just close: a child cloned before its exec holds a copy of the fd, and with it the lock. */
export function unlockContainer(dir: string): void {
  const fd = held.get(dir);
  if (fd === undefined) return;
  held.delete(dir);
  mdFlock(fd, 8 /* LOCK_UN */);
  closeSync(fd);
}

// ---- names ----
//
// <root>/names/<name> is a symlink to the ID of the container that has the name. symlink() creates it
// atomically and fails if it exists, so of any number of concurrent `run --name x` exactly one gets
// the name, with neither a lock nor a look at the other containers. A name stays taken while its
// container exists (running, or exited until `rm`, as in Docker); the link of a container that is
// gone or dead is taken over. Every change other than that first symlink() (taking a link over,
// releasing it, sweeping) happens under the lock, so that none of them can undo another's.

function nameLink(root: string, name: string): string {
  return pathIn(pathIn(root, 'names'), name);
}

function readlinkOpt(link: string): string | undefined {
  try {
    return readlinkSync(link);
  } catch {
    return undefined;
  }
}

function trySymlink(target: string, link: string): boolean {
  try {
    symlinkSync(target, link);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** The container with this ID, if its directory exists. */
export function entryOf(root: string, id: string): Entry | undefined {
  const dir = pathIn(containersDir(root), id);
  const st = loadState(dir);
  if (!st.state && !st.stateError && !existsSync(dir)) return undefined;
  return { id, dir, config: readConfig(dir), ...st };
}

function nameInUse(name: string, owner: string): never {
  fail(`the container name "${name}" is already in use by container ${shortId(owner)}: remove it (minidock rm ${name}) or choose another --name`);
}

/** Give container `id` the name (checked with checkName), or fail if another container has it. */
export function claimName(root: string, name: string, id: string): void {
  const link = nameLink(root, name);
  if (onStateRoot(link, () => (mkdirSync(posix.dirname(link), { recursive: true, mode: 0o700 }), trySymlink(id, link)))) return; // the usual case: a new name
  withLock(root, () => {
    const owner = readlinkOpt(link);
    if (owner !== undefined && owner !== id) {
      const e = entryOf(root, owner);
      // The name of a container that is gone, or stale and not kept (a launch that died, --rm),
      // is free again: collect it (gcEntries also releases the name). A dead container that is
      // kept holds its name until rm, as in Docker.
      if (e && !(isStale(e) && !isKept(e) && gcEntries(root, [e], true).some((r) => r.removed.includes('directory')))) nameInUse(name, owner);
      rmSync(link, { force: true });
    }
    // (a launch that found no link takes the name without the lock: it may have come first)
    if (owner !== id && !trySymlink(id, link)) nameInUse(name, readlinkOpt(link) ?? '?');
  });
}

/** Container `id` is being removed: its name is free again. `locked`: the caller holds the lock. */
export function releaseName(root: string, name: string | undefined, id: string, locked = false): void {
  if (!name) return;
  const link = nameLink(root, name);
  const release = (): void => {
    if (readlinkOpt(link) === id) rmSync(link, { force: true }); // read again, under the lock
  };
  if (readlinkOpt(link) !== id) return; // not ours (any more): nothing to take the lock for
  if (locked) release();
  else withLock(root, release);
}

/** Remove names whose container is gone (left by `run -d --rm`, whose C monitor does not take the lock). */
export function sweepNames(root: string): string[] {
  const dir = pathIn(root, 'names');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const gone = (n: string): boolean => {
    const owner = readlinkOpt(pathIn(dir, n));
    return owner !== undefined && !existsSync(pathIn(containersDir(root), owner));
  };
  if (!names.some(gone)) return [];
  return withLock(root, () => names.filter(gone).map((n) => (rmSync(pathIn(dir, n), { force: true }), n)));
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
  /** the cgroup directories the launch is about to create: recorded before they exist, so that
   * whoever finds the container after a SIGKILL at any instruction finds them too */
  cgroupPaths?: string[];
}

/**
 * Create <root>/containers/<id> with config.json and state.json ("created", owned by this process).
 * The directory is assembled under a dot-name and renamed into place, so every visible container
 * directory has its state.json: gc never has to guess. A name is then claimed in the name registry
 * (claimName), so that of ten concurrent `run --name x` exactly one wins.
 */
export function createContainer(root: string, spec: ContainerSpec, o: CreateOptions): Entry {
  const base = containersDir(root);
  ensureStateRoot(root); // the first launch on a fresh machine makes it
  onStateRoot(base, () => privateDir(base, 0o711));
  const dir = pathIn(base, spec.id);
  const me = procStart('self');
  const staging = pathIn(base, `.new-${process.pid}-${me}-${spec.id}`);
  const config: ContainerConfig = {
    id: spec.id, name: spec.name, created: isoNow(), detached: o.detached, autoRemove: o.autoRemove,
    logPath: o.detached ? pathIn(dir, 'container.log') : undefined, spec: storedSpec(spec),
  };
  const state: ContainerState = {
    status: 'created', launcherPid: process.pid, launcherStart: me, bootId: bootId(), autoRemove: o.autoRemove, cgroupPaths: o.cgroupPaths,
  };
  onStateRoot(staging, () => mkdirSync(staging, { mode: 0o700 }));
  try {
    // Locked before anyone can see it, until the container runs (see unlockContainer).
    lockContainer(staging);
    // (nobody can see the staging directory; the rename below publishes all at once)
    const put = (f: string, v: unknown): void => onStateRoot(pathIn(staging, f), () => writeFileSync(pathIn(staging, f), JSON.stringify(v) + '\n', { mode: 0o644 }));
    put('config.json', config);
    onStateRoot(pathIn(staging, 'state.json'), () => writeJsonAtomic(pathIn(staging, 'state.json'), state)); // fdatasync'd too
    onStateRoot(staging, () => o.populate?.(staging));
    if (spec.name) checkName(spec.name);
    renameSync(staging, dir);
    held.set(dir, held.get(staging)!);
    held.delete(staging);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    unlockContainer(staging);
    throw e;
  }
  // The name is claimed once the directory is in place: whoever finds the name taken then also
  // finds the container that has it (see claimName).
  if (spec.name) {
    try {
      claimName(root, spec.name, spec.id);
    } catch (e) {
      removeDir(dir);
      unlockContainer(dir);
      throw e;
    }
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
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  } catch (e) {
    // a path through a file holds nothing to remove (a bad state root: its own error is the one to tell)
    if ((e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
  }
}

/**
 * Remove everything a container left on the host: its processes (by cgroup), cgroups, mounts, and
 * directory. Safe to call twice, and on a half-made container. Returns what it removed.
 */
export async function removeEverything(e: Entry): Promise<string[]> {
  const removed = killLeftovers(e, await cgroupDirsOf(e));
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
  releaseName(posix.dirname(posix.dirname(e.dir)), e.config?.name, e.id); // <root>/containers/<id>
  return removed;
}

/**
 * The container's cgroup directories: those its state.json records (before they are created, see
 * CreateOptions.cgroupPaths) or, when there is no state to read (unknown, missing), every
 * directory named after its ID, minidock-<short id>, anywhere in the cgroup trees: the name alone
 * finds them, whatever --cgroup-parent and whichever caller's own cgroup they were made under.
 */
export async function cgroupDirsOf(e: Entry): Promise<string[]> {
  if (e.state?.cgroupPaths) return e.state.cgroupPaths;
  const { allCgroupDirs } = await import('./cgroups/index.js'); // (a full walk: only here)
  const name = `/minidock-${shortId(e.id)}`;
  return allCgroupDirs().filter((d) => d.endsWith(name));
}

export interface GcReport {
  id: string;
  name?: string;
  why: string;
  removed: string[];
  /** the container is the user's (isKept): recorded as dead, its data left for rm */
  kept?: boolean;
}

/**
 * What a stale container left alive: processes in its cgroups (SIGKILLed: nobody can reap or
 * reach them through a keeper any more; PR_SET_PDEATHSIG usually killed them already, but a
 * process that exec'd a setuid binary lost it) and the cgroup directories. Returns what it removed.
 */
export function killLeftovers(e: Entry, dirs = e.state?.cgroupPaths ?? []): string[] {
  const cg = dirs.filter((p) => existsSync(p));
  if (!cg.length) return [];
  killAndRemove(cg, realOps, false, 2000);
  return [`${cg.length} cgroup director${cg.length === 1 ? 'y' : 'ies'}`];
}

/**
 * Settle the stale containers among entries: kill and remove what they left running, then
 * record a kept one (isKept) as dead, with the reason, and keep its directory, log and upper
 * layer for inspect, logs, export and rm; remove any other (a launch that died half-way, or
 * --rm). Also removes staging directories of dead processes. Never touches exited or dead ones.
 */
export function gcEntries(root: string, entries: Entry[], locked = false): GcReport[] {
  const out: GcReport[] = [];
  for (const e of entries) {
    const why = staleReason(e);
    if (why === undefined) continue;
    const kept = isKept(e);
    // an rm at work on it holds its lock: leave it to that rm (a stale one has no launch holding it)
    if (!lockContainer(e.dir)) continue;
    // synchronous (no mounts expected in our namespace): claimName calls this while holding the lock
    const removed: string[] = [];
    try {
      removed.push(...killLeftovers(e));
      if (kept) {
        writeState(e.dir, { ...e.state!, status: 'dead', error: why });
      } else {
        removeDir(e.dir);
        removed.push('directory');
        releaseName(root, e.config?.name, e.id, locked);
      }
    } catch (err) {
      removed.push(`failed: ${(err as Error).message}`);
    } finally {
      unlockContainer(e.dir);
    }
    out.push({ id: e.id, name: e.config?.name, why, removed, kept });
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
