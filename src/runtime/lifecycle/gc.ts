// minidock gc: remove what dead launches left behind. A container whose monitor died, or whose
// launching minidock was SIGKILLed before the monitor took over, has nobody to clean up after it:
// its cgroups (with any process still in them), any mount under its directory, and the directory.
// Exited containers are not garbage: they wait for rm or prune. ps, rm, prune and run --name run
// the same check on the way (it costs one small file read per container).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listCgroups, openCgroup } from '../cgroups/index.js';
import { gcEntries, listEntries, shortId, sweepNames } from '../store.js';
import { rootOf, type RootFlag } from './common.js';
import { writeOut } from '../../sys/output.js';

/**
 * Cgroups named minidock-<id> with no container directory left to point at them (the launching
 * minidock died between creating the cgroup and recording the container). One that is empty and
 * more than a minute old belongs to nobody: a running container's processes are in its cgroup, a
 * launch fills its cgroup within milliseconds, and exited containers keep no cgroup.
 */
function orphanCgroups(): string[] {
  const opts = { parent: process.env.MINIDOCK_CGROUP_PARENT || undefined };
  const removed: string[] = [];
  for (const name of listCgroups('minidock-', opts)) {
    const cg = openCgroup(name, opts);
    if (!cg) continue;
    const inUse = cg.paths.some((p) => {
      try {
        return readFileSync(join(p, 'cgroup.procs'), 'utf8').trim() !== '' || Date.now() - statSync(p).mtimeMs < 60_000;
      } catch {
        return false; // already gone
      }
    });
    if (inUse) continue;
    cg.destroy();
    removed.push(name);
  }
  return removed;
}

export function gc(flags: RootFlag & { quiet?: boolean }): number {
  const root = rootOf(flags);
  const report = gcEntries(root, listEntries(root));
  for (const r of report) {
    writeOut(`removed ${shortId(r.id)}${r.name ? ` (${r.name})` : ''}: ${r.why}; ${r.removed.join(', ')}\n`);
  }
  const cgroups = orphanCgroups();
  for (const name of cgroups) writeOut(`removed cgroup ${name}: empty, and no container of it is left\n`);
  const names = sweepNames(root);
  for (const name of names) writeOut(`released name ${name}: its container is gone\n`);
  if (!report.length && !cgroups.length && !names.length && !flags.quiet) writeOut('nothing to collect\n');
  return report.some((r) => r.removed.some((x) => x.startsWith('failed'))) ? 1 : 0;
}
