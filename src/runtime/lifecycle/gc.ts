// minidock gc: clean up after keepers that died. A container whose monitor died, or whose
// launching minidock was SIGKILLed before the monitor took over, has nobody to clean up after it:
// gc kills what is left in its cgroups and removes them. A container that ran without --rm is the
// user's: gc records it as dead (with the reason) and leaves its state, log and upper layer to rm
// or prune, as Docker keeps its dead containers. Anything else (a launch that died half-way, --rm)
// goes entirely. Exited and dead containers are not garbage, nor is one whose state.json cannot be
// parsed (unknown: it may run; rm -f decides). ps, inspect and the other reading verbs only show the
// truth (dead, and why); they change nothing.
//
// A launch records its cgroups in state.json before it creates them, and an import names its
// scratch directory after itself (pid + start time): whenever either is SIGKILLed, gc finds what it
// left from that record and removes it at once, as soon as the owner is gone.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listCgroups, openCgroup } from '../cgroups/index.js';
import { gcEntries, listEntries, shortId, sweepNames } from '../store.js';
import { reportUnknown, rootOf, type RootFlag } from './common.js';
import { writeOut } from '../../sys/output.js';

/**
 * Cgroups named minidock-<id> with no container directory left to point at them. A launch records
 * its cgroups before it creates them and every remover deletes the cgroups before the directory,
 * so this is a last net (cgroups of an older minidock, a removal that failed half-way); and as a
 * cgroup of another state root looks the same, only one that is empty and more than a minute old
 * is taken: a running container's processes are in its cgroup, and a launch fills its cgroup
 * within milliseconds.
 */
function orphanCgroups(): string[] {
  const opts = { parent: process.env.MINIDOCK_CGROUP_PARENT || undefined };
  const removed: string[] = [];
  for (const name of listCgroups('minidock-', opts)) {
    if (!/^minidock-[0-9a-f]{12}$/.test(name)) continue; // a container's (not a parent such as minidock-test-*)
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

export async function gc(flags: RootFlag & { quiet?: boolean }): Promise<number> {
  const root = rootOf(flags);
  const entries = listEntries(root);
  reportUnknown(entries); // left as they are
  const report = gcEntries(root, entries);
  for (const r of report) {
    const who = `${shortId(r.id)}${r.name ? ` (${r.name})` : ''}`;
    if (r.kept) writeOut(`dead ${who}: ${r.why}; removed ${r.removed.join(', ') || 'nothing'}; kept until minidock rm (inspect, logs, export still work)\n`);
    else writeOut(`removed ${who}: ${r.why}; ${r.removed.join(', ')}\n`);
  }
  const cgroups = orphanCgroups();
  for (const name of cgroups) writeOut(`removed cgroup ${name}: empty, and no container of it is left\n`);
  const names = sweepNames(root);
  for (const name of names) writeOut(`released name ${name}: its container is gone\n`);
  // an import killed mid-way: its scratch directory and pin, then the layers it committed for an
  // image it never recorded (no image, pin or container uses them)
  const { gcLayers, sweepScratch } = await import('../../image/store.js');
  const scratch = sweepScratch(root);
  for (const t of scratch) writeOut(`removed tmp/${t}: the process that made it is gone\n`);
  const layers = gcLayers(root);
  for (const l of layers) writeOut(`removed layer ${l}: no image uses it\n`);
  if (!report.length && !cgroups.length && !names.length && !scratch.length && !layers.length && !flags.quiet) writeOut('nothing to collect\n');
  return report.some((r) => r.removed.some((x) => x.startsWith('failed'))) ? 1 : 0;
}
