// OCI create and start: one launch split in two processes at runc's exec.fifo point.
//
//   create                                             child (native/child.c)
//   ------                                             ----------------------
//   mapConfig(config.json), the cgroup with its limits
//   mknod <root>/<id>/exec.fifo; open it O_PATH (fd N)
//   md_spawn ── clone() ─────────────────────────────> the plan's steps: mounts ...
//   [prestart/createRuntime: waitAtSync, the report   SYNC (v2: after pivot_root; v1: it joined
//    up to the step before SYNC]                        itself, step 0 — with hooks: hookSync)
//   release: join the cgroup (v2),                       ...blocks...
//     [prestart, createRuntime: "creating", its pid]
//     'G' (in-container hooks: 'P' + pid) ────────────> [createContainer hooks]; pivot_root
//                                                      ... identity, capabilities, fds, stdio
//                        <── report: {EXEC_FIFO, 0}    EXEC_FIFO: PR_SET_PDEATHSIG 0; close(report)
//   readReport: EOF = it is held (or it failed)        open("/proc/self/fd/N", O_WRONLY) ...blocks...
//   console: pass the pty master to --console-socket
//   --pid-file, state.json "created"; exit
//                                    (the child is now the engine's: create was its parent, and the
//                                     engine, a subreaper, adopts it — no minidock process in between)
//   start
//   open(exec.fifo, O_RDONLY|O_NONBLOCK) ───────────> the open returns; write("0")
//   read the byte                                      [startContainer hooks: their records, and
//   [startContainer hooks: the records to EOF]          exec's, on the fifo]
//   unlink the fifo; "running"                         [late seccomp]; execve (EOF on the fifo)
//
// Library code (src/runtime's rules): returns values, throws MinidockError (code 1: runc's exit
// status), reports warnings through onWarning; never prints.
import {
  chmodSync,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  constants as fsc,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { MinidockError } from '../errors.js';
import { errnoName } from '../sys/errno.js';
import { CLONE, MS } from '../sys/constants.js';
import { procStart, isProcess } from '../sys/proc.js';
import { deviceNodeSteps, planLaunch, sysctlStep, type LaunchPlan } from '../runtime/build-plan.js';
import { capMask } from '../runtime/capabilities.js';
import type { Cgroup } from '../runtime/cgroups/types.js';
import {
  abandon,
  closeChildFds,
  forkedPidOf,
  readReport,
  receiveConsole,
  release,
  spawnChild,
  waitAtSync,
  writeIdMaps,
  type Child,
} from '../runtime/handshake.js';
import { Op, STEP_FLAGS, encodePlan, type Step } from '../runtime/plan.js';
import { launchFailure, parseRecords } from '../runtime/step-error.js';
import type { ChildRecord } from '../runtime/trace.js';
import type { ContainerSpec, NamespaceType } from '../runtime/spec.js';
import { mapConfig, readBundleConfig, type OciConfig } from './config.js';
import { hookSteps, IN_CONTAINER, runHooks, type Hooks } from './hooks.js';
import type { OciState } from './runtime-state.js';
import { checkId, containerPath, loadState, stateOf, writeRecord, type OciRecord } from './state.js';

/** O_PATH (not in node's fs.constants): an fd naming the fifo without opening it for I/O. Opening a
 * fifo for reading or writing blocks until the other side opens too — O_PATH does not. */
const O_PATH = 0o10000000;
const S_IFIFO = 0o010000;

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  onWarning?: (line: string) => void;
  /** what runc logs only at debug level (the command passes it with --debug) */
  onDebug?: (line: string) => void;
  /** --preserve-fds N: our fds 3..3+N-1 (the engine's) stay open in the container's process */
  preserveFds?: number;
  /** --trace: the phases and the child's steps, as `minidock run --trace` shows them */
  timeline?: import('../runtime/trace.js').Timeline;
}

/** The fifo `start` opens: <root>/<id>/exec.fifo. */
export function execFifoPath(root: string, id: string): string {
  return join(containerPath(root, id), 'exec.fifo');
}

/** config.json -> the mapped container, with the OCI-only checks of create's flags. */
export function loadBundle(
  o: Pick<CreateOptions, 'id' | 'bundle' | 'consoleSocket'>,
  compileSeccomp: NonNullable<Parameters<typeof mapConfig>[2]['compileSeccomp']>,
): OciConfig & { ociVersion: string } {
  const bundle = resolve(o.bundle);
  const json = readBundleConfig(bundle);
  const cfg = mapConfig(json, bundle, {
    id: randomBytes(32).toString('hex'),
    name: o.id,
    compileSeccomp,
    hostHostname: hostname,
  });
  if (cfg.spec.tty && !o.consoleSocket)
    throw new MinidockError(
      'cannot allocate tty if runc will detach without setting console socket (process.terminal is true: pass --console-socket SOCK)',
      1,
    );
  if (!cfg.spec.tty && o.consoleSocket)
    throw new MinidockError(
      'cannot use console socket if runc will not detach or allocate tty (process.terminal is false)',
      1,
    );
  const inContainer = IN_CONTAINER.filter((p) => cfg.extras.hooks[p]?.length);
  if (inContainer.length && cfg.extras.joinNamespaces.some((j) => j.type === 'pid'))
    throw new MinidockError(
      `config.json: hooks.${inContainer[0]} with a PID namespace to join (linux.namespaces path) is not supported by minidock yet — the hooks' state needs the pid of the process the plan forks into that namespace, which minidock learns only after the release (see docs/oci.md)`,
      1,
    );
  for (const j of cfg.extras.joinNamespaces) {
    // (pid and mount: see build-plan.ts joinSteps; a cgroup namespace the plan unshares after the join itself)
    if (!['network', 'ipc', 'uts', 'pid', 'mount'].includes(j.type)) {
      throw new MinidockError(
        `config.json: linux.namespaces: joining a ${j.type} namespace (path ${j.path}) is not supported by minidock yet — only network, ipc, uts, pid and mount namespaces can be joined (see docs/oci.md)`,
        1,
      );
    }
  }
  return { ...cfg, ociVersion: String(json.ociVersion) };
}

