// What `bench unpack` measured (UnpackBenchResult: per runtime, per run, CPU, memory, processes),
// apart from the code that measures it (unpack-bench.ts), so that the bench's experiment
// (src/bench/experiments/unpack.ts) reads the results without importing the measuring code.

export interface Stat3 {
  avg: number;
  min: number;
  max: number;
}

export interface RunResult {
  run: number;
  ms: number;
  cpuPct: Stat3;
  rssMiB: Stat3;
  procs: Stat3;
  threads: Stat3;
  samples: number;
  entries: number;
  bytes: number;
}

export interface RuntimeResult {
  runtime: string;
  skipped?: string;
  install?: string;
  runs: RunResult[];
  summary?: {
    ms: Stat3;
    cpuPct: Stat3;
    peakRssMiB: number;
    peakProcs: number;
    peakThreads: number;
  };
}

export interface UnpackBenchResult {
  file: string;
  format: string;
  layers: number;
  storedBytes: number;
  tarBytes: number;
  runs: number;
  intervalMs: number;
  env: { kernel: string; node: string; cpu: string; cpus: number };
  results: RuntimeResult[];
}
