// The flags that look into the container's files before it exists — -u (its /etc/passwd and
// /etc/group) and -v (its targets, resolved through its own symlinks) — and the view they look
// through (RootView: a rootfs directory, or an image's layers).
import { existsSync, statSync } from 'node:fs';
import { fail } from '../errors.js';
import { readResolvedFile, scopedResolve, type Resolved } from './paths.js';
import type { BindMount } from './spec.js';

/**
 * How the flags look into the container's filesystem before it exists: a rootfs directory, or
 * an image's layers (src/image/layered-fs.ts merges them as overlayfs will).
 */
export interface RootView {
  /** a file's text by its path inside the container ("etc/passwd"), resolved inside the container
   * (paths.ts): undefined when missing; one clear line starting with `what` when it is anything but
   * a regular file of at most 16 MiB */
  readFile(inner: string, what: string): string | undefined;
  /** resolve a container path through the container's own symlinks */
  resolve(path: string): Resolved;
}

export function dirView(rootfs: string): RootView {
  return {
    readFile: (inner, what) => readResolvedFile(rootfs, inner, scopedResolve(rootfs, inner), what),
    resolve: (p) => scopedResolve(rootfs, p),
  };
}

const viewOf = (rootfs: string | RootView): RootView => (typeof rootfs === 'string' ? dirView(rootfs) : rootfs);

/** The colon-separated lines of one of the container's files (/etc/passwd, /etc/group). */
function entries(view: RootView, file: string, what: string): string[][] {
  return (view.readFile(file, what) ?? '').split('\n').map((l) => l.split(':'));
}

/** -u UID[:GID] or NAME[:GROUP], names looked up in the container's /etc/passwd and /etc/group. */
export function parseUser(
  rootfs: string | RootView,
  raw: string,
): { uid: number; gid: number; home: string; groups: number[] } {
  const view = viewOf(rootfs);
  const [userArg, groupArg] = raw.split(':'); // NAME or UID, then GROUP or GID
  const num = /^\d+$/;
  let gid: number | undefined;
  let home = '/';
  if (!userArg) fail(`-u "${raw}": use UID[:GID] or NAME[:GROUP]`);
  const passwd = entries(view, 'etc/passwd', `-u ${raw}`);
  const passwdEntry = num.test(userArg)
    ? passwd.find((f) => f[2] === String(Number(userArg)))
    : passwd.find((f) => f[0] === userArg);
  if (!passwdEntry && !num.test(userArg))
    return fail(
      `-u ${raw}: no user "${userArg}" in the container's /etc/passwd — use a numeric UID or a name listed there`,
    );
  const uid = Number(num.test(userArg) ? userArg : passwdEntry![2]);
  if (passwdEntry) {
    gid = Number(passwdEntry[3]);
    home = passwdEntry[5] || '/';
  }
  const group = groupArg !== undefined || passwdEntry ? entries(view, 'etc/group', `-u ${raw}`) : [];
  if (groupArg !== undefined) {
    if (num.test(groupArg)) gid = Number(groupArg);
    else {
      const groupEntry = group.find((f) => f[0] === groupArg);
      if (!groupEntry)
        fail(
          `-u ${raw}: no group "${groupArg}" in the container's /etc/group — use a numeric GID or a name listed there`,
        );
      gid = Number(groupEntry[2]);
    }
  }
  if (uid > 0xfffffffe || (gid ?? 0) > 0xfffffffe) fail(`-u ${raw}: ids must be below 4294967295`);
  // Docker: a numeric uid missing from /etc/passwd runs with gid 0. Supplementary groups: the
  // primary group plus every group of /etc/group that lists the user by name.
  const groups = new Set<number>([gid ?? 0]);
  if (passwdEntry) {
    for (const f of group) if (f.length >= 4 && f[3].split(',').includes(passwdEntry[0])) groups.add(Number(f[2]));
  }
  return { uid, gid: gid ?? 0, home, groups: [...groups] };
}

/** -v HOST:CONTAINER[:ro|rw] */
export function parseVolume(rootfs: string | RootView, raw: string): BindMount {
  const parts = raw.split(':');
  let mode = 'rw';
  if (parts.length === 3) mode = parts.pop()!;
  if (parts.length !== 2 || !parts[0] || !parts[1]) fail(`-v ${raw}: use HOST_PATH:CONTAINER_PATH[:ro]`);
  if (mode !== 'ro' && mode !== 'rw') fail(`-v ${raw}: unknown mode "${mode}", use ro or rw`);
  const [source, dest] = parts;
  // (not a path: a named volume, volumes.ts — loaded by options.ts, which hands such a -v there)
  if (!source.startsWith('/')) fail(`-v ${raw}: the host path must be absolute (e.g. $PWD/${source})`);
  return bindMount(rootfs, `-v ${raw}`, source, dest, mode === 'ro');
}

/** A bind of host path `source` at container path `dest` (-v, --mount type=bind): both checked. */
export function bindMount(
  rootfs: string | RootView,
  what: string,
  source: string,
  dest: string,
  readonly: boolean,
): BindMount {
  if (!dest.startsWith('/')) fail(`${what}: the container path must be absolute`);
  if (!existsSync(source))
    fail(`${what}: host path ${source} does not exist — create it first (minidock does not, unlike Docker)`);
  const srcIsDir = statSync(source).isDirectory();
  const r = mountTarget(rootfs, what, dest);
  if (r.kind === 'dir' && !srcIsDir) fail(`${what}: ${source} is a file but ${dest} is a directory in the container`);
  if (r.kind === 'file' && srcIsDir) fail(`${what}: ${source} is a directory but ${dest} is a file in the container`);
  return { source, destination: r.inner, readonly, isFile: !srcIsDir };
}

/**
 * Where a mount's target is: `dest` resolved inside the rootfs (a symlink there must not lead to a
 * host path), never "/" itself. `what` starts the line of a refusal (e.g. "-v a:b").
 */
export function mountTarget(rootfs: string | RootView, what: string, dest: string): Resolved {
  if (!dest.startsWith('/')) fail(`${what}: the container path must be absolute`);
  const r = viewOf(rootfs).resolve(dest);
  if (r.inner === '/') fail(`${what}: cannot mount over the container's root`);
  // A loop leaves symlinks in r.inner, which mount() would follow from the host's root.
  if (r.kind === 'loop')
    fail(
      `${what}: ${dest} leads through more than 40 symbolic links inside the rootfs (a loop) — mount it at another path`,
    );
  return r;
}

/** What specFromFlags needs of an image: its layers (top first), its ENV, a view of its files. */
export interface ImageView extends RootView {
  lowerDirs: string[];
  env: string[];
}
