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
  closeSync,
  constants as C,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
  chmodSync,
  type Stats,
} from 'node:fs';
import { MinidockError } from '../errors.js';
import { storageError } from '../runtime/state-root.js';
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
  if (name.includes('\0'))
    throw new HostileArchiveError(
      `${what}: entry ${JSON.stringify(name)}: NUL byte in the ${field} — refusing the archive`,
    );
  if (name.startsWith('/')) {
    throw new HostileArchiveError(
      `${what}: entry ${JSON.stringify(name)}: absolute ${field} — a layer may only name paths below its own root; refusing the archive`,
    );
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new HostileArchiveError(
      `${what}: entry ${JSON.stringify(name)}: ".." in the ${field} would leave the layer directory — refusing the archive`,
    );
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
  const layer = new LayerWriter(dest, opts.what, opts.root ?? process.getuid?.() === 0);
  for await (const entry of tar.entries()) {
    layer.stats.entries++;
    await layer.writeEntry(entry, tar);
  }
  layer.setDirectoryTimes();
  return layer.stats;
}

/** Entry types a layer cannot hold, named for the error message. */
const UNSUPPORTED_TYPE_NAMES: Record<string, string> = {
  S: 'GNU sparse file',
  M: 'multi-volume continuation',
  V: 'tape volume header',
  A: 'Solaris ACL',
  I: 'inode metadata',
};

/** One layer being unpacked: where it goes, what is already on disk, and the counts so far. */
class LayerWriter {
  readonly stats: ExtractStats = {
    entries: 0,
    files: 0,
    dirs: 0,
    symlinks: 0,
    hardlinks: 0,
    devices: 0,
    whiteouts: 0,
    opaques: 0,
    xattrs: 0,
    bytes: 0,
  };
  // Directories known to be real directories of this layer (not symlinks): the parent check is
  // then one Set lookup. Anything replaced by a later entry is forgotten again.
  private readonly realDirs = new Set<string>(['']);
  // Directory times are set at the end: creating children changes a directory's mtime.
  private readonly dirTimes: Array<[string, Date]> = [];

  constructor(
    private readonly dest: string,
    /** names the layer in every error */
    private readonly what: string,
    private readonly asRoot: boolean,
  ) {}

  /** The host path of a list of components below the layer root. */
  private hostPath(parts: string[]): string {
    return parts.length ? this.dest + '/' + parts.join('/') : this.dest;
  }

  /** Check one archive entry and create what it describes. */
  async writeEntry(entry: TarEntry, tar: TarReader): Promise<void> {
    const parts = safeParts(entry.path, this.what);
    const rel = parts.join('/');
    const base = parts[parts.length - 1] ?? '';

    if (entry.kind === 'unsupported') return this.skipOrRefuseUnsupported(entry);
    // Whiteouts: AUFS markers in the archive become overlayfs's form on disk.
    if (base.startsWith(WHITEOUT_PREFIX)) return this.writeWhiteout(entry, parts, base);
    if (parts.length === 0) return this.writeLayerRoot(entry);

    this.ensureParents(parts, entry.path);
    const path = this.hostPath(parts);
    try {
      switch (entry.kind) {
        case 'dir':
          return this.writeDir(entry, rel, path);
        case 'file':
          return await this.writeFile(entry, rel, path, tar);
        case 'symlink':
          return this.writeSymlink(entry, rel, path);
        case 'hardlink':
          return this.writeHardlink(entry, rel, path);
        case 'char':
        case 'block':
        case 'fifo':
          return this.writeDeviceOrFifo(entry, rel, path);
      }
    } catch (err) {
      if (err instanceof MinidockError) throw err;
      throw fsError(err, entry.kind, rel, this.what, this.dest);
    }
  }

  /** Skip the entry types that carry nothing a layer needs; refuse those with data we cannot place. */
  private skipOrRefuseUnsupported(entry: TarEntry): void {
    // a volume label or ACL block carries nothing a layer needs; data we cannot place is refused
    if (entry.typeCode === 'V' || entry.typeCode === 'A' || entry.typeCode === 'I') return;
    const typeName = UNSUPPORTED_TYPE_NAMES[entry.typeCode];
    throw new MinidockError(
      `${this.what}: entry ${JSON.stringify(entry.path)}: unsupported tar entry type '${entry.typeCode}'${typeName ? ` (${typeName})` : ''} — re-create the archive without it (e.g. GNU tar without --sparse)`,
    );
  }

