// `bench unpack` as an experiment of the bench: the runs that src/image/unpack-bench.ts measured,
// as tidy rows and a summary, so that writeResults() writes it like every other experiment —
// unpack.csv, the chart, results.json and report.md.
import { ratio, summarize } from '../stats.js';
import type { UnpackBenchResult } from '../../image/unpack-bench-results.js';
import type { ExperimentResult, Row, Skip } from '../types.js';

export const UNPACK_COLUMNS = [
  'runtime',
  'run',
  'unpack_ms',
  'cpu_avg_percent',
  'cpu_max_percent',
  'rss_max_mib',
  'procs_max',
  'threads_max',
  'entries',
  'bytes',
];

export function unpackExperiment(r: UnpackBenchResult, startedAt: string, seconds: number): ExperimentResult {
  const rows: Row[] = r.results.flatMap((x) =>
    x.runs.map((run) => ({
      runtime: x.runtime,
      run: run.run,
      unpack_ms: run.ms,
      cpu_avg_percent: run.cpuPct.avg,
      cpu_max_percent: run.cpuPct.max,
      rss_max_mib: run.rssMiB.max,
      procs_max: run.procs.max,
      threads_max: run.threads.max,
      // ctr unpacks inside containerd: it reports no entry or byte counts
      entries: x.runtime === 'minidock' ? run.entries : undefined,
      bytes: x.runtime === 'minidock' ? run.bytes : undefined,
    })),
  );
  const measured = r.results.filter((x) => x.runs.length);
  const mdMedian = (() => {
    const md = measured.find((x) => x.runtime === 'minidock');
    return md ? summarize(md.runs.map((q) => q.ms)).median : undefined;
  })();
  const summary: Row[] = measured.map((x) => {
    const s = summarize(x.runs.map((q) => q.ms));
    return {
      runtime: x.runtime,
      n: s.n,
      median_ms: s.median,
      iqr_ms: s.iqr,
      min_ms: s.min,
      max_ms: s.max,
      cpu_avg_percent: Math.round(summarize(x.runs.map((q) => q.cpuPct.avg)).median),
      peak_rss_mib: Math.max(...x.runs.map((q) => q.rssMiB.max)),
      peak_procs: Math.max(...x.runs.map((q) => q.procs.max)),
      peak_threads: Math.max(...x.runs.map((q) => q.threads.max)),
      x_minidock: ratio(s.median, mdMedian),
    };
  });
  const skipped: Skip[] = r.results
    .filter((x) => x.skipped)
    .map((x) => ({ experiment: 'unpack', runtime: x.runtime, reason: x.skipped!, fix: x.install }));
  return {
    name: 'unpack',
    title: "Unpack: extracting an image's layers (the copy into the store not timed)",
    columns: UNPACK_COLUMNS,
    rows,
    summaryColumns: [
      'runtime',
      'n',
      'median_ms',
      'iqr_ms',
      'min_ms',
      'max_ms',
      'x_minidock',
      'cpu_avg_percent',
      'peak_rss_mib',
      'peak_procs',
      'peak_threads',
    ],
    summary,
    skipped,
    startedAt,
    seconds,
    notes: [
      `${r.file}: ${r.format}, ${r.layers} layer(s), ${(r.storedBytes / 1048576).toFixed(1)} MiB stored; ${r.runs} run(s), sampled every ${r.intervalMs} ms`,
      "timed: unpacking every layer (decompression, digest checks, whiteouts, file creation); not timed: copying the content into a scratch store, removing the previous run's layers",
      'cpu_*_percent: CPU time per sampling interval / its length (above 100 when threads work in parallel); ctr rows sample ctr and the containerd daemon, which does the work',
    ],
  };
}
