// `minidock bench unpack FILE [--runs N]` — commander wiring only; see src/image/unpack-bench.ts.
// The `bench` command itself lives in src/cli/bench.ts; it calls registerBenchUnpack(bench).
import type { Command } from 'commander';

export function registerBenchUnpack(bench: Command): void {
  bench
    .command('unpack')
    .description('time unpacking an image\'s layers (content copied into the store first, not timed), with CPU/memory/process samples; ctr side by side when containerd runs')
    .argument('<file>', 'image: rootfs tar, docker save archive or OCI layout (directory or tar)')
    .helpOption('--help', 'display help for bench unpack')
    .option('--runs <n>', 'timed runs', '5')
    .option('--interval <ms>', 'sampling interval in ms', '100')
    .option('--json', 'print the JSON result instead of the table')
    .option('-o, --output <file>', 'also save the JSON result to FILE')
    .option('--out <dir>', 'results directory: unpack.csv, chart, results.json, report.md (default results/<timestamp>)')
    .option('--no-charts', 'skip the PNG/SVG chart')
    .option('--no-peers', 'do not run ctr even when containerd is there')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (file: string, flags: Record<string, unknown>) => {
      const { benchUnpackCommand } = await import('../image/unpack-bench.js');
      process.exitCode = await benchUnpackCommand(file, { ...flags, noPeers: flags.peers === false });
    });
}
