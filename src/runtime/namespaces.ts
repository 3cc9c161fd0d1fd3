// --ipc, --pid, --uts and --shm-size (docs/lifecycle.md, "Sharing namespaces"): the flags checked
// into the spec (namespaceFlags, by options.ts), and at each launch the namespaces of another
// container that the plan joins (resolveJoins, by launch.ts and the dry run). The joining itself is
// the plan's, the same for run's flags, --network container: and an OCI bundle's linux.namespaces
// paths (build-plan.ts joinSteps). Loaded only when one of these flags is given.
//
//   --ipc shareable   (the default) a new IPC namespace and /dev/shm of its own, which other
//                     containers may join
//   --ipc private     the same, but no container may join it
//   --ipc host        no CLONE_NEWIPC, and the host's /dev/shm bound into the container
//   --ipc container:N setns into N's IPC namespace, and N's /dev/shm bound into the container
//   --pid host        no CLONE_NEWPID: /proc shows every process of the host
//   --pid container:N setns into N's PID namespace, then a fork: the child is the init
//   --uts host        no CLONE_NEWUTS, no sethostname: the host's name (--hostname refused)
import { closeSync, openSync, constants as fsc } from 'node:fs';
import { hostname as hostHostname } from 'node:os';
import { MinidockError, fail } from '../errors.js';
import { isProcess } from '../sys/proc.js';
import { resolve } from './container-store/listing.js';
import { effectiveStatus } from './container-store/staleness.js';
import { parseMemory } from './limits.js';
import type { ContainerSpec, NamespaceJoin, NamespaceModes } from './spec.js';

export interface NamespaceFlags {
  ipc?: string;
  pid?: string;
  uts?: string;
  shmSize?: string;
  hostname?: string;
}

const MODES = {
  ipc: { list: 'host, private, shareable or container:NAME', values: ['host', 'private', 'shareable'] },
  pid: { list: 'host or container:NAME', values: ['host'] },
  uts: { list: 'host', values: ['host'] },
} as const;

/**
 * The flags -> the spec's namespaces and shmSize, and the hostname with --uts host (the host's).
 * Each bad value, and each combination Docker refuses, is one line (exit 125).
 * `userns`: the launch makes a user namespace (--userns, rootless).
 */
export function namespaceFlags(
  f: NamespaceFlags,
  userns: boolean,
): { namespaces?: NamespaceModes; shmSize?: number; hostname?: string } {
  const namespaces: NamespaceModes = {};
  for (const type of ['ipc', 'pid', 'uts'] as const) {
    const v = f[type];
    if (v === undefined) continue;
    const container = type !== 'uts' && v.startsWith('container:');
    if (container && !v.slice('container:'.length))
      fail(`--${type} container: needs a container name or ID, e.g. --${type} container:web`);
    if (!container && !(MODES[type].values as readonly string[]).includes(v))
      fail(`--${type} ${v}: use ${MODES[type].list}`);
    // (a namespace of the init user namespace cannot be joined, nor shared, from a user namespace
    // of the container's own: setns needs CAP_SYS_ADMIN over the namespace's owner; Docker refuses too)
    if (userns && (container || v === 'host'))
      fail(
        `--${type} ${v} with a user namespace (--userns, --uidmap or a rootless run): a namespace of the host's user namespace cannot be ${container ? 'joined' : 'shared'} from the container's own — drop one of them`,
      );
    namespaces[type] = v;
  }
  if (namespaces.uts === 'host' && f.hostname !== undefined)
    fail(`--hostname ${f.hostname} with --uts host: the container has the host's name then — drop one of them`);
  let shmSize: number | undefined;
  if (f.shmSize !== undefined) {
    shmSize = parseMemory('--shm-size', f.shmSize);
    if (shmSize <= 0) fail(`--shm-size ${f.shmSize}: give a size above 0 (e.g. 64m, Docker's default)`);
    const ipc = namespaces.ipc;
    if (ipc === 'host' || ipc?.startsWith('container:'))
      fail(
        `--shm-size with --ipc ${ipc}: /dev/shm is then ${ipc === 'host' ? "the host's" : "that container's"}, whose size is not this container's to set — drop --shm-size`,
      );
  }
  return {
    ...(Object.keys(namespaces).length ? { namespaces } : {}),
    ...(shmSize === undefined ? {} : { shmSize }),
    ...(namespaces.uts === 'host' ? { hostname: hostHostname() } : {}),
  };
}

/** What resolveJoins gives a launch: the spec's fields for the plan, and what minidock holds open. */
export interface ResolvedJoins {
  joinNamespaces: NamespaceJoin[];
  shmFrom?: ContainerSpec['shmFrom'];
  /** close the descriptors minidock holds for the child (after it has exec'd, or failed) */
  close: () => void;
}

