// Remove every exited or dead container (minidock prune), and, on the way, what gc finds.
import { effectiveStatus, gcEntries, listEntries, lockContainer, removeEverything, unlockContainer, type Entry } from '../store.js';

/** The IDs removed, and the containers left alone because their state.json cannot be parsed
 * (unknown: they may run; rm -f decides). */
export async function pruneContainers(root: string): Promise<{ removed: string[]; unreadable: Entry[] }> {
  const gone = gcEntries(root, listEntries(root));
  const removed: string[] = gone.filter((g) => !g.kept).map((g) => g.id); // kept ones are now dead: removed below
  const entries = listEntries(root);
  for (const e of entries) {
    const st = effectiveStatus(e);
    if (st !== 'exited' && st !== 'dead') continue;
    if (!lockContainer(e.dir)) continue; // an rm is at it
    try {
      await removeEverything(e);
    } finally {
      unlockContainer(e.dir);
    }
    removed.push(e.id);
  }
  return { removed, unreadable: entries.filter((e) => e.stateError) };
}
