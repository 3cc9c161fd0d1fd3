import { describe, expect, it } from 'vitest';
import { csvField, mdTable, renderReport, startupGoals, summaryJson, timestampDir, toCsv, type Results } from '../../src/bench/output';
import { STARTUP_COLUMNS, parseFirstInsn, startupSummary } from '../../src/bench/experiments/startup';
import type { ExperimentResult, Row } from '../../src/bench/types';

const rows: Row[] = [
  { runtime: 'bare', image: 'busybox', rep: 0, startup_ms: 1, ttfi_ms: 0.5, ok: true },
  { runtime: 'bare', image: 'busybox', rep: 1, startup_ms: 3, ttfi_ms: 0.7, ok: true },
  { runtime: 'minidock', image: 'busybox', rep: 0, startup_ms: 50, ttfi_ms: 40, ok: true },
  { runtime: 'minidock', image: 'busybox', rep: 1, startup_ms: 70, ttfi_ms: 44, ok: true },
  { runtime: 'runc', image: 'busybox', rep: 0, startup_ms: 20, ok: true },
  { runtime: 'runc', image: 'busybox', rep: 1, startup_ms: 40, ok: true },
  { runtime: 'runc', image: 'busybox', rep: 2, startup_ms: undefined, exit_code: 1, ok: false },
];

function exp(summary = startupSummary(rows, ['bare', 'minidock', 'runc'])): ExperimentResult {
  return {
    name: 'startup', title: 'Startup', columns: STARTUP_COLUMNS, rows, summaryColumns: ['runtime', 'median_ms', 'x_bare'], summary,
    skipped: [{ experiment: 'startup', runtime: 'podman', reason: 'podman is not installed', fix: 'apt-get install -y podman' }], notes: [], startedAt: '', seconds: 1,
  };
}

describe('bench output', () => {
  it('CSV: the course columns first, RFC 4180 quoting, empty for missing', () => {
    expect(STARTUP_COLUMNS.slice(0, 4)).toEqual(['runtime', 'image', 'rep', 'startup_ms']);
    const csv = toCsv(STARTUP_COLUMNS, rows.slice(0, 1));
    expect(csv).toBe('runtime,image,rep,startup_ms,ttfi_ms,probe_ms,exit_code,ok\nbare,busybox,0,1,0.5,,,true\n');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(undefined)).toBe('');
    expect(csvField(NaN)).toBe('');
  });

  it('startup summary: medians, ratios to bare and minidock, failed runs left out', () => {
    const s = startupSummary(rows, ['bare', 'minidock', 'runc', 'podman']);
    expect(s.map((r) => r.runtime)).toEqual(['bare', 'minidock', 'runc']); // podman had no rows
    const md = s.find((r) => r.runtime === 'minidock')!;
    expect(md.median_ms).toBe(60);
    expect(md.x_bare).toBe(30); // 60 / 2
    expect(md.ttfi_median_ms).toBe(42);
    const runc = s.find((r) => r.runtime === 'runc')!;
    expect(runc.n).toBe(2);
    expect(runc.median_ms).toBe(30);
    expect(runc.x_minidock).toBeCloseTo(0.5, 12);
  });

  it('time to first instruction from the probe line', () => {
    expect(parseFirstInsn('firstinsn 1000500000\n', 1000000000n)).toBe(0.5); // 500000 ns
    expect(parseFirstInsn('nothing', 0n)).toBeUndefined();
  });

  it('figures to reach are checked within one run', () => {
    const g = startupGoals(exp());
    expect(g).toHaveLength(1);
    // 60 ms vs 30 ms: exactly 2.0×, which the goal allows
    expect(g[0]).toMatch(/✅ minidock ≤ 2.0× runc: minidock 60.0 ms = 2.00× runc/);
    const g2 = startupGoals(exp(startupSummary(rows.map((r) => (r.runtime === 'minidock' ? { ...r, startup_ms: 61 } : r)), ['bare', 'minidock', 'runc'])));
    expect(g2[0]).toMatch(/❌ minidock ≤ 2.0× runc: minidock 61.0 ms = 2.03× runc/);
  });

  it('markdown table and report name skipped runtimes with their fix', () => {
    const t = mdTable(['runtime', 'median_ms', 'x_bare'], [{ runtime: 'a|b', median_ms: 12.345, x_bare: 3 }]);
    expect(t).toBe('| runtime | median_ms | x_bare |\n|---|---:|---:|\n| a\\|b | 12.3 | 3.00× |\n');
    const res: Results = {
      version: 1, tool: 'minidock bench', skipped: exp().skipped, experiments: [exp()],
      env: { date: 'D', host: 'h', kernel: 'k', os: 'o', cpuModel: 'c', cpus: 2, memoryMiB: 1, cgroup: { mode: 'v1', hybrid: true, reason: 'r' }, node: 'v20', loadavgBefore: [1, 1, 1], command: 'minidock bench', flags: {}, peers: [{ name: 'podman', available: false, reason: 'podman is not installed', fix: 'apt-get install -y podman', flags: [], notes: [] }], daemons: [] },
    };
    const md = renderReport(res, new Map([['startup', ['startup.png']]]));
    expect(md).toContain('![startup](startup.png)');
    expect(md).toContain('skipped **podman**: podman is not installed — fix: `apt-get install -y podman`');
    const j = summaryJson(res) as { experiments: Record<string, Row[]>; skipped: unknown[] };
    expect(Object.keys(j.experiments)).toEqual(['startup']);
    expect(j.skipped).toHaveLength(1);
  });

  it('results directories sort by time and hold no colons', () => {
    expect(timestampDir('/r', new Date('2026-11-22T18:05:03.123Z'))).toBe('/r/2026-11-22T18-05-03');
  });
});
