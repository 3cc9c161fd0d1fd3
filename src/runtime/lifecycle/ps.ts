// minidock ps [-a] [-q] [--format json]: the containers of this state root, newest first.
import { fail } from '../../errors.js';
import { displayName, effectiveStatus, listEntries, shortId, type Entry } from '../store.js';
import { humanDuration, reportUnknown, rootOf, statusText, type RootFlag } from './common.js';
import { writeOut } from '../../sys/output.js';

export interface PsFlags extends RootFlag {
  all?: boolean;
  quiet?: boolean;
  format?: string;
  noTrunc?: boolean;
}

const quoteCmd = (args: string[]): string => args.map((a) => (/\s/.test(a) || a === '' ? `'${a}'` : a)).join(' ');

export function psRows(entries: Entry[], now = Date.now()): Array<Record<string, unknown>> {
  return entries.map((e) => ({
    ID: e.id,
    Names: e.config?.name ?? '',
    Rootfs: e.config?.spec.rootfs ?? '',
    Command: quoteCmd(e.config?.spec.args ?? []),
    CreatedAt: e.config?.created ?? '',
    RunningFor: e.config?.created ? humanDuration(now - Date.parse(e.config.created)) : '',
    State: effectiveStatus(e),
    Status: statusText(e, now),
    Pid: effectiveStatus(e) === 'running' ? e.state?.pid : undefined,
    ExitCode: e.state?.exitCode,
  }));
}

export function ps(flags: PsFlags): number {
  if (flags.format !== undefined && flags.format !== 'json' && flags.format !== 'table') fail(`--format ${flags.format}: use json or table`);
  const all = listEntries(rootOf(flags));
  reportUnknown(all); // listed below (with -a) as "unknown"; never changed here
  const entries = all
    .filter((e) => flags.all || effectiveStatus(e) === 'running')
    .sort((a, b) => (b.config?.created ?? '').localeCompare(a.config?.created ?? ''));
  if (flags.quiet) {
    for (const e of entries) writeOut((flags.noTrunc ? e.id : shortId(e.id)) + '\n');
    return 0;
  }
  const rows = psRows(entries);
  if (flags.format === 'json') {
    // one object per line, as `docker ps --format json`
    for (const r of rows) writeOut(JSON.stringify(r) + '\n');
    return 0;
  }
  const trunc = (s: string, n: number): string => (flags.noTrunc || s.length <= n ? s : s.slice(0, n - 1) + '…');
  const table = [['CONTAINER ID', 'ROOTFS', 'COMMAND', 'CREATED', 'STATUS', 'NAMES']];
  for (const [i, r] of rows.entries()) {
    table.push([
      flags.noTrunc ? entries[i].id : shortId(entries[i].id), trunc(String(r.Rootfs), 24), `"${trunc(String(r.Command), 20)}"`,
      `${r.RunningFor} ago`, String(r.Status), displayNameOrEmpty(entries[i]),
    ]);
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const row of table) writeOut(row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] + 3))).join('').trimEnd() + '\n');
  return 0;
}

const displayNameOrEmpty = (e: Entry): string => (e.config?.name ? displayName(e) : '');
