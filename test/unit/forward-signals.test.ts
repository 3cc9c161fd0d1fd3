// The notice minidock prints when it forwards a signal that the container's PID 1 will ignore.
import { describe, expect, it } from 'vitest';
import { catchesSignal, ignoredSignalNotice } from '../../src/runtime/process';

// /proc/PID/status lines as the kernel writes them (bit N-1 of SigCgt: signal N has a handler)
const status = (sigcgt: string) =>
  `Name:\tsh\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000004\nSigCgt:\t${sigcgt}\n`;

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
    expect(line).toMatch(
      /^SIGINT forwarded to the container's PID 1 \(sleep\), which has no handler for it and so ignores it .*SIGKILL follows in 1\.5 s \(--stop-timeout\) — run a PID 1 that handles the signal/,
    );
    expect(line).not.toContain('\n');
    expect(line).not.toContain('--init'); // minidock has no --init (yet)
  });
});

describe('forwardSignals: the library hands the notice to the command, it prints nothing itself', () => {
  it('a signal the target does not handle: forwarded, and onIgnored gets the line (a real `sleep`)', async () => {
    const { spawn } = await import('node:child_process');
    const { forwardSignals } = await import('../../src/runtime/process');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((r) => sleeper.once('spawn', r));
    await new Promise((r) => setTimeout(r, 100)); // exec'd: /proc/PID/status names sleep
    const lines: string[] = [];
    const writes: unknown[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: unknown) => (writes.push(chunk), true)) as typeof process.stderr.write;
    const undo = forwardSignals(
      () => sleeper.pid ?? -1,
      60_000,
      (line) => lines.push(line),
    );
    try {
      const died = new Promise((r) => sleeper.once('exit', (_code, sig) => r(sig)));
      process.kill(process.pid, 'SIGUSR2');
      expect(await died).toBe('SIGUSR2'); // forwarded: sleep has no handler, so it dies of it
    } finally {
      undo();
      process.stderr.write = write;
    }
    expect(lines).toEqual([ignoredSignalNotice('SIGUSR2', 'sleep', 60_000)]);
    expect(writes).toEqual([]);
  });
});