/** cgroupsPath -> createCgroup's (parent, name): "/a/b/c" is c under /a/b of each hierarchy
 * (relative paths are taken from the hierarchy's root too); none: minidock-oci-<id> under our own. */
function cgroupPlace(cgroupsPath: string | undefined, id: string): { name: string; parent?: string } {
  if (!cgroupsPath) return { name: `minidock-oci-${id}` };
  if (cgroupsPath.includes(':'))
    throw new MinidockError(
      `linux.cgroupsPath ${cgroupsPath}: the systemd form slice:prefix:name needs --systemd-cgroup, which minidock does not support — give a path (/a/b/c)`,
      1,
    );
  const p = `/${cgroupsPath}`.replace(/\/+/g, '/').replace(/\/$/, '');
  if (p === '' || p.split('/').includes('..'))
    throw new MinidockError(
      `linux.cgroupsPath ${cgroupsPath}: must name a cgroup below the hierarchy's root, without ".."`,
      1,
    );
  return { name: p.slice(p.lastIndexOf('/') + 1), parent: dirname(p) };
}

/** The OCI extras that are plan steps, each part of config.json in turn (namespaces to join, capabilities, mounts, sysctls, devices, umask). */
function ociSteps(plan: LaunchPlan, cfg: OciConfig): void {
  const { steps } = plan;
  capabilitySets(steps, cfg);
  standardMountOrder(steps);
  maskDirectories(steps, cfg);
  bindMountFlags(steps, cfg);
  tmpfsMounts(steps, cfg);
  afterPivot(steps, cfg);
  if (cfg.spec.userns) reachRootfsFirst(steps, cfg.spec.rootfs);
  sharedNamespaces(plan, cfg);
  // process.user.umask: the program's, set last before it runs (the plan's own files are made before)
  if (cfg.extras.umask !== undefined) {
    const fifo = steps.findIndex((s) => s.op === Op.EXEC_FIFO);
    steps.splice(fifo, 0, {
      op: Op.UMASK,
      ints: [cfg.extras.umask],
      why: `config.json process.user.umask ${cfg.extras.umask.toString(8).padStart(4, '0')}`,
      phase: 'exec',
    });
  }
}

/**
 * A user namespace: the mapped root must reach the rootfs, which sits in a bundle directory it
 * cannot search (runtime-tools makes it 0700, owned by host root; the kernel checks a mapped root's
 * access with its host uid, and its capabilities hold only over inodes whose owner is mapped).
 * Until SETUID the child's uid is still host root's (uid_map changes what the ids mean, not the
 * ids it holds), and clone gave it every capability in its new user namespace, which owns its
 * new mount namespace. So, as runc does by starting its init in the rootfs: the rootfs bind and a
 * chdir into it happen before the identity steps, and every later path in the rootfs is relative
 * to that directory ("./proc"), resolved from it without searching the bundle directory again.
 * (The chdir comes after the bind: a working directory taken before stays on the mount beneath.)
 */
function reachRootfsFirst(steps: Step[], rootfs: string): void {
  const identity = steps.filter(
    (s) => s.phase === 'identity' && steps.indexOf(s) < steps.findIndex((m) => m.op === Op.MOUNT),
  );
  for (const s of identity) steps.splice(steps.indexOf(s), 1);
  const bind = steps.findIndex((s) => s.op === Op.MOUNT && s.phase === 'rootfs' && s.strs?.[1] === rootfs);
  for (const s of steps.slice(bind + 1)) {
    s.strs = s.strs?.map((p) =>
      typeof p !== 'string' ? p : p === rootfs ? '.' : p.startsWith(`${rootfs}/`) ? `.${p.slice(rootfs.length)}` : p,
    );
  }
  steps.splice(
    bind + 1,
    0,
    {
      op: Op.CHDIR,
      strs: [rootfs],
      why: 'stand in the rootfs while still host root: the mapped root could not search the bundle directory above it',
      phase: 'rootfs',
    },
    ...identity,
  );
}

/** Steps that act on the host's own namespace when config.json shares it (and so are not made). */
const MOUNT_OPS: ReadonlySet<Op> = new Set([
  Op.MOUNT,
  Op.UMOUNT2,
  Op.MKDIR,
  Op.TOUCH,
  Op.SYMLINK,
  Op.PIVOT_ROOT,
  Op.MKNOD,
]);

/**
 * linux.namespaces leaves some out (config.ts mapNamespaces): no CLONE_NEW* flag for them, and none
 * of the steps that would act on the host's namespace then: the loopback (network), the hostname
 * (uts), the cgroup namespace's unshare, and without a mount namespace every mount, mount point,
 * pivot_root and the chdirs around it — the container runs in the host's mounts and root directory,
 * as runc's does (it prepares a rootfs only in a new mount namespace). What stays: the cgroup join,
 * the identity, capabilities, rlimits, seccomp, the working directory, exec.fifo and execve.
 */
