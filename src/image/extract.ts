// Unpacking one image layer into a directory that overlayfs can use as a lower layer.
//
// Two jobs no library does for us:
//  1. Whiteouts. An image layer records deletions the AUFS way, as marker files: `.wh.NAME` means
//     "NAME of the layers below is deleted", `.wh..wh..opq` in a directory means "hide everything
//     the layers below have in this directory". overlayfs has its own form for the same facts: a
//     character device with device number 0/0 named NAME, and the xattr trusted.overlay.opaque=y
//     on the directory. We translate as we unpack, so the layer directories can be stacked as
//     lowerdirs as they are.
//  2. Hostile archives. A tar file is a list of "create this path" instructions, and minidock runs
//     them as root. Every entry is checked before anything is written: no absolute paths, no "..",
//     never a write through a symlink (`a -> /etc`, then `a/passwd`), hard links only to files of
//     this same layer, and a cap on the total size. The layer is unpacked into a scratch directory
//     that is removed if anything is refused, so a refused archive leaves nothing behind.
import {
  closeSync, constants as C, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync,
  openSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeSync, chmodSync, type Stats,
} from 'node:fs';
import { MinidockError } from '../errors.js';
import { storageError } from '../runtime/state.js';
import { errnoName } from '../sys/errno.js';
import { mdLsetxattr, mdMknod } from '../sys/native.js';
import type { TarEntry, TarReader } from './tar-reader.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

export class HostileArchiveError extends MinidockError {}

export interface ExtractStats {
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  devices: number;
  whiteouts: number;
  opaques: number;
  xattrs: number;
  /** bytes of file data written */
  bytes: number;
}

export interface ExtractOptions {
  /** names the layer in every error: "layer 2/3 (sha256:ab12…) of image.tar" */
  what: string;
  /** running as root: owners, device nodes and trusted.* xattrs need it */
  root?: boolean;
}

/**
 * The archive name as a list of components below the layer root, or a refusal. "./a//b/" is
 * ["a", "b"]; "" and "./" are the root itself ([]).
 */
export function safeParts(name: string, what: string, field = 'path'): string[] {
  if (name.includes('\0')) throw new HostileArchiveError(`${what}: entry ${JSON.stringify(name)}: NUL byte in the ${field} — refusing the archive`);
  if (name.startsWith('/')) {
    throw new HostileArchiveError(`${what}: entry ${JSON.stringify(name)}: absolute ${field} — a layer may only name paths below its own root; refusing the archive`);
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new HostileArchiveError(`${what}: entry ${JSON.stringify(name)}: ".." in the ${field} would leave the layer directory — refusing the archive`);
  }
  return parts;
}

function fsError(e: unknown, op: string, path: string, what: string, dest: string): MinidockError {
  const full = storageError(e, `${dest}/${path}`); // a full, read-only or failing state root: its one line
  if (full instanceof MinidockError) return full;
  const err = e as NodeJS.ErrnoException;
  return new MinidockError(`${what}: ${op}(${path}): ${err.code ?? err.message} — could not unpack the layer`);
}

