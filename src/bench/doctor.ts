// The checks of `minidock doctor`: can this machine run minidock (and its benchmark)? Every check
// says what it found and, when something is missing, the command that fixes it (src/cli/doctor.ts
// prints them).
import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { detectCgroups } from '../runtime/cgroups/index.js';
import { rootlessDelegation, type Delegation } from '../runtime/cgroups/none.js';
import { hasIdMapHelpers, subordinateRange } from '../runtime/userns.js';
import { stateRoot } from '../runtime/state-root.js';
import { readOpt } from '../sys/read.js';
import { median } from './stats.js';
import { BENCHEXEC, FIRSTINSN, MINIDOCK_BIN, MINIDOCK_BUNDLE, PKG_ROOT, sh, timed, which } from './proc.js';
import { findDaemons } from './daemons.js';
import { ALL_PEERS, makePeer } from './peers/index.js';
import type { BenchContext } from './peers/types.js';

export type Status = 'ok' | 'warn' | 'fail';

export interface Check {
  area: string;
  status: Status;
  found: string;
  fix?: string;
}

/** "6.18.44-fc" -> [6, 18] */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export function checkKernel(release = readOpt('/proc/sys/kernel/osrelease')?.trim() ?? 'unknown'): Check {
  const [maj, min] = kernelVersion(release);
  // 4.18: unprivileged overlayfs in user namespaces came in 5.11, pidfd in 5.3; 4.18 is the floor we
  // know works for the plain root path (runc's floor too)
  const ok = maj > 4 || (maj === 4 && min >= 18);
  return {
    area: 'kernel',
    status: ok ? 'ok' : 'fail',
    found: `Linux ${release}`,
    fix: ok ? undefined : 'a kernel ≥ 4.18 (namespaces, overlayfs and cgroup features minidock uses)',
  };
}

export function checkCgroups(): Check[] {
  try {
    const d = detectCgroups();
    const out: Check[] = [
      {
        area: 'cgroup mode',
        status: 'ok',
        found: `${d.mode}${d.mode === 'v1' && d.mounts.v2 ? ' (hybrid)' : ''}: ${d.reason}`,
      },
    ];
    let controllers: string[];
    if (d.mode === 'v1') controllers = d.mounts.v1.flatMap((h) => h.controllers);
    else
      controllers = (readOpt(join(d.mounts.v2!.mountPoint, 'cgroup.controllers')) ?? '')
        .trim()
        .split(/\s+/)
        .filter(Boolean);
    const need = d.mode === 'v1' ? ['memory', 'cpu', 'cpuacct', 'pids'] : ['memory', 'cpu', 'pids'];
    const missing = need.filter((c) => !controllers.includes(c));
    out.push({
      area: 'cgroup controllers',
      status: missing.length ? 'fail' : 'ok',
      found: controllers.sort().join(' ') || '(none)',
      fix: missing.length
        ? d.mode === 'v2'
          ? `enable them for minidock's parent: echo "+${missing.join(' +')}" > ${d.mounts.v2!.mountPoint}/cgroup.subtree_control`
          : `mount the missing hierarchies: ${missing.map((c) => `mount -t cgroup -o ${c} cgroup /sys/fs/cgroup/${c}`).join('; ')}`
        : undefined,
    });
    return out;
  } catch (e) {
    return [
      { area: 'cgroup mode', status: 'fail', found: (e as Error).message, fix: 'mount -t cgroup2 none /sys/fs/cgroup' },
    ];
  }
}

export function checkOverlay(filesystems = readOpt('/proc/filesystems') ?? ''): Check {
  const ok = /\boverlay$/m.test(filesystems);
  return {
    area: 'overlayfs',
    status: ok ? 'ok' : 'fail',
    found: ok ? 'overlay in /proc/filesystems' : 'overlay not in /proc/filesystems',
    fix: ok ? undefined : 'modprobe overlay',
  };
}

export function checkUserns(): Check {
  const max = Number(readOpt('/proc/sys/user/max_user_namespaces')?.trim() ?? 'NaN');
  const unpriv = readOpt('/proc/sys/kernel/unprivileged_userns_clone')?.trim();
  if (!Number.isFinite(max))
    return {
      area: 'user namespaces',
      status: 'warn',
      found: 'no /proc/sys/user/max_user_namespaces',
      fix: 'a kernel with CONFIG_USER_NS=y',
    };
  if (max === 0)
    return {
      area: 'user namespaces',
      status: 'warn',
      found: 'max_user_namespaces = 0 (disabled)',
      fix: 'sysctl -w user.max_user_namespaces=15000',
    };
  return {
    area: 'user namespaces',
    status: 'ok',
    found: `max_user_namespaces = ${max}${unpriv !== undefined ? `, unprivileged_userns_clone = ${unpriv}` : ''}`,
  };
}

