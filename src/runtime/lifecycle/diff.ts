// What a container changed in its filesystem (minidock diff): its overlay's upper layer, read from
// the host. Copy-on-write made visible: the container's "/" is the read-only rootfs (or the image's
// layers) with the upper directory on top, and every write landed there —
//   a new file                     the file, in upper                                   A /path
//   a changed file                 a full copy of it in upper ("copy-up"), then changed C /path
//   a deleted file or directory    a whiteout in upper: a character device 0/0          D /path
//   a directory removed, made anew an opaque directory (xattr trusted.overlay.opaque=y,
//                                  user.overlay.opaque with userxattr) hiding the lower
//                                  one's content: the directory C, what it hid         D /path/...
// As Docker lists them: sorted by path, each added or deleted path's directory listed as C.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MinidockError } from '../../errors.js';
import { mdLgetxattr } from '../../sys/native.js';
import { isOpaque, isWhiteout, layeredLstat } from '../../image/layered-fs.js';
import { displayName } from '../container-store/listing.js';
import type { Entry } from '../container-store/records.js';

export type ChangeKind = 'A' | 'C' | 'D';
export interface Change {
  kind: ChangeKind;
  path: string;
}

/** An opaque directory: trusted.overlay.opaque, or user.overlay.opaque when mounted with userxattr (a user namespace). */
function opaque(dir: string): boolean {
  if (isOpaque(dir)) return true;
  const v = mdLgetxattr(dir, 'user.overlay.opaque');
  return Buffer.isBuffer(v) && v.toString() === 'y';
}

/** The names a directory has in the lower layers (top first), as overlayfs merges them. */
function lowerNames(lowers: string[], parts: string[]): string[] {
  const names = new Set<string>();
  for (const l of lowers) {
    try {
      for (const n of readdirSync(join(l, ...parts))) names.add(n);
    } catch {
      /* not in this layer */
    }
  }
  return [...names].filter((n) => layeredLstat(lowers, [...parts, n]) !== undefined);
}

/** The changes an upper directory records against its lower layers (top first), sorted by path. */
export function upperChanges(upper: string, lowers: string[]): Change[] {
  const out = new Map<string, ChangeKind>();
  const changedParent = (parts: string[]): void => {
    const parent = '/' + parts.slice(0, -1).join('/');
    if (parts.length > 1 && !out.has(parent)) out.set(parent, 'C'); // (an added directory stays A)
  };
  // lowerVisible: false inside a directory the lower layers do not have (everything in it is new)
  const walk = (parts: string[], lowerVisible: boolean): void => {
    const dir = join(upper, ...parts);
    for (const name of readdirSync(dir)) {
      const p = [...parts, name];
      const host = join(dir, name);
      const st = lstatSync(host);
      const path = '/' + p.join('/');
      const inLower = lowerVisible && layeredLstat(lowers, p) !== undefined;
      if (isWhiteout(st)) {
        out.set(path, 'D');
        changedParent(p);
        continue;
      }
      out.set(path, inLower ? 'C' : 'A');
      if (!inLower) changedParent(p);
      if (!st.isDirectory()) continue;
      if (inLower && opaque(host)) {
        // removed and made anew: what the lower directory held is gone, unless made again
        const here = new Set(readdirSync(host));
        for (const n of lowerNames(lowers, p)) if (!here.has(n)) out.set(`${path}/${n}`, 'D');
      }
      walk(p, inLower);
    }
  };
  walk([], true);
  return [...out]
    .map(([path, kind]) => ({ kind, path }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The container's changes (running or exited: the upper layer stays until rm). */
export function containerChanges(e: Entry): Change[] {
  const spec = e.config?.spec;
  if (!spec)
    throw new MinidockError(`container ${displayName(e)} has no readable config.json: its layers are unknown`, 1);
  const upper = join(e.dir, 'upper');
  try {
    lstatSync(upper);
  } catch {
    // (a state root on overlayfs: upper lived on a tmpfs inside the container's mount namespace)
    throw new MinidockError(
      `container ${displayName(e)} has no upper layer at ${upper} (with the state root on overlayfs it lives on a tmpfs inside the container and is gone with it)`,
      1,
    );
  }
  return upperChanges(upper, spec.lowerDirs ?? [spec.rootfs]);
}
