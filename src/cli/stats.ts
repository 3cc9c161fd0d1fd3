// `minidock stats [--no-stream] [ID...]`: memory, CPU and pids of running containers, once (a table
// or JSON lines) or live (stats-view.tsx); the samples: src/runtime/lifecycle/stats.ts.
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export interface StatsFlags extends RootFlag {
  stream?: boolean; // commander: --no-stream sets false
  format?: string;
}

export function register(program: Command): void {
  program
    .command('stats')
    .description('memory, CPU and pids of running containers, from their cgroups (live, or once with --no-stream)')
    .argument('[container...]', 'container IDs (or unique prefixes) or names (default: all running)')
    .option('--no-stream', 'print one sample and exit')
    .option('--format <fmt>', 'table (default) or json (with --no-stream)')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await stats(refs, flags);
    });
}

async function stats(refs: string[], flags: StatsFlags): Promise<number> {
  const [{ fail }, { rootOf }, { sampleRows, targets }] = await Promise.all([
    import('../errors.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/stats.js'),
  ]);
  if (flags.format !== undefined && flags.format !== 'json' && flags.format !== 'table')
    fail(`--format ${flags.format}: use json or table`);
  const root = rootOf(flags);
  if (flags.stream === false || !process.stdout.isTTY) {
    // one sample (two readings, 500 ms apart, for the CPU %)
    const rows = await sampleRows(targets(root, refs), 500);
    if (flags.format === 'json') for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
    else process.stdout.write((await import('./format-stats.js')).tableLines(rows).join('\n') + '\n');
    return 0;
  }
  // live: ink and React are loaded here only, never by the other verbs
  const { showLive } = await import('./stats-view.js');
  await showLive(root, refs);
  return 0;
}
