// The notice minidock prints when it forwards a signal that the container's PID 1 will ignore.
import { describe, expect, it } from 'vitest';
import { catchesSignal, ignoredSignalNotice } from '../../src/runtime/process';

// /proc/PID/status lines as the kernel writes them (bit N-1 of SigCgt: signal N has a handler)
const status = (sigcgt: string) => `Name:\tsh\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000004\nSigCgt:\t${sigcgt}\n`;

describe('catchesSignal', () => {
  it('reads SigCgt: a handler for SIGINT (2) and SIGTERM (15)', () => {
    const s = status('0000000000004002'); // bits 1 and 14
    expect(catchesSignal(s, 2)).toBe(true);
    expect(catchesSignal(s, 15)).toBe(true);
    expect(catchesSignal(s, 1)).toBe(false);
    expect(catchesSignal(s, 3)).toBe(false);
  });

  it('an ignored signal (SigIgn) is not caught, and no handler at all means none caught', () => {
    expect(catchesSignal(status('0000000000000000'), 3)).toBe(false); // SIGQUIT is in SigIgn above
    expect(catchesSignal(status('0000000000000000'), 2)).toBe(false);
  });

  it('reads high signals (64-bit mask)', () => {
    expect(catchesSignal(status('8000000000000000'), 64)).toBe(true);
    expect(catchesSignal(status('8000000000000000'), 63)).toBe(false);
  });
});

describe('ignoredSignalNotice', () => {
  it('names the signal, PID 1, the delay before SIGKILL, and what to do, on one line', () => {
    const line = ignoredSignalNotice('SIGINT', 'sleep', 1500);
    expect(line).toMatch(/^SIGINT forwarded to the container's PID 1 \(sleep\), which has no handler for it and so ignores it .*SIGKILL follows in 1\.5 s \(--stop-timeout\) — run a PID 1 that handles the signal/);
    expect(line).not.toContain('\n');
    expect(line).not.toContain('--init'); // minidock has no --init (yet)
  });
});
