// minidock kill [-s SIG] ID...: one signal (default SIGKILL) to each container's first process.
import { MinidockError } from '../../errors.js';
import { listEntries, resolve } from '../store.js';
import { parseSignal, rootOf, signal, type RootFlag } from './common.js';
import { writeErr, writeOut } from '../../sys/output.js';

export interface KillFlags extends RootFlag {
  signal?: string;
}

export function kill(refs: string[], flags: KillFlags): number {
  const sig = parseSignal(flags.signal ?? 'KILL');
  const root = rootOf(flags);
  const entries = listEntries(root);
  let code = 0;
  for (const ref of refs) {
    try {
      signal(resolve(root, ref, entries), sig);
      writeOut(ref + '\n');
    } catch (err) {
      writeErr(`minidock: ${(err as Error).message}\n`);
      code = err instanceof MinidockError ? err.code : 1;
    }
  }
  return code;
}
