// `minidock system df`: what images and containers take on disk, and what removing the unused
// ones would give back. Read-only: it lists, it never deletes (prune, rmi and gc do).
//   Images      TOTAL every image; ACTIVE those a container (running or kept) stands on; SIZE their
//               layers, each shared layer once; RECLAIMABLE the layers no container uses.
//   Containers  TOTAL every container; ACTIVE the running ones; SIZE their upper layers (their
//               writes); RECLAIMABLE those of the containers that are not running.
// Sizes are bytes of file data, as `images` counts them.
import { lstatSync, readdirSync } from 'node:fs';
import { posix } from 'node:path';
import { listEntries, displayName } from '../runtime/container-store/listing.js';
import { isRunning } from '../runtime/lifecycle/common.js';
import { containersUsing, layerFs, layerInfo, listImages } from './store.js';

export interface DfRow {
  type: 'Images' | 'Containers';
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

export interface DfDetail {
  images: Array<{ id: string; names: string[]; size: number; containers: number }>;
  containers: Array<{ id: string; name: string; size: number; running: boolean }>;
}

/** Bytes of file data under `dir` (0 when it is gone), never following a symlink. */
export function treeBytes(dir: string): number {
  let total = 0;
  const walk = (p: string): void => {
    let names: string[];
    try {
      names = readdirSync(p);
    } catch {
      return;
    }
    for (const n of names) {
      const full = posix.join(p, n);
      try {
        const st = lstatSync(full);
        if (st.isDirectory()) walk(full);
        else if (st.isFile()) total += st.size;
      } catch {
        /* removed meanwhile */
      }
    }
  };
  walk(dir);
  return total;
}

export function diskUsage(root: string): { rows: DfRow[]; detail: DfDetail } {
  const images = listImages(root);
  const users = containersUsing(root);
  const usedDirs = new Set(users.flatMap((c) => c.lowerDirs));
  const layerSize = (l: string): number => layerInfo(root, l)?.size ?? 0;
  const allLayers = new Set(images.flatMap((i) => i.layers));
  const size = [...allLayers].reduce((a, l) => a + layerSize(l), 0);
  const reclaimable = [...allLayers]
    .filter((l) => !usedDirs.has(layerFs(root, l)))
    .reduce((a, l) => a + layerSize(l), 0);
  const imageDetail = images.map((i) => {
    const want = i.layers
      .map((l) => layerFs(root, l))
      .reverse()
      .join('\n');
    return {
      id: i.id,
      names: i.names,
      size: i.layers.reduce((a, l) => a + layerSize(l), 0),
      containers: users.filter((c) => c.lowerDirs.join('\n') === want).length,
    };
  });
  const containers = listEntries(root).map((e) => ({
    id: e.id,
    name: displayName(e),
    size: treeBytes(posix.join(e.dir, 'upper')),
    running: isRunning(e),
  }));
  return {
    rows: [
      {
        type: 'Images',
        total: images.length,
        active: imageDetail.filter((i) => i.containers > 0).length,
        size,
        reclaimable,
      },
      {
        type: 'Containers',
        total: containers.length,
        active: containers.filter((c) => c.running).length,
        size: containers.reduce((a, c) => a + c.size, 0),
        reclaimable: containers.filter((c) => !c.running).reduce((a, c) => a + c.size, 0),
      },
    ],
    detail: { images: imageDetail, containers },
  };
}
