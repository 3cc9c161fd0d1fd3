// launch(): run one container in the foreground and clean up after it, whatever happens.
//
//   TS   prepare dirs, create the cgroup and write its limits, build and encode the plan
//   C    md_spawn: clone(CLONE_NEW*) — the child starts running the plan at once
//   TS   cgroup v2: write the child's pid into the cgroup, then release it (the child waits at SYNC);
//        v1: nothing to do (the child joined its cgroups itself; the vfork clone returned once it exec'd)
//   C    child: ... unshare(CGROUP), caps, seccomp, execve; EOF on the report pipe == exec happened
//   TS   relay the pty (-t) or the stdio pipes, forward signals, wait for the exit status, report OOM,
//        clean up
import { closeSync, existsSync, mkdirSync, readFileSync, readSync, statfsSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { MinidockError } from '../errors.js';
import { errnoName } from '../sys/errno.js';
import { SIGNALS } from '../sys/constants.js';
import { writeErr } from '../sys/output.js';
import { mdLastFd, mdRecvFd, mdSpawn, mdStartMonitor, mdTerminals, mdWaitNohang, packageRoot } from '../sys/native.js';
import { isoNow } from '../sys/time.js';
import { planLaunch, stdioPipes, type LayerDirs } from './build-plan.js';
import { createCgroup, type Cgroup, type CgroupOptions, type CgroupStats } from './cgroups/index.js';
import { nearestExisting } from './cgroups/util.js';
import { Op, REPORT_BYTES, REPORT_STATE, encodePlan, opInfo, type Step } from './plan.js';
import type { ContainerSpec } from './spec.js';
import { containerDir, ensureStateRoot, storageError, sub } from './state.js';
import { createContainer, procStart, releaseName, removeDir, unlockContainer, writeState, type ContainerState, type Entry } from './store.js';
import { Timeline, type ChildRecord } from './trace.js';
import { oomTruth } from './oom-forensics.js';

const OVERLAYFS_SUPER_MAGIC = 0x794c7630;

export interface LaunchOptions {
  root: string;
  timeline: Timeline;
  /** called when exec succeeded: e.g. to start relaying a pty */
  onStarted?: (pid: number) => void;
  /** --rm: remove the container when it exits (otherwise it stays, "exited", as in Docker) */
  autoRemove?: boolean;
  /** --stats: read all of the cgroup's statistics at the exit (otherwise only the OOM count, and
   * the rest only after an OOM kill, for its message) */
  stats?: boolean;
}

/**
 * Test hook: MINIDOCK_TEST_KILL_AT=<phase> makes minidock SIGKILL itself at that point of a launch,
 * so that tests can prove `minidock gc` cleans up after a launcher that died at any moment.
 * Phases: dirs, cgroup, monitor (run -d), clone, join, exec.
 */
export function killPoint(phase: string): void {
  if (process.env.MINIDOCK_TEST_KILL_AT === phase) process.kill(process.pid, 'SIGKILL');
}

/** The overlay directories, created inside the (staging) container directory `at`; paths name `dir`.
 * dryRun (--dry-run): create nothing; a state root not made yet would be on its nearest existing ancestor's filesystem. */
export function layerDirs(root: string, dir: string, dryRun = false): { dirs: LayerDirs; populate: (at: string) => void } {
  // If the state root itself is on overlayfs (minidock running inside a container), upper/work
  // cannot live there: they go on a tmpfs mounted by the child.
  const onOverlay = statfsSync(dryRun ? nearestExisting(root) : ensureStateRoot(root)).type === OVERLAYFS_SUPER_MAGIC; // (made on first use)
  const layer = onOverlay ? sub(dir, 'layer') : dir;
  const dirs: LayerDirs = { merged: sub(dir, 'merged'), upper: sub(layer, 'upper'), work: sub(layer, 'work') };
  if (onOverlay) dirs.tmpfsFor = layer;
  const populate = (at: string): void => {
    mkdirSync(sub(at, 'merged'));
    if (onOverlay) {
      mkdirSync(sub(at, 'layer'));
    } else {
      mkdirSync(sub(at, 'upper'));
      mkdirSync(sub(at, 'work'), { mode: 0o700 });
    }
  };
  return { dirs, populate };
}

export interface LaunchOutcome {
  exitCode: number; // shell-style: status, or 128+signal
  signal?: number;
  oomKilled: boolean;
  stats?: CgroupStats;
  cgroup?: Cgroup;
  steps: Step[];
  records: ChildRecord[];
  /** the container's first process, as a host pid (report.ts matches it against the kernel's OOM victims) */
  pid?: number;
  /** what to tell the user about OOM kills in the container, if there were any (report.ts) */
  oomMessage?: string;
  /** what minidock could not write after the container exited (a full disk): the exit code stands */
  warning?: string;
}

/**
 * Does the process whose /proc/PID/status text is given catch signal `signo` (a handler installed)?
 * SigCgt is the mask of caught signals, in hex, bit N-1 for signal N.
 */
export function catchesSignal(status: string, signo: number): boolean {
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
  return m ? ((BigInt('0x' + m[1]) >> BigInt(signo - 1)) & 1n) === 1n : true; // unknown: assume it does
}

/** The line shown when a forwarded signal will be ignored by the container's PID 1. */
export function ignoredSignalNotice(sig: string, comm: string, escalateMs: number): string {
  return `${sig} forwarded to the container's PID 1 (${comm}), which has no handler for it and so ignores it ` +
    `(the kernel drops the signals a PID namespace's init does not handle); SIGKILL follows in ${escalateMs / 1000} s ` +
    '(--stop-timeout) — run a PID 1 that handles the signal to stop cleanly';
}

/**
 * Pass the signals a user sends minidock (^C, kill) on to the process target() names (none while it
 * is <= 0). With escalateMs (the target is a container's PID 1), SIGKILL follows that long after the
 * first one, and if PID 1 has no handler for that signal one line on stderr says so: without it, a
 * ^C on `minidock run IMAGE sleep 30` would seem to do nothing for --stop-timeout seconds.
 * Returns the undo.
 */
export function forwardSignals(target: () => number, escalateMs?: number): () => void {
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  let killTimer: NodeJS.Timeout | undefined;
  const send = (sig: NodeJS.Signals | 'SIGKILL'): void => {
    const pid = target();
    if (pid <= 0) return;
    try {
      process.kill(pid, sig);
    } catch { /* already gone */ }
  };
  const forward = (sig: NodeJS.Signals): void => {
    send(sig);
    const pid = target();
    if (escalateMs === undefined || pid <= 0 || killTimer) return;
    killTimer = setTimeout(() => send('SIGKILL'), escalateMs);
    let status = '';
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch { /* gone already: nothing to explain */ }
    if (status && !catchesSignal(status, SIGNALS[sig])) {
      writeErr(`minidock: ${ignoredSignalNotice(sig, /^Name:\s*(.*)$/m.exec(status)?.[1] ?? '?', escalateMs)}\n`);
    }
  };
  for (const s of sigs) process.on(s, forward);
  return () => {
    for (const s of sigs) process.off(s, forward);
    if (killTimer) clearTimeout(killTimer);
  };
}

/**
 * Once nobody reads the container's output the relay hangs up on it (tty.ts), which ends `yes` and
 * every program that checks its writes; one that goes on regardless is killed after --stop-timeout,
 * as one that ignores a forwarded SIGTERM is. Returns the undo.
 */
export function killIfOutputGone(relay: { outputGone: Promise<void> }, target: () => number, escalateMs: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  let undone = false;
  void relay.outputGone.then(() => {
    if (undone) return;
    timer = setTimeout(() => {
      const pid = target();
      try {
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch { /* gone */ }
    }, escalateMs);
  });
  return () => {
    undone = true;
    if (timer) clearTimeout(timer);
  };
}

/** Where the container's cgroup goes and what it restricts (--cgroup-parent; devices unless --privileged). */
export function cgroupOptions(spec: ContainerSpec): CgroupOptions {
  return { parent: spec.cgroupParent, restrictDevices: !spec.privileged };
}

/** The container's cgroup: named after its short id, the minimal /dev unless --privileged.
 * dryRun (--dry-run): decided by the same code, but nothing created or written (CgroupOptions.dryRun). */
export function containerCgroup(spec: ContainerSpec, dryRun = false): Cgroup {
  return createCgroup(`minidock-${spec.id.slice(0, 12)}`, spec.limits, { ...cgroupOptions(spec), dryRun });
}

/** Read a pipe to EOF, blocking: for the report pipe once the child is past its last wait. */
export function readAllSync(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(16384);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks);
}

/**
 * Wait for exactly `pid` to exit: on every SIGCHLD, waitpid(pid, WNOHANG). (docs/contributing.md: never
 * waitpid(-1), libuv reaps its own children; and no blocking wait parked on libuv's thread pool.)
 * A signal handler does not keep Node's event loop alive, so a long timer does until the exit.
 */
export function waitExit(pid: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    const check = (): void => {
      const st = mdWaitNohang(pid);
      if (st === -1) return; // still running
      process.off('SIGCHLD', check);
      clearInterval(keepAlive);
      if (st < -1) reject(new MinidockError(`waitpid(${pid}): ${errnoName(-st - 1000)}`));
      else resolve(st);
    };
    process.on('SIGCHLD', check);
    check(); // it may have exited before the handler was there
  });
}

