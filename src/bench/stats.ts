// The benchmark's statistics, in one small module that the tests check against hand-computed values.
//
// Why median and IQR, not mean and standard deviation: launch times have a long right tail (a page
// fault storm, another tenant on the 2 shared cores, an RCU grace period that waits for a busy CPU).
// One 80 ms outlier moves the mean of twenty 20 ms runs by 3 ms; it does not move the median at all.
// The interquartile range (Q3 - Q1) is the matching measure of spread: the middle half of the runs.

/** Quantile with linear interpolation between closest ranks (R's type 7, numpy's default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  if (q < 0 || q > 1) throw new RangeError(`quantile: q=${q} is outside [0, 1]`);
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (v: readonly number[]): number => quantile(v, 0.5);

export function mean(v: readonly number[]): number {
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

/** Sample standard deviation (n - 1). */
export function stddev(v: readonly number[]): number {
  if (v.length < 2) return v.length ? 0 : NaN;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

export interface Summary {
  n: number;
  median: number;
  q1: number;
  q3: number;
  iqr: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
}

export function summarize(values: readonly number[]): Summary {
  const q1 = quantile(values, 0.25);
  const q3 = quantile(values, 0.75);
  return {
    n: values.length,
    median: median(values),
    q1,
    q3,
    iqr: q3 - q1,
    min: values.length ? Math.min(...values) : NaN,
    max: values.length ? Math.max(...values) : NaN,
    mean: mean(values),
    stddev: stddev(values),
  };
}

/** a / b of two medians; undefined when either side is missing or b is 0 (a ratio to nothing is no ratio). */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

/** Percent overhead of `value` over `baseline`: +10 means 10 % slower. */
export function overheadPercent(value: number | undefined, baseline: number | undefined): number | undefined {
  const r = ratio(value, baseline);
  return r === undefined ? undefined : (r - 1) * 100;
}

/**
 * Is the difference between two samples within noise? We call it noise when the medians differ by
 * less than the larger of the two IQRs — a deliberately simple rule a student can check by hand.
 */
export function withinNoise(a: Summary, b: Summary): boolean {
  return Math.abs(a.median - b.median) <= Math.max(a.iqr, b.iqr);
}

/** Group rows by a key and summarize one numeric field per group. */
export function summarizeBy<T>(
  rows: readonly T[],
  key: (r: T) => string,
  value: (r: T) => number | undefined,
): Map<string, Summary> {
  const groups = new Map<string, number[]>();
  for (const r of rows) {
    const v = value(r);
    if (v === undefined || !Number.isFinite(v)) continue;
    const k = key(r);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(v);
  }
  const out = new Map<string, Summary>();
  for (const [k, g] of groups) out.set(k, summarize(g));
  return out;
}

/** Format a number of milliseconds for tables: 3 significant digits, never exponent notation. */
export function fmtMs(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function fmtRatio(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return v >= 10 ? `${v.toFixed(0)}×` : `${v.toFixed(2)}×`;
}
