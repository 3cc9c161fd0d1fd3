// `minidock cp SRC DEST`, one side CONTAINER:PATH, as `docker cp` does it, for a running or a
// stopped container. The container's side is a ContainerView (src/image/container-fs.ts): every
// path resolved inside the container (its symlinks lead to its own files, never the host's), every
// open checked by the kernel beneath its root. The host's side is the user's own paths.
//
// Docker's rules for where things land (cpTarget):
//   SRC a file:       DEST a directory -> DEST/NAME; DEST a file or missing -> DEST (its parent must
//                     exist); DEST ending in "/" must be an existing directory.
//   SRC a directory:  DEST missing -> made, SRC's contents copied into it; DEST a directory ->
//                     DEST/NAME, or SRC's contents when SRC ends in "/."; DEST a file -> refused.
// A symlink in SRC is copied as a symlink; with -L the one SRC names is followed (inside the
// container for a container path). Owners: the container's root for what goes in (with -a, the
// source's uid/gid), the caller for what comes out (with -a, the container's); modes and
// modification times are kept.
import {
  closeSync,
  constants as C,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  type Stats,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
  chmodSync,
} from 'node:fs';
import { posix } from 'node:path';
import { fail, MinidockError } from '../../errors.js';
import { closeDir, type ContainerView, type DirHandle, layeredView, liveView } from '../../image/container-fs.js';
import { devNumbers } from '../../image/layer-tar.js';
import { errnoName } from '../../sys/errno.js';
import { mdMknod } from '../../sys/native.js';
import { displayName, resolve as findContainer } from '../container-store/listing.js';
import type { Entry } from '../container-store/records.js';
import { hostId } from '../id-maps.js';
import { isRunning } from './common.js';

export interface CpArg {
  container?: string;
  path: string;
}

/** Docker's split: an absolute path or one starting with "." is local; else CONTAINER:PATH at the first ":". */
export function parseCpArg(arg: string): CpArg {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const i = arg.indexOf(':');
  if (i < 0) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) || '/' };
}

export type Kind = 'dir' | 'other' | 'missing';

/**
 * Where SRC lands (pure): `dir` (a path of DEST's side) and `name` in it; no `name`: SRC's
 * contents go into `dir`. `dest.path` is DEST resolved; `given` is what the user typed.
 */
export function cpTarget(
  src: { path: string; isDir: boolean },
  dest: { path: string; kind: Kind; given: string },
): { dir: string; name?: string } {
  const slash = dest.given.endsWith('/');
  const base = posix.basename(src.path.replace(/\/+$/, ''));
  if (!src.isDir) {
    if (dest.kind === 'dir') return { dir: dest.path, name: base };
    if (slash && dest.kind === 'missing')
      fail(`cp: destination directory ${dest.given} does not exist — create it first`);
    if (slash) fail(`cp: destination ${dest.given} is not a directory`);
    return { dir: posix.dirname(dest.path), name: posix.basename(dest.path) };
  }
  if (dest.kind === 'other') fail(`cp: cannot copy a directory to a file: ${dest.given} exists and is not a directory`);
  if (dest.kind === 'missing') return { dir: posix.dirname(dest.path), name: posix.basename(dest.path) };
  const contents = /(^|\/)\.$/.test(src.path) || base === '' || base === '.';
  return contents ? { dir: dest.path } : { dir: dest.path, name: base };
}

export interface CpOptions {
  /** -a: keep uid/gid */
  archive?: boolean;
  /** -L: follow a symlink SRC names */
  followLink?: boolean;
}

export interface CpResult {
  entries: number;
  bytes: number;
}

const parts = (inner: string): string[] => inner.split('/').filter(Boolean);
const kindOf = (st: Stats | undefined): Kind => (!st ? 'missing' : st.isDirectory() ? 'dir' : 'other');

/** The container's filesystem: live through /proc/PID/root while it runs, else its layers. */
export function viewOf(e: Entry): ContainerView {
  const spec = e.config?.spec;
  if (!spec)
    throw new MinidockError(`container ${displayName(e)} has no readable config.json: its filesystem is unknown`, 1);
  if (isRunning(e)) return liveView(`/proc/${e.state!.pid}/root`);
  const upper = posix.join(e.dir, 'upper');
  if (!lstatOr(upper))
    fail(
      `cp: container ${displayName(e)} has no upper layer on disk (${upper}): its writes lived on a tmpfs and are gone`,
    );
  return layeredView(upper, spec.lowerDirs ?? [spec.rootfs]);
}

