// minidock prune: remove every exited or dead container (and, on the way, what gc finds).
import { effectiveStatus, gcEntries, listEntries, removeEverything, shortId } from '../store.js';
import { rootOf, type RootFlag } from './common.js';
import { writeOut } from '../../sys/output.js';

export async function prune(flags: RootFlag): Promise<number> {
  const root = rootOf(flags);
  const gone = gcEntries(root, listEntries(root));
  const removed: string[] = gone.filter((g) => !g.kept).map((g) => g.id); // kept ones are now dead: removed below
  for (const e of listEntries(root)) {
    const st = effectiveStatus(e);
    if (st !== 'exited' && st !== 'dead') continue;
    await removeEverything(e);
    removed.push(e.id);
  }
  writeOut(removed.length ? `Deleted containers:\n${removed.map((id) => shortId(id) + '\n').join('')}` : 'Nothing to prune\n');
  return 0;
}
