// Shapes shared by the experiments, the output writers, the charts and the live view.
import type { NetMode } from './experiments/netmode.js';
import type { PeerName } from './peers/index.js';
import type { Detection, Peer } from './peers/types.js';

export type Cell = string | number | boolean | null | undefined;
export type Row = Record<string, Cell>;

export interface Skip {
  experiment: string;
  runtime: string;
  reason: string;
  /** the exact command that would fix it */
  fix?: string;
}

export interface ExperimentResult {
  name: string;
  title: string;
  /** tidy raw rows, one per measurement (CSV) */
  columns: string[];
  rows: Row[];
  /** the summary table (report.md, --json) */
  summaryColumns: string[];
  summary: Row[];
  /** further views of the summary, after it in report.md and the terminal (startup's engine × runtime matrix) */
  tables?: Array<{ title: string; columns: string[]; rows: Row[] }>;
  skipped: Skip[];
  notes: string[];
  startedAt: string;
  seconds: number;
  /** /proc/loadavg (1, 5, 15 min) when the experiment started and ended: was the host quiet? */
  loadavg?: { start: number[]; end: number[] };
}

export interface ExperimentOptions {
  runtimes: PeerName[];
  reps: number;
  warmup: number;
  quick: boolean;
  pin?: number;
  /** bench startup --network: the network mode every runtime is launched in (default none), or both */
  network?: NetMode[];
}

export interface ActivePeer {
  peer: Peer;
  det: Detection;
}

/** Progress events: the live ink view and the plain progress lines both consume these. */
export type BenchEvent =
  | { type: 'experiment'; name: string; runtimes: string[]; total: number }
  | { type: 'step'; experiment: string; runtime: string; done: number; total: number; value?: number; unit?: string }
  | { type: 'summary'; experiment: string; runtime: string; median?: number; unit?: string; text?: string }
  | { type: 'skip'; experiment: string; runtime: string; reason: string }
  | { type: 'note'; text: string }
  | { type: 'done'; experiment: string; seconds: number };

export type Emit = (e: BenchEvent) => void;
