// User namespaces (--userns, --uidmap, --gidmap; and every rootless launch): which ids the
// container's ids are on the host, and the handshake step that tells the kernel.
//
// A user namespace maps ranges of ids: `0 100000 65536` in /proc/PID/uid_map means uid 0..65535
// inside are 100000..165535 outside. The kernel checks permissions with the OUTSIDE ids, so the
// container's root is, for every host file, uid 100000: a nobody. Its capabilities act only on
// what its own user namespace owns (the mount, PID, UTS, IPC, network and cgroup namespaces it was
// cloned with), never on the host's.
//
// Who writes the maps: the child cannot (until they are written it is nobody inside, and a process
// may write only a one-line map of its own ids), so minidock does, at a step of the launch
// protocol (handshake.ts writeIdMaps), while the child waits at SYNC. As root minidock writes the
// files itself; a normal user needs the setuid helpers newuidmap/newgidmap (Debian `uidmap`), which
// check /etc/subuid and /etc/subgid, or it can map only its own uid and gid (one id each).
import { chmodSync, chownSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { release, userInfo } from 'node:os';
import { posix } from 'node:path';
import { fail, MinidockError } from '../errors.js';
import { errnoName } from '../sys/errno.js';
import { mdIdmapOnto } from '../sys/native.js';
import { checkRanges, hostId, type IdRange, type UserNamespace } from './id-maps.js';

/** The user whose /etc/subuid and /etc/subgid ranges `--userns auto` maps onto (scripts/build.sh adds it). */
export const AUTO_USER = 'minidock';
/** How many ids --userns auto maps: 0..65535, every id a rootfs normally uses. */
export const AUTO_SIZE = 65536;
const MAX_ID = 0xffffffff; // (uid_t is 32 bits; -1 is "no change" for set*id, so 2^32-1 itself is never an id)

/** One --uidmap/--gidmap value, CONTAINER:HOST:SIZE. */
export function parseIdRange(flag: string, value: string): IdRange {
  const m = /^(\d+):(\d+):(\d+)$/.exec(value);
  if (!m) fail(`${flag} ${value}: use CONTAINER:HOST:SIZE, three numbers (e.g. ${flag} 0:100000:65536)`);
  const [container, host, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (size < 1) fail(`${flag} ${value}: SIZE must be at least 1`);
  if (container + size > MAX_ID || host + size > MAX_ID)
    fail(`${flag} ${value}: the range goes past the largest id, ${MAX_ID - 1}`);
  return { container, host, size };
}

/** The first range of `user` (a name, or its uid/gid as a number) in /etc/subuid or /etc/subgid. */
export function subordinateRange(file: string, names: string[]): { start: number; count: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who && names.includes(who) && /^\d+$/.test(start ?? '') && /^\d+$/.test(count ?? '') && Number(count) > 0) {
      return { start: Number(start), count: Number(count) };
    }
  }
  return undefined;
}

/**
 * Overlayfs in a user namespace other than the host's: Linux 5.11 (FS_USERNS_MOUNT for overlay,
 * with the userxattr option). `rel` is os.release(), e.g. "6.1.0-18-amd64".
 */
export function kernelMountsOverlayInUserns(rel = release()): boolean {
  const [maj = 0, min = 0] = rel.split(/[.-]/).map(Number);
  return maj > 5 || (maj === 5 && min >= 11);
}

/**
 * Overlayfs over idmapped lower layers: Linux 5.19 (idmapped mounts themselves are 5.12's, but
 * overlayfs refused them as layers until 5.19).
 */
export function kernelIdmapsOverlayLayers(rel = release()): boolean {
  const [maj = 0, min = 0] = rel.split(/[.-]/).map(Number);
  return maj > 5 || (maj === 5 && min >= 19);
}

export interface UsernsFlags {
  userns?: string;
  uidmap?: string[];
  gidmap?: string[];
  /** set by the run command for a normal user's launch (not --dry-run, which shows root's plan) */
  rootless?: boolean;
}

/**
 * A normal user's map (rootless). With a range in /etc/subuid and /etc/subgid (by name or uid) and
 * newuidmap/newgidmap installed: 0 inside is the user, 1..N their subordinate ids, as Podman maps
 * them. Otherwise the one map the kernel lets a process write for itself: its own uid (gid) as 0,
 * with setgroups "deny" (see UserNamespace.setgroups).
 */
