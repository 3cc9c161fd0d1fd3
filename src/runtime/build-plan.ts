// buildPlan(): a ContainerSpec becomes the ordered list of steps the C child runs.
// The order is the whole lesson of a container launch; each step says why it is there.
import { readdirSync } from 'node:fs';
import { posix } from 'node:path';
import { CLONE, MS, MNT_DETACH, RLIMIT } from '../sys/constants.js';
import { capMask } from './capabilities.js';
import type { Cgroup, CgroupfsMount, CgroupWrite } from './cgroups/types.js';
import { Op, STEP_FLAGS, type Step } from './plan.js';
import { DEFAULT_PATH, type ContainerSpec, type NamespaceJoin, type NamespaceType } from './spec.js';
import { hostId, idMapWrites } from './id-maps.js';
import type { NetPlan } from './network/wiring.js';

export interface LayerDirs {
  merged: string; // where the overlay is mounted (becomes "/")
  upper: string;
  work: string;
  /** mount a tmpfs here first and create upper/work in it (state root on overlayfs) */
  tmpfsFor?: string;
  /** OCI bundles: `merged` is the rootfs itself, used as given (no overlay; upper/work unused) */
  asGiven?: boolean;
}

/** Namespaces made by clone(). The cgroup namespace is unshared later, after the cgroup join:
 * at clone time it would be rooted at minidock's own cgroup, not the container's. */
export function cloneFlags(): number {
  return CLONE.CLONE_NEWPID | CLONE.CLONE_NEWNS | CLONE.CLONE_NEWUTS | CLONE.CLONE_NEWIPC | CLONE.CLONE_NEWNET;
}

/**
 * The vfork launch, as glibc's posix_spawn does it: CLONE_VM shares Node's address space with the
 * child instead of copying it, and CLONE_VFORK suspends the calling thread until the child execs
 * (or exits). A plain clone() of Node (~45 MB) makes every page Node then writes take a copy-on-write
 * fault. Safe here because the child only reads its parsed plan and writes its own stack (it never
 * allocates), and the suspended thread is the one whose TLS (errno) the child borrows.
 * Used when the child needs nothing from minidock before exec: on cgroup v1, where it joins its
 * cgroups itself.
 */
export const VFORK_FLAGS = CLONE.CLONE_VM | CLONE.CLONE_VFORK;

/**
 * Everything a launch decides, in one place: used by the launch itself (launch.ts, foreground and -d)
 * and by --dry-run, so that what the dry run prints is what a launch does.
 */
export interface LaunchPlan {
  /** what the child runs between clone() and execve() */
  steps: Step[];
  /** flags of the clone(): the namespaces, and CLONE_VM|CLONE_VFORK when `sync` is false */
  cloneFlags: number;
  /**
   * true: the child waits at its SYNC step while minidock writes its pid into `parentJoins` (cgroup
   * v2: cgroup.procs takes only whole processes, moved by someone else). false (cgroup v1): the child
   * joins by itself, first of its steps, and nothing between clone and exec needs minidock.
   */
  sync: boolean;
  /** the cgroup.procs files minidock writes the child's pid into (empty when the child joins itself) */
  parentJoins: string[];
  /** what minidock writes into the child's /proc/PID at SYNC (a user namespace: userns.ts), with "PID" */
  idMapWrites: Array<{ file: string; content: string }>;
  /** every file minidock writes to set up the cgroup, in order, before clone() */
  cgroupWrites: CgroupWrite[];
  cgroupMode: Cgroup['mode'];
}

/**
 * The plan of a launch with this cgroup: a real one (createCgroup) for a launch, a dry one
 * (createCgroup with dryRun) for --dry-run — the same driver code decides both.
 */
export function planLaunch(
  spec: ContainerSpec,
  dirs: LayerDirs,
  cgroup: Pick<Cgroup, 'mode' | 'paths' | 'fsMounts' | 'writes'>,
  terminals = 0,
  execFifo?: number,
  net?: NetPlan,
): LaunchPlan {
  // cgroup v1: the child writes "0" into each hierarchy's `tasks` (see step 0 of buildPlan)
  const selfJoin = cgroup.mode === 'v1' ? cgroup.paths.map((p) => posix.join(p, 'tasks')) : [];
  // A user namespace: the child waits at SYNC until minidock has written its uid_map/gid_map
  // (handshake.ts writeIdMaps) — on cgroup v1 too, so no vfork clone then. (A bridge network needs no
  // SYNC: the child makes its veth pair itself, step 6; with a user namespace minidock makes it at
  // that SYNC.)
  const sync = selfJoin.length === 0 || !!spec.userns;
  return {
    steps: buildPlan(spec, dirs, selfJoin, { cgroupfs: cgroup.fsMounts, terminals, execFifo, net }),
    // nothing to wait for before exec: see VFORK_FLAGS — unless the child waits at EXEC_FIFO (OCI
    // create), where a vfork clone would hold the creating process until `start`
    cloneFlags:
      (cloneFlags() & ~notMade(spec, net)) |
      (spec.userns ? CLONE.CLONE_NEWUSER : 0) |
      (sync || execFifo !== undefined ? 0 : VFORK_FLAGS),
    sync,
    parentJoins: selfJoin.length === 0 ? cgroup.paths.map((p) => posix.join(p, 'cgroup.procs')) : [],
    idMapWrites: spec.userns ? idMapWrites('PID', spec.userns) : [],
    cgroupWrites: cgroup.writes,
    cgroupMode: cgroup.mode,
  };
}

const NS_FLAG: Record<NamespaceType, number> = {
  network: CLONE.CLONE_NEWNET,
  ipc: CLONE.CLONE_NEWIPC,
  uts: CLONE.CLONE_NEWUTS,
  pid: CLONE.CLONE_NEWPID,
  mount: CLONE.CLONE_NEWNS,
};

