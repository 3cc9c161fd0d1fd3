// minidock prune: remove every exited or dead container (and, on the way, what gc finds).
import { effectiveStatus, gcEntries, listEntries, lockContainer, removeEverything, shortId, unlockContainer } from '../store.js';
import { reportUnknown, rootOf, type RootFlag } from './common.js';
import { writeOut } from '../../sys/output.js';

export async function prune(flags: RootFlag): Promise<number> {
  const root = rootOf(flags);
  const gone = gcEntries(root, listEntries(root));
  const removed: string[] = gone.filter((g) => !g.kept).map((g) => g.id); // kept ones are now dead: removed below
  const entries = listEntries(root);
  reportUnknown(entries); // unknown ones are not pruned: they may run (rm -f decides)
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
  writeOut(removed.length ? `Deleted containers:\n${removed.map((id) => shortId(id) + '\n').join('')}` : 'Nothing to prune\n');
  return 0;
}
