// launch() runs one container in the foreground and cleans up after it, whatever happens;
// launchDetached() starts one under the C monitor (run -d). Both, in order:
//
//   TS   prepare dirs, create the cgroup and write its limits, build and encode the plan
//   C    md_spawn: clone(CLONE_NEW*) — the child starts running the plan at once
//   TS   cgroup v2: write the child's pid into the cgroup, then release it (the child waits at SYNC);
//        v1: nothing to do (the child joined its cgroups itself; the vfork clone returned once it exec'd)
//   C    child: ... unshare(CGROUP), caps, seccomp, execve; EOF on the report pipe == exec happened
//   TS   relay the pty (-t) or the stdio pipes, forward signals, wait for the exit status, report OOM,
//        clean up
//
// What minidock and the child say to each other from clone() to execve() is handshake.ts (drawn at
// its top); the process utilities are process.ts, the step errors step-error.ts.
import { closeSync, existsSync, mkdirSync, readSync, statfsSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { MinidockError } from '../errors.js';
import { errnoName } from '../sys/errno.js';
import { mdMonitorCtlFd, mdStartMonitor, mdTerminals, packageRoot } from '../sys/native.js';
import { isoNow } from '../sys/time.js';
import { planLaunch, stdioPipes, type LaunchPlan, type LayerDirs } from './build-plan.js';
import { createCgroup, type Cgroup, type CgroupOptions, type CgroupStats } from './cgroups/index.js';
import { nearestExisting } from './cgroups/util.js';
import { rootlessCgroup } from './cgroups/none.js';
import {
  abandon,
  closeChildFds,
  readReport,
  receiveConsole,
  release,
  spawnChild,
  writeIdMaps,
  type Child,
} from './handshake.js';
import { MSG, REPORT_BYTES, REPORT_STATE, encodePlan, type Step } from './plan.js';
import { exitCodeOf, forwardSignals, killIfOutputGone, waitExit } from './process.js';
import { oomTruth } from './oom-forensics.js';
import type { ContainerSpec } from './spec.js';
import { containerDir, ensureStateRoot, storageError, pathIn } from './state-root.js';
import { launchFailure, parseRecords } from './step-error.js';
import { procStart } from '../sys/proc.js';
import { createContainer } from './container-store/create.js';
import { unlockContainer } from './container-store/locks.js';
import { releaseName } from './container-store/names.js';
import { bootId, writeJsonAtomic, writeState, type ContainerState, type Entry } from './container-store/records.js';
import { removeDir } from './container-store/removal.js';
import { appendEvents, type EventAction, monitorEventArgs, type EventSubject } from './lifecycle/events.js';
import type { NetPlan } from './network/wiring.js';
import { killPoint } from './test-hooks.js';
import type { ChildRecord, Timeline } from './trace.js';

const OVERLAYFS_SUPER_MAGIC = 0x794c7630;

/**
 * The code of --network/-p (network/wiring.ts) and of user namespaces (userns.ts), imported only by
 * the launches that use them: a plain run does not read or compile it at start (docs/performance.md).
 */
interface OptionalCode {
  wiring?: typeof import('./network/wiring.js');
  userns?: typeof import('./userns.js');
  /** named volumes (-v NAME:/path): created on first use, once the container exists */
  volumes?: typeof import('./volumes.js');
}

async function optionalCode(spec: ContainerSpec, tl: Timeline): Promise<OptionalCode> {
  const [wiring, userns, volumes] = await Promise.all([
    spec.network ? import('./network/wiring.js') : undefined,
    spec.userns ? import('./userns.js') : undefined,
    spec.mounts.some((m) => m.volume) ? import('./volumes.js') : undefined,
  ]);
  if (wiring || userns) tl.mark('network/userns code loaded');
  return { wiring, userns, volumes };
}

/**
 * --ipc/--pid container:NAME and --ipc host (namespaces.ts, imported only then): the spec the plan is
 * made from, with the namespaces this launch joins and the /dev/shm it binds (resolved at each
 * launch: the target's pid changes with its runs); `close` lets go of what minidock holds open for
 * the child, once it has exec'd or failed. (Not kept in config.json: createEntry has the user's spec.)
 */
async function withJoins(spec: ContainerSpec, root: string): Promise<{ spec: ContainerSpec; close: () => void }> {
  if (!spec.namespaces?.ipc && !spec.namespaces?.pid) return { spec, close: () => {} };
  const { close, ...joins } = (await import('./namespaces.js')).resolveJoins(spec, root);
  return { spec: { ...spec, ...joins }, close };
}

/**
 * A joined PID namespace (--pid container:): the container's init is the FORK step's child
 * (CLONE_PARENT: our child too), and the process we cloned has exited. From here `child` is the
 * init: its pid is the one signalled, waited for and recorded.
 */
async function followForkedInit(run: Foreground, child: Child, pid: number): Promise<void> {
  await child.exited;
  child.pid = pid;
  child.exited = waitExit(pid);
  run.reaped = false;
  void child.exited.then(
    () => (run.reaped = true),
    () => undefined,
  );
}

/** No --network (or none): a namespace with only lo, nothing to prepare, connect or release. */
const NO_NETWORK: NetPlan = { mode: 'none' };

/** Before clone, for a launch with a network: its lease, its name files (network/wiring.ts). */
function prepareNetworkOf(spec: ContainerSpec, opts: LaunchOptions, code: OptionalCode, dir: string): NetPlan {
  return code.wiring
    ? code.wiring.prepareNetwork(spec.network, {
        root: opts.root,
        id: spec.id,
        name: opts.existing ? opts.existing.config?.name : spec.name, // (renamed since: config.json's)
        dir,
        hostname: spec.hostname,
        autoRemove: opts.autoRemove,
        userns: spec.userns !== undefined,
        onNotice: opts.onNotice,
      })
    : NO_NETWORK;
}

/** The container as its events name it (lifecycle/events.ts): a start after a rename has the new name. */
const subjectOf = (spec: ContainerSpec, opts: LaunchOptions): EventSubject => ({
  id: spec.id,
  config: { name: opts.existing ? opts.existing.config?.name : spec.name, spec },
});

/** It runs and is the user's: `create` (a new one) and `start` into the event journal. */
function journalStart(spec: ContainerSpec, opts: LaunchOptions): void {
  const start = { action: 'start' as const };
  appendEvents(opts.root, subjectOf(spec, opts), opts.existing ? [start] : [{ action: 'create' }, start]);
}

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
  /** a line to show the user while the container runs (a forwarded signal its PID 1 ignores) */
  onNotice?: (line: string) => void;
  /** start (lifecycle/start.ts): the container exists, made by create or run before; its directory,
   * name, upper layer and log are reused, and a launch that fails puts its state.json back as it
   * was instead of removing it. The caller holds its lock (lockContainer); the launch releases it. */
  existing?: Entry;
  /** the restart policy's count so far and the back-off waited before the last restart (a relaunch
   * by the monitor: lifecycle/start.ts); absent: a user's start, from 0 */
  restarts?: { count: number; lastDelayMs?: number };
}

