// Restart one container (minidock restart): stop it (SIGTERM, the grace period, SIGKILL: the stop
// library), then start it again from its recorded spec, detached (lifecycle/start.ts). Docker's
// restart of a stopped or created container just starts it; so does this one.
import type { Entry } from '../container-store/records.js';
import { entryOf } from '../container-store/listing.js';
import { MinidockError } from '../../errors.js';
import { startOne, type StartOptions } from './start.js';
import { stopOne } from './stop.js';
import { journal } from './events.js';

export async function restartOne(root: string, e: Entry, graceSec: number, ref: string, opts: StartOptions = {}) {
  await stopOne(root, e, graceSec);
  const now = entryOf(root, e.id); // after the stop: its exit recorded (or removed, with --rm)
  if (!now) throw new MinidockError(`container ${ref} was removed when it stopped (--rm): nothing to start again`, 1);
  await startOne(root, now, opts, ref);
  journal(now, 'restart');
}
