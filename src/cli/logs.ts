// `minidock logs [-f] [--tail N] [-t] ID`: what a detached container wrote, each line to the stream
// it was written to (the log's lines: logBatches, src/runtime/lifecycle/logs.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';
import type { LogLine } from '../runtime/lifecycle/logs.js';

export interface LogsFlags extends RootFlag {
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
}

export function register(program: Command): void {
  program
    .command('logs')
    .description('print the output of a detached container')
    .argument('<container>', 'container ID (or unique prefix) or name')
    .option('-f, --follow', 'keep printing new output until the container exits')
    .option('-n, --tail <n>', 'only the last N lines (or all)')
    .option('-t, --timestamps', 'prefix each line with its time (RFC 3339)')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, flags: Record<string, unknown>) => {
      process.exitCode = await logs(ref, flags);
    });
}

async function logs(ref: string, flags: LogsFlags): Promise<number> {
  const [{ writeAll }, { resolve }, { rootOf }, { logBatches }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/container-store/listing.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/logs.js'),
  ]);
  /**
   * Print the lines, each run of one stream in one write (synchronous: the next lines are read only
   * after these are out). False once a reader is gone (`logs -f ID | head -1`: EPIPE): we stop, as
   * `yes | head -1` does.
   */
  const emit = (lines: LogLine[]): boolean => {
    for (let i = 0; i < lines.length; ) {
      const stream = lines[i].stream;
      let text = '';
      for (; i < lines.length && lines[i].stream === stream; i++)
        text += flags.timestamps ? `${lines[i].time} ${lines[i].log}` : lines[i].log;
      if (!writeAll(stream === 'stderr' ? 2 : 1, text)) return false;
    }
    return true;
  };
  const e = resolve(rootOf(flags), ref);
  for await (const lines of logBatches(e, flags, ref)) if (!emit(lines)) break; // leaving the loop closes the log
  return 0;
}
