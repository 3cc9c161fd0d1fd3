// What `minidock run` does, start to end: flags -> spec -> launch -> report.
import { MinidockError, fail } from '../errors.js';
import { describeStep } from './plan.js';
import { buildPlan } from './build-plan.js';
import { launch, type LaunchOutcome } from './launch.js';
import { specFromFlags, type RunFlags, type SecurityChoice } from './options.js';
import { containerDir, newId, stateRoot } from './state.js';
import { Timeline } from './trace.js';
import { formatStats, oomMessage } from './report.js';
import { compileSeccomp } from './seccomp-choice.js';

interface CliFlags extends RunFlags {
  root?: string;
  trace?: boolean;
  traceFormat?: string;
  stats?: boolean;
  statsFormat?: string;
  dryRun?: boolean;
}

export async function runCommand(rootfs: string, command: string[], flags: CliFlags): Promise<number> {
  const tl = new Timeline();
  tl.mark('imports + argument parsing');
  const traceFormat = flags.traceFormat ?? (flags.trace ? 'text' : undefined);
  const statsFormat = flags.statsFormat ?? (flags.stats ? 'text' : undefined);
  for (const [name, v] of [['--trace', traceFormat], ['--stats', statsFormat]] as const) {
    if (v !== undefined && v !== 'text' && v !== 'json') fail(`${name}=${v}: use ${name} (text) or ${name}=json`);
  }
  if (process.getuid?.() !== 0 && !flags.dryRun) {
    fail('run needs root: namespaces, mounts and cgroups are root-only here (try sudo, or --dry-run to see the plan)');
  }
  const id = newId();
  const spec = specFromFlags(id, rootfs, command, flags, (choice: SecurityChoice['seccomp'], caps) => compileSeccomp(choice, caps));
  const root = stateRoot(flags.root);
  tl.mark('spec (flags validated, seccomp compiled)');

  if (flags.dryRun) {
    const dir = containerDir(root, id);
    const steps = buildPlan(spec, { merged: `${dir}/merged`, upper: `${dir}/upper`, work: `${dir}/work` });
    steps.forEach((s, i) => process.stdout.write(`${String(i).padStart(2)}  ${s.phase.padEnd(12)} ${describeStep(s)}\n      ${''.padEnd(12)} # ${s.why}\n`));
    return 0;
  }

  let outcome: LaunchOutcome | undefined;
  let error: unknown;
  try {
    outcome = await launch(spec, { root, timeline: tl });
  } catch (e) {
    error = e;
  }
  if (traceFormat === 'json') process.stderr.write(JSON.stringify(tl.toJSON()) + '\n');
  else if (traceFormat) process.stderr.write(tl.render(!!process.stderr.isTTY));
  if (error || !outcome) throw error ?? new MinidockError('launch failed');

  const oom = oomMessage(outcome, spec);
  if (oom) process.stderr.write(`minidock: ${oom}\n`);
  if (statsFormat && outcome.stats) {
    process.stderr.write(formatStats(outcome, statsFormat === 'json') + '\n');
  }
  return outcome.exitCode;
}
