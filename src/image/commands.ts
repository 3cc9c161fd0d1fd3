// `minidock images` and `minidock rmi`.
import { fail } from '../errors.js';
import { stateRoot } from '../runtime/state.js';
import { fmtBytes } from './source.js';
import {
  containersOf, deleteImageRecord, findImage, gcLayers, layerInfo, listImages, normalizeName, saveImage, type ImageRecord,
} from './store.js';

function ago(iso: string | undefined): string {
  if (!iso) return '-';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (!Number.isFinite(s)) return '-';
  if (s < 60) return 'less than a minute ago';
  for (const [n, u] of [[86400 * 365, 'year'], [86400 * 30, 'month'], [86400 * 7, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute']] as const) {
    if (s >= n) {
      const k = Math.floor(s / n);
      return `${k} ${u}${k > 1 ? 's' : ''} ago`;
    }
  }
  return '-';
}

export function imageSize(root: string, img: ImageRecord): number {
  return img.layers.reduce((a, l) => a + (layerInfo(root, l)?.size ?? 0), 0);
}

function split(name: string): [string, string] {
  const i = name.lastIndexOf(':');
  return i > name.lastIndexOf('/') ? [name.slice(0, i), name.slice(i + 1)] : [name, 'latest'];
}

export function imagesCommand(flags: { root?: string; quiet?: boolean; format?: string }): number {
  const root = stateRoot(flags.root);
  const images = listImages(root);
  if (flags.quiet) {
    for (const i of images) process.stdout.write(i.id.slice(7, 19) + '\n');
    return 0;
  }
  if (flags.format === 'json') {
    const out = images.map((i) => ({ ...i, size: imageSize(root, i), containers: containersOf(root, i).map((c) => c.id) }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  if (flags.format && flags.format !== 'table') fail(`--format ${flags.format}: use table or json`);
  const rows: string[][] = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'LAYERS']];
  for (const i of images) {
    const names = i.names.length ? i.names : ['<none>:<none>'];
    for (const n of names) {
      const [repo, tag] = n === '<none>:<none>' ? ['<none>', '<none>'] : split(n);
      rows.push([repo, tag, i.id.slice(7, 19), ago(i.created ?? i.imported), fmtBytes(imageSize(root, i)), String(i.layers.length)]);
    }
  }
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) process.stdout.write(r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(w[c] + 3))).join('').trimEnd() + '\n');
  return 0;
}

/**
 * rmi NAME: untag; the image goes when its last name goes. rmi ID: the image and all its names.
 * Refused while a container (running or exited, not yet removed) is built on the image. Then
 * every layer that no image and no container uses any more is deleted.
 */
export function rmiCommand(refs: string[], flags: { root?: string }): number {
  const root = stateRoot(flags.root);
  let code = 0;
  for (const ref of refs) {
    const img = findImage(root, ref);
    if (!img) {
      process.stderr.write(`minidock: rmi ${ref}: no such image (see minidock images)\n`);
      code = 1;
      continue;
    }
    let byName: string | undefined;
    try {
      const n = normalizeName(ref);
      if (img.names.includes(n)) byName = n;
    } catch { /* an ID */ }
    if (byName && img.names.length > 1) {
      saveImage(root, { ...img, names: img.names.filter((n) => n !== byName) });
      process.stdout.write(`Untagged: ${byName}\n`);
      continue;
    }
    const users = containersOf(root, img);
    if (users.length) {
      process.stderr.write(`minidock: rmi ${ref}: image ${img.id.slice(7, 19)} is used by ${users.length} container(s) (${users.map((c) => c.name ?? c.id.slice(0, 12)).join(', ')}) — remove them first (minidock rm)\n`);
      code = 1;
      continue;
    }
    for (const n of img.names) process.stdout.write(`Untagged: ${n}\n`);
    deleteImageRecord(root, img.id);
    process.stdout.write(`Deleted: ${img.id}\n`);
  }
  for (const l of gcLayers(root)) process.stdout.write(`Deleted layer: ${l}\n`);
  return code;
}
