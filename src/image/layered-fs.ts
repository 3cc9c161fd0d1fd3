// Looking into an image's filesystem from the host, before any overlay is mounted: the layers are
// searched top-down the way overlayfs would merge them — a whiteout (char device 0/0) hides a name,
// an opaque directory (trusted.overlay.opaque=y) hides what the layers below have in it, and a
// non-directory hides everything below it.
//
// `minidock run IMAGE` needs this for the same reasons as with a rootfs directory: to look users up
// in /etc/passwd, and to resolve a -v target through the image's symlinks *inside* the image (a
// symlink /data -> /etc in a layer must not make minidock mount over the host's /etc).
import { lstatSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { mdLgetxattr } from '../sys/native.js';
import { OPAQUE_XATTR } from './extract.js';
import { readResolvedFile, resolveWith, type Resolved } from '../runtime/paths.js';

export interface Found {
  /** host path of the entry in the layer that provides it */
  host: string;
  st: Stats;
  /** the layer directory it is in */
  layer: string;
}

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export function isOpaque(hostDir: string): boolean {
  const value = mdLgetxattr(hostDir, OPAQUE_XATTR);
  return Buffer.isBuffer(value) && value.toString() === 'y';
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
        found = { host, st, layer };
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
  if (!parts.length && layers.length) return { host: layers[0], st: lstatSync(layers[0]), layer: layers[0] };
  return undefined;
}

export type LayeredResolved = Resolved;

/** paths.ts's resolveWith() over layers: symlinks followed inside the image, ".." stops at "/". */
export function layeredResolve(layers: string[], path: string, maxLinks = 40): LayeredResolved {
  return resolveWith((parts) => layeredLstat(layers, parts), path, maxLinks);
}

/** Read a file of the image (e.g. "etc/passwd"), following its symlinks inside the image: undefined
 * when missing, one clear line (`what` first) when it is not a regular file of a sane size. */
export function layeredReadFile(layers: string[], inner: string, what: string): string | undefined {
  const resolved = layeredResolve(layers, inner);
  const found = resolved.kind === 'file' ? layeredLstat(layers, resolved.inner.split('/').filter(Boolean)) : undefined;
  return readResolvedFile(found?.layer ?? layers[0], inner, resolved, what);
}
