// minidock gc: clean up after keepers that died. A container whose monitor died, or whose
// launching minidock was SIGKILLed before the monitor took over, has nobody to clean up after it:
// gc kills what is left in its cgroups and removes them. A container that ran without --rm is the
// user's: gc records it as dead (with the reason) and leaves its state, log and upper layer to rm
// or prune, as Docker keeps its dead containers. Anything else (a launch that died half-way, --rm)
// goes entirely. Exited and dead containers are not garbage. ps, inspect and the other reading
// verbs only show the truth (dead, and why); they change nothing.
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
    const who = `${shortId(r.id)}${r.name ? ` (${r.name})` : ''}`;
    if (r.kept) writeOut(`dead ${who}: ${r.why}; removed ${r.removed.join(', ') || 'nothing'}; kept until minidock rm (inspect, logs, export still work)\n`);
    else writeOut(`removed ${who}: ${r.why}; ${r.removed.join(', ')}\n`);
  }
  const cgroups = orphanCgroups();
  for (const name of cgroups) writeOut(`removed cgroup ${name}: empty, and no container of it is left\n`);
  const names = sweepNames(root);
  for (const name of names) writeOut(`released name ${name}: its container is gone\n`);
  if (!report.length && !cgroups.length && !names.length && !flags.quiet) writeOut('nothing to collect\n');
  return report.some((r) => r.removed.some((x) => x.startsWith('failed'))) ? 1 : 0;
}
