// A container's filesystem seen from the host, for `minidock cp`: read it, and write into it,
// without ever leaving it. Two ways in:
//   live     a running container: its root is /proc/PID/root (the kernel's link to the init's
//            root, in the container's mount namespace: bind mounts included);
//   layered  a stopped one: its overlay is unmounted, so reads merge its upper directory over its
//            lower layers the way overlayfs does (layered-fs.ts), and writes go into upper/
//            (copying up the directories above them, as overlayfs would).
// Every path is first resolved by resolveWith() (paths.ts), symlinks followed *inside* the
// container: /etc/evil -> /root means the container's /root, `..` stops at its "/". Then each open
// goes through md_open_beneath (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS): a symlink the
// container swaps in after the resolution is refused (ELOOP), never followed to the host. Entries
// are created through /proc/self/fd/N/NAME, N a directory opened that way: the kernel takes the
// directory the fd holds, not a path that could be changed, and O_NOFOLLOW|O_EXCL guards NAME.
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  type Stats,
  unlinkSync,
  lchownSync,
} from 'node:fs';
import { posix } from 'node:path';
import { fail } from '../errors.js';
import { openResolved, resolveWith, type Resolved } from '../runtime/paths.js';
import { errnoName } from '../sys/errno.js';
import { mdLsetxattr, mdOpenBeneath } from '../sys/native.js';
import { OPAQUE_XATTR } from './extract.js';
import { isWhiteout, layeredLstat } from './layered-fs.js';

/** A directory of the container, open: `path` reaches it through the fd, whatever its name. */
export interface DirHandle {
  fd: number;
  path: string;
}

export interface ContainerView {
  kind: 'live' | 'layered';
  /** lstat of a resolved path (components free of symlinks) in the container's merged view */
  lstat(parts: string[]): Stats | undefined;
  resolve(path: string): Resolved;
  readdir(parts: string[]): string[];
  readlink(parts: string[]): string;
  /** a regular file, opened read-only without following a symlink: its fd */
  openFile(parts: string[]): number;
  /** a directory to write into (in upper/ for a stopped container, copied up as needed) */
  openDirForWrite(parts: string[]): DirHandle;
  /**
   * Before NAME is written in `dir`: remove a non-directory there (Docker's cp replaces it). True
   * when that was a whiteout, so that a directory made there must be opaque (layered only).
   */
  clear(dir: DirHandle, name: string): boolean;
  /** hide what the lower layers hold in the new directory NAME of `dir` (it replaced a whiteout) */
  markOpaque(dir: DirHandle, name: string): void;
}

const inner = (parts: string[]): string => parts.join('/') || '.';

export function closeDir(d: DirHandle): void {
  closeSync(d.fd);
}

/** open `parts` below `root` following no symlink (openat2), as a directory; one line on failure. */
function openBeneathDir(root: string, parts: string[], what: string): DirHandle {
  const fd = mdOpenBeneath(root, inner(parts));
  if (fd < 0) {
    const e = -fd;
    fail(
      `cp: ${what} /${parts.join('/')}: ${errnoName(e)}${e === 40 || e === 18 ? ' (a symbolic link was swapped in while minidock resolved the path: nothing was written through it)' : ''}`,
    );
  }
  if (!fstatSync(fd).isDirectory()) {
    closeSync(fd);
    fail(`cp: ${what} /${parts.join('/')}: not a directory`);
  }
  return { fd, path: `/proc/self/fd/${fd}` };
}

