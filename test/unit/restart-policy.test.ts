// The restart policy's pure parts (src/runtime/restart-policy.ts): --restart parsing and its
// refusals, Docker's back-off, and what the C monitor is told for one run.
import { describe, expect, it } from 'vitest';
import {
  BACKOFF_FIRST_MS,
  BACKOFF_MAX_MS,
  checkRestartWithRm,
  monitorRestartArgs,
  nextBackoffMs,
  parseRestartPolicy,
} from '../../src/runtime/restart-policy.js';
import { minidockError } from '../helpers';

describe('--restart parsing', () => {
  it("takes Docker's four policies and on-failure's maximum", () => {
    expect(parseRestartPolicy('no')).toEqual({ name: 'no', maximumRetryCount: 0 });
    expect(parseRestartPolicy('always')).toEqual({ name: 'always', maximumRetryCount: 0 });
    expect(parseRestartPolicy('unless-stopped')).toEqual({ name: 'unless-stopped', maximumRetryCount: 0 });
    expect(parseRestartPolicy('on-failure')).toEqual({ name: 'on-failure', maximumRetryCount: 0 });
    expect(parseRestartPolicy('on-failure:3')).toEqual({ name: 'on-failure', maximumRetryCount: 3 });
  });

  it('refuses anything else with one line, exit 125, naming the input', () => {
    for (const bad of ['bogus', 'On-failure', 'always:3', 'no:1', 'on-failure:', 'on-failure:-1', 'on-failure:x', '']) {
      const e = minidockError(() => parseRestartPolicy(bad));
      expect(e.code).toBe(125);
      expect(e.message).toContain(`--restart ${bad}`);
    }
  });

  it('refuses --rm with a policy other than no (Docker: Conflicting options)', () => {
    const e = minidockError(() => checkRestartWithRm(parseRestartPolicy('always'), true));
    expect(e.code).toBe(125);
    expect(e.message).toMatch(/^Conflicting options: --restart always and --rm/);
    expect(() => checkRestartWithRm(parseRestartPolicy('no'), true)).not.toThrow();
    expect(() => checkRestartWithRm(parseRestartPolicy('always'), false)).not.toThrow();
  });
});

describe("Docker's back-off", () => {
  it('100 ms first, doubling, at most a minute', () => {
    const seq: number[] = [];
    let last: number | undefined;
    for (let i = 0; i < 12; i++) seq.push((last = nextBackoffMs(last)));
    expect(seq.slice(0, 5)).toEqual([100, 200, 400, 800, 1600]);
    expect(seq[9]).toBe(51_200);
    expect(seq.slice(10)).toEqual([BACKOFF_MAX_MS, BACKOFF_MAX_MS]);
    // the monitor records 100 ms after a long run (its reset): the next is 200 again
    expect(nextBackoffMs(BACKOFF_FIRST_MS)).toBe(200);
  });
});

describe("the monitor's arguments for one run", () => {
  it('none without a policy or with no', () => {
    expect(monitorRestartArgs(undefined, 0, undefined)).toEqual([]);
    expect(monitorRestartArgs(parseRestartPolicy('no'), 0, undefined)).toEqual([]);
  });

  it('always and unless-stopped restart after any exit (no daemon restart tells them apart)', () => {
    for (const p of ['always', 'unless-stopped'])
      expect(monitorRestartArgs(parseRestartPolicy(p), 2, 200)).toEqual([
        '--restart',
        'always',
        '--restart-count',
        '2',
        '--restart-delay',
        '400',
      ]);
  });

  it('on-failure:3 restarts while fewer than 3 restarts were made, then only records the count', () => {
    const p = parseRestartPolicy('on-failure:3');
    expect(monitorRestartArgs(p, 0, undefined)).toEqual([
      '--restart',
      'on-failure',
      '--restart-count',
      '0',
      '--restart-delay',
      '100',
    ]);
    expect(monitorRestartArgs(p, 2, 200)).toContain('--restart');
    expect(monitorRestartArgs(p, 3, 400)).toEqual(['--restart-count', '3']);
    // on-failure without a maximum: no limit, as Docker
    expect(monitorRestartArgs(parseRestartPolicy('on-failure'), 1000, 60_000)).toContain('--restart');
  });
});
