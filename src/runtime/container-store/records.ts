// A container's records on disk: the types (ContainerConfig, ContainerState, Entry), reading and
// writing config.json and state.json, and the stored form of the spec.
//
//   <root>/containers/<id>/config.json     the resolved spec, name, creation time (rename and update rewrite it)
//   <root>/containers/<id>/state.json      status created | running | exited | dead, pids, times, exit
//                                          code, OOM flag, cgroup paths (rewritten as the container lives)
//   <root>/containers/<id>/container.log   stdout/stderr of a detached container, json-file lines
//   <root>/containers/<id>/{upper,work,merged}   the overlay layers
//   <root>/names/<name>                    the name registry (names.ts)
//   <rundir>/lock                          flock(2)ed while a name is checked and taken (locks.ts)
//
// state.json lives beside the layers rather than in /run: an exited container keeps its exit
// code and log across a reboot, as Docker's do; a "running" state from an earlier boot is
// recognized by its boot id (and by pid + start time) and treated as dead (staleness.ts). A dead
// container that was the user's (it ran, without --rm) keeps its log and upper layer until rm or
// prune, as Docker's do: nothing deletes it on the way (see isKept and gcEntries).
//
// Every write is atomic: a temp file then rename(), so a reader sees the old file or the new one,
// never half of one. There is no daemon: each minidock process reads the files it needs. Who keeps
// a container alive is recorded as a pid plus that process's start time (/proc/PID/stat field 22),
// which names a process for good: a recycled pid has another start time.
//
// The rest of the container store, each file importing only those above it:
//   listing.ts    listEntries, entryOf, resolve (by ID, name or prefix), shortId, displayName
//   staleness.ts  is anyone still looking after it? staleReason, isKept, effectiveStatus (reads only)
//   locks.ts      the state root's lock (withLock) and each container's (lockContainer)
//   names.ts      the name registry: checkName, releaseName, sweepNames
//   removal.ts    removing what a container left: killLeftovers, removeDir, removeEverything
//   gc.ts         gcEntries: settling stale containers
//   create.ts     createContainer, and claimName (which may collect a stale owner through gc.ts)
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import type { ContainerSpec } from '../spec.js';
import { isNoSpace, pathIn, storageError } from '../state-root.js';

/** dead: its monitor (or the minidock running it) died, so nobody saw how it ended (gc writes it).
 * unknown: its state.json cannot be parsed, so nobody can tell (shown, never collected: rm -f).
 * restarting: it exited and its monitor waits out the back-off of its restart policy (or the
 * minidock that monitor became is relaunching it: lifecycle/start.ts). */
export type Status = 'created' | 'running' | 'restarting' | 'exited' | 'dead' | 'unknown';

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
  /** made by minidock create: the user has its ID before it ever runs, so it is kept (isKept) */
  byCreate?: boolean;
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
  /** status "dead": why (whose death left it without a keeper); a relaunch that failed: why */
  error?: string;
  /** restarts made by its restart policy since the user's last start (inspect's RestartCount) */
  restartCount?: number;
  /** the back-off the monitor waited before the last restart (the next is twice that: restart-policy.ts) */
  restartDelayMs?: number;
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
 * `durable` false skips it, for records nobody needs after a crash of the machine: those of a --rm
 * container, which is removed when it exits (after a reboot gc removes what is left of it).
 */
export function writeJsonAtomic(path: string, value: unknown, durable = true): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const text = JSON.stringify(value) + '\n';
  try {
    if (durable) {
      const fd = openSync(tmp, 'w', 0o644);
      try {
        writeSync(fd, text);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } else writeFileSync(tmp, text, { mode: 0o644 }); // (a string as utf8: one call of Node's C++, writeFileUtf8)
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, path);
}

/** state.json, atomically (without fdatasync for a --rm container: writeJsonAtomic); on a full
 * filesystem written in place as a last resort (overwriteInPlace): an exit code is worth keeping. A
 * filesystem that refuses it even so is storageError's one line. */
export function writeState(dir: string, state: ContainerState): void {
  const path = pathIn(dir, 'state.json');
  try {
    writeJsonAtomic(path, state, !state.autoRemove);
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

let bootIdCache: string | undefined;
export function bootId(): string {
  bootIdCache ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return bootIdCache;
}

// ---- the spec as stored ----

export function storedSpec(spec: ContainerSpec): StoredSpec {
  const { seccomp, ...rest } = spec;
  return { ...rest, seccompB64: seccomp ? Buffer.from(seccomp).toString('base64') : undefined };
}

export function specFromStored(s: StoredSpec): ContainerSpec {
  const { seccompB64, ...rest } = s;
  return { ...rest, seccomp: seccompB64 ? new Uint8Array(Buffer.from(seccompB64, 'base64')) : undefined };
}
