// `minidock bench unpack FILE [--runs N]`: the flags, the table or JSON on stdout, the results
// directory every bench experiment writes; the measurement is unpackBench() in src/image/unpack-bench.ts.
// The `bench` command itself lives in src/cli/bench.ts; it calls registerBenchUnpack(bench).
import type { Command } from 'commander';
import type { UnpackBenchResult } from '../image/unpack-bench-results.js';

export function registerBenchUnpack(bench: Command): void {
  bench
    .command('unpack')
    .description(
      "time unpacking an image's layers (content copied into the store first, not timed), with CPU/memory/process samples; ctr side by side when containerd runs",
    )
    .argument('<file>', 'image: rootfs tar, docker save archive or OCI layout (directory or tar)')
    .helpOption('--help', 'display help for bench unpack')
    .option('--runs <n>', 'timed runs', '5')
    .option('--interval <ms>', 'sampling interval in ms', '100')
    .option('--json', 'print the JSON result instead of the table')
    .option('-o, --output <file>', 'also save the JSON result to FILE')
    .option(
      '--out <dir>',
      'results directory: unpack.csv, chart, results.json, report.md (default results/<timestamp>)',
    )
    .option('--no-charts', 'skip the PNG/SVG chart')
    .option('--no-peers', 'do not run ctr even when containerd is there')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (file: string, flags: Record<string, unknown>) => {
      process.exitCode = await benchUnpack(file, { ...flags, noPeers: flags.peers === false });
    });
}

interface BenchUnpackFlags {
  root?: string;
  runs?: string;
  json?: boolean;
  output?: string;
  noPeers?: boolean;
  interval?: string;
  /** results directory (default results/<timestamp>), as every bench experiment */
  out?: string;
  charts?: boolean;
}

async function benchUnpack(file: string, flags: BenchUnpackFlags): Promise<number> {
  const { fail } = await import('../errors.js');
  if (process.getuid?.() !== 0) fail('bench unpack needs root: layers keep owners, device nodes and whiteouts');
  const [
    { mkdirSync, writeFileSync },
    { dirname, resolve },
    { stateRoot },
    { unpackBench },
    { fmtBytes },
    { collectEnv, withLoadavg, loadavg },
    { resultsLine, timestampDir, writeResults },
    { unpackExperiment },
    { writeErr, writeOut },
  ] = await Promise.all([
    import('node:fs'),
    import('node:path'),
    import('../runtime/state-root.js'),
    import('../image/unpack-bench.js'),
    import('../image/source.js'),
    import('../bench/env.js'),
    import('../bench/output.js'),
    import('../bench/experiments/unpack.js'),
    import('../sys/output.js'),
  ]);
  const runs = flags.runs === undefined ? 5 : Number(flags.runs);
  const outDir = resolve(flags.out ?? timestampDir(resolve('results')));
  const env = collectEnv({ ...flags, file }, []);
  let result: UnpackBenchResult | undefined;
  const experiment = await withLoadavg(async () => {
    const startedAt = new Date().toISOString();
    const t0 = Date.now();
    result = await unpackBench({
      root: stateRoot(flags.root),
      file,
      runs,
      intervalMs: flags.interval ? Number(flags.interval) : 100,
      noPeers: flags.noPeers,
      log: (line) => writeErr(line + '\n'),
    });
    return unpackExperiment(result, startedAt, (Date.now() - t0) / 1000);
  });
  env.loadavgAfter = loadavg();
  env.peers = result!.results.map((x) => ({
    name: x.runtime,
    available: !x.skipped,
    flags: [],
    notes: [],
    reason: x.skipped,
    fix: x.install,
  }));
  // the same files as every other experiment: unpack.csv, the chart, results.json, report.md
  const { files } = await writeResults(
    outDir,
    { version: 1, tool: 'minidock bench', env, experiments: [experiment], skipped: experiment.skipped },
    { charts: flags.charts !== false },
  );
  const json = JSON.stringify(result, null, 2) + '\n';
  if (flags.output) {
    mkdirSync(dirname(resolve(flags.output)), { recursive: true });
    writeFileSync(flags.output, json);
  }
  writeOut(flags.json ? json : unpackTable(result!, fmtBytes(result!.storedBytes)) + '\n');
  writeErr(`${resultsLine(outDir, files)}\n`);
  return 0;
}

/** The table of `bench unpack`: one row per runtime (time, CPU, peak memory and processes), or why
 * it was skipped; `stored` is r.storedBytes as text (fmtBytes, loaded with the image code). */
function unpackTable(r: UnpackBenchResult, stored: string): string {
  const lines = [`unpack ${r.file} (${r.format}, ${r.layers} layer(s), ${stored} stored), ${r.runs} run(s)`];
  lines.push('runtime    time ms avg (min-max)        CPU % avg (max)   peak RSS MiB   peak procs/threads');
  for (const x of r.results) {
    if (!x.summary) {
      lines.push(`${x.runtime.padEnd(10)} skipped: ${x.skipped}${x.install ? ` (install: ${x.install})` : ''}`);
      continue;
    }
    const s = x.summary;
    lines.push(
      `${x.runtime.padEnd(10)} ${`${s.ms.avg.toFixed(1)} (${s.ms.min.toFixed(1)}-${s.ms.max.toFixed(1)})`.padEnd(29)} ${`${s.cpuPct.avg.toFixed(0)} (${Math.max(...x.runs.map((q) => q.cpuPct.max)).toFixed(0)})`.padEnd(17)} ${s.peakRssMiB.toFixed(1).padEnd(14)} ${s.peakProcs}/${s.peakThreads}`,
    );
  }
  return lines.join('\n');
}
