// A directory as an image layer tar: the other direction of extract.ts. `minidock commit` writes a
// container's upper directory this way, and `minidock save` each layer of the store.
//
// overlayfs records a deletion as a character device 0/0 and a directory that hides the layers
// below with the xattr trusted.overlay.opaque=y (user.overlay.opaque when mounted with userxattr).
// An image layer says the same with AUFS's marker files, which Docker, Podman and extract.ts read:
//   dir/NAME, a char device 0/0          ->  dir/.wh.NAME         (an empty regular file)
//   dir with trusted.overlay.opaque=y    ->  dir/, then dir/.wh..wh..opq
// overlayfs's own xattrs (trusted.overlay.*, user.overlay.*) never go into the tar.
//
// The tar is deterministic: names sorted, each directory before its contents, no user or group
// names, xattrs sorted, markers with fixed owner, mode and time. A layer unpacked by extract.ts and
// written again gives the same bytes, so the same diff ID: an image minidock wrote keeps its ID
// through save and load.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, readdirSync, readlinkSync, readSync, type Stats, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { fail } from '../errors.js';
import { openResolved } from '../runtime/paths.js';
import { errnoName } from '../sys/errno.js';
import { mdLgetxattr, mdLlistxattr } from '../sys/native.js';
import { headerBlocks, type TarHeader, walkMerged } from './export.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './extract.js';
import { isOpaque, isWhiteout } from './layered-fs.js';

/** What writeLayerTar reads: each path below `root` (rel "" is the root itself) and its lstat. */
export interface LayerEntry {
  rel: string;
  host: string;
  st: Stats;
  /** the directory `rel` is below (openResolved reads the file through it) */
  root: string;
}

/** One tar member, before encoding: its header (headerBlocks), and where a file's bytes are. */
export interface TarMember extends TarHeader {
  /** a regular file's data: read from here */
  data?: { root: string; rel: string };
}

/** "a/b" -> "a/.wh.b": the OCI whiteout that deletes a/b of the layers below. */
export function whiteoutName(rel: string): string {
  const dir = posix.dirname(rel);
  return (dir === '.' ? '' : `${dir}/`) + WHITEOUT_PREFIX + posix.basename(rel);
}

/** "a" -> "a/.wh..wh..opq" ("" -> ".wh..wh..opq"): the marker that makes a directory opaque. */
export function opaqueMarkerName(relDir: string): string {
  return relDir ? `${relDir}/${OPAQUE_MARKER}` : OPAQUE_MARKER;
}

const EPOCH = new Date(0);
/** A marker file (whiteout or opaque): fixed attributes, so that writing a layer again gives the same bytes. */
const marker = (path: string): TarMember => ({
  path,
  type: 'File',
  mode: 0o600,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: EPOCH,
});

/** glibc's major()/minor() of a 64-bit dev_t. */
export function devNumbers(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

/**
 * The tar members for one entry of a layer directory (pure: `opaque` and `xattrs` are read by the
 * caller). With `overlay`, a char device 0/0 is a whiteout and an opaque directory gets its marker.
 * `firstLink` is the path already written for the same inode (a hard link), if any.
 */
export function membersFor(
  e: { rel: string; st: Stats; root: string; linkTarget?: string },
  o: { overlay: boolean; opaque: boolean; xattrs: Map<string, Buffer>; firstLink?: string },
): TarMember[] {
  const { rel, st } = e;
  if (o.overlay && isWhiteout(st)) return [marker(whiteoutName(rel))];
  const base = {
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: 0,
    mtime: new Date(st.mtimeMs - (st.mtimeMs % 1000)),
    xattrs: o.xattrs,
  };
  if (st.isDirectory()) {
    const out: TarMember[] = rel ? [{ ...base, path: `${rel}/`, type: 'Directory' }] : [];
    if (o.overlay && o.opaque) out.push(marker(opaqueMarkerName(rel)));
    return out;
  }
  if (st.isSymbolicLink()) return [{ ...base, path: rel, type: 'SymbolicLink', linkpath: e.linkTarget ?? '' }];
  if (st.isFile()) {
    if (o.firstLink !== undefined) return [{ ...base, path: rel, type: 'Link', linkpath: o.firstLink }];
    return [{ ...base, path: rel, type: 'File', size: st.size, data: { root: e.root, rel } }];
  }
  if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
    const { major, minor } = devNumbers(st.rdev);
    const type = st.isFIFO() ? 'FIFO' : st.isCharacterDevice() ? 'CharacterDevice' : 'BlockDevice';
    return [{ ...base, path: rel, type, devmaj: major, devmin: minor }];
  }
  return []; // a socket: tar cannot hold one
}