export function checkSeccomp(status = readOpt('/proc/self/status') ?? ''): Check {
  const line = /^Seccomp:\s*(\d+)/m.exec(status);
  const actions = readOpt('/proc/sys/kernel/seccomp/actions_avail')?.trim();
  if (!line)
    return {
      area: 'seccomp',
      status: 'fail',
      found: 'no Seccomp: line in /proc/self/status',
      fix: 'a kernel with CONFIG_SECCOMP_FILTER=y',
    };
  return {
    area: 'seccomp',
    status: actions ? 'ok' : 'warn',
    found: actions ? `filter mode available; actions: ${actions}` : 'seccomp present, actions_avail unknown',
  };
}

export function checkRootfs(): Check {
  const bb = join(PKG_ROOT, 'rootfs', 'bin', 'busybox');
  if (!existsSync(bb))
    return {
      area: 'busybox rootfs',
      status: 'fail',
      found: `${bb} missing`,
      fix: `cd ${PKG_ROOT} && npm run build   (apt-get install busybox-static)`,
    };
  const r = which('readelf') ? sh(['readelf', '-l', bb]) : undefined;
  const dynamic = r ? /program interpreter/.test(r.stdout) : false;
  return {
    area: 'busybox rootfs',
    status: dynamic ? 'fail' : 'ok',
    found: `${join(PKG_ROOT, 'rootfs')}${dynamic ? ': busybox is dynamically linked' : ' (static busybox)'}`,
    fix: dynamic ? 'apt-get install busybox-static && rm -rf rootfs && npm run build' : undefined,
  };
}

export function checkNative(): Check {
  const lib = join(PKG_ROOT, 'native', 'build', 'libminidock.so');
  const missing = [lib, FIRSTINSN, BENCHEXEC].filter((p) => !existsSync(p));
  return {
    area: 'native build',
    status: missing.length ? 'fail' : 'ok',
    found: missing.length
      ? `missing: ${missing.map((p) => p.slice(PKG_ROOT.length + 1)).join(', ')}`
      : 'libminidock.so, probes (firstinsn, benchexec)',
    fix: missing.length ? `make -C ${join(PKG_ROOT, 'native')}   (needs gcc, make, libc6-dev)` : undefined,
  };
}

export function checkNode(reps = 5): Check[] {
  const major = Number(process.versions.node.split('.')[0]);
  const out: Check[] = [
    {
      area: 'node',
      status: major >= 20 ? 'ok' : 'fail',
      found: process.version,
      fix: major >= 20 ? undefined : 'Node ≥ 20 (https://nodejs.org or apt-get install nodejs from NodeSource)',
    },
  ];
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const nodeMs = median(Array.from({ length: reps }, () => timed([process.execPath, '-e', '0'], { env }).ms));
  const cliMs = existsSync(MINIDOCK_BUNDLE)
    ? median(Array.from({ length: reps }, () => timed([MINIDOCK_BIN, '--version']).ms))
    : undefined;
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  out.push({
    area: 'node start-up',
    status: nodeMs > 100 || cliMs === undefined ? 'warn' : 'ok',
    found: `node -e 0: ${nodeMs.toFixed(1)} ms; minidock --version: ${cliMs === undefined ? 'not built' : `${cliMs.toFixed(1)} ms`} (median of ${reps})${extra ? '; NODE_EXTRA_CA_CERTS is set (bin/minidock.js drops it: it would cost ~50 ms per start)' : ''}`,
    fix: cliMs === undefined ? `cd ${PKG_ROOT} && npm run build` : undefined,
  });
  return out;
}

export function checkPeers(): Check[] {
  const ctx = {
    work: '/tmp/minidock-doctor',
    rootfs: join(PKG_ROOT, 'rootfs'),
    daemons: findDaemons(),
    tag: 'doctor',
    minidockRoot: '/tmp/minidock-doctor',
  } as unknown as BenchContext;
  return ALL_PEERS.filter((n) => n !== 'bare').map((n) => {
    const d = makePeer(n).detect(ctx);
    return {
      area: `peer: ${n}`,
      status: d.available ? 'ok' : ('warn' as Status),
      found: d.available
        ? `${d.version}${d.notes.length && n === 'crun' ? ` — ${d.notes[0]}` : ''}`
        : (d.reason ?? 'not available'),
      fix: d.available ? undefined : d.fix,
    };
  });
}

