import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartSpecs } from '../../src/bench/charts';
import { reportCommand } from '../../src/cli/bench';
import { UNPACK_COLUMNS, unpackExperiment } from '../../src/bench/experiments/unpack';
import type { RunResult, UnpackBenchResult } from '../../src/image/unpack-bench-results';
import {
  csvField,
  loadWarning,
  mdTable,
  renderReport,
  resultsLine,
  startupGoals,
  summaryJson,
  timestampDir,
  toCsv,
  writeResults,
  type Results,
} from '../../src/bench/output';
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
    name: 'startup',
    title: 'Startup',
    columns: STARTUP_COLUMNS,
    rows,
    summaryColumns: ['runtime', 'median_ms', 'x_bare'],
    summary,
    skipped: [
      { experiment: 'startup', runtime: 'podman', reason: 'podman is not installed', fix: 'apt-get install -y podman' },
    ],
    notes: [],
    startedAt: '',
    seconds: 1,
  };
}

describe('bench output', () => {
  it('CSV: the course columns first, RFC 4180 quoting, empty for missing', () => {
    expect(STARTUP_COLUMNS.slice(0, 4)).toEqual(['runtime', 'image', 'rep', 'startup_ms']);
    const csv = toCsv(STARTUP_COLUMNS, rows.slice(0, 1));
    expect(csv).toBe(
      'runtime,image,rep,startup_ms,ttfi_ms,probe_ms,exit_code,ok,network\nbare,busybox,0,1,0.5,,,true,\n',
    );
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
    const g2 = startupGoals(
      exp(
        startupSummary(
          rows.map((r) => (r.runtime === 'minidock' ? { ...r, startup_ms: 61 } : r)),
          ['bare', 'minidock', 'runc'],
        ),
      ),
    );
    expect(g2[0]).toMatch(/❌ minidock ≤ 2.0× runc: minidock 61.0 ms = 2.03× runc/);
  });

  it("the bridge's goal is met only when the medians' difference and the paired median both say so", () => {
    const withBridge = (bridgeMedian: number, paired: number): ExperimentResult => ({
      ...exp([
        { runtime: 'minidock', median_ms: 100 },
        { runtime: 'minidock (bridge)', median_ms: bridgeMedian },
      ]),
      tables: [
        { title: 'What the bridge adds', columns: [], rows: [{ runtime: 'minidock', paired_median_ms: paired }] },
      ],
    });
    expect(startupGoals(withBridge(104, 4.5))[0]).toBe(
      "- ✅ minidock's bridge launch ≤ 5 ms over --network none: minidock --network bridge 104 ms, none 100 ms: +4.00 ms, paired median +4.50 ms",
    );
    // a disturbed run: the medians agree, the pairs do not
    expect(startupGoals(withBridge(96.3, 8.43))[0]).toMatch(/^- ❌ .*: -3\.70 ms, paired median \+8\.43 ms$/);
    expect(startupGoals(withBridge(106, 4))[0]).toMatch(/^- ❌ /);
  });

  it('markdown table and report name skipped runtimes with their fix', () => {
    const t = mdTable(['runtime', 'median_ms', 'x_bare'], [{ runtime: 'a|b', median_ms: 12.345, x_bare: 3 }]);
    expect(t).toBe('| runtime | median_ms | x_bare |\n|---|---:|---:|\n| a\\|b | 12.3 | 3.00× |\n');
    const res: Results = {
      version: 1,
      tool: 'minidock bench',
      skipped: exp().skipped,
      experiments: [exp()],
      env: {
        date: 'D',
        host: 'h',
        kernel: 'k',
        os: 'o',
        cpuModel: 'c',
        cpus: 2,
        memoryMiB: 1,
        cgroup: { mode: 'v1', hybrid: true, reason: 'r' },
        node: 'v20',
        loadavgBefore: [1, 1, 1],
        command: 'minidock bench',
        flags: {},
        peers: [
          {
            name: 'podman',
            available: false,
            reason: 'podman is not installed',
            fix: 'apt-get install -y podman',
            flags: [],
            notes: [],
          },
        ],
        daemons: [],
      },
    };
    const md = renderReport(res, new Map([['startup', ['startup.png']]]));
    expect(md).toContain('![startup](startup.png)');
    expect(md).toContain('skipped **podman**: podman is not installed — fix: `apt-get install -y podman`');
    const j = summaryJson(res) as { experiments: Record<string, Row[]>; skipped: unknown[] };
    expect(Object.keys(j.experiments)).toEqual(['startup']);
    expect(j.skipped).toHaveLength(1);
  });

  it('warns of a busy host: 1-minute load average above the CPU count at the start or end of an experiment', () => {
    const env = {
      date: 'D',
      host: 'h',
      kernel: 'k',
      os: 'o',
      cpuModel: 'c',
      cpus: 2,
      memoryMiB: 1,
      cgroup: { mode: 'v1', hybrid: true, reason: 'r' },
      node: 'v20',
      loadavgBefore: [1, 1, 1],
      command: 'minidock bench',
      flags: {},
      peers: [],
      daemons: [],
    };
    const busy = { ...exp(), loadavg: { start: [17.2, 9, 4], end: [16.8, 10, 5] } };
    const quiet = { ...exp(), loadavg: { start: [0.4, 0.3, 0.2], end: [1.9, 0.5, 0.3] } };
    expect(loadWarning(busy, 2)).toMatch(
      /^⚠️ host busy: load average 17.2 at the start and 16.8 at the end of this experiment, on 2 CPUs/,
    );
    expect(loadWarning(quiet, 2)).toBeUndefined();
    expect(loadWarning({ ...quiet, loadavg: { start: [0.4], end: [2.5] } }, 2)).toMatch(
      /0.4 at the start and 2.5 at the end/,
    ); // busy by its end
    expect(loadWarning(exp(), 2)).toBeUndefined(); // not recorded (an old results.json)
    const md = renderReport({ version: 1, tool: 'minidock bench', skipped: [], env, experiments: [busy] }, new Map());
    expect(md).toContain('> ⚠️ host busy: load average 17.2');
    expect(md).toContain('_Load average (1, 5, 15 min) at the start: 17.2 9 4; at the end: 16.8 10 5._');
    expect(
      renderReport({ version: 1, tool: 'minidock bench', skipped: [], env, experiments: [quiet] }, new Map()),
    ).not.toContain('host busy');
  });

  it('the closing line names only the kinds of files written', () => {
    expect(resultsLine('/r', ['/r/a.csv', '/r/results.json', '/r/report.md'])).toBe(
      'results: /r (3 files: CSV, results.json, report.md)',
    );
    expect(resultsLine('/r', ['/r/a.csv', '/r/a.svg', '/r/a.png', '/r/results.json', '/r/report.md'])).toBe(
      'results: /r (5 files: CSV, results.json, charts, report.md)',
    );
  });

  it('results directories sort by time and hold no colons', () => {
    expect(timestampDir('/r', new Date('2026-11-22T18:05:03.123Z'))).toBe('/r/2026-11-22T18-05-03');
  });
});