/** What joining each kind of namespace gives the container (the SETNS step's reason). */
const JOIN_GIVES: Record<NamespaceType, string> = {
  network: 'its links, addresses and ports',
  ipc: 'its System V IPC objects and POSIX message queues',
  uts: 'its hostname (none is set)',
  pid: 'its processes and ours see each other',
  mount: "its mounts: the plan's mounts happen in it",
};

/**
 * The namespaces a launch joins instead of making: the spec's (run's --ipc/--pid/--uts container:NAME,
 * resolved for this launch by namespaces.ts; an OCI bundle's linux.namespaces paths) and --network
 * container:NAME's. The mount namespace last: setns(mnt) changes our root and cwd, and with them what
 * the other paths (/proc/PID/ns/...) would resolve to.
 */
export function namespaceJoins(spec: Pick<ContainerSpec, 'joinNamespaces'>, net?: NetPlan): NamespaceJoin[] {
  const joins = [...(spec.joinNamespaces ?? [])];
  if (net?.mode === 'container' && net.joinNetns)
    joins.push({ type: 'network', path: net.joinNetns, from: '--network container:' });
  return joins.sort((a, b) => Number(a.type === 'mount') - Number(b.type === 'mount'));
}

/** The host's namespaces the container shares (--pid host, --ipc host, --uts host). */
export function hostNamespaces(spec: Pick<ContainerSpec, 'namespaces'>): NamespaceType[] {
  const m = spec.namespaces;
  return (['pid', 'ipc', 'uts'] as const).filter((t) => m?.[t] === 'host');
}

/** The CLONE_NEW* flags the launch does not make: joined namespaces, and the host's shared ones. */
function notMade(spec: ContainerSpec, net?: NetPlan): number {
  let flags = net?.mode === 'host' ? CLONE.CLONE_NEWNET : 0;
  for (const j of namespaceJoins(spec, net)) flags |= NS_FLAG[j.type];
  for (const t of hostNamespaces(spec)) flags |= NS_FLAG[t];
  return flags;
}

/**
 * The joins, first of the plan's steps after a v1 cgroup self-join: a SETNS each, then, for a PID
 * namespace, a FORK. setns(CLONE_NEWPID) moves only our later children into that namespace, never us:
 * the forked child (CLONE_PARENT: minidock's, or the monitor's, which reads its pid from the report)
 * becomes the container's init, and mounts /proc of that namespace — runc's nsexec forks for the
 * same reason. Whatever releases us at SYNC (the cgroup join by pid on v2, the id maps, the veth)
 * acts on the forking process, so it comes before the fork, which inherits it: `sync` is that step.
 */
function joinSteps(joins: NamespaceJoin[], sync: Step | undefined): Step[] {
  const steps: Step[] = joins.map((j) => ({
    op: Op.SETNS,
    strs: [j.path],
    ints: [NS_FLAG[j.type]],
    why: `${j.from}: join that ${j.type} namespace instead of making one — ${JOIN_GIVES[j.type]}`,
    phase: 'namespaces',
  }));
  if (!joins.some((j) => j.type === 'pid')) return steps;
  return [
    ...(sync ? [sync] : []),
    ...steps,
    {
      op: Op.FORK,
      why: 'setns(pid) applies to our children only: fork into the joined PID namespace (the child is the init)',
      phase: 'namespaces',
    },
  ];
}

/**
 * Which of fds 0-2 the container gets as a pipe to minidock's relay instead of minidock's own (bit N:
 * fd N): those that are a terminal (`terminals`: bit N set when fd N is one), unless -t gives the
 * container a pty of its own for all three; stdin only with -i (else it is /dev/null). A process that
 * holds the user's terminal can push input into it (TIOCSTI) and change its settings, with
 * CAP_SYS_ADMIN or without the seccomp filter; Docker, too, relays through pipes without -t. A pipe or
 * a file (scripts, tests) is given as it is: nothing to relay, no cost.
 */
export function stdioPipes(spec: Pick<ContainerSpec, 'tty' | 'interactive'>, terminals: number): number {
  return spec.tty ? 0 : terminals & (spec.interactive ? 0b111 : 0b110);
}

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
/** Not copied into a --privileged container's /dev: it gets its own pts, shm and mqueue, and ptmx
 * is a symlink to its own pts/ptmx. */
const HOST_DEV_SKIP = new Set(['pts', 'shm', 'mqueue', 'ptmx', ...DEVICES]);

/**
 * --privileged: every character and block device of the host's /dev (recursively, e.g. net/tun),
 * as paths relative to /dev. Like Docker, minidock then fills the container's own tmpfs /dev with
 * them, rather than binding the host's /dev itself: writes to the container's /dev (new nodes,
 * symlinks) must not land in the host's.
 */
export function hostDevices(dir = '/dev', rel = ''): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(posix.join(dir, rel), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (!rel && HOST_DEV_SKIP.has(e.name)) continue;
    if (e.isCharacterDevice() || e.isBlockDevice()) out.push(r);
    else if (e.isDirectory() && !e.isSymbolicLink()) out.push(...hostDevices(dir, r));
  }
  return out.sort();
}

/** Why /proc is mounted: whose processes it shows. */
function procWhy(spec: ContainerSpec, joins: NamespaceJoin[]): string {
  if (hostNamespaces(spec).includes('pid'))
    return "procfs of the host's PID namespace (--pid host): ps shows every process";
  const pid = joins.find((j) => j.type === 'pid');
  if (pid) return 'procfs of the joined PID namespace: ps shows its processes and ours';
  return 'procfs of the new PID namespace: ps shows only the container';
}

const MASKED_DIRS = new Set([
  '/proc/acpi',
  '/proc/asound',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
]);