/** The overlay directories, created inside the (staging) container directory `at`; paths name `dir`.
 * dryRun (--dry-run): create nothing; a state root not made yet would be on its nearest existing ancestor's filesystem. */
export function layerDirs(
  root: string,
  dir: string,
  dryRun = false,
): { dirs: LayerDirs; populate: (at: string) => void } {
  // If the state root itself is on overlayfs (minidock running inside a container), upper/work
  // cannot live there: they go on a tmpfs mounted by the child.
  const onOverlay = statfsSync(dryRun ? nearestExisting(root) : ensureStateRoot(root)).type === OVERLAYFS_SUPER_MAGIC; // (made on first use)
  const layer = onOverlay ? pathIn(dir, 'layer') : dir;
  const dirs: LayerDirs = { merged: pathIn(dir, 'merged'), upper: pathIn(layer, 'upper'), work: pathIn(layer, 'work') };
  if (onOverlay) dirs.tmpfsFor = layer;
  const populate = (at: string): void => {
    mkdirSync(pathIn(at, 'merged'));
    if (onOverlay) {
      mkdirSync(pathIn(at, 'layer'));
    } else {
      mkdirSync(pathIn(at, 'upper'));
      mkdirSync(pathIn(at, 'work'), { mode: 0o700 });
    }
  };
  return { dirs, populate };
}

/** Where the container's cgroup goes and what it restricts (--cgroup-parent; devices unless --privileged). */
export function cgroupOptions(spec: ContainerSpec): CgroupOptions {
  return {
    parent: spec.cgroupParent,
    restrictDevices: !spec.privileged,
    // --device: the container may open its nodes (the rule as kernel-flags.ts deviceRule writes it)
    ...(spec.devices?.length
      ? { deviceRules: spec.devices.map((d) => `${d.type} ${d.major}:${d.minor} ${d.access}`) }
      : {}),
  };
}