export function parseRecords(buf: Buffer): ChildRecord[] {
  const out: ChildRecord[] = [];
  for (let o = 0; o + REPORT_BYTES <= buf.length; o += REPORT_BYTES) {
    out.push({ step: buf.readUInt32LE(o), err: buf.readInt32LE(o + 4), t0: buf.readBigUInt64LE(o + 8), t1: buf.readBigUInt64LE(o + 16) });
  }
  return out;
}

/** The failing step as one sentence: the syscall, the path, the errno name, and what to do. */
export function stepError(step: Step | undefined, err: number, spec: ContainerSpec): MinidockError {
  const name = errnoName(err);
  if (!step) return new MinidockError(`container setup failed: ${name}`);
  const path = typeof step.strs?.[1] === 'string' && step.op === Op.MOUNT ? step.strs[1] : typeof step.strs?.[0] === 'string' ? step.strs[0] : '';
  if (step.op === Op.EXEC) {
    const cmd = spec.args[0];
    if (err === 2) return new MinidockError(`exec "${cmd}": executable file not found in the container (${spec.args[0].includes('/') ? 'no such file' : 'searched $PATH'}) (ENOENT) — check the command exists in the rootfs`, 127);
    if (err === 13) return new MinidockError(`exec "${cmd}": permission denied (EACCES) — the file is not executable, or is a directory`, 126);
    if (err === 8) return new MinidockError(`exec "${cmd}": exec format error (ENOEXEC) — not a binary for this machine, or a script without #!`, 126);
    return new MinidockError(`exec "${cmd}": ${name}`, 126);
  }
  const call = opInfo(step.op).syscall;
  let hint = step.why;
  if (step.op === Op.PIVOT_ROOT && err === 22) hint = 'the new root must be a mount point, and "/" must not be shared (the plan makes it private first)';
  else if (step.op === Op.MOUNT && step.strs?.[2] === 'overlay') {
    hint = err === 22
      ? 'overlayfs refused the layers: the upper/work directories cannot be on overlayfs, and lowerdir paths cannot contain ":" or ","'
      : 'check that ROOTFS is a directory the kernel can use as an overlay lower layer';
  } else if (step.op === Op.CHDIR && spec.cwd === path) hint = `-w ${spec.cwd}: the working directory does not exist in the container`;
  else if (step.op === Op.SYNC) hint = 'minidock did not release the container (it failed to join the cgroup)';
  return new MinidockError(`${call}(${path}): ${name} — ${hint}`);
}

