// Writing a run to results/<timestamp>/: one tidy CSV per experiment, results.json (raw + summary +
// environment), the charts, and report.md that embeds them.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmtMs, fmtRatio } from './stats.js';
import { describeEnv, type BenchEnv } from './env.js';
import { seedComparison } from './experiments/phases.js';
import type { Cell, ExperimentResult, Row, Skip } from './types.js';

export const RESULTS_VERSION = 1;

export interface Results {
  version: number;
  tool: string;
  env: BenchEnv;
  experiments: ExperimentResult[];
  skipped: Skip[];
}

/** RFC 4180: quote a field when it holds a comma, a quote or a newline; numbers as they are. */
export function csvField(v: Cell): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(columns: string[], rows: Row[]): string {
  return [columns.join(','), ...rows.map((r) => columns.map((c) => csvField(r[c])).join(','))].join('\n') + '\n';
}

/** A results directory name: results/2026-11-22T18-05-03 (sortable, no colons). */
export function timestampDir(base: string, d = new Date()): string {
  return join(
    base,
    d
      .toISOString()
      .replace(/\.\d+Z$/, '')
      .replace(/:/g, '-'),
  );
}

function cellText(col: string, v: Cell): string {
  if (v === undefined || v === null || v === '') return '—';
  if (typeof v === 'number') {
    if (col.startsWith('x_') || col.endsWith('_ratio')) return fmtRatio(v);
    if (col.endsWith('_pct')) return `${v >= 0 ? '+' : ''}${v.toFixed(1)} %`;
    if (col.endsWith('_ms') || col.endsWith('_s')) return fmtMs(v);
    if (col.endsWith('_mib')) return v.toFixed(1);
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(3);
  }
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v).replace(/\|/g, '\\|');
}

export function mdTable(columns: string[], rows: Row[]): string {
  if (!rows.length) return '_(no rows)_\n';
  const head = `| ${columns.join(' | ')} |`;
  // numbers right-aligned, text left-aligned
  const numeric = (c: string): boolean =>
    rows.some((r) => typeof r[c] === 'number') &&
    rows.every((r) => r[c] === undefined || r[c] === null || typeof r[c] === 'number');
  const sep = `|${columns.map((c) => (numeric(c) ? '---:' : '---')).join('|')}|`;
  return [head, sep, ...rows.map((r) => `| ${columns.map((c) => cellText(c, r[c])).join(' | ')} |`)].join('\n') + '\n';
}

/** The issue's figures to reach, checked within this one run (never a test: the machine decides). */
export function startupGoals(startup: ExperimentResult | undefined): string[] {
  if (!startup) return [];
  const med = (rt: string): number | undefined =>
    startup.summary.find((r) => r.runtime === rt)?.median_ms as number | undefined;
  const md = med('minidock');
  if (md === undefined) return [];
  const out: string[] = [];
  const check = (name: string, ok: boolean, text: string): void => {
    out.push(`- ${ok ? '✅' : '❌'} ${name}: ${text}`);
  };
  const bridge = med('minidock (bridge)');
  if (bridge !== undefined) {
    // Met only when both figures say so: the difference of the medians, and the median of the paired
    // differences (startup's "What the bridge adds" table). A disturbed run can move the first by more
    // than the goal itself (seen here: -3.67 ms, against +8.43 ms paired, IQRs of 25 ms).
    const paired = startup.tables
      ?.flatMap((t) => t.rows)
      .find((r) => r.runtime === 'minidock' && typeof r.paired_median_ms === 'number')?.paired_median_ms as
      | number
      | undefined;
    const signed = (v: number): string => `${v >= 0 ? '+' : ''}${fmtMs(v)} ms`;
    check(
      "minidock's bridge launch ≤ 5 ms over --network none",
      bridge - md <= 5 && (paired === undefined || paired <= 5),
      `minidock --network bridge ${fmtMs(bridge)} ms, none ${fmtMs(md)} ms: ${signed(bridge - md)}${paired === undefined ? '' : `, paired median ${signed(paired)}`}`,
    );
  }
  const runc = med('runc');
  const podman = med('podman');
  const docker = med('docker');
  if (runc)
    check(
      'minidock ≤ 2.0× runc',
      md <= 2 * runc,
      `minidock ${fmtMs(md)} ms = ${fmtRatio(md / runc)} runc (${fmtMs(runc)} ms)`,
    );
  if (podman)
    check(
      'minidock ≥ 4× faster than Podman',
      podman >= 4 * md,
      `Podman ${fmtMs(podman)} ms = ${fmtRatio(podman / md)} minidock`,
    );
  if (docker)
    check(
      'minidock ≥ 6× faster than Docker',
      docker >= 6 * md,
      `Docker ${fmtMs(docker)} ms = ${fmtRatio(docker / md)} minidock`,
    );
  return out;
}

/**
 * A warning when the host had more runnable tasks than CPUs during an experiment: the 1-minute load
 * average at its start or its end above the CPU count. Times are then the host's as much as the
 * runtimes', and CPU shares fall short of their limits (see the limits verdicts).
 */
