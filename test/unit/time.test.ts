// isoNow(): Date#toISOString() by arithmetic (src/sys/time.ts says why). Compared with V8's own.
import { describe, expect, it } from 'vitest';
import { isoNow } from '../../src/sys/time';

describe('isoNow', () => {
  it('matches Date#toISOString() at the edges: the epoch, leap days, century rules, year 9999', () => {
    const edges = [
      '1970-01-01T00:00:00.000Z',
      '1972-02-29T12:34:56.789Z',
      '1999-12-31T23:59:59.999Z',
      '2000-02-29T00:00:00.001Z',
      '2000-03-01T00:00:00.000Z',
      '2100-02-28T23:59:59.999Z',
      '2100-03-01T00:00:00.000Z',
      '2026-11-22T21:51:22.152Z',
      '9999-12-31T23:59:59.999Z',
    ];
    for (const e of edges) expect(isoNow(Date.parse(e))).toBe(e);
  });

  it('matches Date#toISOString() for 100000 random times between 1970 and 9999', () => {
    let x = 42; // xorshift32: the same times at every run
    const rnd = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    const max = Date.parse('9999-12-31T23:59:59.999Z');
    for (let i = 0; i < 100_000; i++) {
      const ms = Math.floor(rnd() * max);
      if (isoNow(ms) !== new Date(ms).toISOString()) expect(isoNow(ms)).toBe(new Date(ms).toISOString());
    }
    const now = Date.now();
    expect(isoNow(now)).toBe(new Date(now).toISOString());
  });
});
