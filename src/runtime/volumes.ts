// Named volumes: `minidock volume create|ls|inspect|rm|prune` and `run -v NAME:/path`. A volume is a
// directory of the state root, <root>/volumes/NAME/_data (Docker's local driver keeps the same
// layout), with NAME/volume.json beside it: its creation time, labels, and which container made it
// on first use. A container bind-mounts _data (build-plan.ts: the same steps as -v); the volume
// outlives the container, which is its point: `rm` keeps it, `rm -v` removes only the volumes that
// container's launch created (Docker's rm -v removes its anonymous volumes: minidock has none, and
// these are the closest thing), `volume rm` refuses one that a container (running or not) uses.
import { existsSync, lstatSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { MinidockError, fail } from '../errors.js';
import { isoNow } from '../sys/time.js';
import { listEntries } from './container-store/listing.js';
import { readJson, type Entry } from './container-store/records.js';
import { removeDir } from './container-store/removal.js';
import type { ContainerSpec } from './spec.js';
import { ensureStateRoot, onStateRoot, pathIn, privateDir } from './state-root.js';

/** Docker's rule for a local volume's name. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function checkVolumeName(name: string, what: string): void {
  if (!VOLUME_NAME.test(name))
    fail(
      `${what}: "${name}" is not a valid volume name: use [a-zA-Z0-9][a-zA-Z0-9_.-]+, at least 2 characters (a host directory is given by its absolute path)`,
    );
}

export const volumesDir = (root: string): string => pathIn(root, 'volumes');
export const volumeDir = (root: string, name: string): string => pathIn(volumesDir(root), name);
export const volumeDataDir = (root: string, name: string): string => pathIn(volumeDir(root, name), '_data');

/** NAME/volume.json. */
interface VolumeRecord {
  name: string;
  createdAt: string;
  labels: Record<string, string>;
  /** the container whose launch created it on first use (-v NAME:/path); absent: volume create */
  createdBy?: string;
}

export interface VolumeView extends VolumeRecord {
  mountpoint: string;
  /** the containers whose spec mounts it, running or not */
  users: Array<{ id: string; name?: string }>;
}

/** The volumes a container's spec mounts, by name. */
export const volumesOf = (spec: Pick<ContainerSpec, 'mounts'> | undefined): string[] => [
  ...new Set((spec?.mounts ?? []).flatMap((m) => (m.volume ? [m.volume] : []))),
];

/**
 * Create volume NAME unless it exists: made under a dot-name and renamed into place, so a volume
 * that is listed always has its _data and volume.json, and of two launches creating it at once one
 * wins and the other finds it. true: this call created it.
 */
export function createVolume(root: string, name: string, labels: Record<string, string>, createdBy?: string): boolean {
  checkVolumeName(name, 'volume create');
  const base = volumesDir(root);
  const dir = volumeDir(root, name);
  if (existsSync(dir)) return false;
  return onStateRoot(base, () => {
    ensureStateRoot(root);
    privateDir(base, 0o700);
    const staging = pathIn(base, `.new-${process.pid}-${name}`);
    privateDir(staging, 0o700);
    privateDir(pathIn(staging, '_data'), 0o755);
    const record: VolumeRecord = { name, createdAt: isoNow(), labels, ...(createdBy ? { createdBy } : {}) };
    writeFileSync(pathIn(staging, 'volume.json'), JSON.stringify(record, null, 2) + '\n');
    try {
      renameSync(staging, dir);
      return true;
    } catch (e) {
      removeDir(staging);
      if (['EEXIST', 'ENOTEMPTY'].includes((e as NodeJS.ErrnoException).code ?? '')) return false;
      throw e;
    }
  });
}

/** A launch: every volume the spec mounts, created on first use (by this container). Names created. */
export function ensureVolumes(root: string, spec: ContainerSpec): string[] {
  return volumesOf(spec).filter((name) => createVolume(root, name, {}, spec.id));
}

function readVolume(root: string, name: string): VolumeRecord | undefined {
  if (!VOLUME_NAME.test(name) || !existsSync(volumeDataDir(root, name))) return undefined;
  const r = readJson<VolumeRecord>(pathIn(volumeDir(root, name), 'volume.json'));
  // (made by hand, or its record lost: still a volume, created when its directory was)
  return r ?? { name, createdAt: isoNow(lstatSync(volumeDir(root, name)).mtimeMs), labels: {} };
}

/** Every volume, by name, with the containers that use it. Reads only. */
export function listVolumes(root: string, entries: Entry[] = listEntries(root)): VolumeView[] {
  let names: string[];
  try {
    names = readdirSync(volumesDir(root));
  } catch {
    return [];
  }
  const out: VolumeView[] = [];
  for (const name of names.sort()) {
    const r = readVolume(root, name);
    if (!r) continue;
    const users = entries
      .filter((e) => volumesOf(e.config?.spec).includes(name))
      .map((e) => ({ id: e.id, name: e.config?.name }));
    out.push({ ...r, mountpoint: volumeDataDir(root, name), users });
  }
  return out;
}

export function findVolume(root: string, name: string, views = listVolumes(root)): VolumeView {
  const v = views.find((x) => x.name === name);
  if (!v) throw new MinidockError(`no such volume: ${name} (see minidock volume ls)`, 1);
  return v;
}

/** `volume rm`: refused (one line) while a container uses it, running or not, as Docker's. */
export function removeVolume(root: string, name: string, views = listVolumes(root)): string {
  const v = findVolume(root, name, views);
  if (v.users.length)
    throw new MinidockError(
      `volume ${name} is in use by container(s) ${v.users.map((u) => u.name ?? u.id.slice(0, 12)).join(', ')}: remove them first (minidock rm), its data stays until then`,
    );
  removeDir(volumeDir(root, name));
  return name;
}

/** `volume prune`: every volume no container uses. The names removed and the bytes they held. */
export function pruneVolumes(root: string): { removed: string[]; bytes: number } {
  const unused = listVolumes(root).filter((v) => v.users.length === 0);
  let bytes = 0;
  for (const v of unused) {
    bytes += du(volumeDir(root, v.name));
    removeDir(volumeDir(root, v.name));
  }
  return { removed: unused.map((v) => v.name), bytes };
}

/**
 * rm -v: the volumes this container's launch created (not those of `volume create`, nor those another
 * container made), once no other container uses them. Called after the container is gone.
 */
export function removeCreatedVolumes(root: string, e: Entry): string[] {
  const mine = volumesOf(e.config?.spec);
  if (!mine.length) return [];
  const views = listVolumes(root);
  const gone = views.filter(
    (v) => mine.includes(v.name) && v.createdBy === e.id && v.users.every((u) => u.id === e.id),
  );
  for (const v of gone) removeDir(volumeDir(root, v.name));
  return gone.map((v) => v.name);
}

/** Bytes under dir (files' sizes), not following symlinks. */
function du(dir: string): number {
  let n = 0;
  let list;
  try {
    list = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const d of list) {
    const p = pathIn(dir, d.name);
    if (d.isDirectory()) n += du(p);
    else if (d.isFile()) n += lstatSync(p).size;
  }
  return n;
}
