// Charts with a real charting library, headless: Vega-Lite spec -> (vega-lite) Vega spec -> (vega)
// SVG -> (@resvg/resvg-js) PNG. Loaded only when a run writes its results (the heavy modules stay
// out of every other command).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentResult, Row } from './types.js';

type Spec = Record<string, unknown>;
const FONT = 'DejaVu Sans';

const base = (title: string, values: Row[], extra: Spec): Spec => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: { text: title, fontSize: 15 },
  width: 560,
  height: 320,
  background: 'white',
  config: { font: FONT, axis: { labelFontSize: 12, titleFontSize: 12 }, legend: { labelFontSize: 12 } },
  data: { values },
  ...extra,
});

const labelAngle = (order: string[]): number => (order.join('').length > 60 ? -30 : 0);

/** Every measurement of `field` per runtime: a min/IQR/max box and the points beside it (log axis). */
function boxStrip(field: string, title: string, order: string[]): Spec {
  return {
    layer: [
      {
        mark: { type: 'boxplot', extent: 'min-max', size: 28, opacity: 0.35 },
        encoding: {
          // (many runtimes, or engine+runtime pairs: slanted labels, which would overlap level)
          x: { field: 'runtime', type: 'nominal', sort: order, title: null, axis: { labelAngle: labelAngle(order) } },
          y: { field, type: 'quantitative', scale: { type: 'log' }, title },
          color: { field: 'runtime', type: 'nominal', sort: order, legend: null },
        },
      },
      {
        mark: { type: 'circle', size: 28, opacity: 0.8 },
        encoding: {
          x: { field: 'runtime', type: 'nominal', sort: order },
          xOffset: { field: 'jitter', type: 'quantitative', scale: { domain: [-1, 1] } },
          y: { field, type: 'quantitative', scale: { type: 'log' } },
          color: { field: 'runtime', type: 'nominal', sort: order, legend: null },
        },
      },
    ],
  };
}

/** The rows that have a number in `field`, each with a fixed sideways offset so points do not overlap. */
const withJitter = (rows: Row[], field: string): Row[] =>
  rows.filter((r) => typeof r[field] === 'number').map((r, i) => ({ ...r, jitter: ((i * 0.618) % 1) * 0.9 - 0.45 }));

type Chart = { name: string; spec: Spec };

/** The Vega-Lite specs for one experiment (pure: tested without rendering). */
export function chartSpecs(e: ExperimentResult, runtimes?: string[]): Array<{ name: string; spec: Spec }> {
  const order = runtimes ?? [...new Set(e.rows.map((r) => String(r.runtime)))];
  switch (e.name) {
    case 'startup':
      return startupCharts(e, order);
    case 'unpack':
      return unpackCharts(e, order);
    case 'phases':
      return phasesCharts(e);
    case 'scale':
      return scaleCharts(e, order);
    case 'overhead':
      return overheadCharts(e, order);
    case 'limits':
      return limitsCharts(e, order);
    case 'cycle':
      return cycleCharts(e, order);
    case 'network':
      return networkCharts(e, order);
    case 'ipc':
      return ipcCharts(e, order);
    default:
      return [];
  }
}

/** Every startup time per runtime, and the time to the container's first instruction where measured. */
function startupCharts(e: ExperimentResult, order: string[]): Chart[] {
  const rows = e.rows.filter((r) => typeof r.startup_ms === 'number');
  if (!rows.length) return [];
  const out: Chart[] = [
    {
      name: 'startup',
      spec: base(
        'Startup: `echo ok` per runtime (ms, log scale; box = min/IQR/max)',
        withJitter(rows, 'startup_ms'),
        boxStrip('startup_ms', 'wall time (ms, log)', order),
      ),
    },
  ];
  const matrix = e.summary.filter((r) => String(r.runtime).includes('+') && typeof r.median_ms === 'number');
  if (matrix.length) {
    // engine+runtime pairs: bars grouped by engine, one per runtime, so both halves of a launch show
    const values = matrix.map((r) => {
      const [engine, runtime] = String(r.runtime).split('+');
      return { engine, runtime, median_ms: r.median_ms };
    });
    const engines = [...new Set(values.map((v) => v.engine))];
    const runtimes = [...new Set(values.map((v) => v.runtime))];
    out.push({
      name: 'startup-matrix',
      spec: base('Startup per engine × OCI runtime: median `echo ok` (ms)', values, {
        mark: 'bar',
        encoding: {
          x: { field: 'engine', type: 'nominal', sort: engines, title: null, axis: { labelAngle: 0 } },
          xOffset: { field: 'runtime', type: 'nominal', sort: runtimes },
          y: { field: 'median_ms', type: 'quantitative', title: 'median wall time (ms)' },
          color: { field: 'runtime', type: 'nominal', sort: runtimes, title: 'OCI runtime' },
        },
      }),
    });
  }
  if (rows.some((r) => typeof r.ttfi_ms === 'number')) {
    out.push({
      name: 'startup-ttfi',
      spec: base(
        'Time to first instruction in the container (ms, log scale)',
        withJitter(rows, 'ttfi_ms'),
        boxStrip('ttfi_ms', 'launch → first instruction (ms, log)', order),
      ),
    });
  }
  return out;
}