export function exitCodeOf(status: number): { code: number; signal?: number } {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff };
  return { code: 128 + sig, signal: sig };
}

export async function launch(spec: ContainerSpec, opts: LaunchOptions): Promise<LaunchOutcome> {
  const tl = opts.timeline;
  const dir = containerDir(opts.root, spec.id);
  let cgroup: Cgroup | undefined;
  let pid = -1;
  let reaped = false;
  const cleanups: Array<() => void> = [];
  let started = false;
  let state: ContainerState = { status: 'created', autoRemove: !!opts.autoRemove };
  try {
    // 1. The container's directory in the state store (config.json, state.json "created") with
    //    the overlay's directories. Without --rm it stays after the exit, as in Docker.
    const { dirs, populate } = layerDirs(opts.root, dir);
    // (its cgroups recorded before they exist: a SIGKILL between the mkdirs and a later write would leave them unrecorded)
    const cgroupPaths = containerCgroup(spec, true).paths;
    const entry = createContainer(opts.root, spec, { detached: false, autoRemove: !!opts.autoRemove, populate, cgroupPaths });
    cleanups.push(() => {
      if (opts.autoRemove || !started) {
        removeDir(dir);
        releaseName(opts.root, spec.name, spec.id);
      }
    });
    state = entry.state!; // "created", by this process (pid + start time), this boot
    tl.mark('directories');
    killPoint('dirs');

    // 2. The cgroup, with its limits, before the process exists.
    cgroup = containerCgroup(spec);
    state = { ...state, cgroupPaths: cgroup.paths };
    if (cgroup.paths.join() !== cgroupPaths.join()) writeState(dir, state); // (never, unless the dry run is wrong)
    tl.mark('cgroup create + limits');
    killPoint('cgroup');

    // 3. The plan, then clone.
    const terminals = mdTerminals(); // which of our fds 0-2 are the user's terminal (kept from the container)
    const plan = planLaunch(spec, dirs, cgroup, terminals); // the same decision --dry-run prints
    const { steps } = plan;
    const bytes = encodePlan(steps);
    tl.mark('plan built + encoded');
    // Forward SIGINT/SIGTERM/... from now on (a signal that arrives before the container has
    // exec'd still reaches it: it is blocked in the child until its handlers are reset).
    // PID 1 ignores signals it has no handler for, so after --stop-timeout it gets SIGKILL.
    cleanups.push(forwardSignals(() => pid, spec.stopTimeoutSec * 1000));
    pid = mdSpawn(bytes, plan.cloneFlags);
    if (pid < 0) throw new MinidockError(`clone(CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET): ${errnoName(-pid)} — minidock must run as root on a kernel with namespaces`);
    const reportFd = mdLastFd(0);
    const syncFd = mdLastFd(1);
    const consoleFd = mdLastFd(3);
    // our ends of the pipes that replaced the user's terminal (stdioPipes); closed here until a relay owns them
    let relayFds = stdioPipes(spec, terminals) ? [mdLastFd(4), mdLastFd(5), mdLastFd(6)] : [];
    cleanups.push(() => relayFds.forEach((fd) => fd >= 0 && closeSync(fd)));
    const exited = waitExit(pid).then((st) => {
      reaped = true;
      return st;
    });
    tl.mark('clone');
    killPoint('clone');

    // 4. Join the cgroup BEFORE exec: from the first instruction of the container's program, its
    //    memory, CPU and pids are accounted and limited. v2: the child is parked at its SYNC step;
    //    v1: it joined by itself, first of its steps (plan.sync is false).
    let released = false;
    try {
      if (plan.sync) {
        cgroup.join(pid);
        tl.mark('cgroup join');
      }
      killPoint('join');
      if (plan.sync) writeSync(syncFd, 'G');
      released = true;
    } finally {
      closeSync(syncFd);
      if (!released) {
        // Without 'G' the child must not exec. EOF alone would not tell it: it holds a copy of
        // the pipe's write end from clone time. So kill it (it has not exec'd anything yet).
        process.kill(pid, 'SIGKILL');
        await exited;
      }
    }
    // The child writes one record per step; EOF comes when it execs (the pipe is close-on-exec) or
    // dies. Past its SYNC step it waits for nothing, so a blocking read is short (and with the vfork
    // launch it is already complete).
    const records = parseRecords(readAllSync(reportFd));
    tl.mark('child ran the plan');
    tl.child(steps, records);

    const last = records[records.length - 1];
    if (!last || last.err > 0) {
      await exited;
      if (consoleFd >= 0) closeSync(consoleFd);
      throw stepError(last ? steps[last.step] : undefined, last?.err ?? 0, spec);
    }
    let relay: import('./tty.js').Relay | undefined;
    if (consoleFd >= 0) {
      const master = mdRecvFd(consoleFd);
      closeSync(consoleFd);
      if (master < 0) throw new MinidockError(`recvmsg(console socket): ${errnoName(-master)} — the pty master never arrived`);
      relay = (await import('./tty.js')).startRelay(master); // loaded only for -t
    } else if (relayFds.length) {
      relay = (await import('./stdio-relay.js')).startPipeRelay(relayFds); // loaded only when stdio is a terminal
      relayFds = [];
    }
    if (relay) cleanups.push(() => relay?.stop(), killIfOutputGone(relay, () => (reaped ? -1 : pid), spec.stopTimeoutSec * 1000));
    // Foreground: this minidock is the container's monitor (ps lists it; gc knows it by pid + start).
    // Not recorded (a full disk): the container is killed and removed before it did anything.
    state = { ...state, status: 'running', pid, pidStart: procStart(pid), monitorPid: process.pid, monitorStart: state.launcherStart, startedAt: isoNow() };
    writeState(dir, state);
    started = true;
    unlockContainer(dir); // it runs: rm may have it now (see lockContainer)
    killPoint('exec');
    opts.onStarted?.(pid);

    // 5. Wait for the exit status (signals are being forwarded, see above).
    const exit = await exited;
    // the last output may still sit in the pty or the pipes: drain it (EIO or EOF comes right after;
    // the bound is for a descriptor someone outside the container still holds)
    if (relay) await Promise.race([relay.done, new Promise((r) => setTimeout(r, 1000))]);
    tl.mark('container ran');

    const { code, signal } = exitCodeOf(exit);
    const oomKills = cgroup.oomKills();
    const stats = opts.stats || oomKills ? cgroup.stats() : { oomKills };
    const outcome: LaunchOutcome = { exitCode: code, signal, oomKilled: false, stats, cgroup, steps, records, pid };
    // The OOM truth: whom the kernel killed (its log, report.ts), not a guess from the exit signal.
    const oom = oomTruth(outcome, spec);
    outcome.oomKilled = oom.initKilled;
    outcome.oomMessage = oom.message;
    if (!opts.autoRemove) {
      state = { ...state, status: 'exited', finishedAt: isoNow(), exitCode: code, signal, oomKilled: oom.initKilled, oomKills: stats.oomKills ?? 0 };
      try {
        writeState(dir, state);
      } catch (e) {
        // The container ran and exited: its status is the answer, whatever minidock can still write.
        outcome.warning = `the container exited with ${code}, but its exit could not be recorded: ${(e as Error).message}; ` +
          `until it is, ps -a shows it as dead (remove it with minidock rm ${spec.id.slice(0, 12)})`;
      }
    }
    return outcome;
  } finally {
    if (pid > 0 && !reaped) {
      // We are leaving early (an error): the container must not outlive us.
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* gone */ }
    }
    cgroup?.destroy();
    for (const c of cleanups.reverse()) {
      try {
        c();
      } catch { /* best effort; gc catches the rest */ }
    }
    unlockContainer(dir);
    tl.mark('cleanup');
  }
}

