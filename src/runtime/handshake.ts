// The launch protocol: what minidock and the child it clones say to each other between clone() and
// execve(), written once for TypeScript (launch, run's v1 no-sync path, exec). native/monitor.c
// speaks the same protocol in C for `run -d` (its "launch protocol" functions).
//
// md_spawn (native/spawn.c) makes two pipes — report (child -> minidock) and sync (minidock ->
// child) — plus, when the plan asks, a console socket (-t) and stdio pipes (stdioPipes), then
// clone()s. The child (native/child.c) runs the plan's steps in order:
//
//   minidock (parent)                               child (native/child.c)
//   -----------------                               ----------------------
//   spawnChild: md_spawn ── clone() ───────────────> reset signals, PR_SET_PDEATHSIG, close its copy
//                                                    of the report pipe's read end
//                        <── report: {step, 0, t0, t1} for each step up to SYNC
//   [waitAtSync: the report up to the step before    SYNC: read(sync)  ...blocks...
//    SYNC — the child is there (OCI prestart hooks)]
//   release:
//     join() the child's cgroup (v2: cgroup.procs)
//     writeIdMaps (a user namespace: the child was
//       cloned with CLONE_NEWUSER and is nobody in it):
//       /proc/PID/uid_map, [setgroups "deny"], gid_map
//       (OCI create: the prestart and createRuntime
//       hooks, with its namespaces made: launch.ts)
//     write(sync, 'G')  ─────────────────────────────> 'G': go on (a user namespace: setresgid(0),
//       or 'P' + pid (u32 LE)                        setresuid(0) — the mapped root — then its mounts)
//     close(sync)                                    'P': go on, and keep the pid (child.h host_pid)
//                                                    EOF or any other byte: a record
//                                                    {SYNC, ECANCELED}, _exit(125)
//     (join or a hook failed: SIGKILL — see below)
//                        <── report: a record per step; a failed step: {step, errno}, _exit(125)
//                        <── console: sendmsg(SCM_RIGHTS, pty master)      (-t: the CONSOLE step)
//                        <── report: {EXEC, 0, t, t} "exec starts now", then execve()
//   readReport: read(report) to EOF
//     EOF: the report pipe is close-on-exec, so the child exec'd — or died. The last record says
//     which: err > 0 is the failed step (launchFailure, step-error.ts); no record at all, the child
//     died before its first step; otherwise it exec'd (an execve that fails reports its errno).
//   receiveConsole: recvmsg(console) -> the pty master  (-t)
//   waitExit: SIGCHLD + waitpid(pid, WNOHANG)
//
// What EOF on the sync pipe does NOT mean: "minidock is gone". The child holds a copy of the
// pipe's write end from clone time, so closing ours never wakes it: a child minidock gives up on
// is killed (abandon). A minidock that dies is noticed through PR_SET_PDEATHSIG, and through the
// report pipe, whose only reader minidock then was (child.c rearm_pdeathsig).
//
// A user namespace puts SYNC first of the child's steps (after a v1 self-join), before any mount: the
// maps must exist before it can become the namespace's root. On cgroup v1 too, then: planLaunch
// decides, and the clone is not vfork-style.
//
// Without a SYNC step (cgroup v1: the child joins its cgroups itself by writing "0" into `tasks`,
// planLaunch decides) nobody writes 'G': md_spawn clones with CLONE_VM|CLONE_VFORK and returns only
// once the child has exec'd or died, release() just closes the sync pipe, and the report is complete.
//
// OCI create with prestart or createRuntime hooks (src/oci/launch.ts) waits for the child to stand at
// its SYNC step, which the plan puts after the mounts and before pivot_root, and runs them in
// `join`, before the release. The report pipe says where the child is (the record of the step before
// SYNC: waitAtSync), so no second channel; a step that fails on the way is read by readReport then.
// Where the plan's first SYNC must come early (a user namespace's maps, a PID namespace join's
// cgroup join before the fork), the hooks get a second SYNC step on the same pipe: the first keeps
// it open (its ints [1]), create releases it with release(..., keepOpen), then waits at the second.
//
// 'P' (MSG.RELEASE_PID, OCI create with createContainer/startContainer hooks: src/oci/launch.ts) is
// 'G' with the child's pid after it, in the same write. The HOOK steps hand the hooks the state JSON,
// whose pid is the one the runtime sees; a child in a new PID namespace cannot learn it (getpid()
// answers 1 there), and only minidock has it, from clone(). So it rides on the release the child
// waits for anyway — no second channel. On cgroup v1, where an OCI plan needs no SYNC of its own,
// the plan gets one for the hooks (launch.ts hookSync).
//
// exec adds one record: its FORK step makes the process that execs (inside the container's PID
// namespace) and reports that process's pid as {REPORT_PID, pid}; the forking process then exits.
//
// run -d puts the monitor in between (native/monitor.c, launchDetached): the CLI sends the plan on
// the control socket, the monitor clones and sends the pid; the CLI joins the cgroup and sends 'G',
// which the monitor passes down the sync pipe; the monitor sends the records once the report pipe
// is at EOF (the CLI writes the id maps before its 'G', as here); the CLI answers 'A' (MSG.ACK: it will print the ID) — EOF instead of 'G' or 'A' makes
// the monitor kill the container. The bytes are MSG and the fds SPAWNED in plan.ts (MD_MSG_*,
// MD_SPAWNED_* in native/plan.h, checked by test/unit/plan.test.ts).
//
// Each phase is its own function so that a launch can stop between them: set up, hold the child at
// SYNC, and release it later (`create` then `start`, as runc's exec.fifo does).
import { spawnSync } from 'node:child_process';
import { closeSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { MinidockError } from '../errors.js';
import { errnoName } from '../sys/errno.js';
import { mdRecvFd, mdSpawn, mdSpawnedFd } from '../sys/native.js';
import { MSG, REPORT_PID, SPAWNED } from './plan.js';
import { readAllSync, waitExit } from './process.js';
import { parseRecords } from './step-error.js';
import type { ChildRecord } from './trace.js';
import { idMapWrites, type UserNamespace } from './id-maps.js';

/** A cloned child running its plan, and our ends of its pipes (-1: none, or closed already). */
export interface Child {
  /** its pid in our PID namespace */
  pid: number;
  /** report pipe, read end: one record per step, EOF once it exec'd or died */
  reportFd: number;
  /** sync pipe, write end: MSG.RELEASE lets it past its SYNC step */
  syncFd: number;
  /** console socket (-t): the pty master arrives on it */
  consoleFd: number;
  /** the pipes that replaced its fds 0-2 (stdioPipes): our write end for its stdin, read ends for its stdout, stderr */
  stdioFds: [number, number, number];
  /** its raw wait status, once it has exited and been reaped (waitExit, started at once) */
  exited: Promise<number>;
  /** report bytes read before readReport (waitAtSync); readReport returns their records first */
  early?: Buffer;
}

/**
 * Clone the child that runs `plan` (encodePlan's bytes). It starts on its steps at once and stops
 * at SYNC, if the plan has one; with CLONE_VFORK in cloneFlags this returns only once it has exec'd
 * or died. Throws `<call>: <errno> — <hint>` when clone() fails.
 */
export function spawnChild(plan: Uint8Array, cloneFlags: number, call: string, hint?: string): Child {
  const pid = mdSpawn(plan, cloneFlags);
  if (pid < 0) throw new MinidockError(`${call}: ${errnoName(-pid)}${hint ? ` — ${hint}` : ''}`);
  return {
    pid,
    reportFd: mdSpawnedFd(SPAWNED.REPORT),
    syncFd: mdSpawnedFd(SPAWNED.SYNC),
    consoleFd: mdSpawnedFd(SPAWNED.CONSOLE),
    stdioFds: [mdSpawnedFd(SPAWNED.STDIN), mdSpawnedFd(SPAWNED.STDOUT), mdSpawnedFd(SPAWNED.STDERR)],
    exited: waitExit(pid),
  };
}

function closeSyncFd(child: Child): void {
  if (child.syncFd >= 0) closeSync(child.syncFd);
  child.syncFd = -1;
}

/**
 * Let the child go on: `join` puts it where it must be before it execs (its cgroup), then, when the
 * plan has a SYNC step, MSG.RELEASE lets it past — or, with `sendPid`, MSG.RELEASE_PID and the
 * child's pid (the OCI in-container hooks' state). If `join` throws, the child is killed instead
 * (abandon) and the error propagates. The sync pipe is closed either way (but `keepOpen`, on success).
 */
export async function release(
  child: Child,
  join: () => void | Promise<void>,
  hasSync: boolean,
  sendPid = false,
  keepOpen = false,
): Promise<void> {
  try {
    await join();
    if (hasSync) writeSync(child.syncFd, sendPid ? releaseWithPid(child.pid) : Buffer.from(MSG.RELEASE));
  } catch (e) {
    await abandon(child);
    throw e;
  }
  // keepOpen: the plan has a later SYNC step (its first one's ints[0] 1), released by a later call
  if (!keepOpen) closeSyncFd(child);
}

/** MSG.RELEASE_PID's 5 bytes: the byte, then the pid as a little-endian u32 (one write: atomic on a pipe). */
export function releaseWithPid(pid: number): Buffer {
  const b = Buffer.alloc(5);
  b.write(MSG.RELEASE_PID, 0, 'latin1');
  b.writeUInt32LE(pid, 1);
  return b;
}

/**
 * The map step (a user namespace), while the child waits at SYNC: its uid_map, setgroups and gid_map
 * (userns.ts idMapWrites; each file takes one write(), once). Call it from release's `join`, so a
 * failure kills the child. The kernel checks the writer: root may map any host ids.
 */
export function writeIdMaps(pid: number, ns: UserNamespace): void {
  if (ns.writer === 'helper') {
    // A normal user may not write another id than its own: newuidmap/newgidmap (setuid root) check
    // the ranges against /etc/subuid and /etc/subgid and write the files for us.
    for (const [helper, map] of [
      ['newuidmap', ns.uidMap],
      ['newgidmap', ns.gidMap],
    ] as const) {
      const args = [String(pid), ...map.flatMap((r) => [String(r.container), String(r.host), String(r.size)])];
      const r = spawnSync(helper, args, { encoding: 'utf8' });
      if (r.status !== 0)
        throw new MinidockError(
          `${helper} ${args.join(' ')}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0]} — check your lines in /etc/subuid and /etc/subgid`,
        );
    }
    return;
  }
  for (const w of idMapWrites(pid, ns)) {
    try {
      writeFileSync(w.file, w.content);
    } catch (e) {
      throw new MinidockError(
        `write ${w.file} (${JSON.stringify(w.content.trim())}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} — ` +
          'the kernel refused the user namespace map: are these host ids yours to map (root, or /etc/subuid)?',
      );
    }
  }
}

/**
 * Give up on a child that has not exec'd: SIGKILL, and wait until it is reaped. Closing the sync pipe
 * would not stop it — it holds a copy of the write end from clone time, so it never sees EOF.
 */
export async function abandon(child: Child): Promise<void> {
  closeSyncFd(child);
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
  await child.exited.catch(() => undefined);
}

/**
 * Read the report pipe to EOF (blocking: past SYNC the child waits for nothing, and after a vfork
 * clone the report is already complete) and close it. `forkedPid`: the process exec's FORK step made.
 */
export function readReport(child: Child): { records: ChildRecord[]; forkedPid?: number } {
  const all = parseRecords(Buffer.concat([child.early ?? Buffer.alloc(0), readAllSync(child.reportFd)]));
  child.reportFd = -1;
  const forked = all.find((r) => r.step === REPORT_PID);
  return { records: forked ? all.filter((r) => r !== forked) : all, forkedPid: forked?.err };
}

/**
 * Wait until the child stands at its SYNC step (`sync`, the plan's index): read its report up to the
 * record of the step before it — the pipe is the child's "I am at SYNC", no other channel. false: a
 * step failed or the child died on the way (EOF); readReport still returns those records, and says
 * why. The records read stay in `child.early`; so does a FORK's {REPORT_PID, pid} (forkedPidOf).
 */
export async function waitAtSync(child: Child, sync: number): Promise<boolean> {
  if (sync <= 0) return true; // its first step: the child is there, or on its way with nothing done
  const buf = Buffer.alloc(4096);
  for (;;) {
    const records = parseRecords(child.early ?? Buffer.alloc(0));
    if (records.some((r) => r.step !== REPORT_PID && r.err > 0)) return false;
    if (records.some((r) => r.step === sync - 1)) return true;
    let n = 0;
    try {
      n = readSync(child.reportFd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    if (n === 0) return false; // EOF: it died before its SYNC step
    child.early = Buffer.concat([child.early ?? Buffer.alloc(0), buf.subarray(0, n)]);
  }
}

/** The pid a FORK step reported among the records read so far (waitAtSync), if any. */
export function forkedPidOf(child: Child): number | undefined {
  return parseRecords(child.early ?? Buffer.alloc(0)).find((r) => r.step === REPORT_PID)?.err;
}

/** -t: the pty master the CONSOLE step sent (the console socket is closed); undefined without -t. */
export function receiveConsole(child: Child): number | undefined {
  if (child.consoleFd < 0) return undefined;
  const master = mdRecvFd(child.consoleFd);
  closeSync(child.consoleFd);
  child.consoleFd = -1;
  if (master < 0)
    throw new MinidockError(`recvmsg(console socket): ${errnoName(-master)} — the pty master never arrived`);
  return master;
}

/** Close whatever of our ends nobody took (a failed launch; the stdio fds a relay did not take). */
export function closeChildFds(child: Child): void {
  closeSyncFd(child);
  for (const fd of [child.reportFd, child.consoleFd, ...child.stdioFds]) {
    if (fd >= 0) closeSync(fd);
  }
  child.reportFd = child.consoleFd = -1;
  child.stdioFds = [-1, -1, -1];
}
