import { describe, expect, it } from 'vitest';
import {
  fmtMs,
  fmtRatio,
  median,
  overheadPercent,
  quantile,
  ratio,
  stddev,
  summarize,
  summarizeBy,
  withinNoise,
} from '../../src/bench/stats';

describe('bench statistics (hand-computed values)', () => {
  it('median of odd and even samples', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5); // (2 + 3) / 2
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it('quantiles interpolate linearly between closest ranks (type 7)', () => {
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    // position (n-1)q = 9 * 0.25 = 2.25 -> 3 + 0.25 * (4 - 3)
    expect(quantile(v, 0.25)).toBeCloseTo(3.25, 12);
    // 9 * 0.75 = 6.75 -> 7 + 0.75 * (8 - 7)
    expect(quantile(v, 0.75)).toBeCloseTo(7.75, 12);
    expect(quantile(v, 0)).toBe(1);
    expect(quantile(v, 1)).toBe(10);
    expect(() => quantile(v, 1.5)).toThrow(RangeError);
  });

  it('summarize: median, IQR, min, max, mean, sd of a sample with an outlier', () => {
    const s = summarize([20, 22, 19, 21, 80]);
    // sorted 19 20 21 22 80: q1 at 4*0.25 = 1 -> 20, q3 at 3 -> 22
    expect(s).toMatchObject({ n: 5, median: 21, q1: 20, q3: 22, iqr: 2, min: 19, max: 80 });
    expect(s.mean).toBeCloseTo(32.4, 12); // 162 / 5
    // deviations: -12.4 -10.4 -11.4 -13.4 47.6; squares 153.76 + 108.16 + 129.96 + 179.56 + 2265.76 = 2837.2; / 4 = 709.3
    expect(s.stddev).toBeCloseTo(Math.sqrt(709.3), 10);
    expect(stddev([3])).toBe(0);
  });

  it('ratios and overhead percentages', () => {
    expect(ratio(30, 10)).toBe(3);
    expect(ratio(1, 0)).toBeUndefined();
    expect(ratio(undefined, 2)).toBeUndefined();
    expect(overheadPercent(110, 100)).toBeCloseTo(10, 12);
    expect(overheadPercent(90, 100)).toBeCloseTo(-10, 12);
  });

  it('within noise: medians closer than the larger IQR', () => {
    const a = summarize([10, 11, 12, 13, 14]); // median 12, iqr 2
    const b = summarize([13, 13.5, 14, 14.5, 15]); // median 14, iqr 1
    expect(withinNoise(a, b)).toBe(true); // |12 - 14| = 2 <= 2
    const c = summarize([15, 15.5, 16, 16.5, 17]);
    expect(withinNoise(a, c)).toBe(false); // 4 > 2
  });

  it('summarizeBy groups and skips missing values', () => {
    const m = summarizeBy(
      [
        { k: 'a', v: 1 },
        { k: 'a', v: 3 },
        { k: 'b', v: undefined },
        { k: 'b', v: 5 },
      ],
      (r) => r.k,
      (r) => r.v,
    );
    expect(m.get('a')!.median).toBe(2);
    expect(m.get('b')!.n).toBe(1);
  });

  it('formats ms and ratios for tables', () => {
    expect(fmtMs(123.456)).toBe('123');
    expect(fmtMs(12.345)).toBe('12.3');
    expect(fmtMs(1.2345)).toBe('1.23');
    expect(fmtMs(undefined)).toBe('—');
    expect(fmtRatio(2.5)).toBe('2.50×');
    expect(fmtRatio(256)).toBe('256×');
  });
});
