// The image store under the state root (MINIDOCK_ROOT or /var/lib/minidock):
//
//   <root>/layers/sha256/<hex>/fs          one unpacked layer, named by its diff ID (the sha256 of
//                                          its uncompressed tar): two images with the same layer
//                                          share this directory. fs/ is an overlayfs lower layer.
//   <root>/layers/sha256/<hex>/layer.json  its size and how many entries it had
//   <root>/images/<hex>.json               one image: names, layer list (bottom first), config
//   <root>/tmp/                            scratch space of imports in progress (same filesystem,
//                                          so a finished layer is moved into place with one rename)
//
// Modes: layers/ is 0700, so that no other user reaches a layer's files (an image's setuid-root
// binary, its 0666 device node) through the store: overlayfs opens the lower layers with the
// credentials of whoever mounted them (root), so the containers never need to pass through it.
// tmp/ is 0700 too; images/ 0711. Each scratch entry of tmp/ is named <prefix>-<pid>-<start>-...
// after the process that made it (src/sys/proc.ts): gc removes it at once when that process is
// gone, whenever it died.
//
// Layers are content-addressed, so they need no lock: two imports of the same layer both unpack
// it into tmp/, the first rename(2) wins and the second finds the name taken and drops its copy.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { posix } from 'node:path';
import { fail } from '../errors.js';
import { ensureStateRoot, onStateRoot, privateDir, storageError } from '../runtime/state-root.js';
import { isProcess, ownerGone, ownerTag } from '../sys/proc.js';
import type { ImageConfig } from './config.js';

export interface ImageRecord {
  /** "sha256:<hex>": the digest of the image's config JSON, as Docker computes image IDs */
  id: string;
  /** "name:tag" references pointing at this image */
  names: string[];
  /** diff IDs, bottom layer first (the order of the archive) */
  layers: string[];
  config: ImageConfig;
  /** from the image config, if it says */
  created?: string;
  architecture?: string;
  os?: string;
  imported: string;
  format: 'rootfs-tar' | 'docker-archive' | 'oci-layout' | 'commit';
}

export interface LayerInfo {
  diffId: string;
  size: number; // bytes of file data
  entries: number;
  unpacked: string;
}

const hex = (digest: string): string => {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match) return fail(`bad digest "${digest}": expected sha256:<64 hex digits>`);
  return match[1];
};

export const layersDir = (root: string): string => posix.join(root, 'layers', 'sha256');
export const layerDir = (root: string, diffId: string): string => posix.join(layersDir(root), hex(diffId));
/** The directory overlayfs stacks: the layer's file tree. */
export const layerFs = (root: string, diffId: string): string => posix.join(layerDir(root, diffId), 'fs');
export const imagesDir = (root: string): string => posix.join(root, 'images');
export const tmpDir = (root: string): string => posix.join(root, 'tmp');

export function hasLayer(root: string, diffId: string): boolean {
  return existsSync(posix.join(layerDir(root, diffId), 'layer.json'));
}

export function layerInfo(root: string, diffId: string): LayerInfo | undefined {
  try {
    return JSON.parse(readFileSync(posix.join(layerDir(root, diffId), 'layer.json'), 'utf8')) as LayerInfo;
  } catch {
    return undefined;
  }
}

/** Make one of the store's directories, and the state root first if this is its first use (the
 * root's own mode is ensureStateRoot's: a recursive mkdir would give it this one). */
function storeDir(root: string, dir: string, mode: number): void {
  ensureStateRoot(root);
  onStateRoot(dir, () => privateDir(dir, mode));
}

/** A fresh scratch directory under <root>/tmp (same filesystem as the store: rename works). */
export function scratch(root: string, prefix: string): string {
  storeDir(root, tmpDir(root), 0o700);
  return onStateRoot(tmpDir(root), () => mkdtempSync(posix.join(tmpDir(root), `${prefix}${ownerTag()}-`)));
}

/**
 * Move an unpacked layer (dir holding fs/) into the store. Returns false when the store already
 * had it (another import won the race): the caller's copy is then removed.
 */
