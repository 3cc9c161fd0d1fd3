// Remove every exited or dead container (minidock prune), and, on the way, what gc finds.
import { gcEntries } from '../container-store/gc.js';
import { listEntries } from '../container-store/listing.js';
import { lockContainer, unlockContainer } from '../container-store/locks.js';
import type { Entry } from '../container-store/records.js';
import { removeEverything } from '../container-store/removal.js';
import { effectiveStatus } from '../container-store/staleness.js';
import { journal } from './events.js';

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
      journal(e, 'destroy');
    } finally {
      unlockContainer(e.dir);
    }
    removed.push(e.id);
  }
  return { removed, unreadable: entries.filter((e) => e.stateError) };
}