export function loadWarning(e: ExperimentResult, cpus: number): string | undefined {
  const [start, end] = [e.loadavg?.start[0], e.loadavg?.end[0]];
  if (!cpus || !((start ?? 0) > cpus || (end ?? 0) > cpus)) return undefined;
  return `⚠️ host busy: load average ${start ?? '?'} at the start and ${end ?? '?'} at the end of this experiment, on ${cpus} CPUs — other tasks competed for the CPU, so these figures are slower (and CPU shares lower) than on a quiet machine`;
}

export function renderReport(res: Results, charts: Map<string, string[]>): string {
  const L: string[] = [];
  L.push('# minidock bench report', '');
  L.push(...describeEnv(res.env).map((l) => `- ${l}`), '');
  L.push('## Runtimes', '');
  L.push(
    mdTable(
      ['runtime', 'available', 'version', 'notes'],
      res.env.peers.map((p) => ({
        runtime: p.name,
        available: p.available,
        version: p.version,
        notes: p.available ? p.notes.join('; ') : `skipped: ${p.reason}${p.fix ? ` — fix: \`${p.fix}\`` : ''}`,
      })),
    ),
  );
  if (res.env.daemons.length)
    L.push(
      `Daemons started by this run (and stopped at its end): ${res.env.daemons.map((d) => `${d.name} (pid ${d.pid})`).join(', ')}`,
      '',
    );
  const goals = startupGoals(res.experiments.find((e) => e.name === 'startup'));
  if (goals.length) L.push('## Figures to reach (this run)', '', ...goals, '');
  for (const e of res.experiments) {
    L.push(`## ${e.title}`, '');
    const busy = loadWarning(e, res.env.cpus);
    if (busy) L.push(`> ${busy}`, '');
    if (e.loadavg)
      L.push(
        `_Load average (1, 5, 15 min) at the start: ${e.loadavg.start.join(' ')}; at the end: ${e.loadavg.end.join(' ')}._`,
        '',
      );
    for (const c of charts.get(e.name) ?? []) L.push(`![${e.name}](${c})`, '');
    L.push(mdTable(e.summaryColumns, e.summary), '');
    for (const t of e.tables ?? []) L.push(`### ${t.title}`, '', mdTable(t.columns, t.rows), '');
    if (e.name === 'phases' && e.summary.length) {
      L.push(
        "### Beside the seed's published estimates",
        '',
        mdTable(
          ['seed_phase', 'seed_estimate_ms', 'minidock_phases', 'minidock_measured_ms'],
          seedComparison(e.summary),
        ),
        '',
      );
    }
    for (const n of e.notes) L.push(`- ${n}`);
    for (const s of e.skipped) L.push(`- skipped **${s.runtime}**: ${s.reason}${s.fix ? ` — fix: \`${s.fix}\`` : ''}`);
    L.push('', `_${e.rows.length} raw rows in ${e.name}.csv; ${e.seconds.toFixed(1)} s._`, '');
  }
  return L.join('\n');
}

export function summaryJson(res: Results): object {
  return {
    env: {
      date: res.env.date,
      kernel: res.env.kernel,
      cpu: res.env.cpuModel,
      cpus: res.env.cpus,
      cgroup: res.env.cgroup.mode,
    },
    experiments: Object.fromEntries(res.experiments.map((e) => [e.name, e.summary])),
    skipped: res.skipped,
  };
}

/** The closing line of a run: where its files went, and which kinds were written. */
export function resultsLine(dir: string, files: string[]): string {
  const kinds = [
    ['.csv', 'CSV'],
    ['results.json', 'results.json'],
    ['.png', 'charts'],
    ['report.md', 'report.md'],
  ]
    .filter(([end]) => files.some((f) => f.endsWith(end)))
    .map(([, what]) => what);
  return `results: ${dir} (${files.length} files: ${kinds.join(', ')})`;
}

export async function writeResults(dir: string, res: Results, opts: { charts: boolean }): Promise<{ files: string[] }> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const e of res.experiments) {
    const p = join(dir, `${e.name}.csv`);
    writeFileSync(p, toCsv(e.columns, e.rows));
    files.push(p);
  }
  const charts = new Map<string, string[]>();
  if (!opts.charts) {
    // keep linking the charts an earlier render left in the directory
    const have = existsSync(dir) ? readdirSync(dir) : [];
    for (const e of res.experiments)
      charts.set(
        e.name,
        have.filter((f) => f.endsWith('.png') && (f === `${e.name}.png` || f.startsWith(`${e.name}-`))).sort(),
      );
  } else {
    const { renderCharts } = await import('./charts.js');
    for (const e of res.experiments) {
      const made = await renderCharts(e, dir);
      charts.set(
        e.name,
        made.filter((f) => f.endsWith('.png')).map((f) => f.slice(dir.length + 1)),
      );
      files.push(...made);
    }
  }
  writeFileSync(
    join(dir, 'results.json'),
    JSON.stringify(res, (_k, v) => (typeof v === 'bigint' ? String(v) : v), 1),
  );
  files.push(join(dir, 'results.json'));
  writeFileSync(join(dir, 'report.md'), renderReport(res, charts));
  files.push(join(dir, 'report.md'));
  return { files };
}
