// `minidock system df [-v]`: what images and containers take on disk, and how much removing the
// unused ones would give back (diskUsage() in src/image/disk-usage.ts). It reads, never deletes.
import type { Command } from 'commander';

export function register(program: Command): void {
  const system = program
    .command('system')
    .description('system-wide information: system df (disk usage)')
    .helpOption('--help', 'display help for system');
  system
    .command('df')
    .description('show the disk used by images and containers (read-only: deletes nothing)')
    .helpOption('--help', 'display help for system df')
    .option('-v, --verbose', 'one line per image and per container')
    .option('--format <fmt>', 'table (default) or json')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      process.exitCode = await df(flags);
    });
}

async function df(flags: { root?: string; verbose?: boolean; format?: string }): Promise<number> {
  const [{ fail }, { writeOut }, { stateRoot }, { diskUsage }, { fmtBytes }, { formatTable }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/state-root.js'),
    import('../image/disk-usage.js'),
    import('../image/source.js'),
    import('./format-table.js'),
  ]);
  if (flags.format && flags.format !== 'table' && flags.format !== 'json')
    fail(`--format ${flags.format}: use table or json`);
  const { rows, detail } = diskUsage(stateRoot(flags.root));
  if (flags.format === 'json') {
    writeOut(`${JSON.stringify(flags.verbose ? { rows, ...detail } : rows, null, 2)}\n`);
    return 0;
  }
  const pct = (part: number, all: number): string => (all ? ` (${Math.round((100 * part) / all)}%)` : '');
  const table = [['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE']];
  for (const r of rows)
    table.push([
      r.type,
      String(r.total),
      String(r.active),
      fmtBytes(r.size),
      fmtBytes(r.reclaimable) + pct(r.reclaimable, r.size),
    ]);
  writeOut(formatTable(table));
  if (!flags.verbose) return 0;
  const images = [['IMAGE ID', 'NAMES', 'SIZE', 'CONTAINERS']];
  for (const i of detail.images)
    images.push([i.id.slice(7, 19), i.names.join(', ') || '<none>', fmtBytes(i.size), String(i.containers)]);
  const containers = [['CONTAINER ID', 'NAME', 'SIZE', 'STATUS']];
  for (const c of detail.containers)
    containers.push([c.id.slice(0, 12), c.name, fmtBytes(c.size), c.running ? 'running' : 'not running']);
  writeOut(`\nImages space usage:\n\n${formatTable(images)}\nContainers space usage:\n\n${formatTable(containers)}`);
  return 0;
}