/** Escape a path for overlayfs mount options, where ',' separates options and ':' separates lowerdirs. */
export function overlayPath(p: string): string {
  return p.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/:/g, '\\:');
}

/**
 * The steps alone; a launch gets them through planLaunch, which also decides selfJoin.
 * @param opts.cgroupfs what to mount at /sys/fs/cgroup (Cgroup.fsMounts): the container's own cgroups.
 * @param selfJoin cgroup v1 `tasks` files the child writes "0" into, joining its own cgroups: then it
 *   runs to execve without waiting for minidock (no SYNC step; the vfork launch). Empty: the parent
 *   joins it by pid while it waits at SYNC — cgroup v2, where cgroup.procs takes only whole processes.
 */
export function buildPlan(
  spec: ContainerSpec,
  dirs: LayerDirs,
  selfJoin: string[] = [],
  opts: { cgroupfs?: CgroupfsMount[]; terminals?: number; execFifo?: number; net?: NetPlan } = {},
): Step[] {
  const steps: Step[] = [];
  const add = (s: Step): void => void steps.push(s);

  // 0. Join the cgroups, first of all, so that everything below is already accounted and limited.
  //    Why the child writes "0" into `tasks` itself rather than minidock writing its pid into
  //    cgroup.procs: moving another process takes the kernel's global cgroup_threadgroup_rwsem for
  //    writing, which waits for an RCU grace period (10-30 ms measured here: the largest single cost
  //    of a launch). A single-threaded task moving itself ("0" = me, one thread) skips that lock
  //    (cgroup_procs_write_start in kernel/cgroup/cgroup.c): 0.1 ms.
  for (const f of selfJoin) {
    add({
      op: Op.WRITE_FILE,
      strs: [f, '0'],
      why: 'join this cgroup: "0" moves the writing thread itself, without the global lock',
      phase: 'cgroup',
    });
  }
  // 0a. Namespaces joined instead of made (--network/--ipc/--pid container:NAME, OCI paths): before
  //     anything is mounted, so that /proc, sysfs, mqueue below are those of the joined namespaces.
  //     A PID namespace: the SYNC step comes here, before the fork (joinSteps).
  const joins = namespaceJoins(spec, opts.net);
  const att = opts.net?.attachment;
  const syncWhy = 'minidock writes our pid into cgroup.procs meanwhile: limits apply before exec';
  // (a user namespace's SYNC: minidock also makes our veth pair then, which we may not: wiring.ts)
  const idMapsWhy = `minidock writes our uid_map and gid_map${att ? ` and creates our veth pair (${att.hostIf} on ${att.bridge}, eth0 here)` : ''} meanwhile`;
  const forkSync =
    joins.some((j) => j.type === 'pid') && (spec.userns || !selfJoin.length)
      ? ({
          op: Op.SYNC,
          why: `${spec.userns ? idMapsWhy : syncWhy}; before the fork, which inherits it`,
          phase: 'cgroup',
        } satisfies Step)
      : undefined;
  steps.push(...joinSteps(joins, forkSync));
  // 0b. A user namespace (userns.ts): cloned with CLONE_NEWUSER, the child is nobody inside until
  //     minidock writes its uid_map and gid_map, so it waits for that first (joined to its cgroup
  //     meanwhile on v2). Then it becomes the namespace's root: from here on every file it creates
  //     belongs to the mapped host uid, and the mounts below are made by a root that is root only
  //     over the namespaces its user namespace owns (the kernel allows proc, sysfs, tmpfs, devpts,
  //     mqueue, bind mounts and, since 5.11, overlayfs there; mknod of devices it refuses, which is
  //     why /dev below is bind mounts).
  const userns = spec.userns;
  if (userns && !forkSync) {
    add({
      op: Op.SYNC,
      why: `${idMapsWhy}${selfJoin.length ? '' : ' (and our pid into cgroup.procs)'}: until then we are nobody in our user namespace`,
      phase: 'namespaces',
    });
  }
  if (userns) {
    add({
      op: Op.SETGID,
      ints: [0],
      why: `become the user namespace's root group (host gid ${hostId(userns.gidMap, 0)})`,
      phase: 'identity',
    });
    if (userns.setgroups === 'allow')
      add({
        op: Op.SETGROUPS,
        ints: [0],
        why: "drop the host's supplementary groups (unmapped ones would show as nobody)",
        phase: 'identity',
      });
    add({
      op: Op.SETUID,
      ints: [0],
      why: `become the user namespace's root (host uid ${hostId(userns.uidMap, 0)}): its capabilities hold only over our own namespaces`,
      phase: 'identity',
    });
  }
  // A path inside the container, seen from the host: plain concatenation for the usual absolute,
  // normalized path (path.join normalizes character by character: ~15 µs a call before the JIT
  // warms up, and a launch makes dozens of these); path.join for anything else.
  const hostPath = (p: string): string =>
    p.startsWith('/') && !p.endsWith('/') && !p.includes('//') && !p.includes('/.')
      ? dirs.merged + p
      : posix.join(dirs.merged, p);
  const mount = (
    phase: Step['phase'],
    why: string,
    src: string,
    target: string,
    fstype: string,
    flags: number,
    data = '',
    f = 0,
  ): void => add({ op: Op.MOUNT, strs: [src, target, fstype, data], ints: [flags], flags: f, why, phase });
  const mkdir = (phase: Step['phase'], p: string, mode = 0o755, why = 'create the mount point'): void =>
    add({ op: Op.MKDIR, strs: [p], ints: [mode], flags: STEP_FLAGS.IGNORE_EEXIST, why, phase });

  // 1. Mount propagation. The new mount namespace starts as a copy of the host's, with the same
  //    propagation: a mount made under a "shared" mount would appear on the host too.
  mount(
    'mounts',
    'make every mount private: nothing we mount can propagate back to the host',
    '',
    '/',
    '',
    MS.MS_REC | MS.MS_PRIVATE,
  );

  // 2. The root filesystem: overlayfs. ROOTFS is the read-only lower layer; writes go to upper.
  //    (An OCI bundle's rootfs is used as given: bound onto itself, since pivot_root needs a mount point.)
  if (dirs.asGiven) {
    mount(
      'rootfs',
      "the bundle's rootfs as given (OCI): a bind onto itself makes it a mount point for pivot_root",
      dirs.merged,
      dirs.merged,
      '',
      MS.MS_BIND | MS.MS_REC,
    );
  } else if (dirs.tmpfsFor) {
    mount(
      'rootfs',
      'the state root is on overlayfs, which cannot be an upper layer: put upper/work on a tmpfs',
      'tmpfs',
      dirs.tmpfsFor,
      'tmpfs',
      0,
      'mode=700',
    );
    mkdir('rootfs', dirs.upper, 0o755, 'upper layer directory');
    mkdir('rootfs', dirs.work, 0o700, 'overlayfs work directory');
  }
  const lowers = (spec.lowerDirs ?? [spec.rootfs]).map(overlayPath).join(':');
  if (!dirs.asGiven) {
    mount(
      'rootfs',
      'the container root: the rootfs stays read-only, writes land in upper',
      'overlay',
      dirs.merged,
      'overlay',
      0,
      // userxattr (a user namespace): overlayfs keeps whiteouts and opaque directories in user.overlay.*
      // xattrs, since trusted.* needs CAP_SYS_ADMIN on the host
      `lowerdir=${lowers},upperdir=${overlayPath(dirs.upper)},workdir=${overlayPath(dirs.work)}${userns ? ',userxattr' : ''}`,
    );
  }

  // 3. Kernel filesystems, seen through the new namespaces.
  mkdir('mounts', hostPath('/proc'));
  mount('mounts', procWhy(spec, joins), 'proc', hostPath('/proc'), 'proc', MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC);
  mkdir('mounts', hostPath('/sys'));
  mount(
    'mounts',
    spec.privileged
      ? 'sysfs, read-write (--privileged, as Docker)'
      : 'sysfs, read-only; in a new network namespace it lists only its own devices',
    'sysfs',
    hostPath('/sys'),
    'sysfs',
    (spec.privileged ? 0 : MS.MS_RDONLY) | MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC,
  );

  // 4. A minimal /dev: a tmpfs with a few host devices bind-mounted in, never the host's whole /dev.
  mkdir('mounts', hostPath('/dev'));
  mount(
    'mounts',
    'a private /dev: only the devices below exist in the container',
    'tmpfs',
    hostPath('/dev'),
    'tmpfs',
    MS.MS_NOSUID | MS.MS_STRICTATIME,
    'mode=755,size=65536k',
  );
  for (const d of DEVICES) {
    add({
      op: Op.TOUCH,
      strs: [hostPath(`/dev/${d}`)],
      ints: [0o666],
      why: `bind-mount target for /dev/${d}`,
      phase: 'mounts',
    });
    mount('mounts', `the host's /dev/${d}`, `/dev/${d}`, hostPath(`/dev/${d}`), '', MS.MS_BIND);
  }
  if (spec.privileged) {
    // --privileged: every host device too (the devices cgroup is not restricted either).
    const made = new Set<string>();
    for (const d of hostDevices()) {
      const parts = d.split('/');
      for (let i = 1; i < parts.length; i++) {
        const sub = parts.slice(0, i).join('/');
        if (!made.has(sub)) mkdir('mounts', hostPath(`/dev/${sub}`), 0o755, `--privileged: /dev/${sub}`);
        made.add(sub);
      }
      add({
        op: Op.TOUCH,
        strs: [hostPath(`/dev/${d}`)],
        ints: [0o600],
        why: `--privileged: bind-mount target for /dev/${d}`,
        phase: 'mounts',
      });
      mount(
        'mounts',
        `--privileged: the host's /dev/${d}`,
        `/dev/${d}`,
        hostPath(`/dev/${d}`),
        '',
        MS.MS_BIND,
        '',
        STEP_FLAGS.IGNORE_ENOENT,
      );
    }
  }
  // --init: minidock-init (native/init.c) becomes PID 1 and runs the command as its child. Bound
  // into the private /dev rather than copied into the rootfs: nothing lands in the upper layer, a
  // rootfs without /sbin works, and the host's file stays read-only.
  if (spec.init) {
    add({
      op: Op.TOUCH,
      strs: [hostPath('/dev/init')],
      ints: [0o755],
      why: '--init: bind-mount target for minidock-init',
      phase: 'mounts',
    });
    mount('mounts', "--init: minidock-init, the container's PID 1", spec.init, hostPath('/dev/init'), '', MS.MS_BIND);
    mount(
      'mounts',
      '--init: read-only — a bind mount becomes read-only only through a remount',
      '',
      hostPath('/dev/init'),
      '',
      MS.MS_BIND | MS.MS_REMOUNT | MS.MS_RDONLY,
    );
  }
  mkdir('mounts', hostPath('/dev/pts'));
  mount(
    'mounts',
    'a new devpts instance: the container sees only its own ptys',
    'devpts',
    hostPath('/dev/pts'),
    'devpts',
    // (gid=5, "tty", only where it is mapped: devpts refuses a gid its user namespace cannot name)
    MS.MS_NOSUID | MS.MS_NOEXEC,
    `newinstance,ptmxmode=0666,mode=0620${userns && hostId(userns.gidMap, 5) === undefined ? '' : ',gid=5'}`,
  );
  mkdir('mounts', hostPath('/dev/shm'), 0o1777);
  // --ipc host|container:NAME: POSIX shared memory (shm_open) is files in /dev/shm, not the IPC
  // namespace: sharing that namespace shares System V IPC and message queues only, so the other
  // /dev/shm is bound here too (as Docker does). Another container's is a mount of its own mount
  // namespace, which mount(MS_BIND) refuses as a source: BIND_FROM_NS copies it across (child.c).
  const shmWhy = `/dev/shm shared with ${spec.namespaces?.ipc === 'host' ? 'the host' : spec.namespaces?.ipc} (--ipc): POSIX shared memory (shm_open) is files here`;
  if (spec.shmFrom?.mountNamespace) {
    add({
      op: Op.BIND_FROM_NS,
      strs: [spec.shmFrom.mountNamespace, spec.shmFrom.path, hostPath('/dev/shm')],
      why: shmWhy,
      phase: 'mounts',
    });
  } else if (spec.shmFrom) {
    mount('mounts', shmWhy, spec.shmFrom.path, hostPath('/dev/shm'), '', MS.MS_BIND);
  } else {
    mount(
      'mounts',
      `POSIX shared memory, private to the container${spec.shmSize === undefined ? '' : ' (--shm-size)'}`,
      'shm',
      hostPath('/dev/shm'),
      'tmpfs',
      MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC,
      `mode=1777,size=${spec.shmSize === undefined ? '65536k' : spec.shmSize}`,
    );
  }
  mkdir('mounts', hostPath('/dev/mqueue'));
  mount(
    'mounts',
    `POSIX message queues of ${spec.namespaces?.ipc === 'host' ? "the host's" : joins.some((j) => j.type === 'ipc') ? 'the joined' : 'the new'} IPC namespace`,
    'mqueue',
    hostPath('/dev/mqueue'),
    'mqueue',
    MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC,
    '',
    STEP_FLAGS.IGNORE_ALL,
  );
  const links: Array<[string, string]> = [
    ['pts/ptmx', 'ptmx'],
    ['/proc/self/fd', 'fd'],
    ['/proc/self/fd/0', 'stdin'],
    ['/proc/self/fd/1', 'stdout'],
    ['/proc/self/fd/2', 'stderr'],
  ];
  for (const [target, name] of links)
    add({
      op: Op.SYMLINK,
      strs: [target, hostPath(`/dev/${name}`)],
      why: `/dev/${name} -> ${target}`,
      phase: 'mounts',
    });

  // 5. Bind mounts (-v, --mount type=bind|volume) and tmpfs mounts (--tmpfs, --mount type=tmpfs).
  //    Targets were resolved inside the rootfs (src/runtime/paths.ts). With a tmpfs among them,
  //    shallower targets first, as Docker sorts them: a tmpfs at /data must not hide a bind at
  //    /data/x made before it. (Binds alone keep their order: an OCI bundle's mounts come as listed.)
  const depth = (p: string): number => p.split('/').length;
  const ordered = spec.tmpfs?.length
    ? [...spec.mounts, ...spec.tmpfs].sort((a, b) => depth(a.destination) - depth(b.destination))
    : spec.mounts;
  for (const v of ordered) {
    const target = hostPath(v.destination);
    // mkdir -p, one component at a time (the path was resolved inside the rootfs: no symlinks)
    const parts = v.destination.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++)
      mkdir('mounts', hostPath('/' + parts.slice(0, i).join('/')), 0o755, `parent of ${v.destination}`);
    if (!('source' in v)) {
      mkdir('mounts', target, 0o755, `mount point for --tmpfs ${v.destination}`);
      mount(
        'mounts',
        `--tmpfs ${v.destination}: memory-backed, the container's own, gone with it`,
        'tmpfs',
        target,
        'tmpfs',
        v.flags,
        v.data,
      );
      continue;
    }
    const name = v.volume ? `volume ${v.volume}` : `-v ${v.source}`;
    if (v.isFile)
      add({
        op: Op.TOUCH,
        strs: [target],
        ints: [0o644],
        why: `mount point (a file) for ${name}`,
        phase: 'mounts',
      });
    else
      add({
        op: Op.MKDIR,
        strs: [target],
        ints: [0o755],
        flags: STEP_FLAGS.IGNORE_EEXIST,
        why: `mount point for ${name}`,
        phase: 'mounts',
      });
    mount(
      'mounts',
      v.volume
        ? `-v ${v.volume}:${v.destination} (the volume's directory, kept after the container)`
        : `-v ${v.source}:${v.destination}`,
      v.source,
      target,
      '',
      MS.MS_BIND | MS.MS_REC,
    );
    if (v.readonly) {
      // A bind mount ignores MS_RDONLY on the first call: read-only takes a second, remount call.
      mount(
        'mounts',
        ':ro — a bind mount becomes read-only only through a remount',
        '',
        target,
        '',
        MS.MS_BIND | MS.MS_REMOUNT | MS.MS_RDONLY | MS.MS_REC,
      );
    }
  }

  // 5b. A bridge network's name files (network/wiring.ts), as Docker: the container's own /etc/hosts,
  //     /etc/hostname and /etc/resolv.conf, kept in its directory and bind-mounted over the rootfs's
  //     (a bind mount, not a copy: a hosts file rewritten later — a peer joined — is seen at once).
  const net = opts.net;
  if (net?.nameFiles?.length) {
    mkdir('mounts', hostPath('/etc'), 0o755, 'the name files go in /etc');
    for (const f of net.nameFiles) {
      add({
        op: Op.TOUCH,
        strs: [hostPath(f.target)],
        ints: [0o644],
        why: `mount point for the container's ${f.target}`,
        phase: 'mounts',
      });
      mount(
        'mounts',
        `${f.target}: this container's own (the network's addresses and names)`,
        f.source,
        hostPath(f.target),
        '',
        MS.MS_BIND,
      );
    }
  }

  // 6. UTS and network namespaces: a hostname and lo up only in namespaces of our own (the host's
  //    and a joined one keep theirs; --network container: is one of the joins at the top).
  if (!hostNamespaces(spec).includes('uts') && !joins.some((j) => j.type === 'uts'))
    add({
      op: Op.SETHOSTNAME,
      strs: [spec.hostname],
      why: 'the UTS namespace has its own hostname',
      phase: 'namespaces',
    });
  if (net?.mode !== 'host' && !joins.some((j) => j.type === 'network'))
    add({ op: Op.LOOPBACK_UP, why: 'a new network namespace has only "lo", and it starts down', phase: 'namespaces' });
  // 6a. A bridge network (network/bridge.ts containerSteps): the child sends one netlink request
  //     each, from in here (a netlink socket speaks to the namespace it is created in), still with
  //     CAP_NET_ADMIN: the veth pair — eth0 made here, the host end sent to minidock's namespace,
  //     which it opens through the host's /proc, still reachable before pivot_root — then eth0's
  //     address, eth0 up and the default route. (The messages are made by network/bridge.ts,
  //     through prepareNetwork: a launch without a network does not load that code.)
  if (att) {
    for (const n of net?.inside ?? [])
      add({
        op: Op.NETLINK,
        strs: n.ns ? [n.msg, n.what, n.ns.file] : [n.msg, n.what],
        ...(n.ns ? { ints: [n.ns.at] } : {}),
        why: `eth0 on network ${att.network}`,
        phase: 'namespaces',
      });
  }

  // 7. pivot_root: make the overlay "/" and detach the host's root. Unlike chroot, this leaves no
  //    path back: the old root is unmounted from the namespace altogether.
  add({
    op: Op.CHDIR,
    strs: [dirs.merged],
    why: 'pivot_root(".", ".") works on the current directory',
    phase: 'pivot_root',
  });
  add({
    op: Op.PIVOT_ROOT,
    strs: ['.', '.'],
    why: 'the overlay becomes "/"; the old root is stacked on top of it',
    phase: 'pivot_root',
  });
  add({
    op: Op.UMOUNT2,
    strs: ['.'],
    ints: [MNT_DETACH],
    why: "detach the host's old root: the container can no longer reach it",
    phase: 'pivot_root',
  });
  add({ op: Op.CHDIR, strs: ['/'], why: 'stand in the new root', phase: 'pivot_root' });
  steps.push(...sysctlSteps(spec), ...deviceSteps(spec));
  if (spec.readonlyRootfs) {
    add({
      op: Op.MOUNT,
      strs: ['', '/', '', ''],
      ints: [MS.MS_BIND | MS.MS_REMOUNT | MS.MS_RDONLY],
      why: '--read-only: remount "/" read-only',
      phase: 'pivot_root',
    });
  }

  // 8. Masked and read-only paths of /proc and /sys (as Docker does).
  if (!spec.privileged) {
    for (const p of spec.maskedPaths) {
      if (MASKED_DIRS.has(p)) {
        mount(
          'mounts',
          `mask ${p}: an empty read-only tmpfs over it`,
          'tmpfs',
          p,
          'tmpfs',
          MS.MS_RDONLY,
          '',
          STEP_FLAGS.IGNORE_ENOENT,
        );
      } else {
        mount('mounts', `mask ${p}: /dev/null over it`, '/dev/null', p, '', MS.MS_BIND, '', STEP_FLAGS.IGNORE_ENOENT);
      }
    }
    for (const p of spec.readonlyPaths) {
      mount(
        'mounts',
        `read-only ${p}: bind it onto itself…`,
        p,
        p,
        '',
        MS.MS_BIND | MS.MS_REC,
        '',
        STEP_FLAGS.IGNORE_ENOENT,
      );
      mount(
        'mounts',
        `…then remount that bind read-only`,
        p,
        p,
        '',
        MS.MS_BIND | MS.MS_REMOUNT | MS.MS_RDONLY | MS.MS_REC | MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC,
        '',
        STEP_FLAGS.IGNORE_ENOENT,
      );
    }
  }

  // 9. The terminal (-t): a pty from the container's own devpts, handed to minidock.
  if (spec.tty)
    add({
      op: Op.CONSOLE,
      ints: [spec.ttySize?.rows || 24, spec.ttySize?.cols || 80],
      why: '-t: a pty of our own devpts becomes the terminal; the master goes to minidock',
      phase: 'exec',
    });

  // 10. Wait for the cgroup join, then enter a cgroup namespace rooted at our own cgroup.
  if (!selfJoin.length && !userns && !forkSync) add({ op: Op.SYNC, why: syncWhy, phase: 'cgroup' });
  // (--cgroupns host: none — /proc/self/cgroup and /sys/fs/cgroup show the host's paths; Docker's
  // default on cgroup v1, while minidock makes one on v1 and v2 alike, as Docker does on v2)
  if (spec.cgroupns !== 'host')
    add({
      op: Op.UNSHARE,
      ints: [CLONE.CLONE_NEWCGROUP],
      why: 'now that we are in our cgroup, /proc/self/cgroup shows it as "/"',
      phase: 'namespaces',
    });

  // 10b. /sys/fs/cgroup: the container's own cgroups, read-only, as Docker and runc show them. A
  //      cgroup filesystem mounted inside a cgroup namespace has the namespace's root as its root:
  //      our own cgroup. So `cat /sys/fs/cgroup/memory/memory.limit_in_bytes` (v1) or
  //      `/sys/fs/cgroup/memory.max` (v2) shows the container its limit, and nothing of the host's tree.
  const cgfs = opts.cgroupfs ?? [];
  const cgFlags = (spec.privileged ? 0 : MS.MS_RDONLY) | MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC;
  const cgWhy = spec.privileged ? '(read-write: --privileged)' : '(read-only)';
  const rooted = spec.cgroupns === 'host' ? "the host's whole tree (--cgroupns host)" : 'rooted at our own cgroup';
  if (cgfs.length === 1 && cgfs[0]!.fstype === 'cgroup2') {
    mount('mounts', `cgroup2, ${rooted} ${cgWhy}`, 'cgroup2', '/sys/fs/cgroup', 'cgroup2', cgFlags);
  } else if (cgfs.length > 0) {
    // v1: a tmpfs to hold one mount point per hierarchy (sysfs itself is read-only)
    const base = MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC;
    mount(
      'mounts',
      "a tmpfs for the v1 hierarchies' mount points",
      'tmpfs',
      '/sys/fs/cgroup',
      'tmpfs',
      base,
      'mode=755',
    );
    for (const c of cgfs) {
      const dir = `/sys/fs/cgroup/${c.dir}`;
      mkdir('mounts', dir);
      mount(
        'mounts',
        `the ${c.data} hierarchy, ${rooted} ${cgWhy}; the options must name its controllers exactly`,
        'cgroup',
        dir,
        'cgroup',
        cgFlags,
        c.data,
      );
      for (const l of c.links)
        add({
          op: Op.SYMLINK,
          strs: [c.dir, `/sys/fs/cgroup/${l}`],
          why: `${l} -> ${c.dir}, as on the host`,
          phase: 'mounts',
        });
    }
    if (!spec.privileged) {
      mount(
        'mounts',
        'the tmpfs read-only too',
        '',
        '/sys/fs/cgroup',
        '',
        MS.MS_REMOUNT | MS.MS_RDONLY | base,
        'mode=755',
      );
    }
  }

  // 11. Resource limits of the process (not cgroups): setrlimit.
  for (const r of spec.rlimits) {
    add({
      op: Op.SETRLIMIT,
      ints: [RLIMIT[r.type], r.soft, r.hard],
      why: `--ulimit ${r.type}=${r.soft}:${r.hard}`,
      phase: 'identity',
    });
  }

  // 11a. --oom-score-adj: how readily the OOM killer picks this process (and what it runs: children
  //     inherit it). Written here, while we still hold every capability: lowering it needs
  //     CAP_SYS_RESOURCE, and a value written with it becomes the floor (oom_score_adj_min) the
  //     container cannot go below once that capability is dropped. /proc/self is us, in the procfs
  //     mounted above. (The vfork launch shares Node's memory, yet only we change: the kernel keeps a
  //     vfork child's oom_score_adj its own.)
  if (spec.oomScoreAdj !== undefined) {
    add({
      op: Op.WRITE_FILE,
      strs: ['/proc/self/oom_score_adj', String(spec.oomScoreAdj)],
      why: `--oom-score-adj ${spec.oomScoreAdj}: ${spec.oomScoreAdj < 0 ? 'the OOM killer spares us longer' : 'the OOM killer picks us sooner'}; inherited by every process we start`,
      phase: 'identity',
    });
  }

  // 11b. seccomp(SECCOMP_SET_MODE_FILTER) is allowed to a process with no_new_privs set, or with
  //     CAP_SYS_ADMIN. With --security-opt no-new-privileges=false there is no no_new_privs, and the
  //     capabilities are about to go: so the filter goes in NOW, while we still hold them (runc does
  //     the same). The steps below then run filtered; they only use calls the profile allows.
  if (spec.seccomp && !spec.noNewPrivileges) {
    add({
      op: Op.SECCOMP,
      strs: [spec.seccomp],
      why: `seccomp filter${spec.seccompProfileName ? ' ' + spec.seccompProfileName : ''}: early, while we hold CAP_SYS_ADMIN (no no_new_privs to allow it later)`,
      phase: 'seccomp',
    });
  }

  // 12. The bounding set first: dropping from it needs CAP_SETPCAP in the effective set, which a
  //     setuid to a non-root user clears. It limits what any later execve can ever gain.
  const nonRoot = spec.uid !== 0;
  const mask = capMask(spec.capabilities);
  add({
    op: Op.CAPBSET,
    ints: [mask],
    why: `bounding set: keep ${spec.capabilities.length} capabilities, drop the rest for good`,
    phase: 'capabilities',
  });

  // 13. Identity: groups, gid, uid. Keep the permitted set across setuid until capset below.
  // (setgroups "deny": the kernel refuses setgroups() in this user namespace, see userns.ts)
  if (userns?.setgroups !== 'deny')
    add({
      op: Op.SETGROUPS,
      ints: spec.additionalGids,
      why: "supplementary groups: drop the host's",
      phase: 'identity',
    });
  add({ op: Op.SETGID, ints: [spec.gid], why: "the container user's group", phase: 'identity' });
  if (nonRoot)
    add({
      op: Op.KEEPCAPS,
      ints: [1],
      why: 'keep the permitted set across setuid, so capset below still works',
      phase: 'identity',
    });
  add({ op: Op.SETUID, ints: [spec.uid], why: 'the container user', phase: 'identity' });

  // 14. The capability sets themselves. A non-root user gets none in effect (Docker's behaviour).
  add({
    op: Op.CAPSET,
    ints: nonRoot ? [0, 0, 0] : [mask, mask, mask],
    why: nonRoot ? 'a non-root user starts with no capabilities' : 'effective, permitted and inheritable sets',
    phase: 'capabilities',
  });
  if (spec.noNewPrivileges)
    add({
      op: Op.NO_NEW_PRIVS,
      why: 'setuid binaries and file capabilities can no longer raise privileges',
      phase: 'capabilities',
    });

  // 15. The working directory, the fds, and finally seccomp, as close to execve as possible.
  add({ op: Op.CHDIR, strs: [spec.cwd], why: '-w: the working directory', phase: 'exec' });
  add({
    op: Op.CLOSE_FDS,
    why: "none of Node's fds (epoll, eventfd, pipes) may leak into the container",
    phase: 'exec',
  });
  const stdinNull = spec.interactive || spec.tty ? 0 : 1;
  const pipes = stdioPipes(spec, opts.terminals ?? 0);
  const piped = [0, 1, 2].filter((n) => pipes & (1 << n));
  const stdioWhy =
    (spec.interactive
      ? 'stdio as inherited, made blocking and inheritable'
      : 'no -i: stdin is /dev/null (as in Docker)') +
    (piped.length
      ? `; fd ${piped.join(', ')}: the user's terminal, so a pipe to minidock's relay instead (as in Docker without -t): nothing inside can push input into it (TIOCSTI) or change its settings`
      : '');
  add({ op: Op.STDIO, ints: pipes ? [stdinNull, pipes] : [stdinNull], why: stdioWhy, phase: 'exec' });
  // OCI create: everything is set up; wait here for `start` (runc's exec.fifo point; child.c exec_fifo)
  if (opts.execFifo !== undefined)
    add({
      op: Op.EXEC_FIFO,
      ints: [opts.execFifo],
      why: 'OCI create ends here: wait until `start` opens exec.fifo',
      phase: 'exec',
    });
  if (spec.seccomp && spec.noNewPrivileges) {
    add({
      op: Op.SECCOMP,
      strs: [spec.seccomp],
      why: `seccomp filter${spec.seccompProfileName ? ' ' + spec.seccompProfileName : ''}: the last step, so nothing above is filtered`,
      phase: 'seccomp',
    });
  }

  const pathVar = spec.env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const pathDirs = pathVar.split(':').filter(Boolean);
  // --init: PID 1 is minidock-init, which forks the command (searching PATH itself), forwards
  // signals to it and reaps every orphan (native/init.c)
  const argv = spec.init ? ['/dev/init', '--', ...spec.args] : spec.args;
  add({
    op: Op.EXEC,
    ints: [argv.length, spec.env.length, pathDirs.length],
    strs: [...argv, ...spec.env, ...pathDirs],
    why: spec.init
      ? '--init: minidock-init as PID 1; it runs the command as its child'
      : spec.args[0].includes('/')
        ? 'run the command'
        : `run the command, searching PATH`,
    phase: 'exec',
  });
  return steps;
}

