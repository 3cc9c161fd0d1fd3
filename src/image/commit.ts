// `minidock commit CONTAINER [REPO[:TAG]]`: a container's writes as a new image, like `docker
// commit`. The container's upper directory (overlayfs's record of every write) becomes one more
// layer on top of the image it ran (or, for a container run on a rootfs directory, on top of that
// directory as a first layer); its command, env, working directory and user become the config.
//
// The layer goes through a tar, as an imported one would: layer-tar.ts writes the upper directory
// with overlayfs's whiteouts turned into OCI's .wh. files, its sha256 is the diff ID, and
// import.ts's unpackLayer puts it into the store with every check an import has. So a committed
// layer is stored exactly as the same layer `minidock load`ed would be.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { posix } from 'node:path';
import { MinidockError, fail } from '../errors.js';
import type { StoredSpec } from '../runtime/container-store/records.js';
import { storageError } from '../runtime/state-root.js';
import { type ImageConfig, parseImageConfig } from './config.js';
import { unpackLayer } from './import.js';
import { type LayerEntry, TarFile, walkDir, walkFlattened, writeLayerTar } from './layer-tar.js';
import { rawConfig, saveRawConfig } from './raw-config.js';
import { parseReference } from './reference.js';
import { ByteBudget, DEFAULT_MAX_BYTES } from './source.js';
import {
  commitLayer,
  hasLayer,
  layerFs,
  listImages,
  pinLayers,
  removeLayer,
  scratch,
  type ImageRecord,
} from './store.js';
import { recordWithNames } from './tag.js';

export interface CommitSource {
  /** how the container is named in messages */
  name: string;
  /** its directory: <root>/containers/<id> (upper/ is its writes) */
  dir: string;
  spec: StoredSpec;
}

export interface CommitOptions {
  /** REPO[:TAG] */
  ref?: string;
  /** -m: the history entry's comment */
  message?: string;
  /** -a: the history entry's author */
  author?: string;
  /** -c/--change 'LABEL k=v ...': labels set on the new image (parseChanges) */
  labels?: Record<string, string>;
}

/** One Dockerfile line's words: whitespace splits, "..." and '...' quote, \\ escapes (as Docker's LABEL). */
function words(text: string, what: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && quote !== "'" && i + 1 < text.length) {
      cur = (cur ?? '') + text[++i];
    } else if (quote) {
      if (ch === quote) quote = '';
      else cur = (cur ?? '') + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur ??= '';
    } else if (/\s/.test(ch)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + ch;
  }
  if (quote) fail(`${what}: a ${quote} quote is not closed`);
  if (cur !== undefined) out.push(cur);
  return out;
}

/**
 * commit --change: Dockerfile instructions applied to the new image's config. Only LABEL: the
 * others Docker takes (CMD, ENTRYPOINT, ENV, USER, WORKDIR, EXPOSE...) would override what the
 * container itself decides here (its command, env, working directory and user become the config),
 * and are refused with one line. `LABEL k=v k2="v 2"`, or the old `LABEL key value` form.
 */
export function parseChanges(changes: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const c of changes) {
    const what = `commit --change ${JSON.stringify(c)}`;
    const [, instruction = '', rest = ''] = /^\s*(\S+)\s*([\s\S]*)$/.exec(c) ?? [];
    if (instruction.toUpperCase() !== 'LABEL')
      fail(
        `${what}: minidock's commit takes LABEL only (e.g. --change 'LABEL version=1.0'): the container's own command, env, working directory and user already become the image's`,
      );
    const ws = words(rest, what);
    if (!ws.length) fail(`${what}: LABEL needs KEY=VALUE (e.g. LABEL version=1.0)`);
    if (!ws[0].includes('=')) {
      // the old form: LABEL key the rest of the line
      labels[ws[0]] = ws.slice(1).join(' ');
      continue;
    }
    for (const w of ws) {
      const eq = w.indexOf('=');
      if (eq <= 0) fail(`${what}: "${w}" is not KEY=VALUE (quote a value with spaces: LABEL k="a b")`);
      labels[w.slice(0, eq)] = w.slice(eq + 1);
    }
  }
  return labels;
}

