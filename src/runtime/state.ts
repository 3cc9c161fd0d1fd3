// Where minidock keeps containers on the host.
//   <root>/containers/<id>/upper   the container's writable layer (overlayfs upperdir)
//   <root>/containers/<id>/work    overlayfs's scratch directory (must be on the same fs as upper)
//   <root>/containers/<id>/merged  the mount point of the overlay: the container's "/"
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { MinidockError } from '../errors.js';

export const DEFAULT_ROOT = '/var/lib/minidock';

/** The state root's path. Only resolved: reading verbs (ps, images, inspect) never create it. */
export function stateRoot(flag?: string): string {
  return posix.resolve(flag || process.env.MINIDOCK_ROOT || DEFAULT_ROOT);
}

/**
 * Create the state root on first use, for a verb that is about to write there (run, import, ...);
 * returns it. The root is 0711: others may pass through it but not list it, and what holds
 * container state below it is 0700 (each container's directory, names/, run/, tmp/). Missing
 * parents (MINIDOCK_ROOT=/tmp/new/root) are made 0755, as `mkdir -p` would, one by one from the
 * top: Node's recursive mkdir retries forever where mkdir says ENOENT under an existing parent
 * (in /proc, for one). An existing root is left as it is. Anything in the way becomes one line.
 */
export function ensureStateRoot(root: string): string {
  const missing: string[] = [];
  for (let d = root; ; d = posix.dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && d !== '/') { // (ENOTDIR: a file above, found next)
        missing.push(d);
        continue;
      }
      throw rootError(root, code === 'ENOENT' ? 'ENOENT' : `${d}: ${code}`);
    }
    if (!st.isDirectory()) {
      throw new MinidockError(d === root ? `the state root ${root} exists and is not a directory: ${CHOOSE}` : `cannot create the state root ${root}: ${d} is not a directory — ${CHOOSE}`);
    }
    break; // the usual case, at once: the root exists (a symlink to a directory will do)
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, { mode: d === root ? 0o711 : 0o755 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw rootError(root, `mkdir ${d}: ${code}`);
      // EEXIST: another launch made it first — or it is a symlink to nowhere, which stat called missing
      let dir = false;
      try {
        dir = statSync(d).isDirectory();
      } catch { /* dangling */ }
      if (!dir) throw new MinidockError(`cannot create the state root ${root}: ${d} is in the way (a symlink to nothing?) — ${CHOOSE}`);
    }
  }
  return root;
}

const CHOOSE = 'choose another state root (--root DIR or MINIDOCK_ROOT; minidock doctor checks it)';

function rootError(root: string, what: string): MinidockError {
  const why = what.endsWith('EACCES') ? ' (creating it needs root)' : what.endsWith('EROFS') ? ' (a read-only filesystem)' : '';
  return new MinidockError(`cannot create the state root ${root}: ${what}${why} — ${CHOOSE}`);
}

export function containerDir(root: string, id: string): string {
  return sub(sub(root, 'containers'), id);
}

/**
 * `dir/name`, for a normalized absolute dir (stateRoot() resolves the root; the rest is built from
 * it) and one path component. Plain concatenation: path.join normalizes character by character, ~10
 * µs a call on a 100-character container path before the JIT warms up, and a launch or a listing of
 * containers makes dozens of them.
 */
export function sub(dir: string, name: string): string {
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
