// Resolving a container path on the host, safely.
//
// Before pivot_root, the container's filesystem is just a directory of the host. A path like
// /data inside it may be a symlink to /etc — and if minidock followed it from the host it would
// bind-mount over the HOST's /etc. scopedResolve() follows symlinks the way the kernel would inside
// the container: an absolute link restarts at the container's root, and `..` never climbs above it.
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';

export interface Resolved {
  /** the path inside the container, with every symlink resolved */
  inner: string;
  /** does it exist in the rootfs, and what is it */
  kind: 'dir' | 'file' | 'missing' | 'other';
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
      if (++links > maxLinks) return { inner: '/' + [...done, part, ...todo].join('/'), kind: 'other' };
      const target = readlinkSync(f.host);
      if (target.startsWith('/')) done.length = 0;
      todo = [...target.split('/').filter(Boolean), ...todo];
      continue;
    }
    done.push(part);
    if (!todo.length) return { inner: '/' + done.join('/'), kind: f.st.isDirectory() ? 'dir' : f.st.isFile() ? 'file' : 'other' };
  }
  return { inner: '/' + done.join('/'), kind: 'dir' };
}

/** resolveWith() over one directory: the rootfs. */
export function scopedResolve(root: string, path: string, maxLinks = 40): Resolved {
  return resolveWith((parts) => {
    const host = posix.join(root, ...parts);
    try {
      return { host, st: lstatSync(host) };
    } catch {
      return undefined;
    }
  }, path, maxLinks);
}

function normalizeParts(parts: string[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..') out.pop();
    else if (p !== '.' && p !== '') out.push(p);
  }
  return out;
}