describe('bench unpack through the same writer', () => {
  const run = (n: number, ms: number, cpu: number): RunResult => ({
    run: n,
    ms,
    samples: 3,
    entries: 297,
    bytes: 1985716,
    cpuPct: { avg: cpu, min: cpu - 5, max: cpu + 5 },
    rssMiB: { avg: 60, min: 55, max: 60 + n },
    procs: { avg: 1, min: 1, max: 1 },
    threads: { avg: 11, min: 11, max: 11 },
  });
  const raw: UnpackBenchResult = {
    file: '/x/busybox.tar',
    format: 'docker-archive',
    layers: 3,
    storedBytes: 2 * 1048576,
    tarBytes: 1985716,
    runs: 3,
    intervalMs: 100,
    env: { kernel: 'k', node: 'v20', cpu: 'c', cpus: 2 },
    results: [
      { runtime: 'minidock', runs: [run(1, 120, 100), run(2, 100, 110), run(3, 140, 90)] },
      { runtime: 'ctr', runs: [run(1, 200, 80), run(2, 180, 90)] },
      { runtime: 'podman', skipped: 'not measured here', install: 'apt-get install -y podman', runs: [] },
    ],
  };

  it('rows per run, a summary per runtime with median and ratio, skips with their fix', () => {
    const e = unpackExperiment(raw, 'T', 1.5);
    expect(e.name).toBe('unpack');
    expect(e.rows.map((r) => `${r.runtime}:${r.run}:${r.unpack_ms}`)).toEqual([
      'minidock:1:120',
      'minidock:2:100',
      'minidock:3:140',
      'ctr:1:200',
      'ctr:2:180',
    ]);
    expect(e.rows[3]).toMatchObject({ entries: undefined, bytes: undefined }); // ctr reports no counts
    const md = e.summary.find((r) => r.runtime === 'minidock')!;
    expect(md).toMatchObject({
      n: 3,
      median_ms: 120,
      iqr_ms: 20,
      min_ms: 100,
      max_ms: 140,
      x_minidock: 1,
      cpu_avg_percent: 100,
      peak_rss_mib: 63,
    });
    expect(e.summary.find((r) => r.runtime === 'ctr')).toMatchObject({ n: 2, median_ms: 190, x_minidock: 190 / 120 });
    expect(e.skipped).toEqual([
      { experiment: 'unpack', runtime: 'podman', reason: 'not measured here', fix: 'apt-get install -y podman' },
    ]);
    expect(chartSpecs(e).map((c) => c.name)).toEqual(['unpack']);
  });

  it('bench report compares two saved runs into an --out file whose directory does not exist yet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      const e = unpackExperiment(raw, 'T', 1.5);
      const env = {
        date: 'D',
        host: 'h',
        kernel: 'k',
        os: 'o',
        cpuModel: 'c',
        cpus: 2,
        memoryMiB: 1,
        cgroup: { mode: 'v1', hybrid: true, reason: 'r' },
        node: 'v20',
        loadavgBefore: [1, 1, 1],
        command: 'minidock bench unpack',
        flags: {},
        peers: [],
        daemons: [],
      };
      for (const run of ['a', 'b'])
        await writeResults(
          join(dir, run),
          { version: 1, tool: 'minidock bench', env, experiments: [e], skipped: [] },
          { charts: false },
        );
      expect(
        await reportCommand([join(dir, 'a'), join(dir, 'b')], {
          out: join(dir, 'new', 'sub', 'cmp.md'),
          charts: false,
        }),
      ).toBe(0);
      // unpack's medians are headline figures: minidock 120 ms in both runs
      expect(readFileSync(join(dir, 'new', 'sub', 'cmp.md'), 'utf8')).toMatch(
        /\| unpack \| minidock \| 120 \| 120 \| 1.00× \| same/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes unpack.csv, results.json and report.md like every experiment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-unpack-out-'));
    try {
      const e = unpackExperiment(raw, 'T', 1.5);
      const env = {
        date: 'D',
        host: 'h',
        kernel: 'k',
        os: 'o',
        cpuModel: 'c',
        cpus: 2,
        memoryMiB: 1,
        cgroup: { mode: 'v1', hybrid: true, reason: 'r' },
        node: 'v20',
        loadavgBefore: [1, 1, 1],
        command: 'minidock bench unpack',
        flags: {},
        peers: [],
        daemons: [],
      };
      const { files } = await writeResults(
        join(dir, 'not', 'yet'),
        { version: 1, tool: 'minidock bench', env, experiments: [e], skipped: e.skipped },
        { charts: false },
      );
      expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
        'not/yet/unpack.csv',
        'not/yet/results.json',
        'not/yet/report.md',
      ]);
      const csv = readFileSync(join(dir, 'not/yet/unpack.csv'), 'utf8').split('\n');
      expect(csv[0]).toBe(UNPACK_COLUMNS.join(','));
      expect(csv[1]).toBe('minidock,1,120,100,105,61,1,11,297,1985716');
      const md = readFileSync(join(dir, 'not/yet/report.md'), 'utf8');
      expect(md).toContain("## Unpack: extracting an image's layers");
      expect(md).toContain('| minidock | 3 | 120 | 20.0 | 100 | 140 | 1.00× |');
      expect(md).toContain('skipped **podman**: not measured here');
      expect(JSON.parse(readFileSync(join(dir, 'not/yet/results.json'), 'utf8')).experiments[0].summary).toHaveLength(
        2,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
