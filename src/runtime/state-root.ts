// The state root (where minidock keeps containers and images on the host): its path, making it on
// first use, and the one line for a write it refuses (storageError).
//   <root>/containers/<id>/upper   the container's writable layer (overlayfs upperdir)
//   <root>/containers/<id>/work    overlayfs's scratch directory (must be on the same fs as upper)
//   <root>/containers/<id>/merged  the mount point of the overlay: the container's "/"
import { chmodSync, closeSync, mkdirSync, openSync, readSync, statSync, statfsSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { MinidockError } from '../errors.js';

export const DEFAULT_ROOT = '/var/lib/minidock';

/** The state root's path. Only resolved: reading verbs (ps, images, inspect) never create it.
 * A normal user (rootless, docs/security.md) keeps theirs in $XDG_RUNTIME_DIR/minidock (a tmpfs of
 * their own, gone at logout, as Podman's runtime dir), else ~/.local/share/minidock. */
export function stateRoot(flag?: string): string {
  const env = process.env;
  const own =
    process.geteuid?.() === 0
      ? undefined
      : env.XDG_RUNTIME_DIR
        ? posix.join(env.XDG_RUNTIME_DIR, 'minidock')
        : env.HOME
          ? posix.join(env.HOME, '.local/share/minidock')
          : undefined;
  return posix.resolve(flag || env.MINIDOCK_ROOT || own || DEFAULT_ROOT);
}

/**
 * Create the state root on first use, for a verb that is about to write there (run, import, ...);
 * returns it. The root is 0711: others may pass through it but not list it, and what holds
 * container state below it is 0700 (each container's directory, names/, run/, tmp/). Missing
 * parents (MINIDOCK_ROOT=/tmp/new/root) are made 0755, as `mkdir -p` would, one by one from the
 * top: Node's recursive mkdir retries forever where mkdir says ENOENT under an existing parent
 * (in /proc, for one). An existing root is checked: one other users may list or write is made 0711
 * (or warned about, see checkRootMode). Anything in the way becomes one line.
 */
export function ensureStateRoot(root: string): string {
  const missing: string[] = [];
  for (let d = root; ; d = posix.dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && d !== '/') {
        // (ENOTDIR: a file above, found next)
        missing.push(d);
        continue;
      }
      throw rootError(root, code === 'ENOENT' ? 'ENOENT' : `${d}: ${code}`);
    }
    if (!st.isDirectory()) {
      throw new MinidockError(
        d === root
          ? `the state root ${root} exists and is not a directory: ${CHOOSE}`
          : `cannot create the state root ${root}: ${d} is not a directory — ${CHOOSE}`,
      );
    }
    if (d === root) {
      checkRootMode(root, st);
      tighten(pathIn(root, 'layers'), 0o700); // a layer store made 0711/0755 by an older minidock (image/store.ts)
    }
    break; // the usual case, at once: the root exists (a symlink to a directory will do)
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, { mode: d === root ? 0o711 : 0o755 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code && code in STORAGE) throw storageError(e, d); // a full or read-only filesystem: its one line
      if (code !== 'EEXIST') throw rootError(root, `mkdir ${d}: ${code}`);
      // EEXIST: another launch made it first — or it is a symlink to nowhere, which stat called missing
      let dir = false;
      try {
        dir = statSync(d).isDirectory();
      } catch {
        /* dangling */
      }
      if (!dir)
        throw new MinidockError(
          `cannot create the state root ${root}: ${d} is in the way (a symlink to nothing?) — ${CHOOSE}`,
        );
    }
  }
  return root;
}

/**
 * An existing state root that other users may list or write (0755 from an older minidock or from
 * mkdir, 0777): made 0711 — they may pass through, as the containers' paths need, but not see
 * the container IDs or plant anything — as Docker sets its root's mode at every start. Only
 * a root this user owns and that is not shared (sticky, like /tmp) is changed; any other gets a
 * warning line instead. What holds data below it is 0700 whatever the root's mode (privateDir).
 * The line goes to the callback onStateRootWarning registered: the library never prints.
 */
let rootChecked = false;
let warn: (line: string) => void = () => {};

/**
 * Where the state root's mode line goes (without "minidock: "). The commands register it once, in
 * runCli (src/cli/program.ts): the root is first touched deep inside a launch, an import or an
 * image removal, which would otherwise each need the callback passed down through every call.
 */
export function onStateRootWarning(fn: (line: string) => void): void {
  warn = fn;
}

