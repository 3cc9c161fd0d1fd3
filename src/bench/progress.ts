// Progress without a TTY (CI, pipes): one plain line per runtime step batch and per summary.
import type { BenchEvent, Emit } from './types.js';

/** Plain progress lines: every step of a small run, then every 10 % of a large one. */
export function plainProgress(write: (s: string) => void): Emit {
  const t0 = Date.now();
  return (e: BenchEvent) => {
    const at = `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;
    switch (e.type) {
      case 'experiment':
        write(`${at} ${e.name}: ${e.runtimes.join(', ') || '(no runtime available)'} — ${e.total} launches\n`);
        break;
      case 'step': {
        const every = Math.max(1, Math.round(e.total / 10));
        if (e.done % every === 0 || e.done === e.total) {
          write(
            `${at} ${e.experiment} ${e.runtime} ${e.done}/${e.total}${e.value !== undefined ? ` last ${e.value.toFixed(1)} ${e.unit ?? ''}` : ''}\n`,
          );
        }
        break;
      }
      case 'summary':
        write(`${at} ${e.experiment} ${e.runtime}: ${e.text ?? `median ${e.median?.toFixed(2)} ${e.unit ?? ''}`}\n`);
        break;
      case 'skip':
        write(`${at} ${e.experiment}: skipped ${e.runtime}: ${e.reason}\n`);
        break;
      case 'note':
        write(`${at} ${e.text}\n`);
        break;
      case 'done':
        write(`${at} ${e.experiment} done in ${e.seconds.toFixed(1)} s\n`);
        break;
    }
  };
}

/** The state the live view draws: experiment × runtime progress, medians as they fill in, ETA. */
export interface LiveState {
  experiments: Array<{
    name: string;
    runtimes: string[];
    total: number;
    done: number;
    seconds?: number;
    startedAt: number;
  }>;
  cells: Record<
    string,
    { done: number; total: number; median?: number; unit?: string; last?: number; skipped?: string; text?: string }
  >;
  notes: string[];
}

export function emptyLive(): LiveState {
  return { experiments: [], cells: {}, notes: [] };
}

/** Pure reducer (tested): apply one event to the live state. */
export function reduceLive(s: LiveState, e: BenchEvent): LiveState {
  const key = (x: string, r: string): string => `${x}/${r}`;
  switch (e.type) {
    case 'experiment':
      // runtimes skipped before the experiment started (their skip event came first) stay listed
      s.experiments.push({
        name: e.name,
        total: e.total,
        done: 0,
        startedAt: Date.now(),
        runtimes: [
          ...e.runtimes,
          ...Object.keys(s.cells)
            .filter((k) => k.startsWith(`${e.name}/`))
            .map((k) => k.slice(e.name.length + 1))
            .filter((r) => !e.runtimes.includes(r)),
        ],
      });
      for (const r of e.runtimes) s.cells[key(e.name, r)] ??= { done: 0, total: 0 };
      break;
    case 'step': {
      const c = (s.cells[key(e.experiment, e.runtime)] ??= { done: 0, total: e.total });
      c.done = e.done;
      c.total = e.total;
      if (e.value !== undefined) c.last = e.value;
      c.unit = e.unit;
      const x = s.experiments.find((x) => x.name === e.experiment);
      if (x)
        x.done = Object.entries(s.cells)
          .filter(([k]) => k.startsWith(`${e.experiment}/`))
          .reduce((a, [, v]) => a + v.done, 0);
      break;
    }
    case 'summary': {
      const c = (s.cells[key(e.experiment, e.runtime)] ??= { done: 0, total: 0 });
      c.median = e.median;
      c.unit = e.unit;
      c.text = e.text;
      break;
    }
    case 'skip': {
      const x = s.experiments.find((x) => x.name === e.experiment);
      if (x && !x.runtimes.includes(e.runtime)) x.runtimes.push(e.runtime);
      (s.cells[key(e.experiment, e.runtime)] ??= { done: 0, total: 0 }).skipped = e.reason;
      break;
    }
    case 'note':
      s.notes.push(e.text);
      break;
    case 'done': {
      const x = s.experiments.find((x) => x.name === e.experiment);
      if (x) x.seconds = e.seconds;
      break;
    }
  }
  return s;
}

/** Seconds left in the current experiment, from the pace so far. */
export function eta(x: { total: number; done: number; startedAt: number }, now = Date.now()): number | undefined {
  if (!x.done || x.done >= x.total) return undefined;
  return (((now - x.startedAt) / x.done) * (x.total - x.done)) / 1000;
}