function lstatOr(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Copy between the host and a container of the state root `root`. */
export function copy(root: string, src: string, dest: string, o: CpOptions = {}): CpResult {
  const s = parseCpArg(src);
  const d = parseCpArg(dest);
  if (src === '-' || dest === '-')
    fail('cp: "-" (a tar stream on stdin/stdout) is not supported by minidock — copy to or from a directory');
  if (s.container !== undefined && d.container !== undefined)
    fail('cp: copying between containers is not supported — copy to the host, then into the other container');
  if (s.container === undefined && d.container === undefined)
    fail('cp: one of SRC and DEST must be CONTAINER:PATH (e.g. minidock cp ./file web:/tmp/)');
  if (s.container === '' || d.container === '') fail('cp: CONTAINER:PATH needs a container name or ID before ":"');
  const e = findContainer(root, (s.container ?? d.container)!);
  const view = viewOf(e);
  const ctx: Ctx = { view, o, result: { entries: 0, bytes: 0 }, owner: ownerIn(e, o), name: displayName(e) };
  if (d.container !== undefined) copyIn(ctx, s.path, d.path);
  else copyOut(ctx, s.path, d.path);
  return ctx.result;
}

interface Ctx {
  view: ContainerView;
  o: CpOptions;
  result: CpResult;
  /** the host uid/gid a file copied in gets, from the source's uid/gid */
  owner: (uid: number, gid: number) => [number, number];
  name: string;
}

/** Container root (its host ids in a user namespace), or with -a the source's ids (mapped the same way). */
function ownerIn(e: Entry, o: CpOptions): Ctx['owner'] {
  const ns = e.config?.spec.userns;
  const rootUid = ns ? (hostId(ns.uidMap, 0) ?? 0) : 0;
  const rootGid = ns ? (hostId(ns.gidMap, 0) ?? 0) : 0;
  if (!o.archive) return () => [rootUid, rootGid];
  return (uid, gid) => (ns ? [hostId(ns.uidMap, uid) ?? rootUid, hostId(ns.gidMap, gid) ?? rootGid] : [uid, gid]);
}

// --- host -> container ---------------------------------------------------------------------------

function copyIn(ctx: Ctx, hostSrc: string, ctrDest: string): void {
  const st = hostStat(hostSrc, !!ctx.o.followLink);
  const r = ctx.view.resolve(ctrDest);
  if (r.kind === 'loop')
    fail(`cp: ${ctx.name}:${ctrDest} leads through more than 40 symbolic links in the container (ELOOP)`);
  const kind: Kind = r.kind === 'dir' ? 'dir' : r.kind === 'missing' ? 'missing' : 'other';
  const t = cpTarget({ path: hostSrc, isDir: st.isDirectory() }, { path: r.inner, kind, given: ctrDest });
  const dirParts = parts(t.dir);
  if (!ctx.view.lstat(dirParts)?.isDirectory())
    fail(`cp: destination directory ${ctx.name}:${t.dir} does not exist in the container — create it first`);
  const dir = ctx.view.openDirForWrite(dirParts);
  try {
    if (t.name === undefined)
      for (const n of readdirSync(hostSrc).sort())
        putEntry(ctx, posix.join(hostSrc, n), lstatSync(posix.join(hostSrc, n)), dir, dirParts, n);
    else putEntry(ctx, hostSrc, st, dir, dirParts, t.name, ctx.o.followLink);
  } finally {
    closeDir(dir);
  }
}

function hostStat(path: string, follow: boolean): Stats {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch (e) {
    return fail(
      `cp: ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} — no such file or directory on the host`,
    );
  }
}

/** Write the host entry `src` as NAME in the container directory `dir` (its path `dirParts`). */
function putEntry(
  ctx: Ctx,
  src: string,
  st: Stats,
  dir: DirHandle,
  dirParts: string[],
  name: string,
  follow = false,
): void {
  const { view } = ctx;
  const at = [...dirParts, name];
  const existing = view.lstat(at);
  const path = `${dir.path}/${name}`;
  const [uid, gid] = ctx.owner(st.uid, st.gid);
  ctx.result.entries++;
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory())
      fail(`cp: cannot overwrite non-directory ${ctx.name}:/${at.join('/')} with a directory`);
    const wasWhiteout = view.clear(dir, name);
    if (!existing) {
      mkdirSync(path, 0o700);
      if (wasWhiteout) view.markOpaque(dir, name); // the deleted directory's old contents stay deleted
    }
    const child = view.openDirForWrite(at);
    try {
      for (const n of readdirSync(src).sort())
        putEntry(ctx, posix.join(src, n), lstatSync(posix.join(src, n)), child, at, n);
      fchownSync(child.fd, uid, gid);
      fchmodSync(child.fd, st.mode & 0o7777);
      futimesSync(child.fd, st.atime, st.mtime);
    } finally {
      closeDir(child);
    }
    return;
  }
  if (existing?.isDirectory()) fail(`cp: cannot overwrite directory ${ctx.name}:/${at.join('/')} with a non-directory`);
  view.clear(dir, name);
  if (st.isFile()) {
    const out = openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      const input = openSync(src, C.O_RDONLY | C.O_NONBLOCK | (follow ? 0 : C.O_NOFOLLOW));
      try {
        ctx.result.bytes += pump(input, out);
      } finally {
        closeSync(input);
      }
      fchownSync(out, uid, gid); // before the mode: chown clears setuid bits
      fchmodSync(out, st.mode & 0o7777);
      futimesSync(out, st.atime, st.mtime);
    } finally {
      closeSync(out);
    }
    return;
  }
  makeSpecial(path, st, () => readlinkSync(src));
  lchownSync(path, uid, gid);
  if (!st.isSymbolicLink()) chmodSync(path, st.mode & 0o7777);
  lutimesSync(path, st.atime, st.mtime);
}