function unpackCharts(e: ExperimentResult, order: string[]): Chart[] {
  const rows = withJitter(e.rows, 'unpack_ms');
  if (!rows.length) return [];
  return [
    {
      name: 'unpack',
      spec: base(
        "Unpacking the image's layers, per run (ms, log scale; box = min/IQR/max)",
        rows,
        boxStrip('unpack_ms', 'unpack time (ms, log)', order),
      ),
    },
  ];
}

/** One bar per launch phase (minidock's own and the child's), with the seed estimate as a tick. */
function phasesCharts(e: ExperimentResult): Chart[] {
  const rows = e.summary.filter((r) => r.kind === 'minidock' || r.kind === 'child');
  if (!rows.length) return [];
  const phaseOrder = rows.map((r) => String(r.phase));
  const bars = {
    mark: 'bar',
    encoding: {
      y: { field: 'phase', type: 'nominal', sort: phaseOrder, title: null, axis: { labelLimit: 320 } },
      x: { field: 'median_ms', type: 'quantitative', title: 'median ms' },
      color: {
        field: 'kind',
        type: 'nominal',
        title: 'measured in',
        scale: { domain: ['minidock', 'child'], range: ['#4c78a8', '#f58518'] },
      },
    },
  };
  const ticks = {
    mark: { type: 'tick', color: 'black', thickness: 2, size: 16 },
    encoding: {
      y: { field: 'phase', type: 'nominal', sort: phaseOrder },
      x: { field: 'seed_estimate_ms', type: 'quantitative' },
      tooltip: { field: 'seed_phase' },
    },
  };
  return [
    {
      name: 'phases',
      spec: base("minidock's launch phases (median ms; child steps run inside clone…child ran)", rows, {
        height: 22 * rows.length,
        layer: [bars, ticks],
      }),
    },
  ];
}

/** Total launch time for N containers, and the daemons' and monitors' memory where measured. */
function scaleCharts(e: ExperimentResult, order: string[]): Chart[] {
  const rows = e.summary.filter((r) => typeof r.total_ms === 'number');
  if (!rows.length) return [];
  const out: Chart[] = [
    {
      name: 'scale',
      spec: base('Scale: launching N detached `sleep` containers (total ms, log)', rows, {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'n', type: 'quantitative', title: 'containers (N)', axis: { values: [1, 5, 10, 20] } },
          y: { field: 'total_ms', type: 'quantitative', scale: { type: 'log' }, title: 'total launch time (ms, log)' },
          color: { field: 'runtime', type: 'nominal', sort: order },
        },
      }),
    },
  ];
  const mem = e.summary.filter((r) => typeof r.engine_rss_mib === 'number');
  if (mem.length) {
    out.push({
      name: 'scale-memory',
      spec: base('Scale: daemon + monitor RSS with N containers (MiB)', mem, {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'n', type: 'quantitative', title: 'containers (N)', axis: { values: [1, 5, 10, 20] } },
          y: { field: 'engine_rss_mib', type: 'quantitative', title: 'RSS of daemons and monitors (MiB)' },
          color: { field: 'runtime', type: 'nominal', sort: order },
        },
      }),
    });
  }
  return out;
}

function overheadCharts(e: ExperimentResult, order: string[]): Chart[] {
  const rows = e.summary.filter((r) => typeof r.overhead_pct === 'number');
  if (!rows.length) return [];
  return [
    {
      name: 'overhead',
      spec: base('Overhead of running inside a container (exec, % over bare; median)', rows, {
        mark: 'bar',
        encoding: {
          x: { field: 'runtime', type: 'nominal', sort: order, title: null, axis: { labelAngle: 0 } },
          xOffset: { field: 'workload', type: 'nominal' },
          y: { field: 'overhead_pct', type: 'quantitative', title: '% over bare' },
          color: { field: 'workload', type: 'nominal' },
        },
      }),
    },
  ];
}

/** Median MB/s per runtime, one bar per path (loopback: the host's ceiling). */
function networkCharts(e: ExperimentResult, order: string[]): Chart[] {
  const rows = e.summary.filter((r) => typeof r.median_mb_s === 'number');
  if (!rows.length) return [];
  return [
    {
      name: 'network',
      spec: base('TCP throughput per path (MB/s, median)', rows, {
        mark: 'bar',
        encoding: {
          x: { field: 'runtime', type: 'nominal', sort: order, title: null, axis: { labelAngle: 0 } },
          xOffset: { field: 'path', type: 'nominal', sort: ['loopback', 'published', 'bridge'] },
          y: { field: 'median_mb_s', type: 'quantitative', title: 'MB/s (median)' },
          color: { field: 'path', type: 'nominal', sort: ['loopback', 'published', 'bridge'] },
        },
      }),
    },
  ];
}