export function rootlessUserns(
  user: { name: string; uid: number; gid: number },
  helperFound = hasIdMapHelpers(),
): UserNamespace {
  const sub = (file: string) => subordinateRange(file, [user.name, String(user.uid)]);
  const [su, sg] = [sub('/etc/subuid'), sub('/etc/subgid')];
  if (su && sg && helperFound) {
    return {
      uidMap: [
        { container: 0, host: user.uid, size: 1 },
        { container: 1, host: su.start, size: Math.min(su.count, AUTO_SIZE - 1) },
      ],
      gidMap: [
        { container: 0, host: user.gid, size: 1 },
        { container: 1, host: sg.start, size: Math.min(sg.count, AUTO_SIZE - 1) },
      ],
      setgroups: 'allow',
      writer: 'helper',
      rootless: true,
    };
  }
  const why =
    !su || !sg
      ? `no range for ${user.name} in /etc/subuid and /etc/subgid`
      : 'newuidmap/newgidmap are not installed (Debian: apt-get install uidmap)';
  return {
    uidMap: [{ container: 0, host: user.uid, size: 1 }],
    gidMap: [{ container: 0, host: user.gid, size: 1 }],
    setgroups: 'deny',
    writer: 'write',
    rootless: true,
    note:
      `rootless with one id: ${why}, so only uid 0 and gid 0 exist inside (you, outside); -u other users, chown and setgroups fail — ` +
      `ask for a line ${user.name}:START:65536 in /etc/subuid and /etc/subgid`,
  };
}

/** newuidmap and newgidmap (setuid root, from Debian's `uidmap`) on PATH or in /usr/bin. */
export function hasIdMapHelpers(): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/bin'];
  return ['newuidmap', 'newgidmap'].every((b) => dirs.some((d) => existsSync(posix.join(d, b))));
}

/**
 * The user namespace a launch asks for (undefined: none, the host's — `--userns host`, the
 * default as root). `ids`: the container user (-u), whose ids must be mapped.
 */
export function usernsFromFlags(
  f: UsernsFlags,
  ids: { uid: number; gid: number; groups: number[] },
  euid = process.geteuid?.() ?? 0,
): UserNamespace | undefined {
  if (f.userns !== undefined && f.userns !== 'host' && f.userns !== 'auto') {
    fail(
      `--userns ${f.userns}: use --userns host (the host's ids, the default as root) or --userns auto (root inside mapped to the range of "${AUTO_USER}" in /etc/subuid)`,
    );
  }
  if (f.userns && (f.uidmap?.length || f.gidmap?.length))
    fail(
      `--userns ${f.userns} with --uidmap/--gidmap: give one or the other (the maps make a user namespace of their own)`,
    );
  const mode = f.userns ?? (f.uidmap?.length || f.gidmap?.length ? 'map' : 'host');
  let ns: UserNamespace;
  if (f.rootless) {
    // A normal user: a user namespace is how the container gets a root at all.
    if (mode !== 'host' || f.userns)
      fail(
        `--userns/--uidmap as a normal user: rootless launches map your own ids (and your /etc/subuid range) — drop the flag, or run as root`,
      );
    const u = userInfo();
    ns = rootlessUserns({ name: u.username, uid: u.uid, gid: u.gid });
  } else if (mode === 'host') {
    return undefined;
  } else if (mode === 'auto') {
    const range = (file: string): IdRange => {
      const r = subordinateRange(file, [AUTO_USER]);
      if (!r)
        fail(
          `--userns auto: ${file} has no range for the user "${AUTO_USER}" — run \`npm run build\` as root (it adds one), or add a line ${AUTO_USER}:START:${AUTO_SIZE} to /etc/subuid and /etc/subgid`,
        );
      return { container: 0, host: r.start, size: Math.min(r.count, AUTO_SIZE) };
    };
    ns = { uidMap: [range('/etc/subuid')], gidMap: [range('/etc/subgid')], setgroups: 'allow', writer: 'write' };
  } else {
    const uidMap = (f.uidmap ?? []).map((v) => parseIdRange('--uidmap', v));
    // Only one of the two given: the other maps the same way (as Podman does).
    const gidMap = f.gidmap?.length ? f.gidmap.map((v) => parseIdRange('--gidmap', v)) : uidMap;
    ns = { uidMap: uidMap.length ? uidMap : gidMap, gidMap, setgroups: 'allow', writer: 'write' };
    checkRanges('--uidmap', ns.uidMap);
    if (f.gidmap?.length) checkRanges('--gidmap', ns.gidMap);
  }
  // The child becomes the namespace's root (setresuid(0) inside) before its first mount: root must be mapped.
  if (hostId(ns.uidMap, 0) === undefined)
    fail(
      '--uidmap: container uid 0 is not mapped — the container starts as its root; map it, e.g. --uidmap 0:100000:65536',
    );
  if (hostId(ns.gidMap, 0) === undefined)
    fail('--gidmap: container gid 0 is not mapped — map it, e.g. --gidmap 0:100000:65536');
  if (hostId(ns.uidMap, ids.uid) === undefined)
    fail(`-u: uid ${ids.uid} is not mapped in the container's user namespace — widen --uidmap, or choose another user`);
  for (const g of [ids.gid, ...ids.groups]) {
    if (hostId(ns.gidMap, g) === undefined)
      fail(`-u: gid ${g} is not mapped in the container's user namespace — widen --gidmap, or choose another user`);
  }
  if (!kernelMountsOverlayInUserns())
    fail(
      `a user namespace needs Linux 5.11 or later here (overlayfs inside one); this kernel is ${release()} — run without --userns/--uidmap`,
    );
  return ns;
}