/** The container's cgroup: named after its short id, the minimal /dev unless --privileged.
 * dryRun (--dry-run): decided by the same code, but nothing created or written (CgroupOptions.dryRun). */
export function containerCgroup(spec: ContainerSpec, dryRun = false): Cgroup {
  // (a normal user: its delegated cgroup v2 subtree, or none; cgroups/none.ts)
  if (spec.userns?.rootless)
    return rootlessCgroup(`minidock-${spec.id.slice(0, 12)}`, spec.limits, { ...cgroupOptions(spec), dryRun });
  return createCgroup(`minidock-${spec.id.slice(0, 12)}`, spec.limits, { ...cgroupOptions(spec), dryRun });
}

export interface LaunchOutcome {
  exitCode: number; // shell-style: status, or 128+signal
  signal?: number;
  oomKilled: boolean;
  stats?: CgroupStats;
  cgroup?: Cgroup;
  steps: Step[];
  records: ChildRecord[];
  /** the container's first process, as a host pid (oom-forensics.ts matches it against the kernel's OOM victims) */
  pid?: number;
  /** what to tell the user about OOM kills in the container, if there were any (oom-forensics.ts) */
  oomMessage?: string;
  /** what minidock could not write after the container exited (a full disk): the exit code stands */
  warning?: string;
}

/** What the two launches share up to the clone: the container's directory and entry, then its cgroup. */
interface Prepared {
  entry: Entry;
  dirs: LayerDirs;
  /** its state.json "created", by this process (pid + start time), this boot */
  state: ContainerState;
}

/** 1. The container's directory in the state store (config.json, state.json "created") with the
 * overlay's directories. Without --rm it stays after the exit, as in Docker. */
function createEntry(spec: ContainerSpec, opts: LaunchOptions, code: OptionalCode, detached: boolean): Prepared {
  if (opts.existing) return reuseEntry(spec, opts, code, opts.existing);
  const { dirs, populate } = layerDirs(opts.root, containerDir(opts.root, spec.id));
  // (its cgroups recorded before they exist: a SIGKILL between the mkdirs and a later write would leave them unrecorded)
  const cgroupPaths = containerCgroup(spec, true).paths;
  const entry = createContainer(opts.root, spec, { detached, autoRemove: !!opts.autoRemove, populate, cgroupPaths });
  try {
    // (after the container: from here `volume rm` sees it using them)
    code.volumes?.ensureVolumes(opts.root, spec);
    // a user namespace: upper and work the mapped root's, every path it mounts through reachable (userns.ts)
    if (spec.userns && code.userns)
      code.userns.prepareForMappedRoot(
        entry.dir,
        dirs,
        [...(spec.lowerDirs ?? [spec.rootfs]), ...spec.mounts.map((v) => v.source)],
        spec.userns,
      );
    opts.timeline.mark('directories');
    killPoint('dirs');
  } catch (e) {
    // (a volume that could not be filled from the image, a mapped root's chown: nothing else of the
    // launch exists yet, and the caller's clean-up is not set up until this returns)
    removeDir(entry.dir);
    releaseName(opts.root, spec.name, spec.id);
    throw e;
  }
  return { entry, dirs, state: entry.state! };
}

/**
 * 1'. start: the container's own directory again. state.json names this process as its launcher
 * (status "created", or "restarting" for a relaunch: both not final, so a launch that dies here is
 * found stale by gc) and the cgroups about to be made; the upper layer, name and log stay. The
 * network of its last run (a detached container keeps its lease until rm) is released first.
 */
function reuseEntry(spec: ContainerSpec, opts: LaunchOptions, code: OptionalCode, e: Entry): Prepared {
  const { dirs } = layerDirs(opts.root, e.dir);
  if (code.wiring && existsSync(pathIn(e.dir, 'network.json'))) code.wiring.releaseNetwork(opts.root, e.id, e.dir);
  const { pid, pidStart, monitorPid, monitorStart, ...before } = e.state ?? { status: 'created' };
  const state: ContainerState = {
    ...before,
    status: before.status === 'restarting' ? 'restarting' : 'created',
    launcherPid: process.pid,
    launcherStart: procStart('self'),
    bootId: bootId(),
    cgroupPaths: containerCgroup(spec, true).paths,
  };
  writeState(e.dir, state);
  try {
    code.volumes?.ensureVolumes(opts.root, spec); // (made again if someone removed it by hand)
  } catch (err) {
    restoreEntry(e);
    throw err;
  }
  opts.timeline.mark('directories');
  killPoint('dirs');
  return { entry: { ...e, state }, dirs, state };
}

