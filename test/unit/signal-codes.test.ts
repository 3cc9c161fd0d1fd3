// A child killed by a signal, as the shell reports it (sys/constants.ts shellCodeOfSignal): the
// bench's timer and the lesson runner both turn Node's signal name into 128 + N. Checked against
// Node's own table for every standard signal, and on real children killed by the kernel.
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { SIGNALS, shellCodeOfSignal } from '../../src/sys/constants';

describe('shellCodeOfSignal', () => {
  it("agrees with Node's signal numbers for every signal of the table", () => {
    for (const name of Object.keys(SIGNALS)) {
      const n = (constants.signals as Record<string, number>)[name];
      if (n !== undefined) expect(shellCodeOfSignal(name), name).toBe(128 + n);
    }
  });

  it.each([
    ['KILL', 137],
    ['PIPE', 141],
    ['ABRT', 134],
    ['TERM', 143],
    ['SYS', 159],
  ])(
    'a shell killed by SIG%s reads as %i (the bench used to know five signals and said 128 for the rest)',
    (sig, code) => {
      const r = spawnSync('/bin/sh', ['-c', `kill -${sig} $$`]);
      expect(r.signal).toBe(`SIG${sig}`);
      expect(shellCodeOfSignal(r.signal!)).toBe(code);
    },
  );
});
