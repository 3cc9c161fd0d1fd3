// --tmpfs PATH[:OPTS], --mount type=bind|tmpfs|volume,... and -v NAME:/path: what they mount, as
// Docker documents them. One way to do each thing: --mount type=bind is -v HOST:CTR (a BindMount),
// type=volume is -v NAME:CTR (a BindMount of the volume's directory), type=tmpfs is --tmpfs (a
// TmpfsMount); build-plan.ts has one set of steps for each. Loaded by options.ts only when one of
// these flags is given: a plain run does not pay for it.
import { fail } from '../errors.js';
import { MS } from '../sys/constants.js';
import { parseMemory } from './limits.js';
import { bindMount, mountTarget, parseVolume, type RootView } from './rootfs-view.js';
import type { BindMount, TmpfsMount } from './spec.js';
import { stateRoot } from './state-root.js';
import { checkVolumeName, volumeDataDir } from './volumes.js';

/**
 * -v (a host path, or a volume's name), --mount, --tmpfs, in that order: the bind mounts and the
 * tmpfs mounts of the spec. `f.root`: --root, whose state root holds the volumes.
 */
export function storageFlags(
  view: RootView,
  f: { volume?: string[]; mount?: string[]; tmpfs?: string[]; root?: string },
): { mounts: BindMount[]; tmpfs: TmpfsMount[] } {
  const root = stateRoot(f.root);
  const mounts = (f.volume ?? []).map((v) =>
    v.startsWith('/') ? parseVolume(view, v) : parseNamedVolume(view, root, v),
  );
  const tmpfs: TmpfsMount[] = [];
  for (const m of f.mount ?? []) {
    const r = parseMount(view, root, m);
    if (r.bind) mounts.push(r.bind);
    if (r.tmpfs) tmpfs.push(r.tmpfs);
  }
  tmpfs.push(...(f.tmpfs ?? []).map((t) => parseTmpfs(view, t)));
  const seen = new Set<string>();
  for (const d of [...mounts, ...tmpfs].map((m) => m.destination)) {
    if (seen.has(d)) fail(`${d} is the target of two mounts (-v, --mount, --tmpfs): give each its own path`);
    seen.add(d);
  }
  return { mounts, tmpfs };
}

/** Docker's flags of a tmpfs mount when none is given (moby: noexec, nosuid, nodev). */
export const TMPFS_DEFAULT_FLAGS = MS.MS_NOEXEC | MS.MS_NOSUID | MS.MS_NODEV;

/** The mount flags --tmpfs takes, as mount(8) spells them: [option, flag, set (true) or clear]. */
const FLAG_OPTIONS: Record<string, [number, boolean]> = {
  ro: [MS.MS_RDONLY, true],
  rw: [MS.MS_RDONLY, false],
  noexec: [MS.MS_NOEXEC, true],
  exec: [MS.MS_NOEXEC, false],
  nosuid: [MS.MS_NOSUID, true],
  suid: [MS.MS_NOSUID, false],
  nodev: [MS.MS_NODEV, true],
  dev: [MS.MS_NODEV, false],
  sync: [MS.MS_SYNCHRONOUS, true],
  async: [MS.MS_SYNCHRONOUS, false],
  dirsync: [MS.MS_DIRSYNC, true],
  noatime: [MS.MS_NOATIME, true],
  atime: [MS.MS_NOATIME, false],
  nodiratime: [MS.MS_NODIRATIME, true],
  diratime: [MS.MS_NODIRATIME, false],
  relatime: [MS.MS_RELATIME, true],
  norelatime: [MS.MS_RELATIME, false],
  strictatime: [MS.MS_STRICTATIME, true],
  nostrictatime: [MS.MS_STRICTATIME, false],
};

/** tmpfs's own options (passed to the kernel as mount data) and what their values must look like. */
const DATA_OPTIONS: Record<string, [RegExp, string]> = {
  size: [/^\d+[kmgt%]?$/i, 'bytes with an optional k, m, g, t or a % of RAM, e.g. size=64m'],
  mode: [/^[0-7]{1,4}$/, 'an octal mode, e.g. mode=1777'],
  uid: [/^\d+$/, 'a numeric uid'],
  gid: [/^\d+$/, 'a numeric gid'],
  nr_inodes: [/^\d+[kmg]?$/i, 'a number of inodes, e.g. nr_inodes=10k'],
  nr_blocks: [/^\d+[kmg]?$/i, 'a number of pages, e.g. nr_blocks=1k'],
};

/** Propagation options Docker accepts on a tmpfs: every mount of a container is private already. */
const PRIVATE = new Set(['private', 'rprivate']);