/**
 * The running container `ref` names, for `--TYPE container:ref`: not this one, and running (its
 * namespaces live only while it runs). Its pid and start time name its first process.
 */
function target(root: string, spec: ContainerSpec, type: 'ipc' | 'pid', ref: string) {
  const flag = `--${type} container:${ref}`;
  let e;
  try {
    e = resolve(root, ref);
  } catch (err) {
    throw new MinidockError(`${flag}: ${(err as Error).message}`); // (a run's bad input: 125)
  }
  if (e.id === spec.id)
    throw new MinidockError(`${flag}: that is this container itself — name another, running container`);
  const s = e.state;
  if (effectiveStatus(e) !== 'running' || !s?.pid || !isProcess(s.pid, s.pidStart))
    throw new MinidockError(
      `${flag}: that container is not running — start it first (its ${type.toUpperCase()} namespace lives only while it runs)`,
    );
  // Docker: only a shareable (or host) IPC namespace may be joined
  if (type === 'ipc' && e.config?.spec.namespaces?.ipc === 'private')
    throw new MinidockError(
      `${flag}: its IPC namespace is private (it was run with --ipc private) — run it with --ipc shareable, the default`,
    );
  return { pid: s.pid, pidStart: s.pidStart, flag };
}

/**
 * Open `path` (a namespace file of the target) and check, with the file open, that
 * the target is still the same process: a pid reused meanwhile would give another process's
 * namespace. The child is given /proc/<minidock>/fd/N: what it joins or binds is this very file,
 * whatever happens to the path later. (The child reads our /proc before its pivot_root: our pid as
 * the host sees it.)
 */
function holdOpen(path: string, flags: number, t: { pid: number; pidStart?: number; flag: string }, held: number[]) {
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (e) {
    throw new MinidockError(`${t.flag}: open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  held.push(fd);
  if (!isProcess(t.pid, t.pidStart))
    throw new MinidockError(`${t.flag}: that container stopped while minidock was joining it — start it again`);
  return { fd, path: `/proc/${process.pid}/fd/${fd}` };
}

/**
 * The target's /dev/shm, for --ipc container:. Not /proc/PID/root/dev/shm: mount(MS_BIND) refuses a
 * mount of another mount namespace (EINVAL), and an absolute symlink the target's root put at that
 * path would be followed from OUR root, to a host directory. Its /dev/shm is named as a path in its
 * own mount namespace (held open), which the child's BIND_FROM_NS step enters, copies the mount
 * from (open_tree) and leaves: resolved from the target's root, nothing of the host is reachable.
 */
function targetShm(t: { pid: number; pidStart?: number; flag: string }, held: number[], dryRun: boolean) {
  const ns = `/proc/${t.pid}/ns/mnt`;
  return { path: '/dev/shm', mountNamespace: dryRun ? ns : holdOpen(ns, fsc.O_RDONLY, t, held).path };
}

/**
 * For one launch: the namespaces of --ipc/--pid container:NAME, and the /dev/shm of --ipc
 * host|container:NAME. Throws one line (exit 125) for a target that is not running, is this container,
 * or keeps its IPC namespace private. dryRun: the paths /proc/PID/..., nothing opened.
 */
export function resolveJoins(spec: ContainerSpec, root: string, dryRun = false): ResolvedJoins {
  const held: number[] = [];
  const close = (): void => {
    for (const fd of held.splice(0)) closeSync(fd);
  };
  const joinNamespaces: NamespaceJoin[] = [];
  let shmFrom: ContainerSpec['shmFrom'];
  try {
    for (const type of ['ipc', 'pid'] as const) {
      const mode = spec.namespaces?.[type];
      if (!mode?.startsWith('container:')) continue;
      const t = target(root, spec, type, mode.slice('container:'.length));
      const ns = `/proc/${t.pid}/ns/${type}`;
      joinNamespaces.push({
        type,
        path: dryRun ? ns : holdOpen(ns, fsc.O_RDONLY, t, held).path,
        from: `${t.flag} (${ns}${dryRun ? '' : ', held open by minidock'})`,
      });
      if (type === 'ipc') shmFrom = targetShm(t, held, dryRun);
    }
  } catch (e) {
    close();
    throw e;
  }
  if (spec.namespaces?.ipc === 'host') shmFrom = { path: '/dev/shm' }; // (the host's: the child has not pivoted yet)
  return { joinNamespaces, ...(shmFrom ? { shmFrom } : {}), close };
}
