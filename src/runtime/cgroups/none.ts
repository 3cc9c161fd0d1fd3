// A rootless launch's cgroup: where a normal user may have one, and none where it may not.
//
// The kernel lets a process create a cgroup, and move a process into it, only where it may write the
// directory and the cgroup.procs of the common ancestor of the old and new cgroup (cgroup v2's
// "delegation containment", Documentation/admin-guide/cgroup-v2.rst). On cgroup v1 every hierarchy is
// root's: a normal user has none. On cgroup v2 systemd delegates a subtree to each user:
// /user.slice/user-UID.slice/user@UID.service/ and everything below it belong to the user, with the
// controllers user@.service is given (Delegate=, "cpu cpuset io memory pids" since systemd 252,
// "memory pids" before). A process started inside it (a desktop terminal, `systemd-run --user --scope`)
// can put the container's cgroup beside its own, as the v2 driver does for root; one started in a
// login session (session-N.scope, root's) cannot, whatever it owns elsewhere. So the decision looks
// at the parent the v2 driver would use: the user's own directory there means limits are enforced;
// anything else, no cgroup and a limit flag refused rather than silently ignored.
import { statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fail } from '../../errors.js';
import { readOpt } from '../../sys/read.js';
import type { Limits } from '../limits.js';
import { detectCgroups, dirInMount } from './detect.js';
import { createCgroup } from './index.js';
import type { Cgroup, CgroupOptions } from './types.js';
import { normalizeParent } from './util.js';

/** A normal user's delegated cgroup v2 directory (parent: relative to the cgroup2 mount), or why there is none and how to get one. */
export type Delegation = { parent: string; dir: string; controllers: string[] } | { why: string; fix: string };

const GET_V2 =
  'boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line): systemd then delegates a subtree to each user';
const GET_INSIDE =
  "start minidock inside your systemd user manager's subtree: systemd-run --user --scope minidock run ...";

/**
 * Where a user (uid) may create the container's cgroup: the directory the v2 driver would make it in
 * (--cgroup-parent, else the parent of this process's own cgroup), when that directory and its
 * cgroup.procs and cgroup.subtree_control are the user's. `controllers`: what it offers (cgroup.controllers).
 */
export function rootlessDelegation(uid: number, opts: CgroupOptions = {}): Delegation {
  const detected = detectCgroups(opts);
  if (detected.mode === 'v1') return { why: 'cgroup v1: only root creates cgroups', fix: GET_V2 };
  const mount = detected.mounts.v2!;
  let dir: string | undefined;
  if (opts.parent !== undefined) {
    dir = join(mount.mountPoint, normalizeParent(opts.parent));
  } else {
    const own = mount.ownPath === undefined ? undefined : dirInMount(mount.mountPoint, mount.mountRoot, mount.ownPath);
    if (own === undefined || own === mount.mountPoint)
      return {
        why: `cgroup v2: this process's cgroup (${mount.ownPath ?? 'unknown'}) has no parent of yours`,
        fix: GET_INSIDE,
      };
    dir = dirname(own);
  }
  const owner = (p: string): number | undefined => {
    try {
      return statSync(p).uid;
    } catch {
      return undefined;
    }
  };
  const notYours = ['', 'cgroup.procs', 'cgroup.subtree_control'].find((f) => owner(join(dir, f)) !== uid);
  if (notYours !== undefined) {
    const o = owner(join(dir, notYours));
    return {
      why: `cgroup v2: ${join(dir, notYours)} is ${o === undefined ? 'missing' : `uid ${o}'s`}, not yours (no subtree delegated to you here)`,
      fix:
        opts.parent !== undefined
          ? 'a --cgroup-parent inside your delegated subtree (user.slice/user-UID.slice/user@UID.service/...)'
          : GET_INSIDE,
    };
  }
  const controllers = (readOpt(join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean);
  return { parent: relative(mount.mountPoint, dir), dir, controllers };
}

/** The controller each limit needs (cgroup v2 names). */
export function controllersFor(limits: Limits): string[] {
  const need = new Set<string>();
  const given = (k: keyof Limits): boolean => limits[k] !== undefined;
  if (given('memory') || given('memoryReservation') || (given('memorySwap') && !limits.memorySwapDefault))
    need.add('memory');
  if (given('cpuQuotaUs') || given('cpuShares') || given('cpuWeight')) need.add('cpu');
  if (given('cpusetCpus') || given('cpusetMems')) need.add('cpuset');
  if (given('pids')) need.add('pids');
  return [...need];
}

/**
 * A rootless launch's cgroup: in the user's delegated cgroup v2 subtree when there is one (limits
 * enforced, as root's, by the v2 driver), else none (noCgroup: a limit refused). No device filter
 * there: attaching an eBPF program needs CAP_BPF on the host, and a user namespace refuses mknod, so
 * the container has only the bind-mounted /dev of the plan.
 */
export function rootlessCgroup(
  name: string,
  limits: Limits,
  opts: CgroupOptions = {},
  uid = process.geteuid?.() ?? 0,
): Cgroup {
  const d = rootlessDelegation(uid, opts);
  if ('why' in d) return noCgroup(name, limits, d, opts);
  const missing = controllersFor(limits).filter((c) => !d.controllers.includes(c));
  if (missing.length) {
    fail(
      `${missing.join(', ')}: your delegated cgroup ${d.dir} offers only "${d.controllers.join(' ')}" — as root: systemctl edit user@.service, [Service] Delegate=cpu cpuset io memory pids, then log in again; or drop the limit flags`,
    );
  }
  return createCgroup(name, limits, { ...opts, parent: d.parent, restrictDevices: false });
}

/** No cgroup of its own (nothing created, joined or removed); refuses any limit in `limits`, saying why (`why`: rootlessDelegation's answer). */
export function noCgroup(
  name: string,
  limits: Limits,
  why?: { why: string; fix: string },
  opts: CgroupOptions = {},
): Cgroup {
  const mode = detectCgroups(opts).mode;
  // (memorySwap that -m implies, Docker's default, is not a flag of the user's: only what was asked is named)
  const given = Object.entries(limits)
    .filter(
      ([k, v]) => v !== undefined && k !== 'memorySwapDefault' && !(k === 'memorySwap' && limits.memorySwapDefault),
    )
    .map(([k]) => k);
  if (given.length) {
    const reason =
      why?.why ?? (mode === 'v1' ? 'cgroup v1: only root creates cgroups' : 'cgroup v2: no subtree delegated to you');
    fail(
      `${given.join(', ')}: a rootless container has no cgroup of its own (${reason}), so it cannot be limited — drop the limit flags, run as root${why ? `, or ${why.fix}` : ''}`,
    );
  }
  return {
    mode,
    name,
    paths: [],
    fsMounts: [],
    writes: [],
    join: () => undefined,
    stats: () => ({}),
    oomKills: () => undefined,
    destroy: () => undefined,
  };
}