function sharedNamespaces(plan: LaunchPlan, cfg: OciConfig): void {
  const shared = new Set(cfg.extras.sharedNamespaces);
  if (shared.size === 0) return;
  const flag: Record<string, number> = {
    network: CLONE.CLONE_NEWNET,
    ipc: CLONE.CLONE_NEWIPC,
    uts: CLONE.CLONE_NEWUTS,
    pid: CLONE.CLONE_NEWPID,
    mount: CLONE.CLONE_NEWNS,
  };
  for (const t of shared) plan.cloneFlags &= ~(flag[t] ?? 0);
  const hostOnes = (s: Step): boolean =>
    (shared.has('network') && s.op === Op.LOOPBACK_UP) ||
    (shared.has('uts') && s.op === Op.SETHOSTNAME) ||
    (shared.has('cgroup') && s.op === Op.UNSHARE && s.ints?.[0] === CLONE.CLONE_NEWCGROUP) ||
    (shared.has('mount') &&
      (MOUNT_OPS.has(s.op) ||
        (s.op === Op.CHDIR && s.phase !== 'exec') ||
        (s.op === Op.WRITE_FILE && s.phase !== 'cgroup')));
  const kept = plan.steps.filter((s) => !hostOnes(s));
  plan.steps.splice(0, plan.steps.length, ...kept);
}

/** process.capabilities: a non-root user's own sets, and the ambient set. */
function capabilitySets(steps: Step[], cfg: OciConfig): void {
  // process.capabilities.ambient: the CAPSET step's 4th mask
  const capset = steps.find((s) => s.op === Op.CAPSET);
  // a non-root user: the sets config.json gives (after the setuid, which KEEPCAPS survived with all permitted)
  const user = cfg.extras.userCaps;
  if (capset && user) capset.ints = [capMask(user.effective), capMask(user.permitted), capMask(user.inheritable)];
  if (capset && cfg.extras.ambient.length) capset.ints = [...(capset.ints ?? []), capMask(cfg.extras.ambient)];
}

function standardMountOrder(steps: Step[]): void {
  // config.json's order of the standard mounts (runtime-tools checks it): /sys after /dev's
  const sys = steps.findIndex((s) => s.op === Op.MKDIR && String(s.strs?.[0]).endsWith('/sys') && s.phase === 'mounts');
  if (sys >= 0 && steps[sys + 1]?.strs?.[2] === 'sysfs') {
    const moved = steps.splice(sys, 2);
    const mq = steps.findIndex((s) => s.op === Op.MOUNT && s.strs?.[2] === 'mqueue');
    steps.splice(mq + 1, 0, ...moved);
  }
}

function maskDirectories(steps: Step[], cfg: OciConfig): void {
  // maskedPaths: the plan masks a path with /dev/null, or with a read-only tmpfs for the directories
  // it knows (Docker's list); an engine may mask other directories (Podman: /sys/dev/block, or any
  // directory of the rootfs), and binding /dev/null, a file, onto a directory fails (ENOTDIR). So the
  // path's kind decides, looked up where the container will see it: /proc and /sys are the same
  // kernel's filesystems inside as here; anything else is in the bundle's rootfs, used as given.
  for (const step of steps) {
    const p = step.strs?.[1];
    if (
      step.op !== Op.MOUNT ||
      step.strs?.[0] !== '/dev/null' ||
      typeof p !== 'string' ||
      !cfg.spec.maskedPaths.includes(p)
    )
      continue;
    const seen = /^\/(proc|sys)\//.test(p) ? p : posix.join(cfg.spec.rootfs, p);
    if (!statSync(seen, { throwIfNoEntry: false })?.isDirectory()) continue;
    Object.assign(step, {
      strs: ['tmpfs', p, 'tmpfs', ''],
      ints: [MS.MS_RDONLY],
      why: `mask ${p}: an empty read-only tmpfs over it (a directory)`,
    });
  }
}

function bindMountFlags(steps: Step[], cfg: OciConfig): void {
  // nosuid/nodev/noexec on a bind mount: the first mount(MS_BIND) ignores every other flag, so
  // they take a second call, MS_REMOUNT|MS_BIND, which sets the per-mount flags to exactly those given
  // (hence MS_RDONLY again for a read-only bind), right after the bind (and its :ro remount)
  // A propagation option (shared, slave ...) is one more call, mount(NULL, target, NULL, flag), after those.
  const MS_FLAG = {
    nosuid: MS.MS_NOSUID,
    nodev: MS.MS_NODEV,
    noexec: MS.MS_NOEXEC,
    strictatime: MS.MS_STRICTATIME,
    noatime: MS.MS_NOATIME,
  };
  for (const { mount, options, propagation } of cfg.extras.bindFlags) {
    const target = posix.join(cfg.spec.rootfs, mount.destination);
    let at = steps.findIndex((s) => s.op === Op.MOUNT && s.strs?.[0] === mount.source && s.strs?.[1] === target);
    if (at < 0) throw new MinidockError(`internal: no bind-mount step for ${mount.source} on ${mount.destination}`, 1);
    if (mount.readonly) at++;
    const flags = options.reduce(
      (f, o) => f | MS_FLAG[o],
      MS.MS_BIND | MS.MS_REMOUNT | (mount.readonly ? MS.MS_RDONLY : 0),
    );
    steps.splice(
      at + 1,
      0,
      ...(options.length
        ? [
            {
              op: Op.MOUNT,
              strs: ['', target, '', ''],
              ints: [flags],
              why: `config.json mounts: ${options.join(',')} on ${mount.destination}, through a remount`,
              phase: 'mounts',
            } satisfies Step,
          ]
        : []),
      ...propagationStep(target, mount.destination, propagation),
    );
  }
}

