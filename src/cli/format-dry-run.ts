// The text of `minidock run --dry-run` (the plan: src/runtime/run.ts dryRunPlan) and of --trace.
import type { LaunchPlan } from '../runtime/build-plan.js';
import { describeStep, Op } from '../runtime/plan.js';
import { type Timeline, cgroupWriteLine } from '../runtime/trace.js';
import { CLONE, flagNames } from '../sys/constants.js';
import { writeErr } from '../sys/output.js';

/**
 * --dry-run's text: what minidock writes into the cgroup, the clone, then the child's steps, one
 * numbered line each (the numbers are the plan's step indexes, as in --trace).
 */
export function formatDryRun(plan: LaunchPlan): string {
  const out: string[] = [];
  out.push(`# minidock: cgroup ${plan.cgroupMode}, written before clone(), in this order:`);
  if (plan.cgroupWrites.length === 0) out.push('#   (nothing: no limits given; the cgroup only collects statistics)');
  for (const w of plan.cgroupWrites) out.push(`    ${cgroupWriteLine(w)}`);
  out.push(`# minidock: clone(${flagNames(plan.cloneFlags, CLONE)}); the child runs:`);
  plan.steps.forEach((s, i) => {
    out.push(`${String(i).padStart(2)}  ${s.phase.padEnd(12)} ${describeStep(s)}`, `      ${''.padEnd(12)} # ${s.why}`);
    if (s.op !== Op.SYNC) return;
    // what minidock does while the child waits here: the cgroup join, a user namespace's maps
    const acts = [
      ...plan.parentJoins.map((f) => `echo PID > ${f}`),
      ...plan.idMapWrites.map((w) => `printf ${JSON.stringify(w.content)} > ${w.file}`),
    ];
    acts.forEach((a, k) => {
      out.push(`# minidock, meanwhile: ${a}${k === acts.length - 1 ? '; then "go" on the sync pipe' : ''}`);
    });
  });
  return out.join('\n') + '\n';
}

/** --trace (text, with the container's directory shown as $C) or --trace=json, to stderr. */
export function printTrace(tl: Timeline, format: string | undefined, dir: string): void {
  if (format === 'json') writeErr(JSON.stringify(tl.toJSON()) + '\n');
  else if (format) writeErr(tl.render(!!process.stderr.isTTY, { [dir]: '$C' }));
}
