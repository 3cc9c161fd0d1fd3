// minidock wait ID...: block until each container exits, print its exit code.
import { MinidockError } from '../../errors.js';
import { deadReason, listEntries, resolve } from '../store.js';
import { rootOf, waitExit, refFailed, type RootFlag } from './common.js';
import { writeOut } from '../../sys/output.js';

export async function wait(refs: string[], flags: RootFlag): Promise<number> {
  const root = rootOf(flags);
  const entries = listEntries(root);
  let code = 0;
  for (const ref of refs) {
    try {
      const e = resolve(root, ref, entries);
      if (e.stateError) throw new MinidockError(`container ${ref}: ${e.stateError}, so its exit cannot be known (minidock rm -f removes it)`, 1);
      const s = await waitExit(e);
      if (!s) throw new MinidockError(`container ${ref} was removed (--rm) before its exit code could be read`, 1);
      if (s.status !== 'exited') throw new MinidockError(`container ${ref} is dead: ${deadReason({ ...e, state: s })} (minidock rm removes it)`, 1);
      writeOut(`${s.exitCode}\n`);
    } catch (err) {
      code = refFailed(err);
    }
  }
  return code;
}