function tmpfsMounts(steps: Step[], cfg: OciConfig): void {
  // tmpfs mounts of config.json (containerd's /run), after the bind mounts and before pivot_root:
  // the mount point made one component at a time, as for a bind (resolved inside the rootfs)
  const tmpfsSteps: Step[][] = cfg.extras.tmpfs.map((t) => {
    const parts = t.destination.split('/').filter(Boolean);
    return [
      ...parts.map(
        (_, n): Step => ({
          op: Op.MKDIR,
          strs: [posix.join(cfg.spec.rootfs, ...parts.slice(0, n + 1))],
          ints: [0o755],
          flags: STEP_FLAGS.IGNORE_EEXIST,
          why: `mount point for the tmpfs on ${t.destination}`,
          phase: 'mounts',
        }),
      ),
      {
        op: Op.MOUNT,
        strs: ['tmpfs', posix.join(cfg.spec.rootfs, t.destination), 'tmpfs', t.data],
        ints: [t.flags],
        why: `config.json mounts: a tmpfs on ${t.destination}`,
        phase: 'mounts',
      },
      ...propagationStep(posix.join(cfg.spec.rootfs, t.destination), t.destination, t.propagation),
    ];
  });
  // in config.json's order among the bind mounts (mountinfo lists mounts in the order they were made):
  // a tmpfs goes right before the bind mount that follows it there, else before pivot_root
  cfg.extras.tmpfs.forEach((t, n) => {
    const next = t.beforeBind === undefined ? undefined : cfg.spec.mounts[t.beforeBind];
    const at = next
      ? steps.findIndex(
          (s) =>
            s.op === Op.MOUNT &&
            s.strs?.[0] === next.source &&
            s.strs?.[1] === posix.join(cfg.spec.rootfs, next.destination),
        )
      : -1;
    steps.splice(at >= 0 ? at : steps.findIndex((s) => s.phase === 'pivot_root'), 0, ...tmpfsSteps[n]!);
  });
}

/** What comes once "/" is the rootfs: sysctls, linux.devices, linux.rootfsPropagation. */
function afterPivot(steps: Step[], cfg: OciConfig): void {
  // sysctls: /proc/sys of the container's namespaces, once "/" is the rootfs (after pivot_root's CHDIR "/")
  const sysctls = Object.entries(cfg.extras.sysctl).map(([k, v]) => sysctlStep(k, v, `config.json linux.sysctl ${k}`));
  const afterPivot = steps.findIndex((s) => s.op === Op.CHDIR && s.strs?.[0] === '/' && s.phase === 'pivot_root');
  steps.splice(afterPivot + 1, 0, ...sysctls);
  // linux.devices: nodes in the container's /dev once "/" is the rootfs (the plan's /dev tmpfs is
  // mounted by then), parents first; a device the plan already binds from the host is left as it is
  const given = new Set(
    steps
      .filter(
        (s) => s.op === Op.MOUNT && (s.ints?.[0] as number) === MS.MS_BIND && /^\/dev\/\w+$/.test(String(s.strs?.[0])),
      )
      .map((s) => String(s.strs![0])),
  );
  const nodes = cfg.extras.devices
    .filter((d) => !given.has(d.path))
    .flatMap((d) => deviceNodeSteps(d, `config.json linux.devices ${d.path}`));
  steps.splice(afterPivot + 1, 0, ...nodes);
  // linux.rootfsPropagation: applied to "/" once it is the rootfs (runc does it there too). The plan
  // made every mount private first, so a "shared" root starts a peer group of the container's own:
  // nothing it mounts reaches the host
  if (cfg.extras.rootfsPropagation !== undefined) {
    steps.splice(afterPivot + 1, 0, {
      op: Op.MOUNT,
      strs: ['', '/', '', ''],
      ints: [cfg.extras.rootfsPropagation],
      why: 'config.json linux.rootfsPropagation of "/"',
      phase: 'pivot_root',
    });
  }
}

/** A mount's propagation option: one more mount(2) call on its target, after it is mounted. */
function propagationStep(target: string, destination: string, propagation: number | undefined): Step[] {
  if (propagation === undefined) return [];
  return [
    {
      op: Op.MOUNT,
      strs: ['', target, '', ''],
      ints: [propagation],
      why: `config.json mounts: the propagation of ${destination}`,
      phase: 'mounts',
    },
  ];
}

/** What the in-container hooks' state says besides the pid and status (stateOf's other fields). */
export type HookState = Omit<OciState, 'pid' | 'status'>;

/**
 * config.json's hooks in create's plan. createContainer and startContainer are HOOK steps (hooks.ts
 * hookSteps), where runc's init runs them: createContainer once the mounts are made, before
 * pivot_root (with the host's mount namespace shared: before the process's own steps);
 * startContainer right after exec.fifo — after start, as the container's user — before the late
 * seccomp filter and execve, with EXEC_FIFO's keep set so that their records reach start.
 * prestart and createRuntime run from the runtime while the child waits at SYNC: hookSync puts one
 * right before createContainer's place, which the in-container hooks need anyway (the pid).
 */
function placeHooks(plan: LaunchPlan, hooks: Hooks, state: HookState): void {
  const { steps } = plan;
  const create = hookSteps(hooks, 'createContainer', { ...state, status: 'creating' });
  const start = hookSteps(hooks, 'startContainer', { ...state, status: 'created' });
  const pivot = steps.findIndex((s) => s.phase === 'pivot_root');
  const own = steps.findIndex((s) => ['identity', 'capabilities', 'seccomp', 'exec'].includes(s.phase));
  const at = pivot >= 0 ? pivot : own;
  steps.splice(at, 0, ...create);
  const fifo = steps.find((s) => s.op === Op.EXEC_FIFO)!;
  if (start.length) {
    fifo.ints = [fifo.ints![0]!, 1];
    fifo.why += '; the startContainer hooks report to start on the fifo, up to execve';
    steps.splice(steps.indexOf(fifo) + 1, 0, ...start);
  }
  const fromRuntime = (hooks.prestart?.length ?? 0) + (hooks.createRuntime?.length ?? 0) > 0;
  const withPid = create.length + start.length > 0;
  if (fromRuntime || create.length) hookSync(plan, at, fromRuntime, withPid);
  else if (start.length) hookSync(plan, steps.indexOf(fifo), false, true);
}

