// Rename a container (minidock rename OLD NEW): the new name is claimed in the name registry as a
// launch claims it (claimName: one atomic symlink, or under the state root's lock when the name
// was someone's), config.json is rewritten with it, and only then the old name is released, so
// that at no instant does the container have no name another launch could take.
import { MinidockError } from '../../errors.js';
import { claimName } from '../container-store/create.js';
import { displayName } from '../container-store/listing.js';
import { withLock } from '../container-store/locks.js';
import { checkName, releaseName } from '../container-store/names.js';
import { readConfig, writeJsonAtomic, type Entry } from '../container-store/records.js';
import { pathIn } from '../state-root.js';
import { journal } from './events.js';

export function renameContainer(root: string, e: Entry, newName: string): void {
  const old = e.config?.name;
  if (old === newName)
    throw new MinidockError(`container ${displayName(e)} is already named ${newName}: give another name`, 1);
  checkName(newName);
  claimName(root, newName, e.id);
  try {
    withLock(root, () => {
      const c = readConfig(e.dir);
      if (!c) throw new MinidockError(`container ${displayName(e)} is gone, or its config.json cannot be read`, 1);
      writeJsonAtomic(pathIn(e.dir, 'config.json'), { ...c, name: newName });
    });
  } catch (err) {
    releaseName(root, newName, e.id);
    throw err;
  }
  releaseName(root, old, e.id);
  journal({ ...e, config: e.config && { ...e.config, name: newName } }, 'rename', { oldName: old ?? '' });
}
