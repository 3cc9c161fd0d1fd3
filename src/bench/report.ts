// `minidock bench report DIR [DIR...]`: re-render saved runs, and compare several (ratios, what got
// faster); the command that prints them is src/cli/bench.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MinidockError } from '../errors.js';
import { fmtMs, fmtRatio, ratio } from './stats.js';
import { mdTable, writeResults, type Results } from './output.js';
import type { Row } from './types.js';

export function loadResults(dir: string): Results {
  const p = join(dir, 'results.json');
  if (!existsSync(p)) throw new MinidockError(`${p}: no results.json here (a directory written by minidock bench)`);
  const r = JSON.parse(readFileSync(p, 'utf8')) as Results;
  if (!r.env || !Array.isArray(r.experiments)) throw new MinidockError(`${p}: not a minidock bench results file`);
  return r;
}

/** The headline median of each summary row, per experiment (what comparisons compare). */
export function headline(expName: string, row: Row): { key: string; value?: number; unit: string } | undefined {
  const num = (k: string): number | undefined => (typeof row[k] === 'number' ? (row[k] as number) : undefined);
  switch (expName) {
    case 'startup':
    case 'unpack':
    case 'cycle':
      return { key: `${row.runtime}`, value: num('median_ms'), unit: 'ms' };
    case 'phases':
      return { key: `${row.phase}`, value: num('median_ms'), unit: 'ms' };
    case 'overhead':
      return { key: `${row.runtime} ${row.workload}`, value: num('median_ms'), unit: 'ms' };
    case 'scale':
      return { key: `${row.runtime} N=${row.n}`, value: num('total_ms'), unit: 'ms' };
    default:
      return undefined;
  }
}

/** Compare runs: for every headline figure, each run's value and the last run / first run ratio. */
export function compareRuns(runs: Results[], labels: string[]): { columns: string[]; rows: Row[] } {
  const rows: Row[] = [];
  const expNames = [...new Set(runs.flatMap((r) => r.experiments.map((e) => e.name)))];
  for (const exp of expNames) {
    const keys: string[] = [];
    const values = runs.map((r) => {
      const m = new Map<string, number | undefined>();
      for (const row of r.experiments.find((e) => e.name === exp)?.summary ?? []) {
        const h = headline(exp, row);
        if (!h) continue;
        if (!keys.includes(h.key)) keys.push(h.key);
        m.set(h.key, h.value);
      }
      return m;
    });
    for (const k of keys) {
      const row: Row = { experiment: exp, figure: k };
      labels.forEach((l, i) => {
        row[l] = values[i].get(k);
      });
      const first = values[0].get(k);
      const last = values[values.length - 1].get(k);
      const r = ratio(last, first);
      row.last_vs_first = r;
      row.change = r === undefined ? '' : r < 0.95 ? 'faster' : r > 1.05 ? 'slower' : 'same (±5 %)';
      rows.push(row);
    }
  }
  return { columns: ['experiment', 'figure', ...labels, 'last_vs_first', 'change'], rows };
}

/** Load each saved run and write its report.md (and charts) again; `log` hears of each directory done. */
export async function rerenderRuns(dirs: string[], charts: boolean, log: (line: string) => void): Promise<Results[]> {
  const runs = dirs.map(loadResults);
  for (const [i, dir] of dirs.entries()) {
    await writeResults(dir, runs[i], { charts });
    log(`re-rendered ${dir}/report.md${charts ? ' and charts' : ''}`);
  }
  return runs;
}

/** The comparison of several saved runs (loaded from `dirs`), as markdown: which run is which, then compareRuns' table. */
export function comparisonReport(dirs: string[], runs: Results[]): string {
  const labels = dirs.map((_d, i) => `run${i + 1}`);
  const { columns, rows } = compareRuns(runs, labels);
  return [
    '# minidock bench: comparison',
    '',
    ...dirs.map(
      (d, i) =>
        `- ${labels[i]}: ${d} — ${runs[i].env.date}, kernel ${runs[i].env.kernel}, ${runs[i].env.cpus} × ${runs[i].env.cpuModel}`,
    ),
    '',
    mdTable(
      columns,
      rows.map((r) => ({
        ...r,
        ...Object.fromEntries(labels.map((l) => [l, fmtMs(r[l] as number | undefined)])),
        last_vs_first: fmtRatio(r.last_vs_first as number | undefined),
      })),
    ),
  ].join('\n');
}
