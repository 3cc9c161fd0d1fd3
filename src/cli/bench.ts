// `minidock bench ...`: the flags, the progress view, the summaries printed; the measuring is in
// src/bench/ (run.ts, report.ts), loaded on use.
import type { Command } from 'commander';
import type { BenchFlags, ExperimentName, ProgressSink } from '../bench/run.js';
import { registerBenchUnpack } from './bench-unpack.js';

const EXPERIMENT_HELP: Record<string, string> = {
  startup: 'course experiment 1: `echo ok` per runtime — wall time and time to first instruction',
  phases: "minidock's launch phase by phase (--trace=json), beside the seed's published estimates",
  overhead: 'course experiment 3: hash and sort inside running containers (exec) vs bare',
  scale: 'course experiment 2: N = 1, 5, 10, 20 detached containers — launch time, memory, removal',
  limits: 'scoreboard: memory, pids and cpu limits — what happened vs what the engine reported',
  cycle: 'OCI runtimes alone: create + start + delete of one bundle (runc, crun, minidock-oci), step by step',
  network:
    'TCP throughput (1 GiB): host → container through a published port, container → container on one bridge, host loopback as the ceiling',
  ipc: 'a ping-pong through shared memory and a unix socket: native, two containers sharing /dev/shm, across a bind mount',
  all: 'every experiment but cycle, network and ipc (--quick: within 2 minutes on 2 cores)',
};

export function register(program: Command): void {
  const bench = program
    .command('bench')
    .description('measure minidock against bare metal, runc, crun, Podman, Docker and containerd on this machine');

  for (const [name, help] of Object.entries(EXPERIMENT_HELP)) {
    const cmd = bench
      .command(name)
      .description(help)
      .option(
        '--runtimes <list>',
        name === 'cycle'
          ? 'comma-separated OCI runtimes: runc,crun,minidock (default: all three; minidock = bin/minidock-oci.js)'
          : name === 'network' || name === 'ipc'
            ? 'comma-separated: bare,minidock,podman,docker (default: those four; bare = the host itself, the baseline)'
            : 'comma-separated: bare,minidock,runc,crun,podman,docker,ctr (default: all); minidock@DIR is the minidock built in checkout DIR (a build before a change); ENGINE+RUNTIME is one pair (podman+crun)',
      );
    if (name === 'startup')
      cmd
        .option(
          '--engines <list>',
          'the engine × OCI runtime matrix: podman,docker,containerd (default with --oci-runtimes: all three)',
        )
        .option(
          '--oci-runtimes <list>',
          'the runtimes each engine drives: runc,crun,minidock (default with --engines: all three); with --runtimes, those run beside the pairs',
        )
        .option(
          '--network <mode>',
          'none (the default) or bridge: every runtime launched in this mode (runc, crun and ctr have no bridge: skipped)',
        );
    cmd
      .option('--reps <n>', 'measured repetitions per runtime')
      .option('--warmup <n>', 'warm-up repetitions, run and discarded (default 1)')
      .option('--quick', 'fewer repetitions and cases (a smoke run)')
      .option('--pin <cpu>', 'pin every measured command to this CPU')
      .option('--out <dir>', 'results directory (default results/<timestamp>)')
      .option('--json', 'print the summary as JSON only')
      .option('--no-charts', 'skip the PNG/SVG charts')
      .option('--no-live', 'plain progress lines even on a TTY')
      .option('--start-daemons', 'start containerd and dockerd for this run (stopped again at its end)')
      .option('--rootfs <dir>', 'the busybox rootfs to copy (default ./rootfs)')
      .action(async (flags: Record<string, unknown>) => {
        process.exitCode = await benchExperiments(name as ExperimentName | 'all', flags);
      });
  }

  registerBenchUnpack(bench); // `bench unpack FILE`: image extraction, timed apart from the copy (src/image)

  bench
    .command('peers')
    .description('list the runtimes available here, with the command that installs or starts each missing one')
    .option('--install', 'apt-get install the Debian packages of every peer')
    .option('--start-daemons', 'start containerd and dockerd (private sockets) for the check, then stop them')
    .option('--json', 'print the detections as JSON')
    .action(async (flags: Record<string, unknown>) => {
      process.exitCode = await benchPeers(flags);
    });

  bench
    .command('report')
    .description('re-render the report and charts of saved runs; with several, compare them (ratios, what got faster)')
    .argument('<dirs...>', 'results directories (each holds results.json)')
    .option('--out <file>', 'write the comparison here (default: print it)')
    .option('--no-charts', 'do not re-render charts')
    .action(async (dirs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await reportCommand(dirs, flags);
    });
}