/**
 * A tmpfs mount's options ("size=64m,mode=1777,exec"): Docker's defaults (noexec, nosuid, nodev),
 * each flag option changing them, each data option checked; one line for anything else.
 */
export function tmpfsOptions(what: string, opts: string): { flags: number; data: string } {
  let flags = TMPFS_DEFAULT_FLAGS;
  const data = new Map<string, string>();
  for (const o of opts.split(',').filter(Boolean)) {
    const eq = o.indexOf('=');
    const [key, value] = eq < 0 ? [o, undefined] : [o.slice(0, eq), o.slice(eq + 1)];
    const flag = FLAG_OPTIONS[key];
    if (flag && value === undefined) {
      flags = flag[1] ? flags | flag[0] : flags & ~flag[0];
      continue;
    }
    if (PRIVATE.has(o)) continue;
    const d = DATA_OPTIONS[key];
    if (!d)
      fail(
        `${what}: unknown tmpfs option "${o}" — use size=, mode=, uid=, gid=, nr_inodes=, nr_blocks= or ${Object.keys(FLAG_OPTIONS).join(', ')}`,
      );
    if (value === undefined || !d[0].test(value)) fail(`${what}: ${o}: ${key}= takes ${d[1]}`);
    data.set(key, value); // (a later one wins, as the kernel's parser would have it)
  }
  return { flags, data: [...data].map(([k, v]) => `${k}=${v}`).join(',') };
}

/** --tmpfs PATH[:OPTIONS]. */
export function parseTmpfs(view: RootView, raw: string): TmpfsMount {
  const colon = raw.indexOf(':');
  const [dest, opts] = colon < 0 ? [raw, ''] : [raw.slice(0, colon), raw.slice(colon + 1)];
  const what = `--tmpfs ${raw}`;
  if (!dest) fail(`${what}: use --tmpfs PATH[:OPTIONS], e.g. --tmpfs /run:size=64m`);
  const r = mountTarget(view, what, dest);
  if (r.kind === 'file' || r.kind === 'other')
    fail(`${what}: ${dest} is not a directory in the container — a tmpfs is mounted on a directory`);
  return { destination: r.inner, ...tmpfsOptions(what, opts) };
}

/**
 * -v NAME:/path[:ro] (volumes.ts holds the volumes): a bind of the volume's directory, which the launch
 * creates on first use, and fills from the image unless `nocopy`. `source` is not a path.
 */
export function volumeMount(
  view: RootView,
  root: string,
  what: string,
  name: string,
  dest: string,
  readonly: boolean,
  nocopy = false,
): BindMount {
  checkVolumeName(name, what);
  const r = mountTarget(view, what, dest);
  if (r.kind === 'file' || r.kind === 'other')
    fail(`${what}: ${dest} is not a directory in the container — a volume is a directory`);
  return {
    source: volumeDataDir(root, name),
    destination: r.inner,
    readonly,
    volume: name,
    ...(nocopy ? { nocopy } : {}),
  };
}

/** -v NAME:/path[:OPTS], OPTS ro, rw, nocopy or two of them with a comma (ro,nocopy), as Docker's -v. */
export function parseNamedVolume(view: RootView, root: string, raw: string): BindMount {
  const parts = raw.split(':');
  const opts = parts.length === 3 ? parts.pop()!.split(',') : [];
  if (parts.length !== 2 || !parts[0] || !parts[1])
    fail(`-v ${raw}: use HOST_PATH:CONTAINER_PATH[:ro] or VOLUME_NAME:CONTAINER_PATH[:ro][,nocopy]`);
  for (const o of opts)
    if (!['ro', 'rw', 'nocopy'].includes(o)) fail(`-v ${raw}: unknown option "${o}", use ro, rw or nocopy`);
  if (opts.includes('ro') && opts.includes('rw')) fail(`-v ${raw}: ro and rw contradict each other: give one`);
  return volumeMount(view, root, `-v ${raw}`, parts[0], parts[1], opts.includes('ro'), opts.includes('nocopy'));
}

/** One --mount's key=value fields, Docker's names and their aliases. */
interface MountFields {
  type?: string;
  source?: string;
  target?: string;
  readonly: boolean;
  /** volume-nocopy: an empty volume is not filled from the image */
  nocopy: boolean;
  tmpfsSize?: string;
  tmpfsMode?: string;
}

const KEYS: Record<string, keyof MountFields | 'ignored'> = {
  type: 'type',
  source: 'source',
  src: 'source',
  target: 'target',
  destination: 'target',
  dst: 'target',
  readonly: 'readonly',
  ro: 'readonly',
  'tmpfs-size': 'tmpfsSize',
  'tmpfs-mode': 'tmpfsMode',
  'volume-nocopy': 'nocopy',
  // Docker's own, with no effect on Linux
  consistency: 'ignored',
};

