// --cidfile FILE (run, create): the container's ID written to a file, as Docker does. The file must
// not exist yet (Docker: "Container ID file found"): another container may still be running under
// the ID in it. Checked before anything is made; written, exclusively, once the container exists.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { fail } from '../errors.js';

/** Refuse a FILE that exists, before anything is made. */
export function checkCidfile(path: string): void {
  if (!path) fail('--cidfile "": give the path of a file to write the container ID into');
  if (existsSync(path))
    fail(`--cidfile ${path}: Container ID file found, make sure the other container isn't running or delete ${path}`);
}

/** Write the ID (no newline, as Docker); O_EXCL: a file made since the check is not overwritten. */
export function writeCidfile(path: string, id: string): void {
  try {
    writeFileSync(path, id, { flag: 'wx', mode: 0o644 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unwritable';
    fail(
      code === 'EEXIST'
        ? `--cidfile ${path}: Container ID file found, make sure the other container isn't running or delete ${path}`
        : `--cidfile ${path}: ${code} — give a path in an existing, writable directory`,
    );
  }
}

/** The launch failed and left no container: neither does the file naming it stay. */
export function removeCidfile(path: string): void {
  rmSync(path, { force: true });
}