/** The host uid and gid of the container's root: the owner the overlay's upper layer must have. */
export function mappedRoot(ns: UserNamespace): { uid: number; gid: number } {
  return { uid: hostId(ns.uidMap, 0)!, gid: hostId(ns.gidMap, 0)! };
}

/**
 * The layer store an image's lower layer is in (`<root>/layers`, for `<root>/layers/sha256/HEX/fs`),
 * or undefined for a rootfs directory. The store is root's only (0700: its layers hold setuid files
 * no other host user may reach), so a container's mapped root passes it only through the idmapped
 * mount of the whole store (idmapLowerLayers), in which host root's directories are its own.
 */
export function layerStoreOf(lower: string): string | undefined {
  const m = /^(.+\/layers)\/sha256\/[0-9a-f]{64}\/fs$/.exec(lower);
  return m?.[1];
}

/**
 * Why an image cannot run in this user namespace (undefined: it can). Its lower layers are reached
 * only through the idmapped store (Linux 5.19, made by host root: never rootless). And only a
 * one-layer image: in an upper layer a directory that replaced a lower one is marked opaque with
 * trusted.overlay.opaque, and overlayfs mounted in a user namespace (userxattr) reads only
 * user.overlay.* — it would show the lower layers' files in it again.
 */
export function imageRefusal(ns: UserNamespace, layers: number, rel = release()): string | undefined {
  const how =
    'run its rootfs as a directory instead (minidock export CONTAINER | tar -x -C DIR), or without --userns/--uidmap';
  if (ns.rootless) return `an image in a rootless launch: its layers are in root's store — ${how}`;
  if (!kernelIdmapsOverlayLayers(rel))
    return `an image with a user namespace needs Linux 5.19 (idmapped layers under overlayfs) to reach its layers, kept where only root may enter; this kernel is ${rel} — ${how}`;
  if (layers > 1)
    return `an image of ${layers} layers with a user namespace: overlayfs mounted in one reads only user.overlay.* markers, and the store marks a directory an upper layer replaced with trusted.overlay.opaque, so the lower layers' files would show in it again — ${how}, or import it as one layer (minidock export of a container of it, then minidock import)`;
  return undefined;
}

/**
 * Before the clone: what the container's root must reach and own on the host. Once it is the
 * namespace's root it is, for the kernel, host uid/gid `mappedRoot`, with no capability over host
 * files: it mounts the overlay through the container's directory (made group `gid`, mode 0710:
 * nobody else gains anything) and writes into upper and work (made its own, so the container's
 * "/" is root's inside). The rootfs, the -v sources and the state root's ancestors it reaches only
 * as the rest of the world does: refused here in one line rather than as a mount's EACCES. An
 * image's layers it reaches through the idmapped store (layerStoreOf): only the store's ancestors
 * are checked. `dir` was made by this launch a moment ago: a refusal removes it (nothing left).
 */
export function prepareForMappedRoot(
  dir: string,
  dirs: { upper: string; work: string; tmpfsFor?: string },
  reach: string[],
  ns: UserNamespace,
): void {
  const { uid, gid } = mappedRoot(ns);
  const stores = new Set(reach.map(layerStoreOf).filter((x): x is string => x !== undefined));
  const why =
    (stores.size ? imageRefusal(ns, reach.filter((p) => layerStoreOf(p)).length) : undefined) ??
    unreachable([posix.dirname(dir), ...reach.map((p) => layerStoreOf(p) ?? p)], stores, uid, gid);
  if (why) {
    rmSync(dir, { recursive: true, force: true });
    fail(why);
  }
  const st = statSync(dir);
  if (st.gid !== gid) chownSync(dir, st.uid, gid);
  if ((st.mode & 0o777) !== 0o710) chmodSync(dir, 0o710);
  if (!dirs.tmpfsFor) {
    // (with tmpfsFor the child mounts a tmpfs there, its own from the start)
    for (const d of [dirs.upper, dirs.work]) chownSync(d, uid, gid);
  }
}

