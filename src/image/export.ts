// `minidock export ID > fs.tar`: a kept container's filesystem as one flat tar, like `docker export`.
//
// The container's "/" was an overlay of its upper layer (its writes) on the image's layers. It is
// not mounted any more once the container exited, so the merge is done here, the way overlayfs
// does it: for every name the uppermost layer wins; a whiteout (char device 0/0) deletes the name;
// an opaque directory (trusted.overlay.opaque=y) hides what lower layers hold in it. (minidock
// mounts overlayfs with the kernel's default options; with redirect_dir=on a renamed directory
// would carry a trusted.overlay.redirect xattr, which this merge does not follow.)
import {
  closeSync,
  existsSync,
  fstatSync,
  lstatSync,
  readdirSync,
  readlinkSync,
  readSync,
  statSync,
  type Stats,
  type WriteStream,
} from 'node:fs';
import { posix } from 'node:path';
import { Header } from 'tar';
import { fail } from '../errors.js';
import { openResolved } from '../runtime/paths.js';
import { errnoName } from '../sys/errno.js';
import { mdLgetxattr, mdLlistxattr } from '../sys/native.js';
import { isOpaque, isWhiteout } from './layered-fs.js';
import { containersUsing } from './store.js';

export interface MergedEntry {
  rel: string; // "bin/sh" ("" for the root)
  host: string;
  st: Stats;
}

/** Walk the overlay of `layers` (top first) in tar order: each directory before its contents. */
export function* walkMerged(layers: string[], rel = '', dirLayers?: string[]): Generator<MergedEntry> {
  if (!rel) {
    const top = layers.find((layer) => existsSync(layer));
    if (!top) return;
    yield { rel: '', host: top, st: lstatSync(top) };
    dirLayers = layers.filter((layer) => existsSync(layer));
    // an opaque root hides the layers below it
    const cut = dirLayers.findIndex((layer) => isOpaque(layer));
    if (cut >= 0) dirLayers = dirLayers.slice(0, cut + 1);
  }
  const seen = new Set<string>();
  const found: Array<{ name: string; host: string; st: Stats; layerIdx: number }> = [];
  for (const [i, dir] of (dirLayers ?? []).entries()) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (seen.has(name)) continue;
      seen.add(name);
      const host = posix.join(dir, name);
      const st = lstatSync(host);
      if (isWhiteout(st)) continue; // deleted: and hidden in every layer below (seen)
      found.push({ name, host, st, layerIdx: i });
    }
  }
  found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const child of found) {
    const childRel = rel ? `${rel}/${child.name}` : child.name;
    yield { rel: childRel, host: child.host, st: child.st };
    if (!child.st.isDirectory()) continue;
    // the directory merges with same-named directories below, down to an opaque one or a non-directory
    const below: string[] = [child.host];
    if (!isOpaque(child.host)) {
      for (const dir of (dirLayers ?? []).slice(child.layerIdx + 1)) {
        const path = posix.join(dir, child.name);
        let st: Stats;
        try {
          st = lstatSync(path);
        } catch {
          continue;
        }
        if (!st.isDirectory()) break;
        below.push(path);
        if (isOpaque(path)) break;
      }
    }
    yield* walkMerged(layers, childRel, below);
  }
}

// --- a small tar writer (the tar package's Header does the 512-byte encoding) -------------------

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

/** One tar member's header: what headerBlocks() encodes. */
export interface TarHeader {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkpath?: string;
  devmaj?: number;
  devmin?: number;
  xattrs?: Map<string, Buffer>;
}