function checkRootMode(root: string, st: Stats): void {
  const mode = st.mode & 0o7777;
  if ((mode & 0o066) === 0 || rootChecked) return; // the usual case: 0711 or tighter (or told once already)
  rootChecked = true;
  const was = mode.toString(8).padStart(4, '0');
  if (st.uid === process.geteuid?.() && !(mode & 0o1000) && root !== '/') {
    try {
      chmodSync(root, mode & ~0o066);
      warn(
        `the state root ${root} was mode ${was} (other users could list or write it): made ${(mode & ~0o066).toString(8).padStart(4, '0')}`,
      );
      return;
    } catch {
      /* a read-only filesystem, say: warn below */
    }
  }
  warn(
    `warning: the state root ${root} is mode ${was}: other users can list or write it — chmod go-rw ${root}, or ${CHOOSE}`,
  );
}

/**
 * A directory of minidock's own below the state root, with no more than `mode` allows: made so
 * (its parent exists), or an existing one that allows more (made by an older minidock, by hand)
 * repaired at once: it is minidock's, so no choice of the user's is undone.
 */
export function privateDir(dir: string, mode: number): void {
  try {
    mkdirSync(dir, { mode });
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  tighten(dir, mode);
}

/** chmod an existing directory of minidock's own that allows more than `mode`; nothing if absent. */
function tighten(dir: string, mode: number): void {
  let st;
  try {
    st = statSync(dir);
  } catch {
    return;
  }
  if (st.mode & 0o777 & ~mode) chmodSync(dir, mode);
}

const CHOOSE = 'choose another state root (--root DIR or MINIDOCK_ROOT; minidock doctor checks it)';

function rootError(root: string, what: string): MinidockError {
  const why = what.endsWith('EACCES') ? ' (creating it needs root)' : '';
  return new MinidockError(`cannot create the state root ${root}: ${what}${why} — ${CHOOSE}`);
}

// ---- a full, read-only or failing filesystem ----

/** The errnos of a filesystem that cannot take a write whatever minidock does, and what each means. */
const STORAGE: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: "disk quota exceeded (the filesystem may have room, this user's quota has none)",
  EROFS: 'read-only file system',
  EIO: 'input/output error: the disk or the filesystem is failing (see dmesg)',
};

const STORAGE_FIX: Record<string, string> = {
  ENOSPC: 'free some space (minidock rm or prune for containers, minidock rmi for images)',
  EDQUOT: "free some of this user's files or raise the quota",
  EROFS: 'remount it read-write (mount -o remount,rw)',
  EIO: 'check the disk',
};

/** Free bytes (for this user: root may also use the blocks ext4 reserves) and size of the
 * filesystem holding `path` or its nearest existing parent; undefined when even that fails. */
function space(path: string): { free: number; size: number } | undefined {
  for (let d = path; ; d = posix.dirname(d)) {
    try {
      const s = statfsSync(d);
      return { free: (process.getuid?.() === 0 ? s.bfree : s.bavail) * s.bsize, size: s.blocks * s.bsize };
    } catch {
      if (d === '/' || d === '.') return undefined;
    }
  }
}

const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;

/** The line for a write refused with `code` (one of STORAGE's): which file, the space left, what to do. */
export function storageMessage(code: string, path: string, room = space(path)): string {
  const left = room ? `; ${mib(room.free)} free of ${mib(room.size)} there` : '';
  return `cannot write ${path}: ${STORAGE[code]} (${code}${left}) — ${STORAGE_FIX[code]}, or ${CHOOSE}`;
}

/**
 * The one place where a write to the state root that the filesystem refused for good (ENOSPC,
 * EDQUOT, EROFS, EIO) becomes one line, naming the file (Node's own `path` when its error has one:
 * a write() error has none, so `path` is the caller's). Any other error is returned unchanged.
 */
export function storageError(e: unknown, path: string): unknown {
  const err = e as NodeJS.ErrnoException | undefined;
  if (!err?.code || !(err.code in STORAGE)) return e;
  return new MinidockError(storageMessage(err.code, err.path ?? path));
}

/** Is this error one of a full or over-quota filesystem (where a write into blocks a file already has may still work)? */
export const isNoSpace = (e: unknown): boolean =>
  ['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException)?.code ?? '');

/** Run one write to the state root: what storageError maps is thrown as its line. */
export function onStateRoot<T>(path: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    throw storageError(e, path);
  }
}

export function containerDir(root: string, id: string): string {
  return pathIn(pathIn(root, 'containers'), id);
}

/**
 * The path of `name` in `dir`: `dir/name`, for a normalized absolute dir (stateRoot() resolves the
 * root; the rest is built from it) and one path component. It checks nothing (a name holding "/"
 * or ".." is not refused): callers pass names minidock made. Plain concatenation: path.join
 * normalizes character by character, ~10 µs a call on a 100-character container path before the
 * JIT warms up, and a launch or a listing of containers makes dozens of them.
 */
export function pathIn(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** 64 hex characters, shown as 12, like Docker. */
export function newId(): string {
  // /dev/urandom directly: loading node:crypto costs ~4 ms at every start.
  const buf = Buffer.alloc(32);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, buf, 0, 32, null);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}
