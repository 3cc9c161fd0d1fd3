// Named volumes: `minidock volume create|ls|inspect|rm|prune` and `run -v NAME:/path`. A volume is a
// directory of the state root, <root>/volumes/NAME/_data (Docker's local driver keeps the same
// layout), with NAME/volume.json beside it: its creation time, labels, and which container made it
// on first use. A container bind-mounts _data (build-plan.ts: the same steps as -v); the volume
// outlives the container, which is its point: `rm` keeps it, `rm -v` removes only the volumes that
// container's launch created (Docker's rm -v removes its anonymous volumes: minidock has none, and
// these are the closest thing), `volume rm` refuses one that a container (running or not) uses.
//
// Copy-up, as Docker does: a volume that is empty and was never filled, mounted where the
// container's image (or rootfs directory) has a directory with content, first gets a copy of that
// content — owners, modes, symlinks, device nodes, times and xattrs — and the volume's directory
// the owner and mode of the image's. Without it, a volume over /etc, or over the data directory an
// image prepared for its program (owned by that program's user), would hide everything the image
// put there: the student who mounts a fresh volume over /etc in Docker sees the image's files, and
// would see an empty directory here. It happens once: the first container that mounts the empty
// volume fills it (volume.json records which, and from where), every later one sees the volume as
// the containers left it. `-v NAME:/path:nocopy` and `--mount ...,volume-nocopy` turn it off; a
// bind mount (-v /host:/path) never copies: its directory is the user's, the mount shows it as is.
import {
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  type Stats,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { MinidockError, fail } from '../errors.js';
import { layeredLstat, type Found } from '../image/layered-fs.js';
import { errnoName } from '../sys/errno.js';
import { mdFlock, mdLgetxattr, mdLlistxattr, mdLsetxattr, mdMknod } from '../sys/native.js';
import { isoNow } from '../sys/time.js';
import { listEntries } from './container-store/listing.js';
import { readJson, type Entry } from './container-store/records.js';
import { removeDir } from './container-store/removal.js';
import { openResolved, resolveWith } from './paths.js';
import type { ContainerSpec } from './spec.js';
import { containerDir, ensureStateRoot, onStateRoot, pathIn, privateDir } from './state-root.js';

/** Docker's rule for a local volume's name. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function checkVolumeName(name: string, what: string): void {
  if (!VOLUME_NAME.test(name))
    fail(
      `${what}: "${name}" is not a valid volume name: use [a-zA-Z0-9][a-zA-Z0-9_.-]+, at least 2 characters (a host directory is given by its absolute path)`,
    );
}

export const volumesDir = (root: string): string => pathIn(root, 'volumes');
export const volumeDir = (root: string, name: string): string => pathIn(volumesDir(root), name);
export const volumeDataDir = (root: string, name: string): string => pathIn(volumeDir(root, name), '_data');

/** NAME/volume.json. */
interface VolumeRecord {
  name: string;
  createdAt: string;
  labels: Record<string, string>;
  /** the container whose launch created it on first use (-v NAME:/path); absent: volume create */
  createdBy?: string;
  /** filled from a container's image by copy-up (see the top of this file): never again */
  populated?: { container: string; path: string; at: string };
}

export interface VolumeView extends VolumeRecord {
  mountpoint: string;
  /** the containers whose spec mounts it, running or not */
  users: Array<{ id: string; name?: string }>;
}

/** The volumes a container's spec mounts, by name. */
export const volumesOf = (spec: Pick<ContainerSpec, 'mounts'> | undefined): string[] => [
  ...new Set((spec?.mounts ?? []).flatMap((m) => (m.volume ? [m.volume] : []))),
];

/**
 * Create volume NAME unless it exists: made under a dot-name and renamed into place, so a volume
 * that is listed always has its _data and volume.json, and of two launches creating it at once one
 * wins and the other finds it. true: this call created it.
 */
export function createVolume(root: string, name: string, labels: Record<string, string>, createdBy?: string): boolean {
  checkVolumeName(name, 'volume create');
  const base = volumesDir(root);
  const dir = volumeDir(root, name);
  if (existsSync(dir)) return false;
  return onStateRoot(base, () => {
    ensureStateRoot(root);
    privateDir(base, 0o700);
    const staging = pathIn(base, `.new-${process.pid}-${name}`);
    privateDir(staging, 0o700);
    privateDir(pathIn(staging, '_data'), 0o755);
    const record: VolumeRecord = { name, createdAt: isoNow(), labels, ...(createdBy ? { createdBy } : {}) };
    writeFileSync(pathIn(staging, 'volume.json'), JSON.stringify(record, null, 2) + '\n');
    try {
      renameSync(staging, dir);
      return true;
    } catch (e) {
      removeDir(staging);
      if (['EEXIST', 'ENOTEMPTY'].includes((e as NodeJS.ErrnoException).code ?? '')) return false;
      throw e;
    }
  });
}

/**
 * A launch: every volume the spec mounts, created on first use (by this container), and filled from
 * the container's filesystem when empty and never filled (copy-up, unless nocopy). Names created.
 * When a copy fails, the volumes this call created are removed again and the error thrown.
 */
export function ensureVolumes(root: string, spec: ContainerSpec): string[] {
  const created = volumesOf(spec).filter((name) => createVolume(root, name, {}, spec.id));
  try {
    for (const m of spec.mounts) if (m.volume && !m.nocopy) populateVolume(root, m.volume, m.destination, spec);
  } catch (e) {
    for (const name of created) removeDir(volumeDir(root, name));
    throw e;
  }
  return created;
}

/** The container's filesystem before its mounts: its upper layer (its writes, when it ran before) over its image's layers or rootfs. */
function containerLayers(root: string, spec: ContainerSpec): string[] {
  const upper = pathIn(containerDir(root, spec.id), 'upper');
  return [...(existsSync(upper) ? [upper] : []), ...(spec.lowerDirs ?? [spec.rootfs])];
}

/**
 * Copy-up (see the top of this file) of the directory at `dest` in the container into volume
 * `name`, if the volume is empty and was never filled. Under flock on the volume's directory: two
 * launches mounting the same new volume copy once. Symlinks of the image are followed inside it
 * (resolveWith over its layers), and every file is opened beneath its layer without following one.
 */
function populateVolume(root: string, name: string, dest: string, spec: ContainerSpec): void {
  const data = volumeDataDir(root, name);
  const isEmpty = (): boolean => readdirSync(data).length === 0;
  // (no _data: a volume directory made by hand; the bind mount's step then says what is missing)
  if (!existsSync(data) || readVolume(root, name)?.populated || !isEmpty()) return;
  const layers = containerLayers(root, spec);
  const src = resolveWith((parts) => layeredLstat(layers, parts), dest);
  if (src.kind !== 'dir') return; // nothing there to copy (the mount point will be made)
  const parts = src.inner.split('/').filter(Boolean);
  const lock = openSync(volumeDir(root, name), constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    mdFlock(lock, 2 /* LOCK_EX */);
    const rec = readVolume(root, name);
    if (!rec || rec.populated || !isEmpty()) return;
    let copied: number;
    try {
      copied = copyTree(layers, parts, data, []);
      const top = layeredLstat(layers, parts)!;
      withDir(data, [], (fd) => setOwnerModeTimes(fd, top.st)); // (Docker gives the volume the directory's owner and mode too)
      copyXattrs(top.host, data);
    } catch (e) {
      for (const n of readdirSync(data)) removeDir(pathIn(data, n)); // empty again: the next launch tries again
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new MinidockError(
        `volume ${name}: copying the image's ${src.inner} into it failed (${why}) — free space on the state root's filesystem (${root}), or mount it empty with -v ${name}:${dest}:nocopy`,
      );
    }
    if (copied) writeRecord(root, { ...rec, populated: { container: spec.id, path: src.inner, at: isoNow() } });
  } finally {
    closeSync(lock); // (releases the flock)
  }
}

function writeRecord(root: string, r: VolumeRecord): void {
  const file = pathIn(volumeDir(root, r.name), 'volume.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(r, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/** The names of the layered directory `parts` (top layer first), whiteouts and what they hide left out. */
function layeredNames(layers: string[], parts: string[]): string[] {
  const names = new Set<string>();
  for (const l of layers) {
    const dir = pathIn(l, parts.join('/') || '.');
    if (lstatOr(dir)?.isDirectory()) for (const n of readdirSync(dir)) names.add(n);
  }
  return [...names].filter((n) => layeredLstat(layers, [...parts, n]) !== undefined).sort();
}

function lstatOr(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Run `fn` on the directory `rel` below `base` opened without following any symlink (openat2
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS): a container using the volume meanwhile cannot turn a
 * directory minidock made into a link that leads the copy out of the volume.
 */
function withDir<T>(base: string, rel: string[], fn: (fd: number, path: string) => T): T {
  const fd = openResolved(base, rel.join('/') || '.');
  if (fd < 0) throw Object.assign(new Error(errnoName(-fd)), { code: errnoName(-fd) });
  try {
    if (!fstatSync(fd).isDirectory()) throw Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' });
    return fn(fd, `/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
}

/** fchown, then fchmod (chown clears setuid/setgid bits), then the times: of an fd minidock holds. */
function setOwnerModeTimes(fd: number, st: Stats): void {
  fchownSync(fd, st.uid, st.gid);
  fchmodSync(fd, st.mode & 0o7777);
  futimesSync(fd, st.atime, st.mtime);
}

/** The source's xattrs onto `to` (never followed), after its owner (chown drops security.capability);
 * overlayfs's own (trusted.overlay.*) are not the image's. Best effort: a filesystem may refuse some. */
function copyXattrs(from: string, to: string): void {
  const names = mdLlistxattr(from);
  if (typeof names === 'number') return;
  for (const n of names) {
    if (n.startsWith('trusted.overlay.')) continue;
    const v = mdLgetxattr(from, n, 65536);
    if (Buffer.isBuffer(v)) mdLsetxattr(to, n, v);
  }
}

/** major and minor of a dev_t, as glibc's gnu_dev_major/minor split it. */
function devNumbers(rdev: number): [number, number] {
  const d = BigInt(rdev);
  return [Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n)), Number((d & 0xffn) | ((d >> 12n) & 0xffffff00n))];
}

/** Copy one regular file of a layer (opened beneath it, no symlink followed) to the new file `at`. */
function copyFile(f: Found, parts: string[], at: string): void {
  const src = openResolved(f.layer, parts.join('/'));
  if (src < 0) throw Object.assign(new Error(errnoName(-src)), { code: errnoName(-src) });
  try {
    // O_EXCL: never through a name that exists (a symlink put there meanwhile included)
    const dst = openSync(at, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      copyFileSync(`/proc/self/fd/${src}`, `/proc/self/fd/${dst}`);
      setOwnerModeTimes(dst, fstatSync(src));
    } finally {
      closeSync(dst);
    }
  } finally {
    closeSync(src);
  }
  copyXattrs(f.host, at);
}

/**
 * Copy the layered directory `parts` into the volume directory `rel` below `base`: every entry
 * with its owner, mode, times and xattrs (a socket is skipped: the program that listens makes it;
 * a hard link becomes a copy). The number of entries copied.
 */
function copyTree(layers: string[], parts: string[], base: string, rel: string[]): number {
  let n = 0;
  for (const name of layeredNames(layers, parts)) {
    const p = [...parts, name];
    const f = layeredLstat(layers, p)!;
    const st = f.st;
    if (st.isDirectory()) {
      withDir(base, rel, (_, dir) => mkdirSync(`${dir}/${name}`, 0o700));
      n += copyTree(layers, p, base, [...rel, name]);
      withDir(base, [...rel, name], (fd) => setOwnerModeTimes(fd, st));
      // (through the parent's fd: an l*xattr call on /proc/self/fd/N itself would name the magic link)
      withDir(base, rel, (_, dir) => copyXattrs(f.host, `${dir}/${name}`));
    } else if (st.isFile()) {
      withDir(base, rel, (_, dir) => copyFile(f, p, `${dir}/${name}`));
    } else if (st.isSymbolicLink()) {
      withDir(base, rel, (_, dir) => {
        symlinkSync(readlinkSync(f.host), `${dir}/${name}`);
        lchownSync(`${dir}/${name}`, st.uid, st.gid);
        lutimesSync(`${dir}/${name}`, st.atime, st.mtime);
      });
    } else if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
      withDir(base, rel, (_, dir) => {
        // (umask 0: the node is made with the image's mode, which a chmod through its name would have to follow)
        const mask = process.umask(0);
        const r = mdMknod(`${dir}/${name}`, st.mode, ...devNumbers(st.rdev));
        process.umask(mask);
        if (r < 0) throw Object.assign(new Error(errnoName(-r)), { code: errnoName(-r) });
        lchownSync(`${dir}/${name}`, st.uid, st.gid);
      });
    } else continue;
    n++;
  }
  return n;
}

function readVolume(root: string, name: string): VolumeRecord | undefined {
  if (!VOLUME_NAME.test(name) || !existsSync(volumeDataDir(root, name))) return undefined;
  const r = readJson<VolumeRecord>(pathIn(volumeDir(root, name), 'volume.json'));
  // (made by hand, or its record lost: still a volume, created when its directory was)
  return r ?? { name, createdAt: isoNow(lstatSync(volumeDir(root, name)).mtimeMs), labels: {} };
}

/** Every volume, by name, with the containers that use it. Reads only. */
export function listVolumes(root: string, entries: Entry[] = listEntries(root)): VolumeView[] {
  let names: string[];
  try {
    names = readdirSync(volumesDir(root));
  } catch {
    return [];
  }
  const out: VolumeView[] = [];
  for (const name of names.sort()) {
    const r = readVolume(root, name);
    if (!r) continue;
    const users = entries
      .filter((e) => volumesOf(e.config?.spec).includes(name))
      .map((e) => ({ id: e.id, name: e.config?.name }));
    out.push({ ...r, mountpoint: volumeDataDir(root, name), users });
  }
  return out;
}

export function findVolume(root: string, name: string, views = listVolumes(root)): VolumeView {
  const v = views.find((x) => x.name === name);
  if (!v) throw new MinidockError(`no such volume: ${name} (see minidock volume ls)`, 1);
  return v;
}

/** `volume rm`: refused (one line) while a container uses it, running or not, as Docker's. */
export function removeVolume(root: string, name: string, views = listVolumes(root)): string {
  const v = findVolume(root, name, views);
  if (v.users.length)
    throw new MinidockError(
      `volume ${name} is in use by container(s) ${v.users.map((u) => u.name ?? u.id.slice(0, 12)).join(', ')}: remove them first (minidock rm), its data stays until then`,
    );
  removeDir(volumeDir(root, name));
  return name;
}

/** `volume prune`: every volume no container uses. The names removed and the bytes they held. */
export function pruneVolumes(root: string): { removed: string[]; bytes: number } {
  const unused = listVolumes(root).filter((v) => v.users.length === 0);
  let bytes = 0;
  for (const v of unused) {
    bytes += du(volumeDir(root, v.name));
    removeDir(volumeDir(root, v.name));
  }
  return { removed: unused.map((v) => v.name), bytes };
}

/**
 * rm -v: the volumes this container's launch created (not those of `volume create`, nor those another
 * container made), once no other container uses them. Called after the container is gone.
 */
export function removeCreatedVolumes(root: string, e: Entry): string[] {
  const mine = volumesOf(e.config?.spec);
  if (!mine.length) return [];
  const views = listVolumes(root);
  const gone = views.filter(
    (v) => mine.includes(v.name) && v.createdBy === e.id && v.users.every((u) => u.id === e.id),
  );
  for (const v of gone) removeDir(volumeDir(root, v.name));
  return gone.map((v) => v.name);
}

/** Bytes under dir (files' sizes), not following symlinks. */
function du(dir: string): number {
  let n = 0;
  let list;
  try {
    list = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const d of list) {
    const p = pathIn(dir, d.name);
    if (d.isDirectory()) n += du(p);
    else if (d.isFile()) n += lstatSync(p).size;
  }
  return n;
}