/**
 * The child must wait at a SYNC step before `at` (createContainer's place, before pivot_root; with
 * startContainer hooks only, EXEC_FIFO): prestart and createRuntime run while it waits there
 * (`fromRuntime`), and the in-container hooks' state holds the pid as the runtime sees it, which
 * minidock sends with the release (handshake.ts 'P'). Cgroup v2's SYNC comes after pivot_root, so
 * it moves up (every hook then runs with the child in its cgroup, as runc's); on cgroup v1 an OCI
 * plan has none (the child joins by itself), so it gets one. A user namespace's SYNC (first: the
 * maps) and a PID namespace join's (before the fork) stay where they are: with prestart or
 * createRuntime hooks the plan gets a second SYNC for them.
 */
function hookSync(plan: LaunchPlan, at: number, fromRuntime: boolean, withPid: boolean): void {
  const { steps } = plan;
  const i = steps.findIndex((s) => s.op === Op.SYNC);
  if (i >= 0 && i < at && fromRuntime) {
    // A user namespace's SYNC (the maps come before any mount) or a PID namespace join's (before
    // the fork, which inherits what minidock does there) must stay early: the child keeps the sync
    // pipe open there (ints [1]) and reads it again at a second SYNC, where the hooks run.
    steps[i] = { ...steps[i]!, ints: [1], why: `${steps[i]!.why}; the pipe kept for the hooks' SYNC` };
    steps.splice(at, 0, {
      op: Op.SYNC,
      why: `minidock runs the prestart and createRuntime hooks meanwhile, our namespaces and mounts made${withPid ? "; it sends our pid with the release (the in-container hooks' state)" : ''}`,
      phase: 'cgroup',
    });
    plan.sync = true;
    return;
  }
  if (i >= 0 && i < at) {
    plan.sync = true;
    return;
  }
  const runtime = fromRuntime ? '; minidock runs the prestart and createRuntime hooks meanwhile' : '';
  // (i > at: taking it out leaves `at` where it was)
  const moved = i >= 0 ? steps.splice(i, 1)[0] : undefined;
  const sync: Step = moved
    ? {
        ...moved,
        why: `${moved.why}${runtime}${withPid ? ", and sends it to us (the in-container hooks' state)" : ''}: before the hooks, so that they run with us in the cgroup`,
      }
    : {
        op: Op.SYNC,
        why: [
          fromRuntime
            ? 'minidock runs the prestart and createRuntime hooks meanwhile, our namespaces and mounts made'
            : '',
          withPid
            ? "minidock sends our pid with the release: the in-container hooks' state has it as the runtime sees it (getpid() says 1 in a new PID namespace)"
            : '',
        ]
          .filter(Boolean)
          .join('; '),
        phase: 'cgroup',
      };
  steps.splice(at, 0, sync);
  plan.sync = true;
}

/** --preserve-fds N (create, run, exec): the plan's close-on-exec sweep starts above fds 3..3+N-1. */
export function preserveFdsStep(steps: Step[], preserveFds: number): void {
  if (preserveFds <= 0) return;
  // runc's --preserve-fds: the engine's fds 3..3+N-1 (inherited by this process, so every fd we
  // open, the fifo's included, is above them) are left out of the close-on-exec sweep
  const close = steps.find((st) => st.op === Op.CLOSE_FDS)!;
  close.ints = [3 + preserveFds];
  close.why = `--preserve-fds ${preserveFds}: fds 3..${2 + preserveFds} stay open; none of Node's fds may leak into the container`;
}

/** The plan create would run, for --dry-run: the same function as create, nothing made. */
export async function planFor(o: CreateOptions): Promise<{ cfg: OciConfig; plan: LaunchPlan }> {
  const { compileProfile } = await import('../runtime/seccomp/compile.js');
  const cfg = loadBundle(o, (p, caps) => compileProfile(p, { caps: [...caps] }));
  const { createCgroup } = await import('../runtime/cgroups/index.js');
  const place = cgroupPlace(cfg.extras.cgroupsPath, o.id);
  const cgroup = createCgroup(place.name, cfg.spec.limits, {
    parent: place.parent,
    restrictDevices: true,
    dryRun: true,
  });
  return { cfg, plan: ociPlan(cfg, cgroup, 3, o.preserveFds ?? 0, hookStateOf(cfg, o, new Date().toISOString())) };
}

/** The in-container hooks' state (but pid and status), as state.json will hold it. */
function hookStateOf(
  cfg: OciConfig & { ociVersion: string },
  o: Pick<CreateOptions, 'id' | 'bundle'>,
  created: string,
): HookState {
  return {
    ociVersion: cfg.ociVersion,
    id: o.id,
    bundle: resolve(o.bundle),
    rootfs: cfg.spec.rootfs,
    created,
    annotations: cfg.extras.annotations,
    owner: userInfo().username,
  };
}

/**
 * create's plan for a mapped config.json: the launch plan and the OCI extras (ociSteps); makes
 * nothing. `hookState`: what the in-container hooks' state says (needed when config.json has some).
 */