  /** `.wh..wh..opq` becomes the opaque xattr on its directory; `.wh.NAME` becomes a 0/0 char device NAME. */
  private writeWhiteout(entry: TarEntry, parts: string[], base: string): void {
    this.ensureParents(parts, entry.path);
    const dir = parts.slice(0, -1);
    if (base === OPAQUE_MARKER) {
      const r = mdLsetxattr(this.hostPath(dir), OPAQUE_XATTR, Buffer.from('y'));
      if (r < 0)
        throw new MinidockError(
          `${this.what}: lsetxattr(${dir.join('/') || '/'}, ${OPAQUE_XATTR}): ${errnoName(-r)} — an opaque directory needs root (trusted.* xattrs) and a filesystem with xattrs`,
        );
      this.stats.opaques++;
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return; // other AUFS metadata (.wh..wh.plnk ...): not content
    const victim = base.slice(WHITEOUT_PREFIX.length);
    if (victim === '.' || victim === '..')
      throw new HostileArchiveError(
        `${this.what}: entry ${JSON.stringify(entry.path)}: a whiteout of "${victim}" — refusing the archive`,
      );
    const victimRel = [...dir, victim].join('/');
    const victimPath = this.hostPath([...dir, victim]);
    this.clearPath(victimRel, victimPath, false);
    // A whiteout is a character device 0/0: overlayfs hides the name in every layer below.
    const r = mdMknod(victimPath, S_IFCHR, 0, 0);
    if (r < 0)
      throw new MinidockError(
        `${this.what}: mknod(${victimRel}, S_IFCHR, 0/0) for whiteout ${JSON.stringify(entry.path)}: ${errnoName(-r)} — whiteouts need root`,
      );
    this.stats.whiteouts++;
  }

  /** "./": the layer's root directory itself takes the entry's owner, mode and time. */
  private writeLayerRoot(entry: TarEntry): void {
    if (entry.kind !== 'dir')
      throw new HostileArchiveError(
        `${this.what}: entry ${JSON.stringify(entry.path)} names the layer root but is not a directory — refusing the archive`,
      );
    this.applyMetadata(this.dest, entry);
    if (entry.mtime) this.dirTimes.push([this.dest, entry.mtime]);
  }

  private writeDir(entry: TarEntry, rel: string, path: string): void {
    if (!this.clearPath(rel, path, true)) mkdirSync(path, 0o700);
    this.realDirs.add(rel);
    this.applyMetadata(path, entry);
    if (entry.mtime) this.dirTimes.push([path, entry.mtime]);
    this.stats.dirs++;
  }

  /** Create the file ourselves and copy its data from the archive. */
  private async writeFile(entry: TarEntry, rel: string, path: string, tar: TarReader): Promise<void> {
    this.clearPath(rel, path, false);
    // O_EXCL|O_NOFOLLOW: we create the file ourselves, never open something already there
    const fd = openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      for (let chunk = await tar.body(); chunk; chunk = await tar.body()) {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
        this.stats.bytes += chunk.length;
      }
      this.applyMetadata(path, entry, fd);
      if (entry.mtime) futimesSync(fd, entry.mtime, entry.mtime);
    } finally {
      closeSync(fd);
    }
    this.stats.files++;
  }

  private writeSymlink(entry: TarEntry, rel: string, path: string): void {
    // Any target text is fine: it is resolved inside the container, never by minidock
    // (every later entry is checked not to go through it).
    this.clearPath(rel, path, false);
    symlinkSync(entry.linkpath, path);
    this.applyMetadata(path, entry);
    if (entry.mtime) lutimesSync(path, entry.mtime, entry.mtime);
    this.stats.symlinks++;
  }

  /** A hard link to a file this layer already holds, reached through real directories only. */
  private writeHardlink(entry: TarEntry, rel: string, path: string): void {
    const target = safeParts(entry.linkpath, `${this.what}: hard link ${JSON.stringify(entry.path)}`, 'link target');
    if (!target.length)
      throw new HostileArchiveError(
        `${this.what}: hard link ${JSON.stringify(entry.path)} to the layer root — refusing the archive`,
      );
    const refuse = (why: string): HostileArchiveError =>
      new HostileArchiveError(
        `${this.what}: hard link ${JSON.stringify(entry.path)} -> ${JSON.stringify(entry.linkpath)}: ${why} — refusing the archive`,
      );
    for (let i = 1; i < target.length; i++) {
      const dir = target.slice(0, i).join('/');
      if (this.realDirs.has(dir)) continue;
      const st = lstatOrUndefined(this.dest + '/' + dir);
      if (!st?.isDirectory()) {
        throw refuse(
          `"${dir}" is ${st?.isSymbolicLink() ? 'a symlink (hard link escape through a symlink)' : 'not a directory of this layer'}`,
        );
      }
    }
    const targetPath = this.hostPath(target);
    const targetStat = lstatOrUndefined(targetPath);
    if (!targetStat)
      throw refuse('the target is not in this layer (a hard link may only join files of the same layer)');
    if (targetStat.isDirectory()) throw refuse('hard links to directories are not allowed');
    if (targetPath === path) return;
    this.clearPath(rel, path, false);
    linkSync(targetPath, path); // link(2) does not follow a symlink target
    this.stats.hardlinks++;
  }