/** A start that failed: state.json as it was before (the container stays, created or exited). */
function restoreEntry(e: Entry): void {
  if (e.state) writeState(e.dir, e.state);
}

/**
 * create (lifecycle/create.ts): the container's directory, config.json and overlay directories, as
 * a launch makes them, then state.json "created" with no launcher: at rest, nothing runs, no cgroup.
 */
export async function defineContainer(spec: ContainerSpec, opts: LaunchOptions): Promise<Entry> {
  const code = await optionalCode(spec, opts.timeline);
  const { entry } = createEntry(spec, { ...opts, existing: undefined }, code, true);
  try {
    const config = { ...entry.config!, byCreate: true };
    writeJsonAtomic(pathIn(entry.dir, 'config.json'), config);
    const state: ContainerState = {
      status: 'created',
      bootId: bootId(),
      autoRemove: !!opts.autoRemove,
      cgroupPaths: [],
    };
    writeState(entry.dir, state);
    return { ...entry, config, state };
  } catch (e) {
    removeDir(entry.dir);
    releaseName(opts.root, spec.name, spec.id);
    throw e;
  } finally {
    unlockContainer(entry.dir);
  }
}

/** 2. The cgroup, with its limits, before the process exists; `state` records its paths. */
function createContainerCgroup(spec: ContainerSpec, opts: LaunchOptions, prepared: Prepared): Cgroup {
  const cgroup = containerCgroup(spec);
  try {
    const recorded = prepared.state.cgroupPaths ?? [];
    prepared.state = { ...prepared.state, cgroupPaths: cgroup.paths };
    // (never, unless the dry run is wrong)
    if (cgroup.paths.join() !== recorded.join()) writeState(containerDir(opts.root, spec.id), prepared.state);
    opts.timeline.mark('cgroup create + limits');
    killPoint('cgroup');
  } catch (e) {
    cgroup.destroy(); // (the caller's clean-up learns of it only when this returns)
    throw e;
  }
  return cgroup;
}

/** A foreground launch in progress: what its steps share, and what its cleanup must undo. */
interface Foreground {
  spec: ContainerSpec;
  opts: LaunchOptions;
  dir: string;
  cgroup?: Cgroup;
  child?: Child;
  /** the child has been reaped: its pid may belong to another process now */
  reaped: boolean;
  /** it exec'd and was recorded "running": without --rm it is the user's to keep */
  started: boolean;
  state?: ContainerState;
  cleanups: Array<() => void>;
  code: OptionalCode;
  /** --rm: the exit's events (oom, die), journaled with the destroy */
  ended: Array<{ action: EventAction; extra?: Record<string, string> }>;
}

/** The container's pid while it may be signalled (-1 before the clone and once reaped). */
const livePid = (run: Foreground): number => (run.child && !run.reaped ? run.child.pid : -1);

/**
 * 3-4. Clone, put the child into its cgroup, release it, and read its report to EOF: the child that
 * exec'd. (Steps 3 and 4 of docs/architecture.md; the protocol is handshake.ts.)
 */
