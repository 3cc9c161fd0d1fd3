// minidock gc: remove what dead launches left behind. A container whose monitor died, or whose
// launching minidock was SIGKILLed before the monitor took over, has nobody to clean up after it:
// its cgroups (with any process still in them), any mount under its directory, and the directory.
// Exited containers are not garbage: they wait for rm or prune. ps, rm, prune and run --name run
// the same check on the way (it costs one small file read per container).
import { gcEntries, listEntries, shortId } from '../store.js';
import { rootOf, type RootFlag } from './common.js';

export function gc(flags: RootFlag & { quiet?: boolean }): number {
  const root = rootOf(flags);
  const report = gcEntries(root, listEntries(root));
  for (const r of report) {
    process.stdout.write(`removed ${shortId(r.id)}${r.name ? ` (${r.name})` : ''}: ${r.why}; ${r.removed.join(', ')}\n`);
  }
  if (!report.length && !flags.quiet) process.stdout.write('nothing to collect\n');
  return report.some((r) => r.removed.some((x) => x.startsWith('failed'))) ? 1 : 0;
}