/** What the new image is built on: an image of the store, its layers, or a directory to flatten. */
interface Base {
  layers: string[]; // diff IDs, bottom first
  config?: Record<string, unknown>;
  /** lower directories that are no store layers (a rootfs): written as one first layer */
  flatten?: string[];
}

function baseOf(root: string, lowerDirs: string[]): Base {
  const image = listImages(root).find(
    (img) =>
      img.layers
        .map((l) => layerFs(root, l))
        .reverse()
        .join('\n') === lowerDirs.join('\n'),
  );
  if (image) return { layers: image.layers, config: rawConfig(root, image).json };
  const prefix = posix.join(root, 'layers', 'sha256') + '/';
  const ids = lowerDirs.map((d) => (d.startsWith(prefix) ? /^([0-9a-f]{64})\/fs$/.exec(d.slice(prefix.length)) : null));
  if (ids.every((m) => m && hasLayer(root, `sha256:${m[1]}`)))
    return { layers: ids.map((m) => `sha256:${m![1]}`).reverse() };
  return { layers: [], flatten: lowerDirs };
}

const ENV_ADDED_BY_RUN = ['HOSTNAME', 'HOME'];

/**
 * The new image's config (pure): the container's command split back into the base's Entrypoint
 * and a Cmd, its env without what run itself adds (HOSTNAME, HOME, unless the base had them), its
 * working directory, and its user when not root.
 */
export function committedConfig(
  base: ImageConfig | undefined,
  spec: Pick<StoredSpec, 'args' | 'env' | 'cwd' | 'uid' | 'gid'>,
): ImageConfig {
  const out: ImageConfig = {};
  const ep = base?.Entrypoint ?? [];
  const keepsEntrypoint = ep.length > 0 && ep.every((a, i) => spec.args[i] === a);
  if (keepsEntrypoint) out.Entrypoint = ep;
  out.Cmd = spec.args.slice(keepsEntrypoint ? ep.length : 0);
  const baseNames = new Set((base?.Env ?? []).map((e) => e.split('=')[0]));
  out.Env = spec.env.filter((e) => {
    const name = e.split('=')[0];
    return !ENV_ADDED_BY_RUN.includes(name) || baseNames.has(name);
  });
  if (spec.cwd && spec.cwd !== '/') out.WorkingDir = spec.cwd;
  else if (base?.WorkingDir) out.WorkingDir = base.WorkingDir;
  if (spec.uid !== 0 || spec.gid !== 0) out.User = base?.User ?? `${spec.uid}:${spec.gid}`;
  return out;
}

/** Write `entries` as a layer tar in `dir`: its path and diff ID. */
function layerTar(
  dir: string,
  name: string,
  entries: Iterable<LayerEntry>,
  overlay: boolean,
): { path: string; diffId: string } {
  const path = posix.join(dir, name);
  const fd = openSync(path, 'wx', 0o600);
  const out = new TarFile(fd);
  try {
    writeLayerTar(entries, out, overlay);
  } finally {
    closeSync(fd);
  }
  return { path, diffId: out.digest() };
}

/** Put a layer tar into the store unless it holds that diff ID already; true when it was added. */
async function storeLayer(
  root: string,
  work: string,
  tar: { path: string; diffId: string },
  what: string,
): Promise<boolean> {
  if (hasLayer(root, tar.diffId)) return false;
  const dir = posix.join(work, `layer-${tar.diffId.slice(7, 19)}`);
  mkdirSync(dir, { mode: 0o755 });
  const unpacked = await unpackLayer(
    { path: tar.path, diffId: tar.diffId, what },
    dir,
    new ByteBudget(DEFAULT_MAX_BYTES),
  );
  return commitLayer(root, tar.diffId, dir, {
    diffId: tar.diffId,
    size: unpacked.stats.bytes,
    entries: unpacked.stats.entries,
    unpacked: new Date().toISOString(),
  });
}