/** statfs f_type -> name, for the filesystems a state root is likely to be on (linux/magic.h) */
const FS_NAMES: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x2fc12fc1: 'zfs',
  0xf2f52010: 'f2fs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x6969: 'nfs',
  0xff534d42: 'cifs',
  0xfe534d42: 'smb2',
  0x65735546: 'fuse',
  0x4d44: 'vfat',
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
};
const MiB = 1024 * 1024;
const fmtMiB = (b: number): string =>
  b >= 1024 * MiB ? `${(b / 1024 / MiB).toFixed(1)} GiB` : `${(b / MiB).toFixed(0)} MiB`;

/**
 * The state root: does it exist, or can it be created (the first run or import makes it), which
 * filesystem is it on, how much room is left. Only looks: a missing root stays missing.
 */
export function checkStateRoot(root: string, asRoot = process.getuid?.() === 0): Check[] {
  // The root, or the nearest existing path above it, where it would be created: a file counts
  // (cgroups/util's nearestExisting looks for directories, and would step over it).
  let at = root;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return [stateRootPlace(root, at, asRoot), stateRootFilesystem(at)];
}

const CHOOSE_ROOT = 'choose another state root (--root DIR or MINIDOCK_ROOT)';

/** Is the state root (or `at`, where it would be created) a directory minidock can write in? */
function stateRootPlace(root: string, at: string, asRoot: boolean): Check {
  const exists = at === root;
  const isDir = ((): boolean => {
    try {
      return statSync(at).isDirectory();
    } catch {
      return false;
    }
  })();
  const writable = ((): string | undefined => {
    try {
      accessSync(at, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'error';
    }
  })();
  const notOk: Status = asRoot ? 'fail' : 'warn'; // not being root is reported (and fixed) above
  if (!isDir) {
    return {
      area: 'state root',
      status: 'fail',
      found: exists ? `${root} is not a directory` : `${root} cannot be created: ${at} is not a directory`,
      fix: CHOOSE_ROOT,
    };
  }
  if (writable) {
    const what = exists ? `${root} is not writable` : `${root} cannot be created: ${at} is not writable`;
    return {
      area: 'state root',
      status: notOk,
      found: `${what} (${writable}${asRoot ? '' : ` for uid ${process.getuid?.()}`})`,
      fix:
        writable === 'EROFS'
          ? `remount ${at} read-write, or ${CHOOSE_ROOT}`
          : `run minidock as root (sudo), or ${CHOOSE_ROOT}`,
    };
  }
  if (exists) {
    const mode = (statSync(root).mode & 0o7777).toString(8).padStart(4, '0');
    return { area: 'state root', status: 'ok', found: `${root} (mode ${mode})` };
  }
  return {
    area: 'state root',
    status: 'ok',
    found: `${root} does not exist yet: the first run or import creates it (mode 0711) in ${at}`,
  };
}

/** The filesystem `at` is on (statfs): one overlayfs can use for upper layers, with room, kept across reboots? */
function stateRootFilesystem(at: string): Check {
  try {
    const st = statfsSync(at);
    const type = FS_NAMES[st.type] ?? `type 0x${st.type.toString(16)}`;
    return { area: 'state root filesystem', ...filesystemVerdict(type, Number(st.bavail) * Number(st.bsize), at) };
  } catch (e) {
    return {
      area: 'state root filesystem',
      status: 'warn',
      found: `statfs(${at}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    };
  }
}

/** What a filesystem of `type` with `free` bytes means for a state root at `at` (pure: tested with made-up ones). */
export function filesystemVerdict(type: string, free: number, at: string): Omit<Check, 'area'> {
  const room = `${fmtMiB(free)} free`;
  if (['nfs', 'cifs', 'smb2', 'fuse'].includes(type)) {
    return {
      status: 'fail',
      found: `${type}, ${room}: overlayfs cannot put a container's upper layer there`,
      fix: `${CHOOSE_ROOT} on a local filesystem (ext4, xfs, btrfs)`,
    };
  }
  if (free < 100 * MiB) {
    return {
      status: 'fail',
      found: `${type}, only ${room}`,
      fix: `free space on the filesystem of ${at}, or ${CHOOSE_ROOT}`,
    };
  }
  if (type === 'overlayfs') {
    return {
      status: 'warn',
      found: `${type}, ${room}: overlayfs refuses an upper layer on overlayfs, so containers write to a tmpfs (memory) that goes with them`,
      fix: `for kept containers' files to stay, ${CHOOSE_ROOT} on a real filesystem (a volume or bind mount)`,
    };
  }
  if (type === 'tmpfs') {
    return {
      status: 'warn',
      found: `${type}, ${room}: kept containers, their logs and imported images are lost at reboot`,
      fix: `for them to stay, ${CHOOSE_ROOT} on a disk`,
    };
  }
  return {
    status: free < 1024 * MiB ? 'warn' : 'ok',
    found: `${type}, ${room}`,
    fix:
      free < 1024 * MiB
        ? `images and containers' writes need room: free space on the filesystem of ${at}, or ${CHOOSE_ROOT}`
        : undefined,
  };
}

/** What a normal user can have from this machine for rootless containers (rootlessFacts reads them). */
export interface RootlessFacts {
  user: { name: string; uid: number };
  /** /proc/sys/user/max_user_namespaces; Debian's kernel.unprivileged_userns_clone; Ubuntu's kernel.apparmor_restrict_unprivileged_userns */
  maxUserNs?: number;
  unprivClone?: number;
  apparmorRestrict?: number;
  helpers: boolean;
  subuid?: { start: number; count: number };
  subgid?: { start: number; count: number };
  /** the first id past every range in /etc/subuid and /etc/subgid (at least 100000): where a new range fits */
  freeStart: number;
  delegation: Delegation;
  /** the owner of ./rootfs */
  rootfsUid?: number;
}

export function rootlessFacts(user: { name: string; uid: number }): RootlessFacts {
  const num = (f: string): number | undefined => {
    const t = readOpt(f)?.trim();
    return t === undefined || t === '' ? undefined : Number(t);
  };
  const ranges = ['/etc/subuid', '/etc/subgid'].flatMap((f) =>
    (readOpt(f) ?? '')
      .split('\n')
      .map((l) => l.split(':'))
      .filter((p) => p.length === 3)
      .map((p) => Number(p[1]) + Number(p[2])),
  );
  let rootfsUid: number | undefined;
  try {
    rootfsUid = statSync(join(PKG_ROOT, 'rootfs')).uid;
  } catch {
    /* checkRootfs reports it */
  }
  const names = [user.name, String(user.uid)];
  return {
    user,
    maxUserNs: num('/proc/sys/user/max_user_namespaces'),
    unprivClone: num('/proc/sys/kernel/unprivileged_userns_clone'),
    apparmorRestrict: num('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    helpers: hasIdMapHelpers(),
    subuid: subordinateRange('/etc/subuid', names),
    subgid: subordinateRange('/etc/subgid', names),
    freeStart: Math.max(100000, ...ranges.filter(Number.isFinite)),
    delegation: safeDelegation(user.uid),
    rootfsUid,
  };
}

function safeDelegation(uid: number): Delegation {
  try {
    return rootlessDelegation(uid);
  } catch (e) {
    return { why: (e as Error).message, fix: 'mount -t cgroup2 none /sys/fs/cgroup' };
  }
}

/**
 * What `minidock run` as this user (rootless, docs/security.md "User namespaces") gets here, and
 * for each thing it lacks, the command that gets it: user namespaces allowed, the id-map helpers and
 * a subordinate range, a delegated cgroup, a rootfs of its own.
 */
export function checkRootless(f: RootlessFacts): Check[] {
  const who = `${f.user.name} (uid ${f.user.uid})`;
  const out: Check[] = [];
  // 1. may a normal user make a user namespace at all?
  if (f.maxUserNs === undefined)
    out.push({
      area: 'rootless: user namespaces',
      status: 'fail',
      found: 'no /proc/sys/user/max_user_namespaces',
      fix: 'a kernel with CONFIG_USER_NS=y',
    });
  else if (f.maxUserNs === 0)
    out.push({
      area: 'rootless: user namespaces',
      status: 'fail',
      found: 'user.max_user_namespaces = 0: nobody may make one',
      fix: 'sysctl -w user.max_user_namespaces=15000',
    });
  else if (f.unprivClone === 0)
    out.push({
      area: 'rootless: user namespaces',
      status: 'fail',
      found: "kernel.unprivileged_userns_clone = 0: only root may make one (Debian's switch)",
      fix: 'sysctl -w kernel.unprivileged_userns_clone=1',
    });
  else if (f.apparmorRestrict === 1)
    out.push({
      area: 'rootless: user namespaces',
      status: 'fail',
      found: 'kernel.apparmor_restrict_unprivileged_userns = 1: AppArmor refuses them to unconfined programs',
      fix: 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for node with the "userns," rule',
    });
  else
    out.push({
      area: 'rootless: user namespaces',
      status: 'ok',
      found: `allowed (max_user_namespaces = ${f.maxUserNs}${f.unprivClone !== undefined ? `, unprivileged_userns_clone = ${f.unprivClone}` : ''}${f.apparmorRestrict !== undefined ? `, apparmor_restrict_unprivileged_userns = ${f.apparmorRestrict}` : ''})`,
    });
  // 2. the ids it can map: 65536 through newuidmap and a range, or its own alone
  const addRange = `as root: usermod --add-subuids ${f.freeStart}-${f.freeStart + 65535} --add-subgids ${f.freeStart}-${f.freeStart + 65535} ${f.user.name}`;
  if (!f.helpers) {
    out.push({
      area: 'rootless: id maps',
      status: 'warn',
      found: 'newuidmap/newgidmap not installed: a single-id map (uid 0 inside = you; no other users, chown fails)',
      fix: 'apt-get install uidmap',
    });
  } else if (!f.subuid || !f.subgid) {
    out.push({
      area: 'rootless: id maps',
      status: 'warn',
      found: `no range for ${who} in /etc/subuid and /etc/subgid: a single-id map (uid 0 inside = you; no other users, chown fails)`,
      fix: addRange,
    });
  } else {
    out.push({
      area: 'rootless: id maps',
      status: 'ok',
      found: `newuidmap/newgidmap; ${f.user.name}:${f.subuid.start}:${f.subuid.count} in /etc/subuid, ${f.subgid.start}:${f.subgid.count} in /etc/subgid: ids 0-${Math.min(f.subuid.count, f.subgid.count, 65535)} inside`,
    });
  }
  // 3. cgroups: a delegated v2 subtree, or none
  const d = f.delegation;
  if ('why' in d) {
    out.push({
      area: 'rootless: cgroups',
      status: 'warn',
      found: `none: ${d.why}; a limit flag (-m, --cpus, --pids-limit) is refused`,
      fix: d.fix,
    });
  } else {
    const lacking = ['memory', 'cpu', 'pids'].filter((c) => !d.controllers.includes(c));
    out.push({
      area: 'rootless: cgroups',
      status: lacking.length ? 'warn' : 'ok',
      found: `v2, delegated: ${d.dir} (controllers: ${d.controllers.join(' ') || 'none'})`,
      fix: lacking.length
        ? `for ${lacking.join(', ')} limits, as root: systemctl edit user@.service, [Service] Delegate=cpu cpuset io memory pids, then log in again`
        : undefined,
    });
  }
  // 4. the rootfs's owners: without root there is no idmapped layer, so root-owned directories (/tmp) are read-only inside
  if (f.rootfsUid !== undefined && f.rootfsUid !== f.user.uid) {
    out.push({
      area: 'rootless: rootfs',
      status: 'warn',
      found: `${join(PKG_ROOT, 'rootfs')} is uid ${f.rootfsUid}'s: inside it shows as 65534 and its directories (/tmp) are read-only to the container`,
      fix: `a copy of your own: cp -a ${join(PKG_ROOT, 'rootfs')} ~/rootfs, then minidock run ~/rootfs ...`,
    });
  }
  return out;
}

/** The user the rootless checks are about: this one, or the one behind sudo; undefined for plain root. */
function rootlessUser(): { name: string; uid: number } | undefined {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return { name: userInfo().username, uid };
  const sudoUid = Number(process.env.SUDO_UID);
  return process.env.SUDO_USER && Number.isInteger(sudoUid) && sudoUid > 0
    ? { name: process.env.SUDO_USER, uid: sudoUid }
    : undefined;
}

export function runChecks(rootFlag?: string): Check[] {
  const root = process.getuid?.() === 0;
  const user = rootlessUser();
  return [
    checkKernel(),
    {
      area: 'root',
      status: root ? 'ok' : 'warn',
      found: root
        ? 'running as root'
        : `uid ${process.getuid?.()}: containers are rootless (the lines "rootless:" below)`,
      fix: root ? undefined : 'sudo minidock ... for everything: cgroups on v1, the idmapped rootfs, --userns auto',
    },
    ...checkCgroups(),
    checkOverlay(),
    checkUserns(),
    ...(user ? checkRootless(rootlessFacts(user)) : []),
    checkSeccomp(),
    ...checkStateRoot(stateRoot(rootFlag)),
    checkRootfs(),
    checkNative(),
    ...checkNode(),
    ...checkPeers(),
  ];
}