/**
 * --sysctl: written once "/" is the container's root, into /proc/sys of the procfs mounted for it,
 * and before step 8 remounts /proc/sys read-only. A sysctl file acts on the namespaces of the
 * process that writes it (net.* on our network namespace, kernel.shm*, msg*, sem and fs.mqueue.* on
 * our IPC namespace), and ours exist since clone(): so the write changes the container's copy only.
 * After pivot_root rather than before: the path is resolved in the container's own tree, with no
 * host directory on the way. (eth0 of a bridge network exists by then, step 6a or a user namespace's
 * SYNC: its net.ipv4.conf.eth0.* keys apply to it, net.ipv4.conf.default.* only to links made later.)
 */
function sysctlSteps(spec: Pick<ContainerSpec, 'sysctls'>): Step[] {
  return Object.entries(spec.sysctls ?? {}).map(([k, v]) =>
    sysctlStep(
      k,
      v,
      `--sysctl ${k}=${v}: ${k.startsWith('net.') ? 'our network namespace' : 'our IPC namespace'}'s own copy`,
    ),
  );
}

/** One sysctl written into /proc/sys of the container's procfs (--sysctl, config.json linux.sysctl). */
export function sysctlStep(key: string, value: string, why: string): Step {
  return { op: Op.WRITE_FILE, strs: [`/proc/sys/${key.replace(/\./g, '/')}`, value], why, phase: 'namespaces' };
}