/** The first directory on the way to each path (a store: to its parent) that host uid/gid may not pass, as the refusal's line. */
function unreachable(paths: string[], stores: Set<string>, uid: number, gid: number): string | undefined {
  for (const path of paths) {
    const p = stores.has(path) ? posix.dirname(path) : path;
    for (let d = p; ; d = posix.dirname(d)) {
      let s;
      try {
        s = statSync(d);
      } catch {
        break; // (a missing -v source is refused elsewhere)
      }
      const bit = s.uid === uid ? 0o100 : s.gid === gid ? 0o010 : 0o001;
      if (s.isDirectory() && !(s.mode & bit))
        return `${d} is mode ${(s.mode & 0o7777).toString(8).padStart(4, '0')}: the container's root (host uid ${uid} in its user namespace) cannot pass through it to reach ${p} — chmod o+x ${d}, or use a path it can reach`;
      if (d === '/') break;
    }
  }
  return undefined;
}

/**
 * The idmapped lower layers (native/idmap.c explains the kernel side), a step of the launch protocol
 * after the map step, while the child waits at SYNC: the rootfs (or an image's whole layer store)
 * is mounted in the child's mount namespace, onto its own path, through the container's maps — the
 * files owned by host root are then root's inside, and overlayfs can copy them up (a root-owned
 * /tmp becomes writable); the store's 0700 directories are the mapped root's own there. Returns what could not be done, for the command to print
 * (nothing: undefined). Skipped, with that line, where the kernel cannot: a rootless launch (making
 * an idmapped mount needs CAP_SYS_ADMIN over the host's user namespace), a kernel before 5.19, a
 * filesystem that does not support idmapped mounts (mount_setattr: EINVAL). Any other failure
 * throws: the caller's release() kills the child.
 */
export function idmapLowerLayers(
  pid: number,
  ns: UserNamespace,
  lowers: string[],
  rel = release(),
): string | undefined {
  const keep =
    "so the rootfs's files keep their host owners inside (host root shows as 65534) and its root-owned directories, /tmp among them, are not writable";
  if (ns.rootless) return undefined; // (rootless: docs/security.md says what that leaves; no line at every launch)
  if (!kernelIdmapsOverlayLayers(rel))
    return `Linux ${rel} cannot put idmapped layers under overlayfs (5.19 can), ${keep}`;
  // An image's layers: the whole store at once (layerStoreOf; its ancestors the mapped root passes,
  // prepareForMappedRoot checked), a rootfs directory: itself. Either way one mount, not recursive:
  // nothing is mounted below a layer store or a rootfs.
  for (const dir of [...new Set(lowers.map((l) => layerStoreOf(l) ?? l))]) {
    const r = mdIdmapOnto(pid, dir);
    if (r === 0) continue;
    const [call, errno] =
      r > -1000
        ? ['open_tree', -r]
        : r > -2000
          ? ['mount_setattr(MOUNT_ATTR_IDMAP)', -r - 1000]
          : r > -3000
            ? ['setns(mnt)', -r - 2000]
            : r > -4000
              ? ['move_mount', -r - 3000]
              : ['open /proc/PID/ns or clone', -r - 4000];
    // EINVAL from mount_setattr: this filesystem has no idmapped mounts (FS_ALLOW_IDMAP)
    if (call.startsWith('mount_setattr') && errnoName(errno) === 'EINVAL') {
      if (lowers.some((l) => layerStoreOf(l) === dir))
        throw new MinidockError(
          `${dir} is on a filesystem that cannot be idmapped (mount_setattr: EINVAL), and an image's layers are reached only through an idmapped mount with a user namespace — the container was not started; keep the state root (--root) on ext4, xfs or btrfs, or run without --userns/--uidmap`,
        );
      return `${dir} is on a filesystem that cannot be idmapped (mount_setattr: EINVAL), ${keep}`;
    }
    throw new MinidockError(
      `${call} for the idmapped lower layer ${dir}: ${errnoName(errno)} — the container was not started; run again without --userns/--uidmap, or report this with \`uname -r\``,
    );
  }
  return undefined;
}