export function commitLayer(root: string, diffId: string, dir: string, info: LayerInfo): boolean {
  onStateRoot(posix.join(dir, 'layer.json'), () =>
    writeFileSync(posix.join(dir, 'layer.json'), JSON.stringify(info, null, 1) + '\n'),
  );
  storeDir(root, posix.dirname(layersDir(root)), 0o700); // layers/: nobody else passes (see the top)
  storeDir(root, layersDir(root), 0o700);
  try {
    renameSync(dir, layerDir(root, diffId));
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      rmSync(dir, { recursive: true, force: true });
      return false;
    }
    throw e;
  }
}

export function removeLayer(root: string, diffId: string): void {
  // rename first, then delete: a half-deleted layer must never look complete
  const dir = layerDir(root, diffId);
  if (!existsSync(dir)) return;
  const trash = posix.join(scratch(root, 'rm-'), 'layer');
  renameSync(dir, trash);
  rmSync(posix.dirname(trash), { recursive: true, force: true });
}

export function listImages(root: string): ImageRecord[] {
  let names: string[];
  try {
    names = readdirSync(imagesDir(root)).filter((name) => /^[0-9a-f]{64}\.json$/.test(name));
  } catch {
    return [];
  }
  const out: ImageRecord[] = [];
  for (const name of names) {
    try {
      out.push(JSON.parse(readFileSync(posix.join(imagesDir(root), name), 'utf8')) as ImageRecord);
    } catch {
      /* half-written by a crash: ignored */
    }
  }
  return out.sort((a, b) => (a.imported < b.imported ? 1 : -1));
}

export function saveImage(root: string, rec: ImageRecord): void {
  storeDir(root, imagesDir(root), 0o711);
  const file = posix.join(imagesDir(root), hex(rec.id) + '.json');
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, JSON.stringify(rec, null, 1) + '\n');
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true }); // (a full disk: created, then its write refused)
    throw storageError(e, file);
  }
}

export function deleteImageRecord(root: string, id: string): void {
  rmSync(posix.join(imagesDir(root), hex(id) + '.json'), { force: true });
  rmSync(posix.join(imagesDir(root), hex(id) + '.config.json'), { force: true }); // its config's bytes (raw-config.ts)
}

/** "busybox" -> "busybox:latest"; "reg:5000/a/b:1" stays. The tag is what follows the last ':'
 * after the last '/'. */
export function normalizeName(raw: string): string {
  const name = raw.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/.test(name) || name.includes('//')) {
    return fail(`image name "${raw}": use NAME[:TAG] with letters, digits, ".", "_", "-" and "/" (e.g. busybox:1.36)`);
  }
  const slash = name.lastIndexOf('/');
  return name.slice(slash + 1).includes(':') ? name : `${name}:latest`;
}

/**
 * Find an image by NAME[:TAG], full ID ("sha256:…" or hex) or unique ID prefix (like Docker).
 */
export function findImage(root: string, ref: string): ImageRecord | undefined {
  const all = listImages(root);
  const bare = ref.replace(/^sha256:/, '');
  if (/^[0-9a-f]{64}$/.test(bare)) return all.find((i) => i.id === `sha256:${bare}`);
  let name: string | undefined;
  try {
    name = normalizeName(ref);
  } catch {
    name = undefined;
  }
  const byName = name ? all.find((i) => i.names.includes(name!)) : undefined;
  if (byName) return byName;
  if (/^[0-9a-f]{4,63}$/.test(bare)) {
    const hits = all.filter((i) => i.id.startsWith(`sha256:${bare}`));
    if (hits.length > 1) fail(`image ID prefix ${bare} is ambiguous (${hits.length} images) — give more digits`);
    return hits[0];
  }
  return undefined;
}

// --- which containers use which layers -------------------------------------------------------

export interface ContainerUse {
  id: string;
  name?: string;
  dir: string;
  /** the overlay's lower layers, top first (spec.lowerDirs, or [spec.rootfs]) */
  lowerDirs: string[];
}

/**
 * Every container of this state root and the layers it stands on, read from the config.json the
 * runtime writes into each container's directory (the directory appears with it, atomically).
 */
