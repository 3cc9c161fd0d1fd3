// A rootless launch's "cgroup": none. A normal user cannot create cgroups in the v1 hierarchies (they
// belong to root), and on v2 only in a subtree delegated to them (systemd's user@.service), which
// minidock does not use yet. So the container runs in the user's own cgroup, without limits, and a
// limit flag is refused rather than silently ignored.
import { fail } from '../../errors.js';
import type { Limits } from '../limits.js';
import { detectCgroups } from './detect.js';
import type { Cgroup } from './types.js';

/** No cgroup of its own (nothing created, joined or removed); refuses any limit in `limits`. */
export function noCgroup(name: string, limits: Limits): Cgroup {
  const mode = detectCgroups().mode;
  const given = Object.entries(limits).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (given.length) {
    fail(`${given.join(', ')}: a rootless container has no cgroup of its own (${mode === 'v1' ? 'cgroup v1: only root creates cgroups' : 'cgroup v2: minidock does not use a delegated subtree yet'}), so it cannot be limited — drop the limit flags, or run as root`);
  }
  return {
    mode, name, paths: [], fsMounts: [], writes: [],
    join: () => undefined,
    stats: () => ({}),
    oomKills: () => undefined,
    destroy: () => undefined,
  };
}