export function ociPlan(
  cfg: OciConfig,
  cgroup: Pick<Cgroup, 'mode' | 'paths' | 'fsMounts' | 'writes'>,
  fifoFd: number,
  preserveFds = 0,
  hookState?: HookState,
): LaunchPlan {
  // stdin as the engine gave it (runc passes its own fds 0-2 on); no relay: create does not stay.
  // linux.namespaces with a path: joined by the plan itself (build-plan.ts joinSteps: a SETNS each,
  // the mount namespace last, a FORK after a PID namespace's), as run's --ipc/--pid container: are
  // (loadBundle refused the types the plan cannot join)
  const joinNamespaces = cfg.extras.joinNamespaces.map((j) => ({
    type: j.type as NamespaceType,
    path: j.path,
    from: 'config.json linux.namespaces',
  }));
  const spec: ContainerSpec = { ...cfg.spec, interactive: true, joinNamespaces };
  const plan = planLaunch(spec, { merged: spec.rootfs, upper: '', work: '', asGiven: true }, cgroup, 0, fifoFd);
  ociSteps(plan, cfg);
  preserveFdsStep(plan.steps, preserveFds);
  if ([...IN_CONTAINER, ...RUNTIME_HOOKS].some((p) => cfg.extras.hooks[p]?.length)) {
    if (!hookState) throw new MinidockError('internal: the hooks need the state they are given', 1);
    placeHooks(plan, cfg.extras.hooks, hookState);
  }
  return plan;
}

/**
 * --preserve-fds N: each of fds 3..3+N-1 must be one the caller passed. Node fills the lowest free
 * numbers with its own fds at start (its epoll first, then eventfds and pipes), so an fd the caller
 * did not pass is usually one of those: an epoll or eventfd there is refused too (a pipe of Node's
 * cannot be told from an engine's).
 */
export function checkPreservedFds(n: number, isOpen = (fd: number) => fdOpen(fd), what = fdWhat): void {
  for (let fd = 3; fd < 3 + n; fd++) {
    if (!isOpen(fd))
      throw new MinidockError(
        `--preserve-fds ${n}: fd ${fd} is not open in minidock-oci — the caller must pass fds 3..${2 + n} open`,
        1,
      );
    const kind = what(fd);
    if (kind === 'anon_inode:[eventpoll]' || kind === 'anon_inode:[eventfd]')
      throw new MinidockError(
        `--preserve-fds ${n}: fd ${fd} was not passed by the caller (it is minidock-oci's own ${kind}) — pass fds 3..${2 + n} open`,
        1,
      );
  }
}