export function headerBlocks(entry: TarHeader): Buffer {
  const block = Buffer.alloc(512);
  const header = new Header({
    path: entry.path,
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.size,
    mtime: entry.mtime,
    linkpath: entry.linkpath ?? '',
    uname: '',
    gname: '',
    devmaj: entry.devmaj ?? 0,
    devmin: entry.devmin ?? 0,
  });
  const needPax = header.encode(block, 0);
  const records: Buffer[] = [];
  if (needPax) {
    // names too long for ustar, or numbers too big for its octal fields
    records.push(paxRecord('path', Buffer.from(entry.path)));
    if (entry.linkpath && Buffer.byteLength(entry.linkpath) > 100)
      records.push(paxRecord('linkpath', Buffer.from(entry.linkpath)));
    if (entry.size >= 8 ** 11) records.push(paxRecord('size', Buffer.from(String(entry.size))));
    if (entry.uid >= 8 ** 7) records.push(paxRecord('uid', Buffer.from(String(entry.uid))));
    if (entry.gid >= 8 ** 7) records.push(paxRecord('gid', Buffer.from(String(entry.gid))));
  }
  for (const [name, value] of entry.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${name}`, value));
  if (!records.length) return block;
  const body = Buffer.concat(records);
  const paxHeader = Buffer.alloc(512);
  new Header({
    path: `PaxHeader/${posix.basename(entry.path)}`.slice(0, 99),
    type: 'ExtendedHeader',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: entry.mtime,
    linkpath: '',
    uname: '',
    gname: '',
  }).encode(paxHeader, 0);
  return Buffer.concat([paxHeader, body, pad(body.length), block]);
}

async function write(out: WriteStream | NodeJS.WriteStream, bytes: Buffer): Promise<void> {
  if (!out.write(bytes)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
}

function xattrsOf(host: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const names = mdLlistxattr(host);
  if (typeof names === 'number') return out;
  for (const name of names) {
    if (name.startsWith('trusted.overlay.')) continue; // overlayfs's bookkeeping, not the container's
    const value = mdLgetxattr(host, name, 65536);
    if (Buffer.isBuffer(value)) out.set(name, value);
  }
  return out;
}

/** Write the merged tree of `layers` (top first) as a tar to `out`. */
export async function exportLayers(
  layers: string[],
  out: WriteStream | NodeJS.WriteStream,
): Promise<{ entries: number; bytes: number }> {
  const links = new Map<string, string>(); // dev:ino -> first path, for hard links
  let entries = 0;
  let bytes = 0;
  const buf = Buffer.alloc(1 << 20);
  for (const entry of walkMerged(layers)) {
    const { st } = entry;
    const name = entry.rel === '' ? './' : st.isDirectory() ? `${entry.rel}/` : entry.rel;
    const base = {
      path: name,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: 0,
      mtime: st.mtime,
      xattrs: xattrsOf(entry.host),
    };
    entries++;
    if (st.isDirectory()) {
      await write(out, headerBlocks({ ...base, type: 'Directory' }));
    } else if (st.isSymbolicLink()) {
      await write(out, headerBlocks({ ...base, type: 'SymbolicLink', linkpath: readlinkSync(entry.host) }));
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        await write(out, headerBlocks({ ...base, type: 'Link', linkpath: first }));
        continue;
      }
      if (st.nlink > 1) links.set(key, entry.rel);
      await write(out, headerBlocks({ ...base, type: 'File', size: st.size }));
      // A running container can swap the file for a symlink (to /etc/shadow) or a FIFO after the
      // lstat above: open it below its layer following no symlink, without blocking, and check it.
      const layer = layers.find((l) => posix.join(l, entry.rel) === entry.host);
      const fd = layer === undefined ? -2 : openResolved(layer, entry.rel);
      if (fd < 0 || !fstatSync(fd).isFile()) {
        if (fd >= 0) closeSync(fd);
        fail(
          `export: ${entry.rel} changed while being read (${fd < 0 ? errnoName(-fd) : 'no longer a regular file'}) — export again once the container stops changing it`,
        );
      }
      try {
        let left = st.size;
        while (left > 0) {
          const count = readSync(fd, buf, 0, Math.min(buf.length, left), null);
          if (count <= 0) fail(`export: ${entry.rel} shrank while being read`);
          await write(out, Buffer.from(buf.subarray(0, count)));
          left -= count;
          bytes += count;
        }
      } finally {
        closeSync(fd);
      }
      await write(out, pad(st.size));
    } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const dev = st.rdev;
      // glibc's major()/minor() of a 64-bit dev_t
      const major = Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
      const minor = Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
      await write(
        out,
        headerBlocks({
          ...base,
          type: st.isFIFO() ? 'FIFO' : st.isCharacterDevice() ? 'CharacterDevice' : 'BlockDevice',
          devmaj: major,
          devmin: minor,
        }),
      );
    } // sockets are not archived (tar cannot hold them)
  }
  await write(out, Buffer.alloc(1024)); // end of archive: two zero blocks
  return { entries, bytes };
}

/** The container directory for an ID, an ID prefix or a name. */
export function findContainer(root: string, ref: string): { id: string; dir: string; lowerDirs: string[] } {
  const all = containersUsing(root);
  const hits = all.filter((c) => c.id === ref || c.name === ref);
  const pre = hits.length ? hits : /^[0-9a-f]{1,64}$/.test(ref) ? all.filter((c) => c.id.startsWith(ref)) : [];
  if (pre.length > 1) fail(`export ${ref}: the prefix matches ${pre.length} containers — give more of the ID`);
  if (!pre.length)
    fail(
      `export ${ref}: no such container in ${root} (a container is kept after it exits when run without --rm; see minidock ps -a)`,
    );
  return pre[0];
}

/**
 * The layers of a kept container's filesystem, top first: its upper layer (its writes), then the
 * image layers or rootfs it was built on; refused in one line when any of them is gone.
 */
export function containerLayers(root: string, ref: string): string[] {
  const c = findContainer(root, ref);
  // the upper layer: <dir>/upper, or <dir>/layer/upper when it lived on a tmpfs (then gone on exit)
  const upper = [posix.join(c.dir, 'upper'), posix.join(c.dir, 'layer', 'upper')].find((p) => existsSync(p));
  if (!upper)
    fail(
      `export ${ref}: the container has no upper layer on disk (${c.dir}/upper) — its writes lived on a tmpfs and are gone`,
    );
  if (!c.lowerDirs.length)
    fail(`export ${ref}: ${c.dir}/config.json does not say which rootfs or layers the container was built on`);
  for (const d of c.lowerDirs)
    if (!statSync(d, { throwIfNoEntry: false })?.isDirectory()) fail(`export ${ref}: its lower layer ${d} is gone`);
  return [upper!, ...c.lowerDirs];
}
