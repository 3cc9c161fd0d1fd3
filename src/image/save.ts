// `minidock save IMAGE... -o FILE`: images as a `docker save` archive, which `docker load`,
// `podman load` and `minidock load` (= import) read:
//   manifest.json            [{"Config": "<hex>.json", "RepoTags": ["bb:latest"], "Layers": ["<diff-hex>/layer.tar", ...]}]
//   <hex>.json               the image config; <hex> is its sha256, the image ID
//   <diff-hex>/layer.tar     each layer, uncompressed; its sha256 is the config's diff ID
// The store keeps layers unpacked, not their tars, so each layer is written again (layer-tar.ts,
// whiteouts back to .wh. files). A layer minidock wrote (commit, or a save loaded back) comes out
// byte for byte as before, so its diff ID and the image ID stay; a layer imported from another
// tool's tar comes out with other bytes (another tar writer), so the config then gets the new diff
// IDs and the image a new ID, the way a re-export does.
import { closeSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { MinidockError } from '../errors.js';
import { storageError } from '../runtime/state-root.js';
import { headerBlocks } from './export.js';
import { TarFile, walkDir, writeLayerTar } from './layer-tar.js';
import { rawConfig, rawConfigPath } from './raw-config.js';
import { findImage, hasLayer, layerFs, scratch, type ImageRecord } from './store.js';

export interface SavedImage {
  ref: string;
  /** the ID in the archive (the original one when every layer came out the same) */
  id: string;
  /** the image's own ID differs: some layer came from another tool's tar */
  changedId: boolean;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);
const now = new Date();

function member(out: TarFile, path: string, body: Buffer): void {
  out.write(headerBlocks({ path, type: 'File', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: now }));
  out.write(body);
  out.write(pad(body.length));
}

function fileMember(out: TarFile, path: string, file: string): void {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    out.write(headerBlocks({ path, type: 'File', mode: 0o644, uid: 0, gid: 0, size, mtime: now }));
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) out.write(buf.subarray(0, n));
    out.write(pad(size));
  } finally {
    closeSync(fd);
  }
}

/** Each image's layers as tars in `work`: the stored diff ID -> the tar and its (new) diff ID. */
function layerTars(root: string, work: string, images: ImageRecord[]): Map<string, { path: string; diffId: string }> {
  const out = new Map<string, { path: string; diffId: string }>();
  for (const img of images)
    for (const diffId of img.layers) {
      if (out.has(diffId)) continue;
      if (!hasLayer(root, diffId))
        throw new MinidockError(
          `save: layer ${diffId.slice(0, 19)}… of ${img.names[0] ?? img.id.slice(7, 19)} is missing from the store — import the image again`,
        );
      const path = posix.join(work, `${out.size}.tar`);
      const fd = openSync(path, 'wx', 0o600);
      const tar = new TarFile(fd);
      try {
        writeLayerTar(walkDir(layerFs(root, diffId)), tar, true);
      } finally {
        closeSync(fd);
      }
      out.set(diffId, { path, diffId: tar.digest() });
    }
  return out;
}

/** The config bytes to write: the stored ones when every diff ID is the same, else with the new diff IDs. */
function configFor(root: string, img: ImageRecord, newIds: string[]): Buffer {
  const { json, exact } = rawConfig(root, img);
  if (exact && newIds.every((d, i) => d === img.layers[i])) return readFileSync(rawConfigPath(root, img.id));
  return Buffer.from(JSON.stringify({ ...json, rootfs: { type: 'layers', diff_ids: newIds } }));
}

/** Write the images `refs` (names or IDs) as a docker-save archive at `file`. */
export function saveImages(root: string, refs: string[], file: string): SavedImage[] {
  const images: ImageRecord[] = [];
  const asked: string[] = [];
  for (const ref of refs) {
    const img = findImage(root, ref);
    if (!img) throw new MinidockError(`save: no such image: ${ref} (see minidock images)`, 1);
    if (images.some((i) => i.id === img.id)) continue; // named twice: written once
    images.push(img);
    asked.push(ref);
  }
  const work = scratch(root, 'save-');
  const tmp = file.startsWith('/dev/') || file.startsWith('/proc/') ? file : `${file}.tmp-${process.pid}`;
  try {
    const tars = layerTars(root, work, images);
    const fd = openSync(tmp, tmp === file ? 'a' : 'wx', 0o600);
    const out = new TarFile(fd);
    const manifest: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
    const saved: SavedImage[] = [];
    const written = new Set<string>();
    try {
      for (const [i, img] of images.entries()) {
        const newIds = img.layers.map((l) => tars.get(l)!.diffId);
        const config = configFor(root, img, newIds);
        const id = `sha256:${createHash('sha256').update(config).digest('hex')}`;
        const layers = newIds.map((d) => `${d.slice(7)}/layer.tar`);
        for (const [j, l] of img.layers.entries()) {
          if (written.has(layers[j])) continue;
          written.add(layers[j]);
          out.write(
            headerBlocks({
              path: `${newIds[j].slice(7)}/`,
              type: 'Directory',
              mode: 0o755,
              uid: 0,
              gid: 0,
              size: 0,
              mtime: now,
            }),
          );
          fileMember(out, layers[j], tars.get(l)!.path);
        }
        if (!written.has(id)) member(out, `${id.slice(7)}.json`, config);
        written.add(id);
        manifest.push({ Config: `${id.slice(7)}.json`, RepoTags: img.names.length ? img.names : null, Layers: layers });
        saved.push({ ref: asked[i], id, changedId: id !== img.id });
      }
      member(out, 'manifest.json', Buffer.from(JSON.stringify(manifest)));
      out.write(Buffer.alloc(1024));
    } finally {
      closeSync(fd);
    }
    if (tmp !== file) renameSync(tmp, file);
    return saved;
  } catch (e) {
    if (tmp !== file) rmSync(tmp, { force: true });
    const full = storageError(e, file);
    throw e instanceof MinidockError
      ? e
      : full instanceof MinidockError
        ? full
        : new MinidockError(`save: ${(e as Error).message}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
