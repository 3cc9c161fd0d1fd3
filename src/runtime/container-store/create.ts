// Creating a container's directory and records (createContainer), and claiming its name
// (claimName: here rather than in names.ts because it may collect a stale owner through gc.ts).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { procStart } from '../../sys/proc.js';
import { isoNow } from '../../sys/time.js';
import type { ContainerSpec } from '../spec.js';
import { ensureStateRoot, onStateRoot, pathIn, privateDir } from '../state-root.js';
import { gcEntries } from './gc.js';
import { entryOf } from './listing.js';
import { lockContainer, lockMoved, unlockContainer, withLock } from './locks.js';
import { checkName, nameInUse, nameLink, readlinkOpt, trySymlink } from './names.js';
import {
  bootId,
  containersDir,
  storedSpec,
  writeJsonAtomic,
  type ContainerConfig,
  type ContainerState,
  type Entry,
} from './records.js';
import { removeDir } from './removal.js';
import { isKept, isStale } from './staleness.js';

/** Give container `id` the name (checked with checkName), or fail if another container has it. */
export function claimName(root: string, name: string, id: string): void {
  const link = nameLink(root, name);
  if (onStateRoot(link, () => (mkdirSync(posix.dirname(link), { recursive: true, mode: 0o700 }), trySymlink(id, link))))
    return; // the usual case: a new name
  withLock(root, () => {
    const owner = readlinkOpt(link);
    if (owner !== undefined && owner !== id) {
      const e = entryOf(root, owner);
      // The name of a container that is gone, or stale and not kept (a launch that died, --rm),
      // is free again: collect it (gcEntries also releases the name). A dead container that is
      // kept holds its name until rm, as in Docker.
      if (e && !(isStale(e) && !isKept(e) && gcEntries(root, [e], true).some((r) => r.removed.includes('directory'))))
        nameInUse(name, owner);
      rmSync(link, { force: true });
    }
    // (a launch that found no link takes the name without the lock: it may have come first)
    if (owner !== id && !trySymlink(id, link)) nameInUse(name, readlinkOpt(link) ?? '?');
  });
}

export interface CreateOptions {
  detached: boolean;
  autoRemove: boolean;
  /** fill the directory (overlay layers) before it becomes visible; gets the staging path */
  populate?: (stagingDir: string) => void;
  /** the cgroup directories the launch is about to create: recorded before they exist, so that
   * whoever finds the container after a SIGKILL at any instruction finds them too */
  cgroupPaths?: string[];
}

/**
 * Create <root>/containers/<id> with config.json and state.json ("created", owned by this process).
 * The directory is assembled under a dot-name and renamed into place, so every visible container
 * directory has its state.json: gc never has to guess. A name is then claimed in the name registry
 * (claimName), so that of ten concurrent `run --name x` exactly one wins.
 */
export function createContainer(root: string, spec: ContainerSpec, o: CreateOptions): Entry {
  const base = containersDir(root);
  ensureStateRoot(root); // the first launch on a fresh machine makes it
  onStateRoot(base, () => privateDir(base, 0o711));
  const dir = pathIn(base, spec.id);
  const me = procStart('self');
  const staging = pathIn(base, `.new-${process.pid}-${me}-${spec.id}`);
  const config: ContainerConfig = {
    id: spec.id,
    name: spec.name,
    created: isoNow(),
    detached: o.detached,
    autoRemove: o.autoRemove,
    logPath: o.detached ? pathIn(dir, 'container.log') : undefined,
    spec: storedSpec(spec),
  };
  const state: ContainerState = {
    status: 'created',
    launcherPid: process.pid,
    launcherStart: me,
    bootId: bootId(),
    autoRemove: o.autoRemove,
    cgroupPaths: o.cgroupPaths,
  };
  onStateRoot(staging, () => mkdirSync(staging, { mode: 0o700 }));
  try {
    // Locked before anyone can see it, until the container runs (see unlockContainer).
    lockContainer(staging);
    // (nobody can see the staging directory; the rename below publishes all at once)
    const put = (f: string, v: unknown): void =>
      onStateRoot(pathIn(staging, f), () =>
        writeFileSync(pathIn(staging, f), JSON.stringify(v) + '\n', { mode: 0o644 }),
      );
    put('config.json', config);
    // (fdatasync'd too, unless --rm: writeJsonAtomic)
    onStateRoot(pathIn(staging, 'state.json'), () =>
      writeJsonAtomic(pathIn(staging, 'state.json'), state, !o.autoRemove),
    );
    onStateRoot(staging, () => o.populate?.(staging));
    if (spec.name) checkName(spec.name);
    renameSync(staging, dir);
    lockMoved(staging, dir);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    unlockContainer(staging);
    throw e;
  }
  // The name is claimed once the directory is in place: whoever finds the name taken then also
  // finds the container that has it (see claimName).
  if (spec.name) {
    try {
      claimName(root, spec.name, spec.id);
    } catch (e) {
      removeDir(dir);
      unlockContainer(dir);
      throw e;
    }
  }
  return { id: spec.id, dir, config, state };
}