// ---- run -d ----

/** Path of the C monitor (native/monitor.c), built by `make -C native`. */
export function monitorPath(): string {
  return posix.join(packageRoot(), 'native', 'build', 'minidock-monitor');
}

function readFull(fd: number, n: number, what: string): Buffer {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    let r: number;
    try {
      r = readSync(fd, buf, got, n - got, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EINTR') continue;
      throw e;
    }
    if (r === 0) throw new MinidockError(`the monitor exited before it sent ${what} — see ${monitorPath()}; minidock gc removes what is left`);
    got += r;
  }
  return buf;
}

function monitorStateError(err: number, path: string): MinidockError {
  const e = storageError(Object.assign(new Error(errnoName(err)), { code: errnoName(err) }), path);
  return e instanceof MinidockError ? e : new MinidockError(`the monitor could not write ${path}: ${errnoName(err)}`);
}

/**
 * Start a detached container. The C monitor (native/monitor.c) becomes its parent and stays; this
 * process leaves as soon as the container has exec'd, or with the failing step's error. The
 * conversation on the control socket is described at the top of monitor.c.
 * Returns the container's entry; its state is "running" by then (or already "exited").
 */
export async function launchDetached(spec: ContainerSpec, opts: LaunchOptions): Promise<Entry> {
  const tl = opts.timeline;
  const dir = containerDir(opts.root, spec.id);
  let cgroup: Cgroup | undefined;
  let ctl = -1;
  let ok = false;
  try {
    const { dirs, populate } = layerDirs(opts.root, dir);
    const cgroupPaths = containerCgroup(spec, true).paths; // recorded before they exist (as in launch)
    const entry = createContainer(opts.root, spec, { detached: true, autoRemove: !!opts.autoRemove, populate, cgroupPaths });
    const state: ContainerState = { ...entry.state!, status: 'created' };
    tl.mark('directories');
    killPoint('dirs');

    cgroup = containerCgroup(spec);
    if (cgroup.paths.join() !== cgroupPaths.join()) writeState(dir, { ...state, cgroupPaths: cgroup.paths });
    tl.mark('cgroup create + limits');
    killPoint('cgroup');

    // On v1 the child joins its own cgroups: then nothing happens between clone and exec that
    // needs us, and the plan has no SYNC step (`--no-sync`, see monitor.c): one round trip less.
    const plan = planLaunch(spec, dirs, cgroup); // the same decision --dry-run prints
    const { steps } = plan;
    const noSync = !plan.sync;
    const bytes = encodePlan(steps);
    tl.mark('plan built + encoded');

    // The OOM counter the monitor reads after the exit: v1 memory.oom_control, v2 memory.events.
    const oomFile = cgroup.paths.map((p) => sub(p, cgroup!.mode === 'v1' ? 'memory.oom_control' : 'memory.events')).find((f) => existsSync(f));
    const argv = [monitorPath(), dir, String(plan.cloneFlags), ...(opts.autoRemove ? ['--rm'] : []), ...(noSync ? ['--no-sync'] : []), ...(oomFile ? ['--oom', oomFile] : []),
      ...cgroup.paths.flatMap((p) => ['--cgroup', p])];
    const mpid = mdStartMonitor(argv);
    if (mpid < 0) throw new MinidockError(`posix_spawn(${monitorPath()}): ${errnoName(-mpid)} — run \`npm run build\` (make -C native builds the monitor)`);
    ctl = mdLastFd(0);
    tl.mark('monitor started');
    killPoint('monitor');

    // u32 length + plan in one write: each write wakes the monitor up
    const msg = Buffer.alloc(4 + bytes.length);
    msg.writeUInt32LE(bytes.length);
    msg.set(bytes, 4);
    writeSync(ctl, msg);
    const pid = readFull(ctl, 4, 'the container pid').readInt32LE(0);
    if (pid < 0) throw new MinidockError(`clone(CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET) in the monitor: ${errnoName(-pid)} — minidock must run as root on a kernel with namespaces`);
    tl.mark('clone (in the monitor)');
    killPoint('clone');

    // Join the cgroup before exec (v2; on v1 the child joined itself), then release the child.
    if (!noSync) {
      cgroup.join(pid);
      tl.mark('cgroup join');
    }
    killPoint('join');
    if (!noSync) writeSync(ctl, 'G');

    const n = readFull(ctl, 4, 'the step records').readUInt32LE(0);
    const records = parseRecords(n ? readFull(ctl, n * REPORT_BYTES, 'the step records') : Buffer.alloc(0));
    tl.mark('child ran the plan');
    tl.child(steps, records);
    const last = records[records.length - 1];
    if (last?.step === REPORT_STATE) throw monitorStateError(last.err, sub(dir, 'state.json'));
    if (!last || last.err > 0) throw stepError(last ? steps[last.step] : undefined, last?.err ?? 0, spec);
    killPoint('exec');

    // We will print the ID: from now on the container is the user's. The monitor wrote "running"
    // into state.json before it sent the records.
    writeSync(ctl, 'A');
    ok = true;
    tl.mark('monitor took over');
    return entry;
  } finally {
    if (ctl >= 0) closeSync(ctl); // before 'A', EOF tells the monitor to kill the container and go
    if (!ok) {
      cgroup?.destroy();
      removeDir(dir);
      releaseName(opts.root, spec.name, spec.id);
    }
    unlockContainer(dir); // the monitor has it, or nothing is left
  }
}
