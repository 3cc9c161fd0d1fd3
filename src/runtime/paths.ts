// Resolving a container path on the host, safely.
//
// Before pivot_root, the container's filesystem is just a directory of the host. A path like
// /data inside it may be a symlink to /etc — and if minidock followed it from the host it would
// bind-mount over the HOST's /etc. scopedResolve() follows symlinks the way the kernel would inside
// the container: an absolute link restarts at the container's root, and `..` never climbs above it.
import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';

export interface Resolved {
  /** the path inside the container, with every symlink resolved */
  inner: string;
  /** does it exist in the rootfs, and what is it */
  kind: 'dir' | 'file' | 'missing' | 'other';
}

export function scopedResolve(root: string, path: string, maxLinks = 40): Resolved {
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
    const host = posix.join(root, ...done, part);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      // missing: the rest is taken literally (it will be created)
      done.push(part, ...todo.filter((p) => p !== '.' && p !== ''));
      return { inner: '/' + normalizeParts(done).join('/'), kind: 'missing' };
    }
    if (st.isSymbolicLink()) {
      if (++links > maxLinks) return { inner: '/' + [...done, part, ...todo].join('/'), kind: 'other' };
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      todo = [...target.split('/').filter(Boolean), ...todo];
      continue;
    }
    done.push(part);
    if (!todo.length) {
      return { inner: '/' + done.join('/'), kind: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other' };
    }
  }
  return { inner: '/' + done.join('/'), kind: 'dir' };
}

function normalizeParts(parts: string[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..') out.pop();
    else if (p !== '.' && p !== '') out.push(p);
  }
  return out;
}
