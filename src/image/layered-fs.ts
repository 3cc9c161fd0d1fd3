// Looking into an image's filesystem from the host, before any overlay is mounted: the layers are
// searched top-down the way overlayfs would merge them — a whiteout (char device 0/0) hides a name,
// an opaque directory (trusted.overlay.opaque=y) hides what the layers below have in it, and a
// non-directory hides everything below it.
//
// `minidock run IMAGE` needs this for the same reasons as with a rootfs directory: to look users up
// in /etc/passwd, and to resolve a -v target through the image's symlinks *inside* the image (a
// symlink /data -> /etc in a layer must not make minidock mount over the host's /etc).
import { lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { mdLgetxattr } from '../sys/native.js';
import { OPAQUE_XATTR } from './extract.js';

export interface Found {
  /** host path of the entry in the layer that provides it */
  host: string;
  st: Stats;
}

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export function isOpaque(hostDir: string): boolean {
  const v = mdLgetxattr(hostDir, OPAQUE_XATTR);
  return Buffer.isBuffer(v) && v.toString() === 'y';
}

/** lstat of an inner path (components already free of symlinks and ".."), across layers (top first). */
export function layeredLstat(layers: string[], parts: string[]): Found | undefined {
  for (const layer of layers) {
    let stopBelow = false;
    let found: Found | undefined;
    let hidden = false;
    for (let i = 0; i < parts.length; i++) {
      const host = posix.join(layer, ...parts.slice(0, i + 1));
      let st: Stats;
      try {
        st = lstatSync(host);
      } catch {
        break; // not in this layer: look lower (unless an opaque dir above said not to)
      }
      if (isWhiteout(st)) {
        hidden = true;
        break;
      }
      if (i === parts.length - 1) {
        found = { host, st };
        break;
      }
      if (!st.isDirectory()) {
        hidden = true; // a file here covers a directory of the same name below
        break;
      }
      if (isOpaque(host)) stopBelow = true;
    }
    if (found) return found;
    if (hidden || stopBelow) return undefined;
  }
  if (!parts.length && layers.length) return { host: layers[0], st: lstatSync(layers[0]) };
  return undefined;
}

export interface LayeredResolved {
  inner: string;
  kind: 'dir' | 'file' | 'missing' | 'other';
}

/** paths.ts's scopedResolve(), over layers: symlinks followed inside the image, ".." stops at "/". */
export function layeredResolve(layers: string[], path: string, maxLinks = 40): LayeredResolved {
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
    const f = layeredLstat(layers, [...done, part]);
    if (!f) {
      const rest = [...done, part, ...todo];
      const out: string[] = [];
      for (const p of rest) {
        if (p === '..') out.pop();
        else if (p !== '.' && p !== '') out.push(p);
      }
      return { inner: '/' + out.join('/'), kind: 'missing' };
    }
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

/** Read a file of the image (e.g. "etc/passwd"), following its symlinks inside the image. */
export function layeredReadFile(layers: string[], inner: string): string | undefined {
  const r = layeredResolve(layers, inner);
  if (r.kind !== 'file') return undefined;
  const f = layeredLstat(layers, r.inner.split('/').filter(Boolean));
  if (!f) return undefined;
  try {
    return readFileSync(f.host, 'utf8');
  } catch {
    return undefined;
  }
}
