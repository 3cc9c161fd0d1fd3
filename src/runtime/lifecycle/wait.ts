// Wait for one container to exit (minidock wait): its exit code, or why it cannot be known.
import { MinidockError } from '../../errors.js';
import { displayName } from '../container-store/listing.js';
import type { Entry } from '../container-store/records.js';
import { deadReason } from '../container-store/staleness.js';
import { waitExit } from './common.js';

/** Block until the container exits and return its exit code; throws (code 1) when that code cannot
 * be known: an unreadable state.json, a removal (--rm) before the read, a dead container. */
export async function waitContainer(e: Entry, ref = displayName(e)): Promise<number> {
  if (e.stateError)
    throw new MinidockError(
      `container ${ref}: ${e.stateError}, so its exit cannot be known (minidock rm -f removes it)`,
      1,
    );
  const s = await waitExit(e);
  if (!s) throw new MinidockError(`container ${ref} was removed (--rm) before its exit code could be read`, 1);
  if (s.status !== 'exited')
    throw new MinidockError(`container ${ref} is dead: ${deadReason({ ...e, state: s })} (minidock rm removes it)`, 1);
  return s.exitCode!;
}
