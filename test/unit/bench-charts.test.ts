// One chart rendered for real (Vega-Lite -> SVG -> PNG), checked to be a valid PNG of the expected size.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartSpecs, renderCharts } from '../../src/bench/charts';
import type { ExperimentResult, Row } from '../../src/bench/types';

const rows: Row[] = ['bare', 'minidock', 'runc'].flatMap((runtime, k) =>
  [0, 1, 2, 3].map((rep) => ({
    runtime,
    image: 'busybox',
    rep,
    startup_ms: [0.6, 55, 20][k] * (1 + rep / 10),
    ttfi_ms: [0.4, 45, 12][k],
    ok: true,
  })),
);
const startup: ExperimentResult = {
  name: 'startup',
  title: 't',
  columns: [],
  rows,
  summaryColumns: [],
  summary: [],
  skipped: [],
  notes: [],
  startedAt: '',
  seconds: 0,
};

/** PNG: 8-byte signature, then the IHDR chunk with width and height (big-endian) at offsets 16 and 20. */
function pngSize(b: Buffer): { width: number; height: number } {
  expect(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(b.toString('ascii', 12, 16)).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

describe('bench charts', () => {
  it('startup: box + strip plot on a log axis, runtimes in the given order', () => {
    const specs = chartSpecs(startup, ['bare', 'minidock', 'runc']);
    expect(specs.map((s) => s.name)).toEqual(['startup', 'startup-ttfi']);
    const layer = (
      specs[0].spec as {
        layer: Array<{ mark: unknown; encoding: { y: { scale: { type: string } }; x: { sort: string[] } } }>;
      }
    ).layer;
    expect(layer[0].encoding.y.scale.type).toBe('log');
    expect(layer[0].encoding.x.sort).toEqual(['bare', 'minidock', 'runc']);
  });

  it('renders a valid PNG (and SVG) of the expected size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-chart-'));
    try {
      const files = await renderCharts(startup, dir, ['bare', 'minidock', 'runc']);
      expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
        'startup.svg',
        'startup.png',
        'startup-ttfi.svg',
        'startup-ttfi.png',
      ]);
      const svg = readFileSync(join(dir, 'startup.svg'), 'utf8');
      expect(svg).toMatch(/^<svg/);
      expect(svg).toContain('minidock');
      // the view is 560 wide plus axes and title; rendered at 2x
      const { width, height } = pngSize(readFileSync(join(dir, 'startup.png')));
      const vb = /<svg[^>]*width="(\d+(?:\.\d+)?)"[^>]*height="(\d+(?:\.\d+)?)"/.exec(svg)!;
      expect(width).toBe(Math.round(Number(vb[1]) * 2));
      expect(height).toBe(Math.round(Number(vb[2]) * 2));
      expect(width).toBeGreaterThan(2 * 560);
      expect(height).toBeGreaterThan(2 * 320);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('every experiment has its chart spec', () => {
    const ex = (name: string, summary: Row[]): ExperimentResult => ({ ...startup, name, rows: [], summary });
    expect(chartSpecs(ex('scale', [{ runtime: 'runc', n: 1, total_ms: 40, engine_rss_mib: 0 }]))[0].name).toBe('scale');
    expect(chartSpecs(ex('overhead', [{ runtime: 'runc', workload: 'hash', overhead_pct: 2 }]))[0].name).toBe(
      'overhead',
    );
    expect(
      chartSpecs(ex('limits', [{ runtime: 'runc', test: 'memory', limit: '50M', verdict: 'exact', label: '137' }]))[0]
        .name,
    ).toBe('limits');
    expect(
      chartSpecs(ex('phases', [{ phase: 'clone', kind: 'minidock', median_ms: 5, seed_estimate_ms: 10 }]))[0].name,
    ).toBe('phases');
  });
});