/** `bench <experiment>`: progress while it runs, then each experiment's table (or --json's summary). */
async function benchExperiments(what: ExperimentName | 'all', f: BenchFlags): Promise<number> {
  const [{ runBench }, { loadWarning, mdTable, resultsLine, startupGoals, summaryJson }, { writeErr, writeOut }] =
    await Promise.all([import('../bench/run.js'), import('../bench/output.js'), import('../sys/output.js')]);
  const run = await runBench(what, f, {
    log: (line) => {
      if (!f.json) writeErr(`minidock bench: ${line}\n`);
    },
    progress: () => progressSink(f),
    done: ({ outDir, results, files }) => {
      if (f.json) {
        writeOut(JSON.stringify({ dir: outDir, ...summaryJson(results) }, null, 1) + '\n');
        return;
      }
      for (const e of results.experiments) {
        writeOut(`\n${e.title}\n\n${mdTable(e.summaryColumns, e.summary)}`);
        for (const t of e.tables ?? []) writeOut(`\n${t.title}\n\n${mdTable(t.columns, t.rows)}`);
        for (const s of e.skipped)
          writeOut(`  skipped ${s.runtime}: ${s.reason}${s.fix ? `\n    fix: ${s.fix}` : ''}\n`);
        const busy = loadWarning(e, results.env.cpus);
        if (busy) writeOut(`  ${busy}\n`);
      }
      const goals = startupGoals(results.experiments.find((e) => e.name === 'startup'));
      if (goals.length) writeOut(`\n${goals.join('\n')}\n`);
      writeOut(`\n${resultsLine(outDir, files)}\n`);
    },
  });
  return run.interrupted ? 130 : 0;
}

/** Where progress goes: the live view on a terminal, plain lines on stderr otherwise; --json: nothing but the final JSON on stdout. */
async function progressSink(f: BenchFlags): Promise<ProgressSink> {
  if (f.json) return { emit: () => {}, stop: async () => {} };
  const { writeErr } = await import('../sys/output.js');
  // a terminal with no width (some ptys report 0 columns) would wrap every character: plain lines there
  const tty =
    f.live !== false &&
    process.stderr.isTTY &&
    process.stdout.isTTY &&
    !process.env.CI &&
    (process.stderr.columns ?? 0) >= 40;
  if (tty) {
    try {
      const { startLiveView } = await import('./bench-live.js');
      return await startLiveView();
    } catch (e) {
      writeErr(`minidock bench: live view unavailable (${(e as Error).message}); plain progress\n`);
    }
  }
  const { plainProgress } = await import('../bench/progress.js');
  return { emit: plainProgress((s) => writeErr(s)), stop: async () => {} };
}

/** `bench peers`: what is available here, and how to get what is not. */
async function benchPeers(f: { install?: boolean; startDaemons?: boolean; json?: boolean }): Promise<number> {
  const [{ MinidockError }, { detectPeers }, { mdTable }, { writeErr, writeOut }] = await Promise.all([
    import('../errors.js'),
    import('../bench/run.js'),
    import('../bench/output.js'),
    import('../sys/output.js'),
  ]);
  if (f.install) {
    const { installCommand } = await import('../bench/install.js');
    const argv = installCommand();
    writeErr(`minidock bench: ${argv.join(' ')}\n`);
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(argv[0], argv.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0)
      throw new MinidockError(`apt-get install failed (exit ${r.status}); try: apt-get update && ${argv.join(' ')}`);
  }
  await detectPeers(
    f,
    (line) => writeErr(`minidock bench: ${line}\n`),
    (detections, daemonsStarted) => {
      if (f.json) {
        writeOut(JSON.stringify(detections, null, 1) + '\n');
        return;
      }
      writeOut(
        mdTable(
          ['runtime', 'available', 'version', 'notes'],
          detections.map((d) => ({
            runtime: d.peer,
            available: d.available,
            version: d.version,
            notes: d.available ? [...d.notes, ...(d.caps.missing ?? [])].join('; ') : `${d.reason} — fix: ${d.fix}`,
          })),
        ),
      );
      if (f.startDaemons && daemonsStarted)
        writeOut(
          `(daemons started for this check are stopped again; \`bench ... --start-daemons\` starts them for a run)\n`,
        );
    },
  );
  return 0;
}

/** `bench report DIR...`: one run's report.md again, or the comparison of several (on stdout or in --out). */
export async function reportCommand(dirs: string[], f: { out?: string; charts?: boolean }): Promise<number> {
  const [
    { mkdirSync, readFileSync, writeFileSync },
    { dirname, join, resolve },
    { comparisonReport, rerenderRuns },
    { writeErr, writeOut },
  ] = await Promise.all([
    import('node:fs'),
    import('node:path'),
    import('../bench/report.js'),
    import('../sys/output.js'),
  ]);
  const runs = await rerenderRuns(dirs, f.charts !== false, (line) => writeErr(`minidock bench: ${line}\n`));
  if (runs.length === 1) {
    writeOut(readFileSync(join(dirs[0], 'report.md'), 'utf8'));
    return 0;
  }
  const text = comparisonReport(dirs, runs);
  if (f.out) {
    mkdirSync(dirname(resolve(f.out)), { recursive: true });
    writeFileSync(f.out, text);
    writeErr(`minidock bench: comparison written to ${f.out}\n`);
  } else writeOut(text);
  return 0;
}