export function containersUsing(root: string): ContainerUse[] {
  const dir = posix.join(root, 'containers');
  let ids: string[];
  try {
    ids = readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n));
  } catch {
    return [];
  }
  const out: ContainerUse[] = [];
  for (const id of ids) {
    let cfg: { name?: string; spec?: { rootfs?: string; lowerDirs?: string[] } } | undefined;
    try {
      cfg = JSON.parse(readFileSync(posix.join(dir, id, 'config.json'), 'utf8'));
    } catch {
      cfg = undefined; // no config (an older layout): nothing known about its layers
    }
    const spec = cfg?.spec;
    out.push({
      id,
      name: cfg?.name,
      dir: posix.join(dir, id),
      lowerDirs: spec?.lowerDirs ?? (spec?.rootfs ? [spec.rootfs] : []),
    });
  }
  return out;
}

/** The containers built on exactly this image's layers. */
export function containersOf(root: string, img: ImageRecord): ContainerUse[] {
  const want = img.layers
    .map((l) => layerFs(root, l))
    .reverse()
    .join('\n');
  return containersUsing(root).filter((c) => c.lowerDirs.join('\n') === want);
}

/**
 * Remove every layer no image needs, no import in progress pinned and no existing container was
 * started on, and the scratch left by dead processes (sweepScratch). Returns the removed diff IDs.
 */
export function gcLayers(root: string): string[] {
  const keep = new Set<string>();
  for (const img of listImages(root)) for (const diffId of img.layers) keep.add(hex(diffId));
  for (const diffId of pinnedLayers(root)) keep.add(hex(diffId));
  for (const container of containersUsing(root))
    for (const lowerDir of container.lowerDirs) {
      const match = /\/layers\/sha256\/([0-9a-f]{64})\/fs$/.exec(lowerDir);
      if (match) keep.add(match[1]);
    }
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(layersDir(root));
  } catch {
    /* no layers */
  }
  for (const name of names) {
    if (!/^[0-9a-f]{64}$/.test(name) || keep.has(name)) continue;
    removeLayer(root, `sha256:${name}`);
    removed.push(`sha256:${name}`);
  }
  sweepScratch(root);
  return removed;
}

/**
 * Remove the entries of <root>/tmp whose owner process (pid + start time, in the name) is gone: the
 * scratch directory of an import killed mid-way, its pin file. At once, however young: a live
 * owner is told from a dead one, never guessed from an age. (An entry without an owner in its name,
 * made by an older minidock, goes after an hour.) Returns the names removed.
 */
export function sweepScratch(root: string): string[] {
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(tmpDir(root));
  } catch {
    /* no tmp */
  }
  for (const name of names) {
    const path = posix.join(tmpDir(root), name);
    try {
      if (!(ownerGone(name) ?? Date.now() - statSync(path).mtimeMs > 3600_000)) continue;
      rmSync(path, { recursive: true, force: true });
      out.push(name);
    } catch {
      /* removed meanwhile */
    }
  }
  return out;
}

// --- pins: an import in progress holds its layers until its image record is written ----------

/** Record that this process is about to reference these layers; call the result when done. */
export function pinLayers(root: string, diffIds: string[]): () => void {
  storeDir(root, tmpDir(root), 0o700);
  const file = posix.join(
    tmpDir(root),
    `pin-${ownerTag()}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.json`,
  );
  try {
    writeFileSync(file, JSON.stringify({ pid: process.pid, layers: diffIds }));
  } catch (e) {
    rmSync(file, { force: true });
    throw storageError(e, file);
  }
  return () => rmSync(file, { force: true });
}

function pinnedLayers(root: string): string[] {
  const out: string[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(tmpDir(root)).filter((name) => name.startsWith('pin-'));
  } catch {
    /* none */
  }
  for (const name of files) {
    const path = posix.join(tmpDir(root), name);
    try {
      const pin = JSON.parse(readFileSync(path, 'utf8')) as { pid: number; layers: string[] };
      if (ownerGone(name) ?? !isProcess(pin.pid, undefined)) {
        rmSync(path, { force: true }); // its import died
        continue;
      }
      out.push(...pin.layers);
    } catch {
      /* being written */
    }
  }
  return out;
}
