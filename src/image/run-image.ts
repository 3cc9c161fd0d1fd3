// `minidock run IMAGE[:TAG] [CMD...]`: from an image name to what the launch needs — the layer
// directories as overlayfs lowerdirs (top layer first: overlayfs lists the uppermost lower layer
// first), and the command, env, workdir and user after Docker's override rules (config.ts).
import { existsSync } from 'node:fs';
import { fail } from '../errors.js';
import { applyImageConfig } from './config.js';
import { layeredReadFile, layeredResolve } from './layered-fs.js';
import { imageLabels } from './raw-config.js';
import { findImage, layerFs, hasLayer, type ImageRecord } from './store.js';
import type { Resolved } from '../runtime/paths.js';

export interface ImageForRun {
  ref: string;
  image: ImageRecord;
  lowerDirs: string[];
  args: string[];
  env: string[];
  workdir?: string;
  user?: string;
  /** the config's ExposedPorts keys (`80/tcp`): what -P publishes */
  exposedPorts: string[];
  /** the config's Labels: a container of the image gets them under its own --label (Docker: its own win) */
  labels: Record<string, string>;
  /** look into the image's files (users, -v targets); see RootView in src/runtime/rootfs-view.ts */
  readFile(inner: string, what: string): string | undefined;
  resolve(path: string): Resolved;
}

/** overlayfs takes all lowerdirs in one mount option, which must fit in a page (4096 bytes). */
const MAX_LOWERDIR_OPTION = 3500;

export function imageForRun(
  root: string,
  ref: string,
  userArgs: string[],
  overrides: { entrypoint?: string; workdir?: string; user?: string },
): ImageForRun {
  const image = findImage(root, ref);
  if (!image) {
    return fail(
      `no image "${ref}" in ${root} and no directory of that name — import one first (minidock import FILE ${ref}), see \`minidock images\`; a rootfs directory is given as a path (./${ref})`,
    );
  }
  for (const diffId of image.layers) {
    if (!hasLayer(root, diffId))
      fail(`image ${ref}: layer ${diffId.slice(0, 19)}… is missing from the store — import the image again`);
  }
  const lowerDirs = image.layers.map((diffId) => layerFs(root, diffId)).reverse();
  const lowerdirOption = lowerDirs.join(':');
  if (lowerdirOption.length > MAX_LOWERDIR_OPTION) {
    fail(
      `image ${ref}: ${lowerDirs.length} layers make a lowerdir option of ${lowerdirOption.length} bytes; overlayfs takes at most one page of options — use a shorter state root (--root) or flatten the image`,
    );
  }
  if (lowerDirs.some((lowerDir) => /[,:]/.test(lowerDir.replace(root, ''))))
    fail(`image ${ref}: a layer path contains "," or ":", which overlayfs cannot take`);
  const configured = applyImageConfig(image.config, userArgs, overrides, ref);
  return {
    ref,
    image,
    lowerDirs,
    ...configured,
    exposedPorts: Object.keys(image.config.ExposedPorts ?? {}),
    labels: imageLabels(root, image),
    readFile: (inner, what) => layeredReadFile(lowerDirs, inner, what),
    resolve: (path) => layeredResolve(lowerDirs, path),
  };
}

/** Decide whether `run`'s first argument is a rootfs directory or an image reference. */
export function looksLikeImage(root: string, arg: string): boolean {
  if (existsSync(arg)) return false; // a path that exists is a rootfs directory, as before
  if (!arg.includes('/')) return true;
  return !!findImage(root, arg); // "localhost/bb:1" when such an image exists
}
