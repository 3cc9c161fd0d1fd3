// `minidock top CONTAINER [ps OPTIONS]`: the processes of a running container, with the host's pid
// and the container's side by side (src/runtime/lifecycle/top.ts). Docker hands ps options to the
// host's ps; minidock reads /proc itself and ignores them (its columns are fixed).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('top')
    .description('list the processes of a running container: user, host PID, container PID, parent, CPU time, command')
    .argument('<container>', 'container ID (or unique prefix) or name')
    .argument('[ps-options...]', "ps options, accepted as Docker's and ignored: the columns are fixed")
    .allowUnknownOption()
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, _psOptions: string[], flags: Record<string, unknown>) => {
      process.exitCode = await top(ref, flags);
    });
}

async function top(ref: string, flags: RootFlag): Promise<number> {
  const [{ writeOut }, { resolve }, { rootOf }, { topRows }, { refFailed }, { formatTable }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/container-store/listing.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/top.js'),
    import('./container-lines.js'),
    import('./format-table.js'),
  ]);
  let rows;
  try {
    rows = topRows(resolve(rootOf(flags), ref));
  } catch (err) {
    return refFailed(err);
  }
  const table = [['UID', 'PID', 'CONTAINER PID', 'PPID', 'TIME', 'CMD']];
  for (const r of rows)
    table.push([
      r.user,
      String(r.pid),
      r.containerPid === undefined ? '-' : String(r.containerPid),
      String(r.ppid),
      r.time,
      r.cmd,
    ]);
  writeOut(formatTable(table));
  return 0;
}
