// Resolving a container path on the host, safely.
//
// Before pivot_root, the container's filesystem is just a directory of the host. A path like
// /data inside it may be a symlink to /etc — and if minidock followed it from the host it would
// bind-mount over the HOST's /etc. scopedResolve() follows symlinks the way the kernel would inside
// the container: an absolute link restarts at the container's root, and `..` never climbs above it.
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { fail } from '../errors.js';
import { errnoName } from '../sys/errno.js';
import { mdOpenBeneath } from '../sys/native.js';

export interface Resolved {
  /** the path inside the container, with every symlink resolved */
  inner: string;
  /** does it exist in the rootfs, and what is it ('file': a regular file; 'loop': more than maxLinks
   * symlinks, as the kernel's ELOOP; 'other': a FIFO, socket or device node) */
  kind: 'dir' | 'file' | 'missing' | 'loop' | 'other';
  /** lstat of what it resolved to, when it exists */
  st?: Stats;
}

/** What a resolver needs to know about one path of the tree: where it is on the host and what it is. */
export type Lookup = (parts: string[]) => { host: string; st: Stats } | undefined;

/**
 * Resolve `path` the way the kernel would inside the container, given a lookup of path components:
 * absolute links restart at the container's root, `..` never climbs above it, at most `maxLinks`
 * links. A missing component makes the rest literal (it will be created).
 */
export function resolveWith(lookup: Lookup, path: string, maxLinks = 40): Resolved {
  let todo = path.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const f = lookup([...done, part]);
    if (!f) return { inner: '/' + normalizeParts([...done, part, ...todo]).join('/'), kind: 'missing' };
    if (f.st.isSymbolicLink()) {
      if (++links > maxLinks) return { inner: '/' + [...done, part, ...todo].join('/'), kind: 'loop' };
      const target = readlinkSync(f.host);
      if (target.startsWith('/')) done.length = 0;
      todo = [...target.split('/').filter(Boolean), ...todo];
      continue;
    }
    done.push(part);
    if (!todo.length)
      return {
        inner: '/' + done.join('/'),
        kind: f.st.isDirectory() ? 'dir' : f.st.isFile() ? 'file' : 'other',
        st: f.st,
      };
  }
  return { inner: '/' + done.join('/'), kind: 'dir' };
}

/** resolveWith() over one directory: the rootfs. */
export function scopedResolve(root: string, path: string, maxLinks = 40): Resolved {
  return resolveWith(
    (parts) => {
      const host = posix.join(root, ...parts);
      try {
        return { host, st: lstatSync(host) };
      } catch {
        return undefined;
      }
    },
    path,
    maxLinks,
  );
}

function normalizeParts(parts: string[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..') out.pop();
    else if (p !== '.' && p !== '') out.push(p);
  }
  return out;
}

/** The most minidock reads of one file of a container (/etc/passwd, /etc/group): real ones are a few
 * KiB; the cap keeps a hostile rootfs (a 1 GiB file, a file that keeps growing) from filling memory. */
export const MAX_CONTAINER_FILE = 16 << 20;

const ENOSYS = 38;

function typeName(st: Stats | undefined): string {
  if (!st) return 'not a regular file';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** Open `inner` (resolved: no symlink, no "..") below the host directory `root`, read-only and
 * non-blocking, following no symlink: an fd or -errno. */
export function openResolved(root: string, inner: string): number {
  const fd = mdOpenBeneath(root, inner.replace(/^\/+/, ''));
  if (fd !== -ENOSYS) return fd;
  // No openat2 (a kernel before 5.6): O_NOFOLLOW guards the last component only, so a directory
  // above it swapped for a symlink after resolveWith() looked would be followed — there the rootfs
  // must not change while minidock starts.
  try {
    return openSync(
      posix.join(root, inner),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
    );
  } catch (e) {
    const n = (e as NodeJS.ErrnoException).errno; // Node's own: -2 for ENOENT
    return typeof n === 'number' && n !== 0 ? -Math.abs(n) : -5; // (EIO when Node names none)
  }
}

/**
 * Read a file of the container's filesystem that resolveWith() found (`r`) in the host directory
 * `root` (the rootfs, or the image layer that holds it). Undefined when it does not exist. Anything
 * but a regular file of at most `cap` bytes is one clear line, `what` first: minidock follows no
 * symlink out of the rootfs (/etc/passwd -> /etc/shadow is the rootfs's own /etc/shadow), never
 * waits on a FIFO and never reads a device (/dev/zero would never end).
 */
export function readResolvedFile(
  root: string,
  asked: string,
  r: Resolved,
  what: string,
  cap = MAX_CONTAINER_FILE,
): string | undefined {
  const path = '/' + asked.replace(/^\/+/, '');
  const name = `${what}: the container's ${path}${r.kind !== 'loop' && r.inner !== path ? ` (a symlink to ${r.inner})` : ''}`;
  const fix = `make ${path} a regular file in the rootfs`;
  if (r.kind === 'missing') return undefined;
  if (r.kind === 'loop')
    return fail(
      `${name} leads through more than 40 symbolic links inside the rootfs (a loop; in the container too it is ELOOP) — ${fix}`,
    );
  if (r.kind !== 'file')
    return fail(
      `${name} is ${typeName(r.st)}, not a regular file — minidock reads only regular files from a rootfs; ${fix}`,
    );
  const fd = openResolved(root, r.inner);
  // ELOOP/EXDEV: openat2 met a symlink or a ".." that was not there when resolveWith() looked
  if (fd < 0)
    return fail(
      `${name}: ${errnoName(-fd)} opening it${-fd === 40 || -fd === 18 ? ' (it became a symbolic link while minidock read it)' : ''} — ${fix}`,
    );
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      return fail(`${name} is ${typeName(st)}, not a regular file (it changed while minidock read it) — ${fix}`);
    const tooBig = (size: string): never =>
      fail(`${name} ${size}; minidock reads at most ${cap >> 20} MiB of a rootfs file — ${fix} of a sane size`);
    if (st.size > cap) tooBig(`is ${st.size} bytes`);
    // Read to the end but never more than cap + 1 bytes: the size above may already be stale.
    let buf = Buffer.alloc(Math.min(cap + 1, Math.max(st.size + 1, 4096)));
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (total > cap) return tooBig(`grew past ${cap >> 20} MiB while minidock read it`);
        buf = Buffer.concat([buf, Buffer.alloc(Math.min(cap + 1, 2 * total) - total)]);
      }
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
    }
    return buf.toString('utf8', 0, total);
  } finally {
    closeSync(fd);
  }
}
