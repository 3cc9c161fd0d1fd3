// Removing an image (minidock rmi) and what an image weighs; src/cli/images.ts and rmi.ts print.
import { MinidockError } from '../errors.js';
import {
  containersOf,
  deleteImageRecord,
  findImage,
  layerInfo,
  normalizeName,
  saveImage,
  type ImageRecord,
} from './store.js';

/** The bytes of an image's layers as stored. */
export function imageSize(root: string, img: ImageRecord): number {
  return img.layers.reduce((a, l) => a + (layerInfo(root, l)?.size ?? 0), 0);
}

/**
 * rmi NAME: untag; the image goes when its last name goes. rmi ID: the image and all its names.
 * Refused (code 1) while a container (running or exited, not yet removed) is built on the image.
 * Returns the names untagged and, when the image went, its ID. Its layers stay: gcLayers (store.ts)
 * deletes every layer that no image and no container uses any more.
 */
export function removeImage(root: string, ref: string): { untagged: string[]; deleted?: string } {
  const img = findImage(root, ref);
  if (!img) throw new MinidockError(`rmi ${ref}: no such image (see minidock images)`, 1);
  let byName: string | undefined;
  try {
    const n = normalizeName(ref);
    if (img.names.includes(n)) byName = n;
  } catch {
    /* an ID */
  }
  if (byName && img.names.length > 1) {
    saveImage(root, { ...img, names: img.names.filter((n) => n !== byName) });
    return { untagged: [byName] };
  }
  const users = containersOf(root, img);
  if (users.length) {
    throw new MinidockError(
      `rmi ${ref}: image ${img.id.slice(7, 19)} is used by ${users.length} container(s) (${users.map((c) => c.name ?? c.id.slice(0, 12)).join(', ')}) — remove them first (minidock rm)`,
      1,
    );
  }
  deleteImageRecord(root, img.id);
  return { untagged: img.names, deleted: img.id };
}
