// The launch timeline behind --trace: minidock's own phases (measured in Node) and every step the
// child ran (measured in the child). Both use CLOCK_MONOTONIC — process.hrtime.bigint() is
// libuv's uv_hrtime(), the same clock the C child reads — so they share one time axis, whose zero
// is the moment this Node process was started.
import { describeStep, type Step } from './plan.js';
import { errnoName } from '../sys/errno.js';

/** One cgroup file write as the shell command that does the same: `echo "50M" > …/memory.limit_in_bytes`
 * (--trace after a launch, --dry-run before one). */
export function cgroupWriteLine(
  w: { file: string; value: string },
  color: (code: string, s: string) => string = (_c, s) => s,
): string {
  return `echo ${color('33', JSON.stringify(w.value))} > ${color('36', w.file)}`;
}

export interface ChildRecord {
  step: number;
  err: number; // 0 ok, >0 failed, <0 failed but ignored (flags)
  t0: bigint;
  t1: bigint;
}

export interface TraceMark {
  name: string;
  at: number; // ms since process start
  took: number; // ms since the previous mark
}

export interface TraceStep {
  index: number;
  phase: string;
  call: string;
  why: string;
  at: number;
  took: number;
  errno?: string;
  ignored?: boolean;
}

export class Timeline {
  /** CLOCK_MONOTONIC (ns) of this process's start */
  readonly origin: bigint;
  readonly marks: TraceMark[] = [];
  private readonly stepList: TraceStep[] = [];
  /** the child's reports, turned into steps only when asked for (without --trace, never) */
  private readonly pending: Array<[Step[], ChildRecord[]]> = [];
  /** every limit/setup file minidock wrote into the container's cgroup, in order (see cgroupWrites) */
  cgroup?: { mode: string; writes: Array<{ file: string; value: string }> };
  private last: number;

  constructor() {
    // process.uptime() is measured from Node's own start with the same clock (uv_hrtime), and
    // unlike `performance` it loads nothing (perf_hooks is ten modules: ~2 ms of every start).
    const nowNs = process.hrtime.bigint();
    this.origin = nowNs - BigInt(Math.round(process.uptime() * 1e9));
    // Node's own start: from exec of the node binary to the first line of bin/minidock.js, which
    // stamps the time (absent when not started through it, e.g. in tests).
    const t0 = (globalThis as { __mdT0?: bigint }).__mdT0;
    const boot = t0 ? this.ms(t0) : 0;
    if (t0) this.marks.push({ name: 'node start (exec → first line of minidock)', at: boot, took: boot });
    this.last = boot;
  }

  private ms(ns: bigint): number {
    return Number(ns - this.origin) / 1e6;
  }

  mark(name: string): void {
    const at = this.ms(process.hrtime.bigint());
    this.marks.push({ name, at, took: at - this.last });
    this.last = at;
  }

  child(steps: Step[], records: ChildRecord[]): void {
    this.pending.push([steps, records]);
  }

  /** Every step the child reported, in order, with what it cost. */
  get steps(): TraceStep[] {
    for (const [steps, records] of this.pending.splice(0)) {
      for (const r of records) {
        const s = steps[r.step];
        if (!s) continue;
        const entry: TraceStep = {
          index: r.step,
          phase: s.phase,
          call: describeStep(s),
          why: s.why,
          at: this.ms(r.t0),
          took: Number(r.t1 - r.t0) / 1e6,
        };
        if (r.err) {
          entry.errno = errnoName(Math.abs(r.err));
          entry.ignored = r.err < 0;
        }
        // the exec step reports twice: "starting" (t0 == t1) and, on failure, the error
        const prev = this.stepList.findIndex((x) => x.index === r.step);
        if (prev >= 0) this.stepList[prev] = { ...this.stepList[prev], ...entry };
        else this.stepList.push(entry);
      }
    }
    return this.stepList;
  }

  /** Record the cgroup's writes (cgroup.writes) for the "cgroup writes" section: the files are the lesson. */
  cgroupWrites(mode: string, writes: ReadonlyArray<{ file: string; value: string }>): void {
    this.cgroup = { mode, writes: writes.map((w) => ({ file: w.file, value: w.value })) };
  }

  /** Time per launch phase: the child's steps summed by phase, plus minidock's own marks. */
  phases(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.marks) out[m.name] = (out[m.name] ?? 0) + m.took;
    for (const s of this.steps) out[`child: ${s.phase}`] = (out[`child: ${s.phase}`] ?? 0) + s.took;
    return out;
  }

  toJSON(): object {
    return {
      clock: 'CLOCK_MONOTONIC, ms since process start',
      marks: this.marks,
      steps: this.steps,
      phases: this.phases(),
      ...(this.cgroup ? { cgroup: this.cgroup } : {}),
    };
  }

  /**
   * @param short long paths to print as a short name, e.g. the container's directory as `$C`
   *   (a legend line says what each stands for)
   */
  render(color: boolean, short: Record<string, string> = {}): string {
    const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
    const abbreviate = (s: string): string =>
      Object.entries(short).reduce((acc, [long, name]) => acc.split(long).join(name), s);
    const ms = (n: number, width = 8): string => n.toFixed(3).padStart(width);
    const lines: string[] = [];
    lines.push(
      paint('1', 'minidock launch trace') +
        paint('2', '  (ms since the node process started; child steps timed in the child, CLOCK_MONOTONIC)'),
    );
    for (const [long, name] of Object.entries(short)) lines.push(paint('2', `  ${name} = ${long}`));
    lines.push('');
    lines.push(paint('1', '  minidock (Node)') + '');
    lines.push(paint('2', '      at ms   took ms  phase'));
    for (const m of this.marks) lines.push(`  ${ms(m.at, 9)} ${ms(m.took)}  ${m.name}`);
    lines.push('');
    lines.push(paint('1', '  container process (C child, between clone and execve)'));
    lines.push(paint('2', '   #     at ms   took ms  syscall'));
    for (const s of this.steps) {
      const status = s.errno
        ? s.ignored
          ? paint('33', ` = -1 ${s.errno} (ignored)`)
          : paint('31', ` = -1 ${s.errno}`)
        : '';
      lines.push(
        `  ${String(s.index).padStart(2)} ${ms(s.at, 9)} ${ms(s.took)}  ${paint('36', abbreviate(s.call))}${status}`,
      );
      lines.push(paint('2', `                         ${s.phase.padEnd(12)} ${s.why}`));
    }
    if (this.cgroup) {
      lines.push('');
      lines.push(
        paint(
          '1',
          `  cgroup writes (${this.cgroup.mode}; plain files, written in this order before the container's first instruction)`,
        ),
      );
      if (this.cgroup.writes.length === 0)
        lines.push(paint('2', '    (none: no limits given; the cgroup only collects statistics)'));
      for (const w of this.cgroup.writes)
        lines.push(`    ${cgroupWriteLine({ file: abbreviate(w.file), value: w.value }, paint)}`);
    }
    lines.push('');
    lines.push(paint('1', '  where the time went'));
    const ph = this.phases();
    const total = this.marks.length ? this.marks[this.marks.length - 1].at : 0;
    for (const [name, took] of Object.entries(ph)) {
      const bar = '█'.repeat(Math.max(0, Math.round((took / Math.max(total, 1e-9)) * 40)));
      lines.push(`  ${name.padEnd(40)} ${ms(took)} ms  ${paint('32', bar)}`);
    }
    lines.push(`  ${'total (process start → cleanup done)'.padEnd(40)} ${ms(total)} ms`);
    return lines.join('\n') + '\n';
  }
}