async function startChild(
  run: Foreground,
  plan: LaunchPlan,
  net: NetPlan,
): Promise<{ child: Child; records: ChildRecord[] }> {
  const { spec, opts, cgroup, code } = run;
  const { steps } = plan;
  const tl = opts.timeline;
  const bytes = encodePlan(steps);
  tl.mark('plan built + encoded');
  // Forward SIGINT/SIGTERM/... from now on (a signal that arrives before the container has
  // exec'd still reaches it: it is blocked in the child until its handlers are reset).
  // PID 1 ignores signals it has no handler for, so after --stop-timeout it gets SIGKILL.
  run.cleanups.push(forwardSignals(() => livePid(run), spec.stopTimeoutSec * 1000, opts.onNotice));
  const child = spawnChild(
    bytes,
    plan.cloneFlags,
    'clone(CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET)',
    'minidock must run as root on a kernel with namespaces',
  );
  run.child = child;
  run.cleanups.push(() => closeChildFds(child));
  void child.exited.then(
    () => (run.reaped = true),
    () => undefined,
  );
  tl.mark('clone');
  killPoint('clone');

  // Join the cgroup BEFORE exec: from the first instruction of the container's program, its
  // memory, CPU and pids are accounted and limited. v2: the child is parked at its SYNC step;
  // v1: it joined by itself, first of its steps (plan.sync is false).
  await release(
    child,
    () => {
      if (plan.parentJoins.length) {
        cgroup!.join(child.pid);
        tl.mark('cgroup join');
      }
      if (spec.userns && code.userns) {
        writeIdMaps(child.pid, spec.userns); // the map step of the protocol (handshake.ts)
        tl.mark('uid_map + gid_map');
        const notice = code.userns.idmapLowerLayers(child.pid, spec.userns, spec.lowerDirs ?? [spec.rootfs]); // (userns.ts, native/idmap.c)
        if (notice) opts.onNotice?.(notice);
        tl.mark('idmapped lower layers');
      }
      if (net.vethAtSync && code.wiring) {
        code.wiring.connectChild(opts.root, spec.id, child.pid, net); // a user namespace's veth pair (network/wiring.ts)
        tl.mark('veth pair');
      }
      killPoint('join');
    },
    plan.sync,
  );
  const { records, forkedPid } = readReport(child);
  if (forkedPid !== undefined) await followForkedInit(run, child, forkedPid);
  tl.mark('child ran the plan');
  tl.child(steps, records);
  const failure = launchFailure(records, steps, spec);
  if (failure) {
    await child.exited;
    throw failure;
  }
  if (spec.network?.ports.length && code.wiring) {
    try {
      code.wiring.publishPorts(spec.id, net, spec.network.ports); // (eth0 exists now)
    } catch (e) {
      await abandon(child);
      throw e;
    }
    tl.mark('published ports');
  }
  return { child, records };
}

/** 5. The relay of the container's terminal (-t) or of the pipes that replaced the user's terminal. */
async function startRelay(
  run: Foreground,
  child: Child,
  terminals: number,
): Promise<import('./tty.js').Relay | undefined> {
  let relay: import('./tty.js').Relay | undefined;
  const master = receiveConsole(child);
  if (master !== undefined) {
    relay = (await import('./tty.js')).startRelay(master); // loaded only for -t
  } else if (stdioPipes(run.spec, terminals)) {
    relay = (await import('./stdio-relay.js')).startPipeRelay(child.stdioFds); // loaded only when stdio is a terminal
    child.stdioFds = [-1, -1, -1]; // the relay's now
  }
  if (relay)
    run.cleanups.push(
      () => relay?.stop(),
      killIfOutputGone(relay, () => livePid(run), run.spec.stopTimeoutSec * 1000),
    );
  return relay;
}

/** Foreground: this minidock is the container's monitor (ps lists it; gc knows it by pid + start).
 * Not recorded (a full disk): the container is killed and removed before it did anything. */
function recordRunning(run: Foreground, pid: number): void {
  run.state = {
    ...run.state!,
    status: 'running',
    pid,
    pidStart: procStart(pid),
    monitorPid: process.pid,
    monitorStart: run.state!.launcherStart,
    startedAt: isoNow(),
  };
  writeState(run.dir, run.state);
  run.started = true;
  unlockContainer(run.dir); // it runs: rm may have it now (see lockContainer)
  killPoint('exec');
}

/** 6. How it ended: the exit code, the OOM truth, the statistics; state.json "exited" unless --rm. */
function outcomeOf(run: Foreground, status: number, steps: Step[], records: ChildRecord[]): LaunchOutcome {
  const { spec, opts } = run;
  const cgroup = run.cgroup!;
  const { code, signal } = exitCodeOf(status);
  const oomKills = cgroup.oomKills();
  const stats = opts.stats || oomKills ? cgroup.stats() : { oomKills };
  const outcome: LaunchOutcome = {
    exitCode: code,
    signal,
    oomKilled: false,
    stats,
    cgroup,
    steps,
    records,
    pid: run.child!.pid,
  };
  // The OOM truth: whom the kernel killed (its log, oom-forensics.ts), not a guess from the exit signal.
  const oom = oomTruth(outcome, spec);
  outcome.oomKilled = oom.initKilled;
  outcome.oomMessage = oom.message;
  // Journaled before state.json says "exited" (as the monitor does): a stop that sees the exit comes
  // after. --rm writes no "exited": these go with the destroy that follows, in one write (cleanUp).
  const ended = [
    ...(oomKills ? [{ action: 'oom' as const }] : []),
    { action: 'die' as const, extra: { exitCode: String(code) } },
  ];
  if (opts.autoRemove) run.ended = ended;
  else appendEvents(opts.root, subjectOf(spec, opts), ended);
  if (!opts.autoRemove) {
    run.state = {
      ...run.state!,
      status: 'exited',
      finishedAt: isoNow(),
      exitCode: code,
      signal,
      oomKilled: oom.initKilled,
      oomKills: stats.oomKills ?? 0,
    };
    try {
      writeState(run.dir, run.state);
    } catch (e) {
      // The container ran and exited: its status is the answer, whatever minidock can still write.
      outcome.warning =
        `the container exited with ${code}, but its exit could not be recorded: ${(e as Error).message}; ` +
        `until it is, ps -a shows it as dead (remove it with minidock rm ${spec.id.slice(0, 12)})`;
    }
  }
  return outcome;
}

