// chartSpecs for every experiment (pure, no rendering): which charts each result gets, and when it
// gets none; the sizes that follow from the data; the order of runtimes and cases on the axes.
import { describe, expect, it } from 'vitest';
import { chartSpecs } from '../../src/bench/charts';
import type { ExperimentResult, Row } from '../../src/bench/types';

const result = (name: string, rows: Row[], summary: Row[] = []): ExperimentResult => ({
  name,
  title: name,
  columns: [],
  rows,
  summaryColumns: [],
  summary,
  skipped: [],
  notes: [],
  startedAt: '',
  seconds: 0,
});
const names = (e: ExperimentResult, runtimes?: string[]) => chartSpecs(e, runtimes).map((c) => c.name);
/** A path into a spec, e.g. at(spec, 'layer', 0, 'encoding'). */
const at = (v: unknown, ...path: (string | number)[]): unknown =>
  path.reduce((o, k) => (o as Record<string | number, unknown>)[k], v);

describe('chartSpecs, experiment by experiment', () => {
  it('startup: the time-to-first-instruction chart only when measured; runtimes in order of appearance', () => {
    const rows = [
      { runtime: 'runc', startup_ms: 20 },
      { runtime: 'minidock', startup_ms: 50 },
      { runtime: 'runc', startup_ms: 'n/a' },
    ];
    expect(names(result('startup', rows))).toEqual(['startup']);
    expect(names(result('startup', [...rows, { runtime: 'runc', startup_ms: 1, ttfi_ms: 1 }]))).toEqual([
      'startup',
      'startup-ttfi',
    ]);
    const [c] = chartSpecs(result('startup', rows));
    expect(at(c.spec, 'layer', 0, 'encoding', 'x', 'sort')).toEqual(['runc', 'minidock']);
    expect(at(c.spec, 'data', 'values')).toHaveLength(2); // the row without a number is left out
    expect(names(result('startup', [{ runtime: 'runc', startup_ms: 'failed' }]))).toEqual([]);
  });

  it('unpack: one box plot, none without numbers', () => {
    expect(names(result('unpack', [{ runtime: 'minidock', unpack_ms: 300 }]))).toEqual(['unpack']);
    expect(names(result('unpack', [{ runtime: 'minidock' }]))).toEqual([]);
  });

  it('phases: minidock and child phases only, one 22-pixel row each, in the order given', () => {
    const summary = [
      { phase: 'clone', kind: 'minidock', median_ms: 1 },
      { phase: 'total', kind: 'sum', median_ms: 9 },
      { phase: 'pivot_root', kind: 'child', median_ms: 2 },
    ];
    const [c, ...more] = chartSpecs(result('phases', [], summary));
    expect(more).toEqual([]);
    expect(c.name).toBe('phases');
    expect(at(c.spec, 'height')).toBe(44);
    expect(at(c.spec, 'layer', 0, 'encoding', 'y', 'sort')).toEqual(['clone', 'pivot_root']);
    expect(at(c.spec, 'layer', 1, 'encoding', 'x', 'field')).toBe('seed_estimate_ms');
    expect(names(result('phases', [], [{ phase: 'total', kind: 'sum' }]))).toEqual([]);
  });

  it('scale: total time on a log axis; the memory chart only when RSS was measured', () => {
    const summary = [
      { runtime: 'runc', n: 1, total_ms: 40 },
      { runtime: 'runc', n: 5, total_ms: 200 },
    ];
    expect(names(result('scale', [], summary))).toEqual(['scale']);
    const withRss = summary.map((r) => ({ ...r, engine_rss_mib: 30 }));
    const charts = chartSpecs(result('scale', [], withRss), ['minidock', 'runc']);
    expect(charts.map((c) => c.name)).toEqual(['scale', 'scale-memory']);
    expect(at(charts[0].spec, 'encoding', 'y', 'scale', 'type')).toBe('log');
    expect(at(charts[1].spec, 'encoding', 'color', 'sort')).toEqual(['minidock', 'runc']);
    expect(names(result('scale', [], [{ runtime: 'runc', n: 1 }]))).toEqual([]);
  });

  it('overhead: bars per runtime, offset by workload', () => {
    const [c] = chartSpecs(result('overhead', [], [{ runtime: 'runc', workload: 'hash', overhead_pct: 2 }]));
    expect(c.name).toBe('overhead');
    expect(at(c.spec, 'encoding', 'xOffset', 'field')).toBe('workload');
    expect(names(result('overhead', [], [{ runtime: 'runc', workload: 'hash' }]))).toEqual([]);
  });

  it('limits: one column per case (at least 320 px), one 34-pixel row per runtime, every verdict coloured', () => {
    const summary = [
      { runtime: 'minidock', test: 'memory', limit: '50M', verdict: 'exact', label: '50M' },
      { runtime: 'runc', test: 'memory', limit: '50M', verdict: 'off', label: '70M' },
      { runtime: 'runc', test: 'cpus', limit: '0.5', verdict: 'close', label: '0.52' },
      { runtime: 'runc', test: 'pids', limit: '10' },
    ];
    const [c] = chartSpecs(result('limits', [], summary));
    expect(c.name).toBe('limits');
    expect(at(c.spec, 'width')).toBe(320);
    expect(at(c.spec, 'height')).toBe(68);
    expect(at(c.spec, 'encoding', 'x', 'sort')).toEqual(['memory 50M', 'cpus 0.5']);
    const scale = at(c.spec, 'layer', 0, 'encoding', 'color', 'scale') as { domain: string[]; range: string[] };
    expect(scale.domain).toHaveLength(8);
    expect(scale.range).toHaveLength(scale.domain.length);
    const wide = Array.from({ length: 6 }, (_, i) => ({
      runtime: 'runc',
      test: `t${i}`,
      limit: 'x',
      verdict: 'exact',
    }));
    expect(at(chartSpecs(result('limits', [], wide))[0].spec, 'width')).toBe(420);
    expect(names(result('limits', [], [{ runtime: 'runc', test: 'pids', limit: '10' }]))).toEqual([]);
  });

  it('an experiment without charts gets none', () => {
    expect(names(result('memory-swap', [{ runtime: 'runc', startup_ms: 1 }]))).toEqual([]);
    expect(names(result('constructor', []))).toEqual([]);
  });
});
