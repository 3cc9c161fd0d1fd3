// Where minidock keeps containers on the host.
//   <root>/containers/<id>/upper   the container's writable layer (overlayfs upperdir)
//   <root>/containers/<id>/work    overlayfs's scratch directory (must be on the same fs as upper)
//   <root>/containers/<id>/merged  the mount point of the overlay: the container's "/"
import { closeSync, openSync, readSync } from 'node:fs';
import { posix } from 'node:path';

export const DEFAULT_ROOT = '/var/lib/minidock';

export function stateRoot(flag?: string): string {
  return posix.resolve(flag || process.env.MINIDOCK_ROOT || DEFAULT_ROOT);
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