/** A symlink, FIFO or device node at `path` like `st` (sockets are skipped, as tar does). */
function makeSpecial(path: string, st: Stats, target: () => string): void {
  if (st.isSymbolicLink()) return symlinkSync(target(), path);
  if (st.isSocket()) return;
  const { major, minor } = devNumbers(st.rdev);
  const r = mdMknod(path, st.mode, major, minor);
  if (r < 0) fail(`cp: mknod ${path}: ${errnoName(-r)}`);
}

function pump(input: number, out: number): number {
  const buf = Buffer.alloc(1 << 20);
  let total = 0;
  for (let n; (n = readSync(input, buf, 0, buf.length, null)) > 0; ) {
    for (let off = 0; off < n; ) off += writeSync(out, buf, off, n - off);
    total += n;
  }
  return total;
}

// --- container -> host ---------------------------------------------------------------------------

/** SRC in the container: the entry it names (its last symlink followed only with -L or a trailing "/"). */
function sourceIn(ctx: Ctx, path: string): { parts: string[]; st: Stats } {
  const followLast = !!ctx.o.followLink || /(^|\/)\.{0,2}$/.test(path) || path.endsWith('/');
  let at: string[];
  if (followLast) {
    const r = ctx.view.resolve(path);
    if (r.kind === 'loop')
      fail(`cp: ${ctx.name}:${path} leads through more than 40 symbolic links in the container (ELOOP)`);
    at = parts(r.inner);
  } else {
    const r = ctx.view.resolve(posix.dirname(path));
    if (r.kind === 'loop')
      fail(`cp: ${ctx.name}:${path} leads through more than 40 symbolic links in the container (ELOOP)`);
    at = [...parts(r.inner), posix.basename(path)];
  }
  const st = ctx.view.lstat(at);
  if (!st) fail(`cp: no such file or directory in container ${ctx.name}: ${path}`);
  return { parts: at, st: st! };
}

function copyOut(ctx: Ctx, ctrSrc: string, hostDest: string): void {
  const src = sourceIn(ctx, ctrSrc);
  let destSt: Stats | undefined;
  try {
    destSt = statSync(hostDest);
  } catch {
    destSt = undefined;
  }
  const t = cpTarget(
    { path: ctrSrc, isDir: src.st.isDirectory() },
    { path: hostDest, kind: kindOf(destSt), given: hostDest },
  );
  if (!lstatOr(t.dir) || !statSync(t.dir).isDirectory())
    fail(`cp: destination directory ${t.dir} does not exist — create it first`);
  if (t.name === undefined)
    for (const n of ctx.view.readdir(src.parts))
      getEntry(ctx, [...src.parts, n], ctx.view.lstat([...src.parts, n])!, posix.join(t.dir, n));
  else getEntry(ctx, src.parts, src.st, posix.join(t.dir, t.name));
}

/** Write the container entry `at` (lstat `st`) at the host path `dest`. */
function getEntry(ctx: Ctx, at: string[], st: Stats, dest: string): void {
  const existing = lstatOr(dest);
  ctx.result.entries++;
  const keep = (set: (uid: number, gid: number) => void): void => {
    if (ctx.o.archive) set(st.uid, st.gid);
  };
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory()) fail(`cp: cannot overwrite non-directory ${dest} with a directory`);
    if (!existing) mkdirSync(dest, 0o700);
    for (const n of ctx.view.readdir(at)) {
      const child = ctx.view.lstat([...at, n]);
      if (child) getEntry(ctx, [...at, n], child, posix.join(dest, n));
    }
    keep((u, g) => lchownSync(dest, u, g));
    chmodSync(dest, st.mode & 0o7777);
    utimesSync(dest, st.atime, st.mtime);
    return;
  }
  if (existing?.isDirectory()) fail(`cp: cannot overwrite directory ${dest} with a non-directory`);
  if (existing) unlinkSync(dest);
  if (st.isFile()) {
    const input = ctx.view.openFile(at);
    try {
      const out = openSync(dest, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      try {
        ctx.result.bytes += pump(input, out);
        keep((u, g) => fchownSync(out, u, g));
        fchmodSync(out, st.mode & 0o7777);
        futimesSync(out, st.atime, st.mtime);
      } finally {
        closeSync(out);
      }
    } finally {
      closeSync(input);
    }
    return;
  }
  makeSpecial(dest, st, () => ctx.view.readlink(at));
  keep((u, g) => lchownSync(dest, u, g));
  if (!st.isSymbolicLink() && !st.isSocket()) chmodSync(dest, st.mode & 0o7777);
  if (!st.isSocket()) lutimesSync(dest, st.atime, st.mtime);
}