  /** Character and block devices (root only) and FIFOs, made with mknod(2). */
  private writeDeviceOrFifo(entry: TarEntry, rel: string, path: string): void {
    this.clearPath(rel, path, false);
    const type = entry.kind === 'char' ? S_IFCHR : entry.kind === 'block' ? S_IFBLK : S_IFIFO;
    if (entry.kind !== 'fifo' && !this.asRoot)
      throw new MinidockError(
        `${this.what}: entry ${JSON.stringify(entry.path)} is a device node: creating it needs root`,
      );
    const r = mdMknod(path, type | (entry.mode & 0o777), entry.devmajor, entry.devminor);
    if (r < 0)
      throw new MinidockError(
        `${this.what}: mknod(${rel}): ${errnoName(-r)} — could not create the ${entry.kind === 'fifo' ? 'FIFO' : 'device node'}`,
      );
    this.applyMetadata(path, entry);
    if (entry.mtime) lutimesSync(path, entry.mtime, entry.mtime);
    this.stats.devices++;
  }

  /** Make every parent of `parts` a real directory, creating missing ones; refuse symlinks. */
  private ensureParents(parts: string[], name: string): void {
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (this.realDirs.has(rel)) continue;
      const path = this.dest + '/' + rel;
      const st = lstatOrUndefined(path);
      if (!st) {
        try {
          mkdirSync(path, 0o755);
        } catch (e) {
          throw fsError(e, 'mkdir', rel, this.what, this.dest);
        }
      } else if (st.isSymbolicLink()) {
        throw new HostileArchiveError(
          `${this.what}: entry ${JSON.stringify(name)} goes through the symlink "${rel}" of the same layer — a write through a symlink could land outside the layer (symlink escape); refusing the archive`,
        );
      } else if (!st.isDirectory()) {
        throw new HostileArchiveError(
          `${this.what}: entry ${JSON.stringify(name)}: its parent "${rel}" is not a directory in this layer — refusing the archive`,
        );
      }
      this.realDirs.add(rel);
    }
  }

  /** Remove whatever is at `path` (a later entry replaces an earlier one, as tar does); a directory kept with `keepDir` is returned. */
  private clearPath(rel: string, path: string, keepDir: boolean): Stats | undefined {
    const st = lstatOrUndefined(path);
    if (!st) return undefined;
    if (st.isDirectory()) {
      if (keepDir) return st;
      rmSync(path, { recursive: true, force: true });
      for (const dir of [...this.realDirs]) if (dir === rel || dir.startsWith(rel + '/')) this.realDirs.delete(dir);
    } else {
      unlinkSync(path);
    }
    return undefined;
  }

  /** Owner, then mode (chown clears setuid bits), then xattrs (chown clears security.capability). */
  private applyMetadata(path: string, entry: TarEntry, fd?: number): void {
    const rel = path.slice(this.dest.length + 1);
    if (this.asRoot || entry.uid !== process.getuid?.() || entry.gid !== process.getgid?.()) {
      try {
        if (fd !== undefined) fchownSync(fd, entry.uid, entry.gid);
        else lchownSync(path, entry.uid, entry.gid);
      } catch (err) {
        if (this.asRoot) throw fsError(err, 'lchown', rel, this.what, this.dest);
      }
    }
    if (entry.kind !== 'symlink') {
      if (fd !== undefined) fchmodSync(fd, entry.mode);
      else chmodSync(path, entry.mode);
    }
    for (const [name, value] of entry.xattrs) {
      // overlayfs's own metadata (redirects, metacopy, opaque) is never taken from an archive:
      // a forged trusted.overlay.redirect could make overlayfs show another file than the tar did.
      if (name.startsWith('trusted.overlay.')) continue;
      const r = mdLsetxattr(path, name, value);
      if (r === -95) continue; // EOPNOTSUPP: the store's filesystem has no xattrs of this kind
      if (r < 0)
        throw new MinidockError(
          `${this.what}: lsetxattr(${rel}, ${name}): ${errnoName(-r)} — could not keep the file's extended attributes${this.asRoot ? '' : ' (run as root)'}`,
        );
      this.stats.xattrs++;
    }
  }

  /** Directory times last, deepest first: creating children changed them. */
  setDirectoryTimes(): void {
    for (const [path, time] of this.dirTimes.reverse()) {
      try {
        utimesSync(path, time, time);
      } catch {
        /* times are cosmetic */
      }
    }
  }
}

/** lstat, or undefined when nothing is there (or it cannot be read). */
function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