/** Unpack every entry of `tar` into `dest` (an existing, empty directory). */
export async function extractLayer(tar: TarReader, dest: string, opts: ExtractOptions): Promise<ExtractStats> {
  const what = opts.what;
  const asRoot = opts.root ?? process.getuid?.() === 0;
  const stats: ExtractStats = { entries: 0, files: 0, dirs: 0, symlinks: 0, hardlinks: 0, devices: 0, whiteouts: 0, opaques: 0, xattrs: 0, bytes: 0 };
  // Directories known to be real directories of this layer (not symlinks): the parent check is
  // then one Set lookup. Anything replaced by a later entry is forgotten again.
  const realDirs = new Set<string>(['']);
  // Directory times are set at the end: creating children changes a directory's mtime.
  const dirTimes: Array<[string, Date]> = [];

  const host = (parts: string[]): string => (parts.length ? dest + '/' + parts.join('/') : dest);

  /** Make every parent of `parts` a real directory, creating missing ones; refuse symlinks. */
  const ensureParents = (parts: string[], name: string): void => {
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (realDirs.has(rel)) continue;
      const p = dest + '/' + rel;
      let st: Stats | undefined;
      try {
        st = lstatSync(p);
      } catch {
        st = undefined;
      }
      if (!st) {
        try {
          mkdirSync(p, 0o755);
        } catch (e) {
          throw fsError(e, 'mkdir', rel, what, dest);
        }
      } else if (st.isSymbolicLink()) {
        throw new HostileArchiveError(`${what}: entry ${JSON.stringify(name)} goes through the symlink "${rel}" of the same layer — a write through a symlink could land outside the layer (symlink escape); refusing the archive`);
      } else if (!st.isDirectory()) {
        throw new HostileArchiveError(`${what}: entry ${JSON.stringify(name)}: its parent "${rel}" is not a directory in this layer — refusing the archive`);
      }
      realDirs.add(rel);
    }
  };

  /** Remove whatever is at `p` (a later entry replaces an earlier one, as tar does). */
  const clear = (rel: string, p: string, keepDir: boolean): Stats | undefined => {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      return undefined;
    }
    if (st.isDirectory()) {
      if (keepDir) return st;
      rmSync(p, { recursive: true, force: true });
      for (const d of [...realDirs]) if (d === rel || d.startsWith(rel + '/')) realDirs.delete(d);
    } else {
      unlinkSync(p);
    }
    return undefined;
  };

  /** Owner, then mode (chown clears setuid bits), then xattrs (chown clears security.capability). */
  const finish = (p: string, e: TarEntry, fd?: number): void => {
    if (asRoot || e.uid !== process.getuid?.() || e.gid !== process.getgid?.()) {
      try {
        if (fd !== undefined) fchownSync(fd, e.uid, e.gid);
        else lchownSync(p, e.uid, e.gid);
      } catch (err) {
        if (asRoot) throw fsError(err, 'lchown', p.slice(dest.length + 1), what, dest);
      }
    }
    if (e.kind !== 'symlink') {
      if (fd !== undefined) fchmodSync(fd, e.mode);
      else chmodSync(p, e.mode);
    }
    for (const [name, value] of e.xattrs) {
      // overlayfs's own metadata (redirects, metacopy, opaque) is never taken from an archive:
      // a forged trusted.overlay.redirect could make overlayfs show another file than the tar did.
      if (name.startsWith('trusted.overlay.')) continue;
      const r = mdLsetxattr(p, name, value);
      if (r === -95) continue; // EOPNOTSUPP: the store's filesystem has no xattrs of this kind
      if (r < 0) throw new MinidockError(`${what}: lsetxattr(${p.slice(dest.length + 1)}, ${name}): ${errnoName(-r)} — could not keep the file's extended attributes${asRoot ? '' : ' (run as root)'}`);
      stats.xattrs++;
    }
  };

  for await (const e of tar.entries()) {
    stats.entries++;
    const parts = safeParts(e.path, what);
    const rel = parts.join('/');
    const base = parts[parts.length - 1] ?? '';

    if (e.kind === 'unsupported') {
      const names: Record<string, string> = { S: 'GNU sparse file', M: 'multi-volume continuation', V: 'tape volume header', A: 'Solaris ACL', I: 'inode metadata' };
      // a volume label or ACL block carries nothing a layer needs; data we cannot place is refused
      if (e.typeCode === 'V' || e.typeCode === 'A' || e.typeCode === 'I') continue;
      throw new MinidockError(`${what}: entry ${JSON.stringify(e.path)}: unsupported tar entry type '${e.typeCode}'${names[e.typeCode] ? ` (${names[e.typeCode]})` : ''} — re-create the archive without it (e.g. GNU tar without --sparse)`);
    }

    // Whiteouts: AUFS markers in the archive become overlayfs's form on disk.
    if (base.startsWith(WHITEOUT_PREFIX)) {
      ensureParents(parts, e.path);
      const dir = parts.slice(0, -1);
      if (base === OPAQUE_MARKER) {
        const r = mdLsetxattr(host(dir), OPAQUE_XATTR, Buffer.from('y'));
        if (r < 0) throw new MinidockError(`${what}: lsetxattr(${dir.join('/') || '/'}, ${OPAQUE_XATTR}): ${errnoName(-r)} — an opaque directory needs root (trusted.* xattrs) and a filesystem with xattrs`);
        stats.opaques++;
        continue;
      }
      if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) continue; // other AUFS metadata (.wh..wh.plnk ...): not content
      const victim = base.slice(WHITEOUT_PREFIX.length);
      if (victim === '.' || victim === '..') throw new HostileArchiveError(`${what}: entry ${JSON.stringify(e.path)}: a whiteout of "${victim}" — refusing the archive`);
      const vrel = [...dir, victim].join('/');
      const vp = host([...dir, victim]);
      clear(vrel, vp, false);
      // A whiteout is a character device 0/0: overlayfs hides the name in every layer below.
      const r = mdMknod(vp, S_IFCHR, 0, 0);
      if (r < 0) throw new MinidockError(`${what}: mknod(${vrel}, S_IFCHR, 0/0) for whiteout ${JSON.stringify(e.path)}: ${errnoName(-r)} — whiteouts need root`);
      stats.whiteouts++;
      continue;
    }

    if (parts.length === 0) {
      // "./": the layer's root directory itself
      if (e.kind !== 'dir') throw new HostileArchiveError(`${what}: entry ${JSON.stringify(e.path)} names the layer root but is not a directory — refusing the archive`);
      finish(dest, e);
      if (e.mtime) dirTimes.push([dest, e.mtime]);
      continue;
    }

    ensureParents(parts, e.path);
    const p = host(parts);
    try {
      switch (e.kind) {
        case 'dir': {
          if (!clear(rel, p, true)) mkdirSync(p, 0o700);
          realDirs.add(rel);
          finish(p, e);
          if (e.mtime) dirTimes.push([p, e.mtime]);
          stats.dirs++;
          break;
        }
        case 'file': {
          clear(rel, p, false);
          // O_EXCL|O_NOFOLLOW: we create the file ourselves, never open something already there
          const fd = openSync(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
          try {
            for (let chunk = await tar.body(); chunk; chunk = await tar.body()) {
              for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
              stats.bytes += chunk.length;
            }
            finish(p, e, fd);
            if (e.mtime) futimesSync(fd, e.mtime, e.mtime);
          } finally {
            closeSync(fd);
          }
          stats.files++;
          break;
        }
        case 'symlink': {
          // Any target text is fine: it is resolved inside the container, never by minidock
          // (every later entry is checked not to go through it).
          clear(rel, p, false);
          symlinkSync(e.linkpath, p);
          finish(p, e);
          if (e.mtime) lutimesSync(p, e.mtime, e.mtime);
          stats.symlinks++;
          break;
        }
        case 'hardlink': {
          const target = safeParts(e.linkpath, `${what}: hard link ${JSON.stringify(e.path)}`, 'link target');
          if (!target.length) throw new HostileArchiveError(`${what}: hard link ${JSON.stringify(e.path)} to the layer root — refusing the archive`);
          // the target must be a file this layer already holds, reached through real directories only
          for (let i = 1; i < target.length; i++) {
            const d = target.slice(0, i).join('/');
            if (realDirs.has(d)) continue;
            let st: Stats | undefined;
            try {
              st = lstatSync(dest + '/' + d);
            } catch { /* missing */ }
            if (!st?.isDirectory()) {
              throw new HostileArchiveError(`${what}: hard link ${JSON.stringify(e.path)} -> ${JSON.stringify(e.linkpath)}: "${d}" is ${st?.isSymbolicLink() ? 'a symlink (hard link escape through a symlink)' : 'not a directory of this layer'} — refusing the archive`);
            }
          }
          const tp = host(target);
          let tst: Stats | undefined;
          try {
            tst = lstatSync(tp);
          } catch { /* missing */ }
          if (!tst) throw new HostileArchiveError(`${what}: hard link ${JSON.stringify(e.path)} -> ${JSON.stringify(e.linkpath)}: the target is not in this layer (a hard link may only join files of the same layer) — refusing the archive`);
          if (tst.isDirectory()) throw new HostileArchiveError(`${what}: hard link ${JSON.stringify(e.path)} -> ${JSON.stringify(e.linkpath)}: hard links to directories are not allowed — refusing the archive`);
          if (tp === p) break;
          clear(rel, p, false);
          linkSync(tp, p); // link(2) does not follow a symlink target
          stats.hardlinks++;
          break;
        }
        case 'char':
        case 'block':
        case 'fifo': {
          clear(rel, p, false);
          const type = e.kind === 'char' ? S_IFCHR : e.kind === 'block' ? S_IFBLK : S_IFIFO;
          if (e.kind !== 'fifo' && !asRoot) throw new MinidockError(`${what}: entry ${JSON.stringify(e.path)} is a device node: creating it needs root`);
          const r = mdMknod(p, type | (e.mode & 0o777), e.devmajor, e.devminor);
          if (r < 0) throw new MinidockError(`${what}: mknod(${rel}): ${errnoName(-r)} — could not create the ${e.kind === 'fifo' ? 'FIFO' : 'device node'}`);
          finish(p, e);
          if (e.mtime) lutimesSync(p, e.mtime, e.mtime);
          stats.devices++;
          break;
        }
      }
    } catch (err) {
      if (err instanceof MinidockError) throw err;
      throw fsError(err, e.kind, rel, what, dest);
    }
  }
  for (const [p, t] of dirTimes.reverse()) {
    try {
      utimesSync(p, t, t);
    } catch { /* times are cosmetic */ }
  }
  return stats;
}
