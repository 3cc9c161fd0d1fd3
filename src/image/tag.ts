// Names of images: `minidock tag SRC TARGET` adds one, and a name moves from the image that had it
// (that image keeps its ID: Docker's "<none>:<none>"), as import and commit do with theirs.
import { MinidockError } from '../errors.js';
import { parseReference } from './reference.js';
import { findImage, listImages, saveImage, type ImageRecord } from './store.js';

/** Record `rec` with `names` added; each of them is taken from any other image that had it. */
export function recordWithNames(root: string, rec: ImageRecord, names: string[]): ImageRecord {
  for (const other of listImages(root)) {
    if (other.id === rec.id || !other.names.some((n) => names.includes(n))) continue;
    saveImage(root, { ...other, names: other.names.filter((n) => !names.includes(n)) });
  }
  const out = { ...rec, names: [...new Set([...rec.names, ...names])] };
  saveImage(root, out);
  return out;
}

/** tag SRC TARGET: TARGET ("repo[:tag]") names the image SRC names (a name, an ID or a prefix). */
export function tagImage(root: string, source: string, target: string): { image: ImageRecord; name: string } {
  const { name } = parseReference(target, 'tag');
  const img = findImage(root, source);
  if (!img) throw new MinidockError(`tag: no such image: ${source} (see minidock images)`, 1);
  return { image: recordWithNames(root, img, [name]), name };
}
