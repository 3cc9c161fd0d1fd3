// minidock kill [-s SIG] ID...: one signal (default SIGKILL) to each container's first process.
import { listEntries, resolve } from '../store.js';
import { parseSignal, rootOf, signal, refFailed, type RootFlag } from './common.js';
import { writeOut } from '../../sys/output.js';

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
      code = refFailed(err);
    }
  }
  return code;
}
