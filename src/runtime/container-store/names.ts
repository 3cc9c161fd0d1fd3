// The name registry: <root>/names/<name>, a symlink to the ID of the container that has the name
// (checkName, releaseName, sweepNames). claimName, which may collect a stale owner through gc.ts,
// is in create.ts.
import { existsSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { fail } from '../../errors.js';
import { pathIn } from '../state-root.js';
import { shortId } from './listing.js';
import { withLock } from './locks.js';
import { containersDir } from './records.js';

//
// <root>/names/<name> is a symlink to the ID of the container that has the name. symlink() creates it
// atomically and fails if it exists, so of any number of concurrent `run --name x` exactly one gets
// the name, with neither a lock nor a look at the other containers. A name stays taken while its
// container exists (running, or exited until `rm`, as in Docker); the link of a container that is
// gone or dead is taken over. Every change other than that first symlink() (taking a link over,
// releasing it, sweeping) happens under the lock, so that none of them can undo another's.

export function nameLink(root: string, name: string): string {
  return pathIn(pathIn(root, 'names'), name);
}

export function readlinkOpt(link: string): string | undefined {
  try {
    return readlinkSync(link);
  } catch {
    return undefined;
  }
}

export function trySymlink(target: string, link: string): boolean {
  try {
    symlinkSync(target, link);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

export function nameInUse(name: string, owner: string): never {
  fail(
    `the container name "${name}" is already in use by container ${shortId(owner)}: remove it (minidock rm ${name}) or choose another --name`,
  );
}

/** Container `id` is being removed: its name is free again. `locked`: the caller holds the lock. */
export function releaseName(root: string, name: string | undefined, id: string, locked = false): void {
  if (!name) return;
  const link = nameLink(root, name);
  const release = (): void => {
    if (readlinkOpt(link) === id) rmSync(link, { force: true }); // read again, under the lock
  };
  if (readlinkOpt(link) !== id) return; // not ours (any more): nothing to take the lock for
  if (locked) release();
  else withLock(root, release);
}

/** Remove names whose container is gone (left by `run -d --rm`, whose C monitor does not take the lock). */
export function sweepNames(root: string): string[] {
  const dir = pathIn(root, 'names');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const gone = (n: string): boolean => {
    const owner = readlinkOpt(pathIn(dir, n));
    return owner !== undefined && !existsSync(pathIn(containersDir(root), owner));
  };
  if (!names.some(gone)) return [];
  return withLock(root, () => names.filter(gone).map((n) => (rmSync(pathIn(dir, n), { force: true }), n)));
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function checkName(name: string): void {
  if (!NAME.test(name) || name.length > 128) {
    fail(`--name ${name}: use letters, digits, "_", "." and "-", starting with a letter or digit (at most 128)`);
  }
  if (/^[0-9a-f]{64}$/.test(name)) fail(`--name ${name}: a name may not look like a full container ID`);
}
