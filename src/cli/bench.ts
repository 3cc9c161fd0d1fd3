// `minidock bench ...` — commander wiring only; the work is in src/bench/ (loaded on use).
import type { Command } from 'commander';
import { registerBenchUnpack } from './bench-unpack.js';

const EXPERIMENT_HELP: Record<string, string> = {
  startup: 'course experiment 1: `echo ok` per runtime — wall time and time to first instruction',
  phases: "minidock's launch phase by phase (--trace=json), beside the seed's published estimates",
  overhead: 'course experiment 3: hash and sort inside running containers (exec) vs bare',
  scale: 'course experiment 2: N = 1, 5, 10, 20 detached containers — launch time, memory, removal',
  limits: 'scoreboard: memory, pids and cpu limits — what happened vs what the engine reported',
  all: 'every experiment (--quick: within 2 minutes on 2 cores)',
};

export function register(program: Command): void {
  const bench = program
    .command('bench')
    .description('measure minidock against bare metal, runc, crun, Podman, Docker and containerd on this machine');

  for (const [name, help] of Object.entries(EXPERIMENT_HELP)) {
    bench
      .command(name)
      .description(help)
      .option('--runtimes <list>', 'comma-separated: bare,minidock,runc,crun,podman,docker,ctr (default: all)')
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
        const { benchCommand } = await import('../bench/run.js');
        process.exitCode = await benchCommand(name as never, flags);
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
      const { peersCommand } = await import('../bench/run.js');
      process.exitCode = await peersCommand(flags);
    });

  bench
    .command('report')
    .description('re-render the report and charts of saved runs; with several, compare them (ratios, what got faster)')
    .argument('<dirs...>', 'results directories (each holds results.json)')
    .option('--out <file>', 'write the comparison here (default: print it)')
    .option('--no-charts', 'do not re-render charts')
    .action(async (dirs: string[], flags: Record<string, unknown>) => {
      const { reportCommand } = await import('../bench/report.js');
      process.exitCode = await reportCommand(dirs, flags);
    });
}