function lstatOr(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function clearAt(dir: DirHandle, name: string): boolean {
  const st = lstatOr(`${dir.path}/${name}`);
  if (!st || st.isDirectory()) return false;
  unlinkSync(`${dir.path}/${name}`);
  return isWhiteout(st);
}

/** A running container, through /proc/PID/root. */
export function liveView(root: string): ContainerView {
  /** run `fn` on the entry `parts` through its parent directory's fd */
  const atParent = <T>(parts: string[], fn: (path: string) => T): T => {
    if (!parts.length) return fn(root);
    const d = openBeneathDir(root, parts.slice(0, -1), 'reading');
    try {
      return fn(`${d.path}/${parts.at(-1)}`);
    } finally {
      closeDir(d);
    }
  };
  const view: ContainerView = {
    kind: 'live',
    lstat: (parts) => {
      const fd = mdOpenBeneath(root, inner(parts.slice(0, -1)));
      if (fd < 0) return undefined;
      try {
        // (the root itself: fstat; an lstat of /proc/self/fd/N would describe the link, not the directory)
        return parts.length ? lstatOr(`/proc/self/fd/${fd}/${parts.at(-1)}`) : fstatSync(fd);
      } finally {
        closeSync(fd);
      }
    },
    // (resolveWith reads a link's target by its path: at worst a swapped-in link gives a wrong
    // string, and every open after it is checked beneath the root again)
    resolve: (path) =>
      resolveWith((parts) => {
        const st = view.lstat(parts);
        return st && { host: posix.join(root, ...parts), st };
      }, path),
    readdir: (parts) => {
      const d = openBeneathDir(root, parts, 'reading');
      try {
        return readdirSync(d.path).sort();
      } finally {
        closeDir(d);
      }
    },
    readlink: (parts) => atParent(parts, (p) => readlinkSync(p)),
    openFile: (parts) => openChecked(root, parts),
    openDirForWrite: (parts) => openBeneathDir(root, parts, 'writing into'),
    clear: clearAt,
    markOpaque: () => {},
  };
  return view;
}

/** A regular file below `root`, read-only, following no symlink; one line otherwise. */
function openChecked(root: string, parts: string[]): number {
  const fd = openResolved(root, inner(parts));
  if (fd < 0)
    fail(
      `cp: reading /${parts.join('/')}: ${errnoName(-fd)}${-fd === 40 ? ' (it became a symbolic link while minidock read it)' : ''}`,
    );
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    fail(`cp: reading /${parts.join('/')}: it is no longer a regular file (the container changed it)`);
  }
  return fd;
}

/** A stopped container: upper/ over its lower layers (top first). */
export function layeredView(upper: string, lowers: string[]): ContainerView {
  const layers = [upper, ...lowers];
  const found = (parts: string[]) => layeredLstat(layers, parts);
  /** make `parts` a directory of upper/, copying up each one the lower layers have (mode, owner) */
  const copyUp = (parts: string[]): void => {
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i);
      const here = lstatOr(posix.join(upper, ...p));
      if (here?.isDirectory()) continue;
      const below = found(p);
      if (!below?.st.isDirectory() || here) fail(`cp: /${p.join('/')} is not a directory in the container`);
      const d = openBeneathDir(upper, p.slice(0, -1), 'writing into');
      try {
        const path = `${d.path}/${p.at(-1)}`;
        mkdirSync(path, below.st.mode & 0o7777);
        lchownSync(path, below.st.uid, below.st.gid);
      } finally {
        closeDir(d);
      }
    }
  };
  return {
    kind: 'layered',
    lstat: (parts) => found(parts)?.st,
    resolve: (path) => resolveWith(found, path),
    readdir: (parts) => {
      const names = new Set<string>();
      for (const l of layers)
        for (const n of lstatOr(posix.join(l, ...parts))?.isDirectory() ? readdirSync(posix.join(l, ...parts)) : [])
          names.add(n);
      return [...names].filter((n) => found([...parts, n]) !== undefined).sort();
    },
    readlink: (parts) => readlinkSync(found(parts)!.host),
    openFile: (parts) => openChecked(found(parts)?.layer ?? upper, parts),
    openDirForWrite: (parts) => {
      copyUp(parts);
      return openBeneathDir(upper, parts, 'writing into');
    },
    clear: clearAt,
    markOpaque: (dir, name) => {
      const r = mdLsetxattr(`${dir.path}/${name}`, OPAQUE_XATTR, Buffer.from('y'));
      if (r < 0) fail(`cp: marking a directory opaque (${OPAQUE_XATTR}): ${errnoName(-r)} — this needs root`);
    },
  };
}