/** The xattrs a layer entry carries into a tar: sorted, overlayfs's own left out. */
export function layerXattrs(host: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const names = mdLlistxattr(host);
  if (typeof names === 'number') return out;
  for (const name of names.sort()) {
    if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) continue;
    const value = mdLgetxattr(host, name, 65536);
    if (Buffer.isBuffer(value)) out.set(name, value);
  }
  return out;
}

function opaqueDir(host: string): boolean {
  if (isOpaque(host)) return true;
  const v = mdLgetxattr(host, 'user.overlay.opaque');
  return Buffer.isBuffer(v) && v.toString() === 'y';
}

/** Every entry of one directory, sorted, each directory before its contents (rel "" first). */
export function* walkDir(root: string, rel = ''): Generator<LayerEntry> {
  const host = rel ? posix.join(root, rel) : root;
  const st = lstatSync(host);
  yield { rel, host, st, root };
  if (!st.isDirectory()) return;
  for (const name of readdirSync(host).sort()) yield* walkDir(root, rel ? `${rel}/${name}` : name);
}

/** The merged tree of several layers (top first), one flat layer: whiteouts applied, not written. */
export function* walkFlattened(layers: string[]): Generator<LayerEntry> {
  for (const e of walkMerged(layers)) {
    const root = layers.find((l) => posix.join(l, e.rel) === e.host || (!e.rel && l === e.host)) ?? layers[0];
    yield { ...e, root };
  }
}

/** Where a layer tar goes: its bytes, hashed on the way (the diff ID). */
export class TarFile {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  constructor(readonly fd: number) {}
  write(b: Buffer): void {
    for (let off = 0; off < b.length; ) off += writeSync(this.fd, b, off, b.length - off);
    this.hash.update(b);
    this.bytes += b.length;
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

/** Copy a regular file's bytes into the tar, opened below its layer following no symlink. */
function writeData(out: TarFile, m: TarMember, buf: Buffer): void {
  const { root, rel } = m.data!;
  const fd = openResolved(root, rel);
  if (fd < 0 || !fstatSync(fd).isFile()) {
    if (fd >= 0) closeSync(fd);
    fail(
      `${rel} changed while being read (${fd < 0 ? errnoName(-fd) : 'no longer a regular file'}) — try again once the container stops changing it`,
    );
  }
  try {
    let left = m.size;
    while (left > 0) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
      if (n <= 0) fail(`${rel} shrank while being read — try again once the container stops changing it`);
      out.write(buf.subarray(0, n));
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  out.write(pad(m.size));
}

/** Write `entries` as a layer tar. `overlay`: the entries are an overlayfs upper or a stored layer (convert its markers). */
export function writeLayerTar(entries: Iterable<LayerEntry>, out: TarFile, overlay: boolean): { entries: number } {
  const links = new Map<string, string>(); // dev:ino -> the first path written
  const buf = Buffer.alloc(1 << 20);
  let count = 0;
  for (const e of entries) {
    const { st } = e;
    const key = `${st.dev}:${st.ino}`;
    const firstLink = st.isFile() && st.nlink > 1 ? links.get(key) : undefined;
    if (st.isFile() && st.nlink > 1 && firstLink === undefined) links.set(key, e.rel);
    const isMarker = overlay && isWhiteout(st);
    const members = membersFor(
      { ...e, linkTarget: st.isSymbolicLink() ? readlinkSync(e.host) : undefined },
      {
        overlay,
        opaque: overlay && st.isDirectory() && opaqueDir(e.host),
        xattrs: isMarker ? new Map() : layerXattrs(e.host),
        firstLink,
      },
    );
    for (const m of members) {
      out.write(headerBlocks(m));
      if (m.type === 'File' && m.data) writeData(out, m, buf);
      count++;
    }
  }
  out.write(Buffer.alloc(1024)); // end of archive: two zero blocks
  return { entries: count };
}
