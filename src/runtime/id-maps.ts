// The id maps of a user namespace: what they are and the arithmetic on them. Pure, and small: the
// launch protocol (handshake.ts) and the plan (build-plan.ts) need them for every launch that has a
// user namespace, while userns.ts (which decides the maps and prepares the host for a mapped root)
// is loaded only by the launches that have one.
import { fail } from '../errors.js';

/** `container` .. container+size-1 inside are `host` .. host+size-1 outside. */
export interface IdRange {
  container: number;
  host: number;
  size: number;
}

export interface UserNamespace {
  uidMap: IdRange[];
  gidMap: IdRange[];
  /**
   * 'deny': /proc/PID/setgroups is set to "deny" before gid_map is written. The kernel demands it
   * when an unprivileged process writes gid_map itself: otherwise setgroups() inside could DROP a
   * group the user holds, and a file with a "group may NOT read" mode would open to them. Then the
   * plan makes no setgroups() call.
   */
  setgroups: 'allow' | 'deny';
  /** 'write': minidock writes the map files (root, or a normal user's single-id map);
   *  'helper': through newuidmap/newgidmap (a normal user with /etc/subuid and /etc/subgid ranges). */
  writer: 'write' | 'helper';
  /** a normal user's launch (rootless): no cgroups on v1, the state root in the user's own dirs */
  rootless?: boolean;
  /** what the chosen map cannot do, for the command to print (a rootless single-id map) */
  note?: string;
}

/** The host id of container id `id`, or undefined when the map leaves it out. */
export function hostId(map: IdRange[], id: number): number | undefined {
  const r = map.find((x) => id >= x.container && id < x.container + x.size);
  return r ? r.host + (id - r.container) : undefined;
}

/** The lines of a map file: "CONTAINER HOST SIZE" each. */
export function mapText(ranges: IdRange[]): string {
  return ranges.map((r) => `${r.container} ${r.host} ${r.size}`).join('\n') + '\n';
}

/**
 * What minidock does to the child's /proc/PID files at the handshake's map step, as shell lines
 * (--dry-run prints them with PID; writeIdMaps does them). Order matters: setgroups before gid_map.
 */
export function idMapWrites(pid: number | 'PID', ns: UserNamespace): Array<{ file: string; content: string }> {
  const p = `/proc/${pid}`;
  return [
    { file: `${p}/uid_map`, content: mapText(ns.uidMap) },
    ...(ns.setgroups === 'deny' ? [{ file: `${p}/setgroups`, content: 'deny\n' }] : []),
    { file: `${p}/gid_map`, content: mapText(ns.gidMap) },
  ];
}

/** Refuse two ranges that overlap inside or outside: the kernel would refuse the map (EINVAL). */
export function checkRanges(flag: string, ranges: IdRange[]): void {
  const show = (r: IdRange, side: 'container' | 'host'): string => `${r[side]}-${r[side] + r.size - 1}`;
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const [a, b] = [ranges[i]!, ranges[j]!];
      for (const side of ['container', 'host'] as const) {
        if (a[side] < b[side] + b.size && b[side] < a[side] + a.size) {
          fail(
            `${flag}: ${a.container}:${a.host}:${a.size} and ${b.container}:${b.host}:${b.size} overlap on the ${side} side (${show(a, side)} and ${show(b, side)}) — each id may be mapped once`,
          );
        }
      }
    }
  }
  // (the kernel's limit on lines, 340 since Linux 4.15)
  if (ranges.length > 340) fail(`${flag}: ${ranges.length} ranges, the kernel takes at most 340`);
}