function fdWhat(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function fdOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

export interface Created {
  rec: OciRecord;
  /** the held child; `run` (its parent) waits for it, create just exits */
  child: Child;
}

/**
 * runc create: everything up to the exec.fifo point, then return with the child held there and
 * recorded "created". Anything failing on the way leaves nothing: no process, cgroup, fifo or state dir.
 */
export async function ociCreate(o: CreateOptions): Promise<Created> {
  const id = checkId(o.id);
  checkPreservedFds(o.preserveFds ?? 0);
  const { compileProfile } = await import('../runtime/seccomp/compile.js');
  const cfg = loadBundle(o, (p, caps) => compileProfile(p, { caps: [...caps] }));
  for (const w of cfg.warnings) o.onWarning?.(w);
  for (const d of cfg.debug) o.onDebug?.(d);
  o.timeline?.mark('config.json mapped (seccomp compiled)');
  const dir = containerPath(o.root, id);
  mkdirSync(o.root, { recursive: true, mode: 0o711 });
  try {
    mkdirSync(dir, { mode: 0o711 }); // the claim on the ID: atomic
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new MinidockError(`container with id exists: ${id}`, 1);
    throw e;
  }
  let cgroup: Cgroup | undefined;
  let child: Child | undefined;
  let fifoFd = -1;
  let hooksRan = false; // prestart/createRuntime were run: poststop runs after a failure
  const created = new Date().toISOString();
  const hookState = hookStateOf(cfg, o, created);
  const atHook = { failed: false }; // a createContainer hook failed (heldInit): poststop runs too
  try {
    const { createCgroup } = await import('../runtime/cgroups/index.js');
    const place = cgroupPlace(cfg.extras.cgroupsPath, id);
    cgroup = createCgroup(place.name, cfg.spec.limits, { parent: place.parent, restrictDevices: true });
    o.timeline?.cgroupWrites(cgroup.mode, cgroup.writes);
    o.timeline?.mark('cgroup create + limits');
    const fifo = execFifoPath(o.root, id);
    const { mdMknod } = await import('../sys/native.js');
    const r = mdMknod(fifo, S_IFIFO | 0o622, 0, 0);
    if (r < 0) throw new MinidockError(`mknod ${fifo}: ${errnoName(-r)}`, 1);
    // mknod took our umask (022) off the mode: 0600 would refuse a non-root init's open for writing
    chmodSync(fifo, 0o622);
    fifoFd = openSync(fifo, O_PATH);
    const plan = ociPlan(cfg, cgroup, fifoFd, o.preserveFds ?? 0, hookState);
    const spec = cfg.spec;
    child = spawnChild(
      encodePlan(plan.steps),
      plan.cloneFlags,
      'clone(CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET)',
      'minidock-oci must run as root',
    );
    const c = child;
    o.timeline?.mark('clone');
    await releaseChild(c, cfg, plan, cgroup, { ...hookState, status: 'creating' }, () => {
      hooksRan = true;
    });
    const init = await heldInit(c, plan, spec, atHook, o.timeline);
    o.timeline?.mark('child ran the plan (held at exec.fifo)');
    child = init;
    if (spec.tty) await passConsole(init, o.consoleSocket!);
    if (o.pidFile) writeAtomic(resolve(o.pidFile), String(init.pid));
    const rec: OciRecord = {
      ociVersion: cfg.ociVersion,
      id,
      status: 'created',
      pid: init.pid,
      pidStart: procStart(init.pid),
      bundle: hookState.bundle,
      rootfs: spec.rootfs,
      annotations: cfg.extras.annotations,
      created,
      owner: hookState.owner,
      cgroupPaths: cgroup.paths,
      hooks: cfg.extras.hooks,
      ...startReportOf(plan.steps),
    };
    writeRecord(o.root, rec);
    return { rec, child: init };
  } catch (e) {
    if (child) await abandon(child);
    cgroup?.destroy();
    rmSync(dir, { recursive: true, force: true });
    // a create hook failed (prestart, createRuntime, createContainer): the container is destroyed,
    // and the lifecycle goes on with poststop
    if (hooksRan || atHook.failed)
      await runHooks(
        cfg.extras.hooks,
        'poststop',
        stateOf({ ...hookState, status: 'created', pid: 0 }, () => false),
        o.onWarning,
      );
    throw e;
  } finally {
    if (child) closeChildFds(child);
    if (fifoFd >= 0) closeSync(fifoFd);
  }
}

/** The hooks create runs from the runtime process, while the child waits at SYNC. */
const RUNTIME_HOOKS = ['prestart', 'createRuntime'] as const;

/**
 * runtime.md Lifecycle: the runtime environment is created (namespaces, cgroup, mounts), the child
 * waits at SYNC before pivot_root and createContainer: prestart, then createRuntime, in the
 * runtime's namespaces with the state ("creating", the child's pid) on their stdin. The first
 * failure is thrown: create's error (the caller kills the child, then poststop runs).
 */
async function createHooks(hooks: Hooks, rec: OciRecord): Promise<void> {
  for (const point of RUNTIME_HOOKS) await runHooks(hooks, point, stateOf(rec));
}

/**
 * The release of create's child from SYNC: its cgroup join (v2), id maps, oom_score_adj, and —
 * prestart, createRuntime — once it stands there (hookSync put SYNC after the mounts, before
 * createContainer and pivot_root), the hooks, with its pid (`ran` says they started). A step that
 * failed before SYNC is heldInit's to say: no release then. Whatever throws, the child is killed.
 */
async function releaseChild(
  c: Child,
  cfg: OciConfig,
  plan: LaunchPlan,
  cgroup: Cgroup,
  state: Omit<OciRecord, 'pid'>,
  ran: () => void,
): Promise<void> {
  const runtimeHooks = RUNTIME_HOOKS.some((p) => cfg.extras.hooks[p]?.length);
  const syncs = plan.steps.flatMap((s, i) => (s.op === Op.SYNC ? [i] : []));
  const sendPid = plan.steps.some((s) => s.op === Op.HOOK);
  const { spec } = cfg;
  const held = (): number => forkedPidOf(c) ?? c.pid; // (a PID namespace joined: past the FORK)
  const prepare = (): void => {
    // (v2; on v1 the child joined by itself, even when the plan has a SYNC: a user namespace, hooks)
    if (plan.parentJoins.length) cgroup.join(c.pid);
    if (spec.userns) writeIdMaps(c.pid, spec.userns); // the map step of the protocol (handshake.ts)
    if (cfg.extras.oomScoreAdj !== undefined)
      writeFileSync(`/proc/${held()}/oom_score_adj`, String(cfg.extras.oomScoreAdj));
  };
  // two SYNC steps (hookSync: the first must come early): the first release, the pipe kept open
  if (syncs.length > 1) await release(c, prepare, true, false, true);
  let atSync = true;
  try {
    if (runtimeHooks) atSync = await waitAtSync(c, syncs[syncs.length - 1]!);
  } catch (e) {
    await abandon(c);
    throw e;
  }
  if (!atSync) return;
  await release(
    c,
    async () => {
      if (syncs.length < 2) prepare();
      if (!runtimeHooks) return;
      ran();
      await createHooks(cfg.extras.hooks, { ...state, pid: held() });
    },
    plan.sync,
    sendPid,
  );
}

/**
 * create's child once its report ends (EOF at EXEC_FIFO, where it closes its end: child.c
 * hold_for_start; or its death): the init held there, or the launch's failure. A joined PID
 * namespace: the init is the FORK step's child (build-plan.ts joinSteps), and the first one has exited.
 */
async function heldInit(
  c: Child,
  plan: LaunchPlan,
  spec: ContainerSpec,
  atHook: { failed: boolean },
  tl?: import('../runtime/trace.js').Timeline,
): Promise<Child> {
  const { records, forkedPid } = readReport(c);
  tl?.child(plan.steps, records);
  const { waitExit } = await import('../runtime/process.js');
  const init: Child = forkedPid === undefined ? c : { ...c, pid: forkedPid, exited: waitExit(forkedPid) };
  if (init !== c) await c.exited;
  const held = plan.steps.findIndex((s) => s.op === Op.EXEC_FIFO);
  const last = records[records.length - 1];
  if (!last || last.step !== held || last.err !== 0) {
    await init.exited;
    atHook.failed = !!last && last.err > 0 && plan.steps[last.step]?.op === Op.HOOK;
    throw (
      launchFailure(records, plan.steps, spec) ??
      new MinidockError('the container process died before it was set up', 1)
    );
  }
  return init;
}

/** state.json's startReport: where start's records begin (startContainer hooks), none without them. */
function startReportOf(steps: Step[]): Pick<OciRecord, 'startReport'> {
  const fifo = steps.findIndex((s) => s.op === Op.EXEC_FIFO);
  if (steps[fifo + 1]?.op !== Op.HOOK) return {};
  return { startReport: { hook: fifo + 1, exec: steps.findIndex((s) => s.op === Op.EXEC) } };
}

/**
 * start's verdict from the records the held process sent on the fifo after the byte (startContainer
 * hooks: child.c keeps the fifo as its report pipe): the failing step as create would say it (a
 * HOOK step rebuilt from state.json's hooks), or a death before execve; undefined once it exec'd.
 */
async function startFailure(records: ChildRecord[], rec: OciRecord): Promise<MinidockError | undefined> {
  const at = rec.startReport!;
  const last = records[records.length - 1];
  if (last && last.err <= 0 && last.step === at.exec) return undefined;
  if (!last || last.err <= 0)
    return new MinidockError("the container's process died before it executed its program", 1);
  const hook = hookSteps(rec.hooks, 'startContainer', { ...stateOf(rec), status: 'created' })[last.step - at.hook];
  if (!hook) return new MinidockError(`the container's process failed before execve: ${errnoName(last.err)}`, 1);
  const { stepError } = await import('../runtime/step-error.js');
  return new MinidockError(stepError(hook, last.err, {} as ContainerSpec).message, 1);
}

export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Open `fifo` to read and take the byte the held process writes (child.c exec_fifo) — that releases
 * it. O_NONBLOCK: a blocking open would wait forever for a writer that died; read() answers 0 (no
 * writer yet) or EAGAIN (a writer, no byte yet) until the byte comes, and `alive` is asked meanwhile.
 * `toEof` (startContainer hooks): then read on until the writer closes it — at execve, or its death
 * — and return what came after the byte (its step records).
 */
export async function readFifoByte(fifo: string, alive: () => boolean, gone: string, toEof = false): Promise<Buffer> {
  const fd = openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK);
  const rest: Buffer[] = [];
  try {
    const buf = Buffer.alloc(4096);
    let byte = false;
    for (;;) {
      let n = -1;
      try {
        n = readSync(fd, buf, 0, byte ? buf.length : 1, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      if (n > 0 && !byte) {
        byte = true;
        if (!toEof) return Buffer.alloc(0);
      } else if (n > 0) rest.push(Buffer.from(buf.subarray(0, n)));
      else if (n === 0 && byte)
        return Buffer.concat(rest); // the writer closed it: execve, or death
      else if (!byte && !alive()) throw new MinidockError(gone, 1);
      if (n <= 0) await new Promise((r) => setTimeout(r, byte ? 5 : 2));
    }
  } finally {
    closeSync(fd);
  }
}

/** --console-socket: hand the pty master the CONSOLE step sent us to the engine's socket. */
export async function passConsole(child: Child, socket: string): Promise<void> {
  const { mdSendFdTo } = await import('../sys/native.js');
  const master = receiveConsole(child)!;
  const sent = mdSendFdTo(socket, master, 'console');
  closeSync(master);
  if (sent < 0) throw new MinidockError(`--console-socket ${socket}: cannot send the console: ${errnoName(-sent)}`, 1);
}

/**
 * runc start: release a created container's process from its exec.fifo (readFifoByte), remove
 * the fifo, record "running".
 */
export async function ociStart(root: string, id: string, onWarning?: (line: string) => void): Promise<OciRecord> {
  const { rec, state } = loadState(root, id);
  if (state.status === 'stopped') throw new MinidockError('cannot start a container that has stopped', 1);
  if (state.status === 'paused') throw new MinidockError('cannot start a container in the paused state', 1); // runc's words
  if (state.status !== 'created') throw new MinidockError('cannot start an already running container', 1);
  const fifo = execFifoPath(root, id);
  const after = await readFifoByte(
    fifo,
    () => isProcess(rec.pid, rec.pidStart),
    'cannot start a container that has stopped (its process ended before start)',
    rec.startReport !== undefined,
  );
  unlinkSync(fifo);
  // startContainer hooks ran in the container after the byte: a failure is start's (the process is gone)
  const failed = rec.startReport && (await startFailure(parseRecords(after), rec));
  if (failed) throw failed;
  const running: OciRecord = { ...rec, status: 'running' };
  writeRecord(root, running);
  if (rec.hooks?.poststart?.length) {
    // config.md: poststart runs "after the user-specified process is executed"; the byte only says
    // the init is past exec.fifo, with its last steps and execve() still to come
    await execveDone(rec.pid);
    // the state start recorded, "running" with its pid, even when a program as short as `true` has
    // already ended by now (the next `state` says so): that is the state the hooks are run for
    await runHooks(
      rec.hooks,
      'poststart',
      stateOf(running, () => true),
      onWarning,
    );
  }
  return running;
}

/**
 * Wait (at most 1 s) until process `pid` has called execve(): until then it is a copy of this Node
 * process, and /proc/PID/exe is this very executable (same device and inode); after it, the
 * container's program — or the process is gone.
 */
async function execveDone(pid: number): Promise<void> {
  const { statSync } = await import('node:fs');
  const self = statSync(process.execPath);
  for (let i = 0; i < 500; i++) {
    let exe;
    try {
      exe = statSync(`/proc/${pid}/exe`);
    } catch {
      return; // gone (or a zombie: its exe link is empty)
    }
    if (exe.ino !== self.ino || exe.dev !== self.dev) return;
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * runc run: create + start; detached, return at once (0); otherwise this process is the
 * container's parent: forward signals to it, wait for its exit, delete it (unless `keep`) and return
 * its exit code (128+N when killed by signal N), as runc does.
 */
export async function ociRun(o: CreateOptions & { detach: boolean; keep: boolean }): Promise<number> {
  const { child } = await ociCreate(o);
  const { forwardSignals, exitCodeOf } = await import('../runtime/process.js');
  const { deleteContainer } = await import('./state.js');
  const stop = o.detach ? () => undefined : forwardSignals(() => child.pid);
  try {
    await ociStart(o.root, o.id, o.onWarning);
  } catch (e) {
    stop();
    await deleteContainer(o.root, o.id, true, undefined, o.onWarning);
    throw e;
  }
  if (o.detach) return 0;
  const status = await child.exited;
  stop();
  if (!o.keep) await deleteContainer(o.root, o.id, true, undefined, o.onWarning);
  return exitCodeOf(status).code;
}
