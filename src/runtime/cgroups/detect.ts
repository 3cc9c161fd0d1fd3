// Which cgroup version to drive, from /proc/self/mountinfo and /proc/self/cgroup — never from guessed
// paths. Both files are plain text; tests pass their own (CgroupOptions.root).
//
// Rule (see docs/cgroups.md):
//   1. a v1 hierarchy carries the memory controller          -> v1 (this covers "hybrid" hosts, where
//      the cgroup2 mount exists but its controllers are bound to v1 hierarchies)
//   2. otherwise a cgroup2 filesystem is mounted               -> v2
//   3. otherwise v1 hierarchies with some controllers exist    -> v1 (limits needing a missing one fail)
//   4. nothing mounted                                         -> error

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../errors.js';
import type { CgroupDetection, CgroupMounts, CgroupOptions, V1Hierarchy, V2Mount } from './types.js';

/** v1 controllers the kernel knows; any other super option (rw, nsdelegate, clone_children ...) is not one. */
export const V1_CONTROLLERS = new Set([
  'cpuset',
  'cpu',
  'cpuacct',
  'blkio',
  'io',
  'memory',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'perf_event',
  'hugetlb',
  'pids',
  'rdma',
  'misc',
  'debug',
]);

export interface MountinfoEntry {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 6 || right.length < 3) continue;
    out.push({
      root: unescapeOctal(left[3]!),
      mountPoint: unescapeOctal(left[4]!),
      fsType: right[0]!,
      superOptions: right[2]!.split(','),
    });
  }
  return out;
}

/** /proc/self/cgroup -> map from "controller list" (as the kernel prints it, e.g. "cpu,cpuacct", "" for v2) to path. */
export function parseSelfCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const key = line
      .slice(a + 1, b)
      .split(',')
      .filter(Boolean)
      .sort()
      .join(',');
    out.set(key, line.slice(b + 1));
  }
  return out;
}

/** A path inside a hierarchy ("/a/b", relative to its root) -> the directory under a mount of it. */
export function dirInMount(mountPoint: string, mountRoot: string, hierPath: string): string | undefined {
  const root = mountRoot === '/' ? '' : mountRoot.replace(/\/+$/, '');
  if (root && hierPath !== root && !hierPath.startsWith(root + '/')) return undefined;
  const rest = hierPath.slice(root.length).replace(/^\/+|\/+$/g, '');
  return rest ? join(mountPoint, rest) : mountPoint;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return fail(`cannot read ${path} (${code}) to find the cgroup ${what}: is /proc mounted?`);
  }
}

/** The host's answer, read once per process: a launch asks for it for the dry-run paths state.json
 * records before the cgroups exist, then again to make them (each read of /proc/self/mountinfo and
 * /proc/self/cgroup is ~0.1 ms here). Neither where cgroupfs is mounted nor this process's own
 * cgroup changes while a verb runs: minidock never moves itself. */
let host: CgroupDetection | undefined;

export function detectCgroups(opts: CgroupOptions = {}): CgroupDetection {
  if (opts.root) return detectIn(opts);
  host ??= detectIn(opts);
  return host;
}

function detectIn(opts: CgroupOptions): CgroupDetection {
  const mountinfo = opts.root?.mountinfo ?? readText('/proc/self/mountinfo', 'mounts');
  const selfCgroup = opts.root?.selfCgroup ?? readText('/proc/self/cgroup', "caller's own cgroups");
  const own = parseSelfCgroup(selfCgroup);

  const mounts: CgroupMounts = { v1: [] };
  const seen = new Map<string, V1Hierarchy>();
  for (const m of parseMountinfo(mountinfo)) {
    if (m.fsType === 'cgroup2') {
      const v2: V2Mount = { mountPoint: m.mountPoint, mountRoot: m.root, ownPath: own.get('') };
      // prefer a mount through which our own cgroup is visible
      const visible = v2.ownPath !== undefined && dirInMount(v2.mountPoint, v2.mountRoot, v2.ownPath) !== undefined;
      if (!mounts.v2 || (visible && mounts.v2.ownPath === undefined)) mounts.v2 = v2;
      continue;
    }
    if (m.fsType !== 'cgroup') continue;
    const controllers = m.superOptions.filter((o) => V1_CONTROLLERS.has(o)).sort();
    const name = m.superOptions.find((o) => o.startsWith('name='));
    const key = [...controllers, ...(name ? [name] : [])].sort().join(',');
    if (!key) continue;
    const ownPath = own.get(key);
    const h: V1Hierarchy = { controllers, mountPoint: m.mountPoint, mountRoot: m.root, ownPath };
    if (name) h.name = name.slice(5);
    const prev = seen.get(key);
    const visible = ownPath !== undefined && dirInMount(h.mountPoint, h.mountRoot, ownPath) !== undefined;
    if (!prev) {
      seen.set(key, h);
      mounts.v1.push(h);
    } else if (
      visible &&
      (prev.ownPath === undefined || dirInMount(prev.mountPoint, prev.mountRoot, prev.ownPath) === undefined)
    ) {
      mounts.v1[mounts.v1.indexOf(prev)] = h;
      seen.set(key, h);
    }
  }

  const withControllers = mounts.v1.filter((h) => h.controllers.length > 0);
  const memory = withControllers.find((h) => h.controllers.includes('memory'));
  if (memory) {
    return {
      mode: 'v1',
      mounts,
      reason: mounts.v2
        ? `hybrid host: the memory controller is bound to the v1 hierarchy at ${memory.mountPoint}, so the cgroup2 mount at ${mounts.v2.mountPoint} cannot limit memory`
        : `cgroup v1: the memory controller is mounted at ${memory.mountPoint}`,
    };
  }
  if (mounts.v2) {
    return { mode: 'v2', mounts, reason: `cgroup v2: one unified tree mounted at ${mounts.v2.mountPoint}` };
  }
  if (withControllers.length > 0) {
    return {
      mode: 'v1',
      mounts,
      reason: `cgroup v1 without a memory hierarchy (${withControllers.map((h) => h.controllers.join(',')).join('; ')})`,
    };
  }
  return fail(
    'no cgroup filesystem is mounted (neither cgroup2 nor a v1 controller in /proc/self/mountinfo): mount one, e.g. mount -t cgroup2 none /sys/fs/cgroup',
  );
}
