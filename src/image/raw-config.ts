// An image's config JSON as its exact bytes: the image ID is their sha256, so `save` must write
// them unchanged and `history` reads the config's history from them. Kept beside the image record:
//   <root>/images/<hex>.json          the record (store.ts)
//   <root>/images/<hex>.config.json   the config, byte for byte (written by import, commit, tag)
// An image recorded before minidock kept them has none: rawConfig() then builds an equivalent one
// from the record (same command, env, layers), whose digest is not the image's ID.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fail } from '../errors.js';
import { storageError } from '../runtime/state-root.js';
import { imagesDir, type ImageRecord } from './store.js';

const hexOf = (id: string): string => id.replace(/^sha256:/, '');

export const rawConfigPath = (root: string, id: string): string =>
  posix.join(imagesDir(root), `${hexOf(id)}.config.json`);

/** Keep the config's bytes (the images/ directory exists: saveImage made it). */
export function saveRawConfig(root: string, id: string, bytes: Buffer): void {
  const file = rawConfigPath(root, id);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes, { mode: 0o644 });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw storageError(e, file);
  }
}

export function removeRawConfig(root: string, id: string): void {
  rmSync(rawConfigPath(root, id), { force: true });
}

/** The image config as JSON: the stored bytes, else one rebuilt from the record (`exact` false). */
export function rawConfig(root: string, img: ImageRecord): { json: Record<string, unknown>; exact: boolean } {
  try {
    const text = readFileSync(rawConfigPath(root, img.id), 'utf8');
    return { json: JSON.parse(text) as Record<string, unknown>, exact: true };
  } catch {
    return {
      exact: false,
      json: {
        architecture: img.architecture ?? (process.arch === 'x64' ? 'amd64' : process.arch),
        os: img.os ?? 'linux',
        ...(img.created ? { created: img.created } : {}),
        config: img.config,
        rootfs: { type: 'layers', diff_ids: img.layers },
        history: [{ created: img.created ?? img.imported, created_by: `minidock import (${img.format})` }],
      },
    };
  }
}

/** One entry of an image config's history (OCI image-spec). */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export function historyOf(json: Record<string, unknown>): HistoryEntry[] {
  const h = json.history;
  return Array.isArray(h) ? (h.filter((x) => x && typeof x === 'object') as HistoryEntry[]) : [];
}

/**
 * The image's labels (config.Labels): from its record, or, for an image recorded before minidock
 * kept them there, from its stored config. {} when it has none.
 */
export function imageLabels(root: string, img: ImageRecord): Record<string, string> {
  if (img.config.Labels) return img.config.Labels;
  const labels = (rawConfig(root, img).json.config as { Labels?: unknown } | undefined)?.Labels;
  if (!labels || typeof labels !== 'object' || Array.isArray(labels)) return {};
  return Object.fromEntries(Object.entries(labels).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}

/** `images --filter label=KEY[=VALUE]` (and `ps`'s rule): every filter's key present, with VALUE when given. */
export function labelsMatch(labels: Record<string, string>, filters: Array<{ key: string; value?: string }>): boolean {
  return filters.every((f) => f.key in labels && (f.value === undefined || labels[f.key] === f.value));
}

/** `images --filter label=KEY` or `label=KEY=VALUE` (Docker's key; one line for anything else). */
export function parseImageFilters(raw: string[]): Array<{ key: string; value?: string }> {
  return raw.map((r) => {
    const m = /^label=([^=]+)(?:=(.*))?$/s.exec(r);
    if (!m) fail(`images --filter ${r}: use label=KEY or label=KEY=VALUE (minidock's images filters by label only)`);
    return m![2] === undefined ? { key: m![1] } : { key: m![1], value: m![2] };
  });
}