/** Whatever happened: no process, cgroup, fd or (unless kept) directory of this launch is left. */
function cleanUp(run: Foreground): void {
  const pid = livePid(run);
  if (pid > 0) {
    // We are leaving early (an error): the container must not outlive us.
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  run.cgroup?.destroy();
  for (const c of run.cleanups.reverse()) {
    try {
      c();
    } catch {
      /* best effort; gc catches the rest */
    }
  }
  unlockContainer(run.dir);
  run.opts.timeline.mark('cleanup');
}

export async function launch(spec: ContainerSpec, opts: LaunchOptions): Promise<LaunchOutcome> {
  const tl = opts.timeline;
  const run: Foreground = {
    spec,
    opts,
    dir: containerDir(opts.root, spec.id),
    reaped: false,
    started: false,
    cleanups: [],
    ended: [],
    code: await optionalCode(spec, tl),
  };
  try {
    // (before anything is made: a target that does not run leaves nothing behind)
    const joined = await withJoins(spec, opts.root);
    run.cleanups.push(joined.close);
    const prepared = createEntry(spec, opts, run.code, false);
    run.state = prepared.state;
    run.cleanups.push(() => {
      if (opts.existing && !run.started) return restoreEntry(opts.existing);
      if (opts.autoRemove || !run.started) {
        removeDir(run.dir);
        releaseName(opts.root, spec.name, spec.id);
        if (run.started) appendEvents(opts.root, subjectOf(spec, opts), [...run.ended, { action: 'destroy' }]);
      }
    });
    run.cgroup = createContainerCgroup(spec, opts, prepared);
    run.state = prepared.state;

    // the network: its lease and name files before clone; released whenever this launch ends
    // (a container's address and ports belong to its running life; a kept one keeps network.json)
    // (by now the container's last process is gone: its namespace, and with it the veth pair, dies)
    run.cleanups.push(() => run.code.wiring?.releaseNetwork(opts.root, spec.id, run.dir, true));
    const net = prepareNetworkOf(spec, opts, run.code, run.dir);
    if (net.attachment) tl.mark('network: bridge, NAT, lease');

    const terminals = mdTerminals(); // which of our fds 0-2 are the user's terminal (kept from the container)
    const plan = planLaunch(joined.spec, prepared.dirs, run.cgroup, terminals, undefined, net); // the same decision --dry-run prints
    const { child, records } = await startChild(run, plan, net);
    joined.close();
    const relay = await startRelay(run, child, terminals);
    recordRunning(run, child.pid);
    journalStart(spec, opts);
    opts.onStarted?.(child.pid);

    // Wait for the exit status (signals are being forwarded, see startChild).
    const status = await child.exited;
    // the last output may still sit in the pty or the pipes: drain it (EIO or EOF comes right after;
    // the bound is for a descriptor someone outside the container still holds)
    if (relay) await Promise.race([relay.done, new Promise((r) => setTimeout(r, 1000))]);
    tl.mark('container ran');
    return outcomeOf(run, status, plan.steps, records);
  } finally {
    cleanUp(run);
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
    if (r === 0)
      throw new MinidockError(
        `the monitor exited before it sent ${what} — see ${monitorPath()}; minidock gc removes what is left`,
      );
    got += r;
  }
  return buf;
}

function monitorStateError(err: number, path: string): MinidockError {
  const e = storageError(Object.assign(new Error(errnoName(err)), { code: errnoName(err) }), path);
  return e instanceof MinidockError ? e : new MinidockError(`the monitor could not write ${path}: ${errnoName(err)}`);
}

/** Start the C monitor for this container: its argv says where the container lives, how to clone
 * it, what to remove after it; the plan follows on the control socket. Returns our end of that. */
function startMonitor(
  spec: ContainerSpec,
  opts: LaunchOptions,
  plan: LaunchPlan,
  cgroup: Cgroup,
  /** the journal's (--events) and the restart policy's arguments; --relaunch, if any, last */
  restartArgs: string[],
): number {
  // The OOM counter the monitor reads after the exit: v1 memory.oom_control, v2 memory.events.
  const oomFile = cgroup.paths
    .map((p) => pathIn(p, cgroup.mode === 'v1' ? 'memory.oom_control' : 'memory.events'))
    .find((f) => existsSync(f));
  // On v1 the child joins its own cgroups: then nothing happens between clone and exec that
  // needs us, and the plan has no SYNC step (`--no-sync`, see monitor.c): one round trip less.
  const argv = [
    monitorPath(),
    containerDir(opts.root, spec.id),
    String(plan.cloneFlags),
    ...(opts.autoRemove ? ['--rm'] : []),
    ...(plan.sync ? [] : ['--no-sync']),
    ...(oomFile ? ['--oom', oomFile] : []),
    ...cgroup.paths.flatMap((p) => ['--cgroup', p]),
    ...monitorIoArgs(spec),
    ...restartArgs,
  ];
  const monitorPid = mdStartMonitor(argv);
  if (monitorPid < 0)
    throw new MinidockError(
      `posix_spawn(${monitorPath()}): ${errnoName(-monitorPid)} — run \`npm run build\` (make -C native builds the monitor)`,
    );
  opts.timeline.mark('monitor started');
  killPoint('monitor');
  return mdMonitorCtlFd();
}

/** --log-driver none, json-file's rotation (log-config.ts), and -i: the monitor keeps the
 * container's stdin open for `minidock attach` (-t with -d -i is refused by run). */
function monitorIoArgs(spec: ContainerSpec): string[] {
  const log = spec.logConfig;
  return [
    ...(log?.type === 'none' ? ['--log', 'none'] : []),
    ...(log?.maxSize ? ['--log-max-size', String(log.maxSize), '--log-max-file', String(log.maxFile ?? 1)] : []),
    ...(spec.interactive && !spec.tty ? ['--stdin'] : []),
  ];
}

/**
 * The launch protocol through the monitor (handshake.ts; the monitor's side is at the top of
 * monitor.c): the plan goes out; the pid comes back, we join the cgroup and send MSG.RELEASE (v2);
 * the records come back once the child exec'd or failed. Throws the failed step's error.
 */
function launchThroughMonitor(
  ctl: number,
  spec: ContainerSpec,
  opts: LaunchOptions,
  plan: LaunchPlan,
  cgroup: Cgroup,
  net: NetPlan,
  code: OptionalCode,
): void {
  const tl = opts.timeline;
  const bytes = encodePlan(plan.steps);
  tl.mark('plan built + encoded');
  // u32 length + plan in one write: each write wakes the monitor up
  const msg = Buffer.alloc(4 + bytes.length);
  msg.writeUInt32LE(bytes.length);
  msg.set(bytes, 4);
  writeSync(ctl, msg);
  const pid = readFull(ctl, 4, 'the container pid').readInt32LE(0);
  if (pid < 0)
    throw new MinidockError(
      `clone(CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET) in the monitor: ${errnoName(-pid)} — minidock must run as root on a kernel with namespaces`,
    );
  tl.mark('clone (in the monitor)');
  killPoint('clone');

  // Join the cgroup before exec (v2; on v1 the child joined itself), write a user namespace's
  // maps (the same map step as handshake.ts), then release the child.
  // (either failing: the caller closes the socket, and EOF instead of 'G' makes the monitor kill it)
  if (plan.parentJoins.length) {
    cgroup.join(pid);
    tl.mark('cgroup join');
  }
  if (spec.userns && code.userns) {
    writeIdMaps(pid, spec.userns);
    tl.mark('uid_map + gid_map');
    const notice = code.userns.idmapLowerLayers(pid, spec.userns, spec.lowerDirs ?? [spec.rootfs]);
    if (notice) opts.onNotice?.(notice);
    tl.mark('idmapped lower layers');
  }
  if (net.vethAtSync && code.wiring) {
    code.wiring.connectChild(opts.root, spec.id, pid, net);
    tl.mark('veth pair');
  }
  killPoint('join');
  if (plan.sync) writeSync(ctl, MSG.RELEASE);

  const n = readFull(ctl, 4, 'the step records').readUInt32LE(0);
  const records = parseRecords(n ? readFull(ctl, n * REPORT_BYTES, 'the step records') : Buffer.alloc(0));
  tl.mark('child ran the plan');
  tl.child(plan.steps, records);
  const last = records[records.length - 1];
  if (last?.step === REPORT_STATE)
    throw monitorStateError(last.err, pathIn(containerDir(opts.root, spec.id), 'state.json'));
  const failure = launchFailure(records, plan.steps, spec);
  if (failure) throw failure;
  // (eth0 exists now; a failure here closes the socket before MSG.ACK: the monitor kills the container)
  if (spec.network?.ports.length && code.wiring) {
    code.wiring.publishPorts(spec.id, net, spec.network.ports);
    tl.mark('published ports');
  }
  killPoint('exec');
}

/**
 * Start a detached container. The C monitor (native/monitor.c) becomes its parent and stays; this
 * process leaves as soon as the container has exec'd, or with the failing step's error. The
 * conversation on the control socket is described at the top of monitor.c.
 * Returns the container's entry; its state is "running" by then (or already "exited").
 */
export async function launchDetached(spec: ContainerSpec, opts: LaunchOptions): Promise<Entry> {
  const dir = containerDir(opts.root, spec.id);
  let cgroup: Cgroup | undefined;
  let ctl = -1;
  let ok = false;
  const code = await optionalCode(spec, opts.timeline);
  const restartArgs = spec.restartPolicy ? await monitorRestartArgs(spec, opts) : [];
  // --health-cmd / HEALTHCHECK: the monitor's keeper probes through `minidock exec` (lifecycle/health.ts)
  const healthArgs = spec.healthcheck
    ? (await import('./lifecycle/health.js')).monitorHealthArgs(
        spec,
        opts.root,
        posix.join(packageRoot(), 'bin', 'minidock.js'),
      )
    : [];
  let joined: Awaited<ReturnType<typeof withJoins>> | undefined;
  try {
    joined = await withJoins(spec, opts.root); // (before anything is made)
    const prepared = createEntry(spec, opts, code, true);
    cgroup = createContainerCgroup(spec, opts, prepared);
    const net = prepareNetworkOf(spec, opts, code, dir);
    const plan = planLaunch(joined.spec, prepared.dirs, cgroup, 0, undefined, net); // the same decision --dry-run prints
    ctl = startMonitor(spec, opts, plan, cgroup, [
      ...monitorEventArgs(opts.root, subjectOf(spec, opts)),
      ...healthArgs, // (before the restart arguments: --relaunch takes the rest)
      ...restartArgs,
    ]);
    launchThroughMonitor(ctl, spec, opts, plan, cgroup, net, code);
    // We will print the ID: from now on the container is the user's. The monitor wrote "running"
    // into state.json before it sent the records. (Journaled before the ACK: the monitor's die
    // comes after it, so the journal never has a die before its start.)
    journalStart(spec, opts);
    writeSync(ctl, MSG.ACK);
    ok = true;
    opts.timeline.mark('monitor took over');
    return prepared.entry;
  } finally {
    joined?.close();
    if (ctl >= 0) closeSync(ctl); // before MSG.ACK, EOF tells the monitor to kill the container and go
    if (!ok) {
      cgroup?.destroy();
      try {
        code.wiring?.releaseNetwork(opts.root, spec.id, dir); // (the monitor killed the child: its veth went with it)
      } catch {
        /* gc reclaims the rest */
      }
      if (opts.existing) {
        restoreEntry(opts.existing);
      } else {
        removeDir(dir);
        releaseName(opts.root, spec.name, spec.id);
      }
    }
    unlockContainer(dir); // the monitor has it, or nothing is left
  }
}

/**
 * The monitor's arguments for the restart policy (restart-policy.ts): when to restart and after
 * what back-off, and how: the monitor execs `minidock start --relaunch` (lifecycle/start.ts), which
 * launches the next run through this same code (cgroups, network, user namespace) and a new monitor.
 */
async function monitorRestartArgs(spec: ContainerSpec, opts: LaunchOptions): Promise<string[]> {
  const { monitorRestartArgs: args } = await import('./restart-policy.js');
  const policy = args(spec.restartPolicy, opts.restarts?.count ?? 0, opts.restarts?.lastDelayMs);
  if (!policy.includes('--restart')) return policy;
  const bin = posix.join(packageRoot(), 'bin', 'minidock.js');
  return [...policy, '--relaunch', bin, 'start', '--relaunch', '--root', opts.root, spec.id];
}
