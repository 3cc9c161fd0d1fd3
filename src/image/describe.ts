// What `history` and `image inspect` show of an image: read from its config (raw-config.ts) and
// the layer store. Values only; src/cli/history.ts and image.ts print them.
import { historyOf, rawConfig } from './raw-config.js';
import { layerFs, layerInfo, type ImageRecord } from './store.js';
import { imageSize } from './remove.js';

export interface HistoryRow {
  /** the image ID on the newest row, "<missing>" on the others (as Docker shows them) */
  image: string;
  created?: string;
  createdBy: string;
  /** bytes of the layer this step made (0: it made none) */
  size: number;
  comment: string;
}

/**
 * The image's history, newest first. Each entry without empty_layer made one layer, in order from
 * the bottom: its size is that layer's. A config without history gives one row per layer.
 */
export function imageHistory(root: string, img: ImageRecord): HistoryRow[] {
  const entries = historyOf(rawConfig(root, img).json);
  const rows: HistoryRow[] = [];
  let layer = 0;
  const sizeOf = (i: number): number => (i < img.layers.length ? (layerInfo(root, img.layers[i])?.size ?? 0) : 0);
  if (!entries.length)
    for (const [i] of img.layers.entries())
      rows.push({ image: '<missing>', created: img.created, createdBy: '', size: sizeOf(i), comment: '' });
  for (const h of entries) {
    const size = h.empty_layer ? 0 : sizeOf(layer++);
    rows.push({
      image: '<missing>',
      created: h.created,
      createdBy: h.created_by ?? '',
      size,
      comment: h.comment ?? '',
    });
  }
  rows.reverse();
  if (rows.length) rows[0].image = img.id;
  return rows;
}

/** `image inspect`: Docker's fields that minidock has, and where the layers are on disk. */
export function inspectImage(root: string, img: ImageRecord): Record<string, unknown> {
  const { json } = rawConfig(root, img);
  const lowerDirs = img.layers.map((l) => layerFs(root, l)).reverse();
  return {
    Id: img.id,
    RepoTags: img.names,
    RepoDigests: [],
    Comment: historyOf(json).at(-1)?.comment ?? '',
    Created: img.created ?? img.imported,
    Author: typeof json.author === 'string' ? json.author : '',
    Config: json.config ?? img.config,
    Architecture: img.architecture ?? json.architecture ?? '',
    Os: img.os ?? json.os ?? '',
    Size: imageSize(root, img),
    GraphDriver: {
      Name: 'overlay',
      Data: { LowerDir: lowerDirs.join(':') },
    },
    RootFS: { Type: 'layers', Layers: img.layers },
    Metadata: { Imported: img.imported, Format: img.format },
  };
}