/**
 * --device: the same device (type, major:minor) made with mknod in the container, where the plan's
 * /dev (a tmpfs) or the rootfs holds it, once "/" is the container's root; its device cgroup rule
 * lets the container open it (launch.ts cgroupOptions). The node, not a bind of the host's: a
 * bind would carry the host file's mount (and its nosuid/noexec) and any later rename of it.
 */
function deviceSteps(spec: Pick<ContainerSpec, 'devices'>): Step[] {
  return (spec.devices ?? [])
    .filter((d) => !DEVICES.some((n) => d.path === `/dev/${n}`)) // the host's own node is bound there
    .flatMap((d) =>
      deviceNodeSteps(
        d,
        `--device ${d.hostPath}: ${d.type === 'c' ? 'character' : 'block'} device ${d.major}:${d.minor}, its cgroup rule "${d.type} ${d.major}:${d.minor} ${d.access}"`,
      ),
    );
}

/** A device node in the container (--device, config.json linux.devices): its parents below /dev
 * first (an existing one is fine), then the mknod. */
export function deviceNodeSteps(
  d: { path: string; mode: number; major: number; minor: number; uid: number; gid: number },
  why: string,
): Step[] {
  const steps: Step[] = [];
  const parts = d.path.split('/').filter(Boolean);
  for (let i = 1; i < parts.length; i++) {
    const parent = `/${parts.slice(0, i).join('/')}`;
    if (parent !== '/dev')
      steps.push({
        op: Op.MKDIR,
        strs: [parent],
        ints: [0o755],
        flags: STEP_FLAGS.IGNORE_EEXIST,
        why: `parent of ${d.path}`,
        phase: 'mounts',
      });
  }
  steps.push({ op: Op.MKNOD, strs: [d.path], ints: [d.mode, d.major, d.minor, d.uid, d.gid], why, phase: 'mounts' });
  return steps;
}