/** The ping-pong's round trip and throughput per setup, one bar per transport (shm, unix). */
function ipcCharts(e: ExperimentResult, order: string[]): Chart[] {
  const rows = e.summary
    .filter((r) => typeof r.rtt_median_us === 'number')
    .map((r): Row => ({ ...r, case: `${r.runtime} ${r.setup}` }));
  if (!rows.length) return [];
  const cases = order.flatMap((rt) => rows.filter((r) => r.runtime === rt).map((r) => r.case));
  const bars = (field: string, title: string): Spec => ({
    mark: 'bar',
    encoding: {
      x: {
        field: 'case',
        type: 'nominal',
        sort: [...new Set(cases)],
        title: null,
        axis: { labelAngle: -30, labelLimit: 240 },
      },
      xOffset: { field: 'transport', type: 'nominal' },
      y: { field, type: 'quantitative', title },
      color: { field: 'transport', type: 'nominal' },
    },
  });
  return [
    {
      name: 'ipc-rtt',
      spec: base('IPC ping-pong: round trip of 64 bytes (µs, median)', rows, bars('rtt_median_us', 'µs')),
    },
    { name: 'ipc-throughput', spec: base('IPC: 1 MiB requests (MB/s, median)', rows, bars('mb_s_median', 'MB/s')) },
  ];
}

/** The cycle's steps per runtime, stacked (medians): create, start, wait for the end, delete. */
function cycleCharts(e: ExperimentResult, order: string[]): Chart[] {
  const steps = ['create', 'start', 'wait', 'delete'];
  const values = e.summary.flatMap((r) =>
    steps
      .filter((st) => typeof r[`${st}_median_ms`] === 'number')
      .map((st, i) => ({ runtime: r.runtime, step: st, order: i, ms: r[`${st}_median_ms`] })),
  );
  if (!values.length) return [];
  return [
    {
      name: 'cycle',
      spec: base('OCI cycle of one bundle: median of each step (ms)', values, {
        mark: 'bar',
        encoding: {
          x: { field: 'runtime', type: 'nominal', sort: order, title: null, axis: { labelAngle: 0 } },
          y: { field: 'ms', type: 'quantitative', title: 'ms (stacked: the median cycle is about their sum)' },
          color: { field: 'step', type: 'nominal', sort: steps, title: 'step' },
          order: { field: 'order', type: 'quantitative' },
        },
      }),
    },
  ];
}

/** The limits scoreboard: one column per case ("memory 50M"), one row per runtime, a cell per verdict. */
function limitsCharts(e: ExperimentResult, order: string[]): Chart[] {
  const rows: Row[] = e.summary
    .filter((r) => r.verdict !== undefined)
    .map((r) => ({ ...r, case: `${r.test} ${r.limit}` }));
  if (!rows.length) return [];
  const tests = [...new Set(rows.map((r) => String(r.case)))];
  // the verdicts, best to worst, and their colours
  const verdictColors = {
    domain: ['exact', 'close', 'off', 'not enforced', 'host busy: not judged', 'not judged', 'no flag', 'failed'],
    range: ['#54a24b', '#b8d96b', '#f2cf5b', '#e45756', '#9ecae9', '#c6dbef', '#d0d0d0', '#9d9d9d'],
  };
  return [
    {
      name: 'limits',
      spec: base('Limits scoreboard: enforced as set?', rows, {
        width: Math.max(320, 70 * tests.length),
        height: 34 * new Set(rows.map((r) => r.runtime)).size,
        encoding: {
          x: { field: 'case', type: 'nominal', sort: tests, title: null, axis: { labelAngle: -30, orient: 'top' } },
          y: { field: 'runtime', type: 'nominal', sort: order, title: null },
        },
        layer: [
          {
            mark: 'rect',
            encoding: { color: { field: 'verdict', type: 'nominal', title: 'verdict', scale: verdictColors } },
          },
          { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'label', type: 'nominal' } } },
        ],
      }),
    },
  ];
}

/** Vega-Lite spec -> SVG text (vega's headless renderer). */
export async function toSvg(spec: Spec): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** SVG -> PNG at 2× (resvg, with the system's DejaVu fonts). */
export async function svgToPng(svg: string, zoom = 2): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: zoom },
    font: { loadSystemFonts: true, defaultFontFamily: FONT },
    background: 'white',
  });
  return Buffer.from(r.render().asPng());
}

export async function renderCharts(e: ExperimentResult, dir: string, runtimes?: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const { name, spec } of chartSpecs(e, runtimes)) {
    const svg = await toSvg(spec);
    writeFileSync(join(dir, `${name}.svg`), svg);
    writeFileSync(join(dir, `${name}.png`), await svgToPng(svg));
    files.push(join(dir, `${name}.svg`), join(dir, `${name}.png`));
  }
  return files;
}
