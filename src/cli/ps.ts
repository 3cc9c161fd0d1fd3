// `minidock ps [-a] [-q] [-f label=K[=V]|name=N|status=S|health=H] [--format json]`: the containers of this
// state root, newest first (the list, its rows and the filters: src/runtime/lifecycle/ps.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export interface PsFlags extends RootFlag {
  all?: boolean;
  quiet?: boolean;
  format?: string;
  noTrunc?: boolean;
  filter?: string[];
}

export function register(program: Command): void {
  program
    .command('ps')
    .description('list containers (running ones; -a for all)')
    .option('-a, --all', 'show all containers, also exited ones')
    .option('-q, --quiet', 'only IDs')
    .option('--format <fmt>', 'table (default) or json (one object per line)')
    .option('--no-trunc', 'full IDs and commands')
    .option(
      '-f, --filter <filter>',
      'only those with label=KEY or label=KEY=VALUE, name=PART, status=STATE, health=starting|healthy|unhealthy|none (repeatable; status implies -a)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      process.exitCode = await ps({ ...flags, noTrunc: flags.trunc === false });
    });
}

async function ps(flags: PsFlags): Promise<number> {
  const [
    { fail },
    { writeOut },
    { displayName, shortId },
    { rootOf },
    { listContainers, matchesPsFilter, parsePsFilters, psRows },
    { reportUnknown },
    { isPaused },
  ] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/container-store/listing.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/ps.js'),
    import('./container-lines.js'),
    import('../runtime/lifecycle/pause.js'),
  ]);
  if (flags.format !== undefined && flags.format !== 'json' && flags.format !== 'table')
    fail(`--format ${flags.format}: use json or table`);
  // health=starting|healthy|unhealthy|none here (lifecycle/health.ts); the other filters in lifecycle/ps.ts
  const healthWanted = (flags.filter ?? []).filter((f) => f.startsWith('health=')).map((f) => f.slice(7));
  for (const h of healthWanted)
    if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h))
      fail(`--filter health=${h}: use health=starting, healthy, unhealthy or none`);
  const filter = parsePsFilters((flags.filter ?? []).filter((f) => !f.startsWith('health=')));
  // (status= looks at every container, as Docker's: ps -f status=exited needs no -a)
  const listed = listContainers(rootOf(flags), flags.all || filter.statuses.length > 0);
  reportUnknown(listed.unreadable); // listed below (with -a) as "unknown"; never changed here
  const allRows = psRows(listed.entries);
  // a frozen one is "paused", its status "Up 3 minutes (Paused)", as Docker shows them (the freezer says so, not a record)
  for (const [i, r] of allRows.entries()) {
    if (r.State === 'running' && isPaused(listed.entries[i]))
      Object.assign(r, { State: 'paused', Status: `${String(r.Status)} (Paused)` });
  }
  const health = await healthOf(listed.entries, allRows);
  const keep = listed.entries.map(
    (e, i) =>
      matchesPsFilter(e, String(allRows[i].State), filter) &&
      (!healthWanted.length || healthWanted.includes(health[i])),
  );
  const entries = listed.entries.filter((_, i) => keep[i]);
  const rows = allRows.filter((_, i) => keep[i]);
  if (flags.quiet) {
    for (const e of entries) writeOut((flags.noTrunc ? e.id : shortId(e.id)) + '\n');
    return 0;
  }
  if (flags.format === 'json') {
    // one object per line, as `docker ps --format json`
    for (const r of rows) writeOut(JSON.stringify(r) + '\n');
    return 0;
  }
  const trunc = (s: string, n: number): string => (flags.noTrunc || s.length <= n ? s : s.slice(0, n - 1) + '…');
  const table = [['CONTAINER ID', 'ROOTFS', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const [i, r] of rows.entries()) {
    const e = entries[i];
    table.push([
      flags.noTrunc ? e.id : shortId(e.id),
      trunc(String(r.Rootfs), 24),
      `"${trunc(String(r.Command), 20)}"`,
      `${r.RunningFor} ago`,
      String(r.Status),
      String(r.Ports),
      e.config?.name ? displayName(e) : '',
    ]);
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const row of table)
    writeOut(
      row
        .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] + 3)))
        .join('')
        .trimEnd() + '\n',
    );
  return 0;
}

/**
 * Each container's health (healthStatus), a running one's STATUS suffix added as
 * Docker's: "Up 5 seconds (healthy)", "(unhealthy)", "(health: starting)". health.ts is loaded only
 * when some container has a healthcheck.
 */
async function healthOf(
  entries: import('../runtime/container-store/records.js').Entry[],
  rows: Record<string, unknown>[],
): Promise<string[]> {
  if (!entries.some((e) => e.config?.spec?.healthcheck)) return entries.map(() => 'none');
  const { healthStatus } = await import('../runtime/lifecycle/health.js');
  return entries.map((e, i) => {
    const h = healthStatus(e.dir, !!e.config?.spec?.healthcheck, rows[i].State === 'running');
    if (h !== 'none' && rows[i].State === 'running')
      rows[i].Status = `${String(rows[i].Status)} (${h === 'starting' ? 'health: starting' : h})`;
    return h;
  });
}