/** Keys Docker knows that minidock refuses, and why. */
const REFUSED: Record<string, string> = {
  'bind-propagation': "every mount of a minidock container is private (rprivate), Docker's default",
  'bind-nonrecursive': 'minidock binds recursively, as -v does',
  'bind-recursive': 'minidock binds recursively, as -v does',
  'volume-driver': 'minidock has the local driver only',
  'volume-opt': 'the local driver of minidock takes no options (a volume is a directory)',
  'volume-subpath': 'minidock mounts a whole volume',
  'volume-label': 'labels are given at `minidock volume create --label`',
};

function mountFields(raw: string): MountFields {
  const what = `--mount ${raw}`;
  const f: MountFields = { readonly: false, nocopy: false };
  for (const field of raw.split(',').filter(Boolean)) {
    const eq = field.indexOf('=');
    const [key, value] = eq < 0 ? [field, undefined] : [field.slice(0, eq), field.slice(eq + 1)];
    if (REFUSED[key]) fail(`${what}: ${key} is not supported: ${REFUSED[key]}`);
    const k = KEYS[key];
    if (!k)
      fail(
        `${what}: unknown field "${key}" — use type=, source=, target=, readonly, volume-nocopy, tmpfs-size=, tmpfs-mode= (Docker's names)`,
      );
    if (k === 'ignored') continue;
    if (k === 'readonly' || k === 'nocopy') {
      if (value !== undefined && !/^(true|false|1|0)$/.test(value))
        fail(`${what}: ${field}: ${key} takes true or false (or nothing)`);
      f[k] = value === undefined || value === 'true' || value === '1';
    } else {
      if (value === undefined || value === '') fail(`${what}: ${key} needs a value (${key}=...)`);
      f[k] = value;
    }
  }
  return f;
}

/** tmpfs-size=: bytes, with Docker's units (limits.ts parseMemory), its refusal on --mount's line. */
function tmpfsSize(what: string, v: string): number {
  try {
    return parseMemory('tmpfs-size', v);
  } catch {
    return fail(`${what}: tmpfs-size=${v}: use bytes with an optional unit b, k, m or g (e.g. 64m)`);
  }
}

/** --mount type=bind|volume|tmpfs,source=...,target=...[,readonly][,tmpfs-size=..][,tmpfs-mode=..]. */
export function parseMount(view: RootView, root: string, raw: string): { bind?: BindMount; tmpfs?: TmpfsMount } {
  const what = `--mount ${raw}`;
  const f = mountFields(raw);
  if (f.type === undefined) fail(`${what}: type= is required: bind, volume or tmpfs`);
  if (f.target === undefined) fail(`${what}: target= is required: where it is mounted in the container`);
  if (f.type !== 'tmpfs' && (f.tmpfsSize !== undefined || f.tmpfsMode !== undefined))
    fail(`${what}: tmpfs-size and tmpfs-mode are options of type=tmpfs`);
  // (Docker's rule: a bind mount or a tmpfs is never filled from the image, so there is nothing to turn off)
  if (f.type !== 'volume' && f.nocopy) fail(`${what}: volume-nocopy is an option of type=volume`);
  switch (f.type) {
    case 'bind':
      if (f.source === undefined) fail(`${what}: type=bind needs source=, the host path`);
      if (!f.source.startsWith('/')) fail(`${what}: the host path must be absolute (e.g. $PWD/${f.source})`);
      return { bind: bindMount(view, what, f.source, f.target, f.readonly) };
    case 'volume':
      if (f.source === undefined)
        fail(
          `${what}: type=volume needs source=, a volume name (minidock has no anonymous volumes; \`minidock volume create\` names one)`,
        );
      return { bind: volumeMount(view, root, what, f.source, f.target, f.readonly, f.nocopy) };
    case 'tmpfs': {
      if (f.source !== undefined) fail(`${what}: type=tmpfs takes no source`);
      const opts = [
        f.readonly ? 'ro' : '',
        f.tmpfsSize === undefined ? '' : `size=${tmpfsSize(what, f.tmpfsSize)}`,
        f.tmpfsMode === undefined ? '' : `mode=${f.tmpfsMode}`,
      ].filter(Boolean);
      const r = mountTarget(view, what, f.target);
      if (r.kind === 'file' || r.kind === 'other')
        fail(`${what}: ${f.target} is not a directory in the container — a tmpfs is mounted on a directory`);
      return { tmpfs: { destination: r.inner, ...tmpfsOptions(what, opts.join(',')) } };
    }
    default:
      return fail(`${what}: type=${f.type}: use bind, volume or tmpfs`);
  }
}
