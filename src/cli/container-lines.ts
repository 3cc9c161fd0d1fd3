// Lines the container verbs (stop, kill, rm, wait, inspect, ps, prune, gc) print about one
// container: one that failed among several, one whose state.json cannot be parsed.
import { MinidockError } from '../errors.js';
import { listEntries, resolve, shortId } from '../runtime/container-store/listing.js';
import type { Entry } from '../runtime/container-store/records.js';
import { writeErr, writeOut } from '../sys/output.js';

/**
 * One container of a verb given several (stop, kill, rm, wait, inspect) failed: its line now, and
 * the code the verb exits with unless a later one fails too, as Docker's client does — the error's
 * own code, or 1 for a failure that is not one of minidock's lines.
 */
export function refFailed(err: unknown): number {
  writeErr(`minidock: ${(err as Error).message}\n`);
  return err instanceof MinidockError ? err.code : 1;
}

/**
 * A verb's work on each container named, one after the other (kill, rm, wait): `act` returns the
 * container's line on stdout; a container that fails gets its line on stderr (refFailed) and the
 * verb goes on with the next. Returns the code the verb exits with.
 */
export async function eachContainer(
  root: string,
  refs: string[],
  act: (entry: Entry, ref: string) => Promise<string> | string,
): Promise<number> {
  const entries = listEntries(root);
  let code = 0;
  for (const ref of refs) {
    try {
      writeOut(`${await act(resolve(root, ref, entries), ref)}\n`);
    } catch (err) {
      code = refFailed(err);
    }
  }
  return code;
}

/** One line on stderr per container whose state.json cannot be parsed (shown as "unknown"): the
 * file, why, and the way out. Nothing is changed: a reading verb never repairs or deletes. */
export function reportUnknown(entries: Entry[]): void {
  for (const e of entries) {
    if (e.stateError)
      writeErr(
        `minidock: ${e.stateError}: container ${shortId(e.id)} is shown as unknown — minidock rm -f ${shortId(e.id)} stops what is in its cgroups and removes it\n`,
      );
  }
}
