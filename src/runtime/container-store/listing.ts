// Finding containers: every one under <root>/containers (listEntries), one by its ID (entryOf) or
// by what a user typed — full ID, name or unique ID prefix (resolve) — and how one is shown.
import { existsSync, readdirSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import { pathIn } from '../state-root.js';
import { containersDir, loadState, readConfig, type Entry } from './records.js';

export function listEntries(root: string): Entry[] {
  let names: string[];
  try {
    names = readdirSync(containersDir(root));
  } catch {
    return [];
  }
  const out: Entry[] = [];
  for (const id of names) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue; // staging directories start with "."
    const dir = pathIn(containersDir(root), id);
    out.push({ id, dir, config: readConfig(dir), ...loadState(dir) });
  }
  return out;
}

/** The container with this ID, if its directory exists. */
export function entryOf(root: string, id: string): Entry | undefined {
  const dir = pathIn(containersDir(root), id);
  const st = loadState(dir);
  if (!st.state && !st.stateError && !existsSync(dir)) return undefined;
  return { id, dir, config: readConfig(dir), ...st };
}

export const shortId = (id: string): string => id.slice(0, 12);
export const displayName = (e: Entry): string => e.config?.name ?? shortId(e.id);

/**
 * Find a container by full ID, name, or unique ID prefix (Docker's order). Unknown or ambiguous:
 * exit 1 with one line, as Docker's client does.
 */
export function resolve(root: string, ref: string, entries = listEntries(root)): Entry {
  if (!ref) throw new MinidockError('a container ID or name is required', 1);
  const exact = entries.find((e) => e.id === ref);
  if (exact) return exact;
  const named = entries.find((e) => e.config?.name === ref);
  if (named) return named;
  const prefix = /^[0-9a-f]+$/.test(ref) ? entries.filter((e) => e.id.startsWith(ref)) : [];
  if (prefix.length === 1) return prefix[0];
  if (prefix.length > 1) {
    throw new MinidockError(
      `container ID prefix "${ref}" is ambiguous: it matches ${prefix.map((e) => shortId(e.id)).join(', ')} — give more characters`,
      1,
    );
  }
  throw new MinidockError(`no such container: ${ref} (see minidock ps -a)`, 1);
}