/** The config JSON of the new image, as bytes (their sha256 is its ID). */
function configBytes(
  base: Base,
  c: CommitSource,
  o: CommitOptions,
  diffIds: string[],
  baseHistory: Record<string, unknown>[],
): Buffer {
  const now = new Date().toISOString();
  const json: Record<string, unknown> = { ...(base.config ?? {}) };
  const parsedBase = base.config
    ? parseImageConfig(JSON.stringify(base.config), 'base image config').config
    : undefined;
  json.architecture ??= process.arch === 'x64' ? 'amd64' : process.arch;
  json.os ??= 'linux';
  json.created = now;
  if (o.author) json.author = o.author;
  // the base's other fields (Labels, ExposedPorts...) stay; the five the container decides are its own
  const { Entrypoint, Cmd, Env, WorkingDir, User, ...rest } = (base.config?.config ?? {}) as Record<string, unknown>;
  json.config = { ...rest, ...committedConfig(parsedBase, c.spec) };
  // Labels as Docker's commit makes them: the container's (the base image's merged under its own
  // --label at run), then --change's
  const labels = { ...parsedBase?.Labels, ...c.spec.labels, ...o.labels };
  if (Object.keys(labels).length) (json.config as Record<string, unknown>).Labels = labels;
  json.rootfs = { type: 'layers', diff_ids: diffIds };
  json.history = [
    ...baseHistory,
    {
      created: now,
      created_by: 'minidock commit',
      ...(o.author ? { author: o.author } : {}),
      ...(o.message ? { comment: o.message } : {}),
    },
  ];
  return Buffer.from(JSON.stringify(json));
}

/** Commit the container `c` into a new image of the store at `root`. */
export async function commitContainer(root: string, c: CommitSource, o: CommitOptions = {}): Promise<ImageRecord> {
  const name = o.ref ? parseReference(o.ref, 'commit').name : undefined;
  const upper = posix.join(c.dir, 'upper');
  if (!existsSync(upper))
    fail(
      `commit ${c.name}: the container has no upper layer on disk (${upper}) — its writes lived on a tmpfs and are gone`,
    );
  const lowerDirs = c.spec.lowerDirs ?? [c.spec.rootfs];
  for (const d of lowerDirs) if (!existsSync(d)) fail(`commit ${c.name}: its lower layer ${d} is gone`);
  const base = baseOf(root, lowerDirs);
  const work = scratch(root, 'commit-');
  const unpins = [pinLayers(root, base.layers)];
  const created: string[] = [];
  try {
    const tars = [];
    const baseHistory = (base.config?.history as Record<string, unknown>[] | undefined) ?? [];
    if (base.flatten) {
      tars.push(layerTar(work, 'base.tar', walkFlattened(base.flatten), false));
      baseHistory.push({
        created: new Date().toISOString(),
        created_by: `minidock commit: the rootfs ${base.flatten.join(':')}`,
      });
    }
    tars.push(layerTar(work, 'upper.tar', walkDir(upper), true));
    unpins.push(
      pinLayers(
        root,
        tars.map((t) => t.diffId),
      ),
    );
    for (const [i, t] of tars.entries())
      if (await storeLayer(root, work, t, `commit ${c.name}: layer ${i + 1}/${tars.length}`)) created.push(t.diffId);
    const diffIds = [...base.layers, ...tars.map((t) => t.diffId)];
    const bytes = configBytes(base, c, o, diffIds, baseHistory);
    const parsed = parseImageConfig(bytes.toString('utf8'), 'committed config');
    const id = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const rec: ImageRecord = {
      id,
      names: [],
      layers: diffIds,
      config: parsed.config,
      created: parsed.created,
      architecture: parsed.architecture,
      os: parsed.os,
      imported: new Date().toISOString(),
      format: 'commit',
    };
    const out = recordWithNames(root, rec, name ? [name] : []);
    saveRawConfig(root, id, bytes);
    return out;
  } catch (e) {
    for (const diffId of created)
      if (!listImages(root).some((i) => i.layers.includes(diffId))) removeLayer(root, diffId);
    const full = storageError(e, work);
    throw e instanceof MinidockError
      ? e
      : full instanceof MinidockError
        ? full
        : new MinidockError(`commit ${c.name}: ${(e as Error).message}`);
  } finally {
    for (const u of unpins) u();
    rmSync(work, { recursive: true, force: true });
  }
}
