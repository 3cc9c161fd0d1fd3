// What `minidock run` does, start to end: flags -> spec -> launch -> report.
import { existsSync } from 'node:fs';
import { MinidockError, fail } from '../errors.js';
import { describeStep, Op } from './plan.js';
import { planLaunch, type LaunchPlan } from './build-plan.js';
import { containerCgroup, launch, launchDetached, layerDirs, type LaunchOutcome } from './launch.js';
import { CLONE, flagNames } from '../sys/constants.js';
import { specFromFlags, type RunFlags, type SecurityChoice } from './options.js';
import { containerDir, newId, stateRoot } from './state.js';
import { Timeline, cgroupWriteLine } from './trace.js';
import { formatStats } from '../cli/format-stats.js';
import { cachedSeccomp, compileSeccomp } from './seccomp-choice.js';
import { CAPS } from './capabilities.js';
import { writeErr, writeOut } from '../sys/output.js';

interface CliFlags extends RunFlags {
  root?: string;
  trace?: boolean;
  traceFormat?: string;
  stats?: boolean;
  statsFormat?: string;
  dryRun?: boolean;
  detach?: boolean;
  entrypoint?: string;
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
  if (flags.detach && flags.interactive) fail('-d with -i: a detached container has no stdin to keep open (minidock has no attach); drop -i');
  if (flags.detach && flags.stats) fail('-d with --stats: the container is still running when run -d returns; use minidock stats ID');
  const id = newId();
  const root = stateRoot(flags.root);
  // ROOTFS or IMAGE[:TAG]: a path (contains "/" or exists) is a rootfs directory; anything else an
  // image of the store, whose config supplies the command, env, workdir and user (src/image/).
  let image: import('../image/run-image.js').ImageForRun | undefined;
  let runFlags: CliFlags = flags;
  if (!rootfs.includes('/') || !existsSync(rootfs)) {
    const img = await import('../image/run-image.js');
    if (img.looksLikeImage(root, rootfs)) {
      image = img.imageForRun(root, rootfs, command, { entrypoint: flags.entrypoint, workdir: flags.workdir, user: flags.user });
      runFlags = { ...flags, workdir: image.workdir, user: image.user };
    }
  }
  if (!image && flags.entrypoint !== undefined) fail('--entrypoint needs an image: with a rootfs directory, give the command itself');
  // The seccomp program is compiled for the final capability set, which specFromFlags works out;
  // usually it is in the cache, and the compiler is loaded only when it is not (seccomp-choice.ts).
  let toCompile: [SecurityChoice['seccomp'], string[]] | undefined;
  const spec = specFromFlags(id, rootfs, image ? image.args : command, runFlags, (choice, caps) => cachedSeccomp(choice, caps) ?? ((toCompile = [choice, caps]), {}), image);
  if (toCompile) {
    const { program, name } = await compileSeccomp(...toCompile);
    Object.assign(spec, { seccomp: program, seccompProfileName: name });
  }
  tl.mark('spec (flags validated, seccomp compiled)');
  if (spec.privileged) {
    // One visible line: --privileged turns off every protection docs/security.md describes.
    const lacking = CAPS.filter((c) => !spec.capabilities.includes(c));
    const caps = lacking.length ? `all capabilities minidock holds (${spec.capabilities.length}; not ${lacking.join(', ')})` : `all ${spec.capabilities.length} capabilities`;
    writeErr(`minidock: WARNING: --privileged: ${caps}, no seccomp, no masked paths, read-write /sys and every host device: this container can take over the host\n`);
  }

  if (flags.dryRun) {
    // The plan of a launch, decided by the launch's own code (a dry createCgroup, planLaunch):
    // nothing is created or written, and it needs neither root nor the native library (which of
    // fds 0-2 are terminals comes from node:tty here; a launch asks libminidock, which is cheaper).
    const dir = containerDir(root, id);
    const { isatty } = await import('node:tty');
    const terminals = [0, 1, 2].reduce((bits, fd) => bits | (isatty(fd) ? 1 << fd : 0), 0);
    const plan = planLaunch(spec, layerDirs(root, dir, true).dirs, containerCgroup(spec, true), terminals);
    writeOut(formatDryRun(plan));
    return 0;
  }

  if (flags.detach) {
    // -d: the C monitor becomes the container's parent; print the ID once it has exec'd.
    let err: unknown;
    try {
      await launchDetached(spec, { root, timeline: tl, autoRemove: !!flags.rm });
    } catch (e) {
      err = e;
    }
    printTrace(tl, traceFormat, containerDir(root, id));
    if (err) throw err;
    writeOut(id + '\n');
    return 0;
  }

  let outcome: LaunchOutcome | undefined;
  let error: unknown;
  try {
    outcome = await launch(spec, { root, timeline: tl, autoRemove: !!flags.rm, stats: !!statsFormat });
  } catch (e) {
    error = e;
  }
  if (outcome?.cgroup) tl.cgroupWrites(outcome.cgroup.mode, outcome.cgroup.writes);
  printTrace(tl, traceFormat, containerDir(root, id));
  if (error || !outcome) throw error ?? new MinidockError('launch failed');

  if (outcome.oomMessage) writeErr(`minidock: ${outcome.oomMessage}\n`);
  if (outcome.warning) writeErr(`minidock: warning: ${outcome.warning}\n`);
  if (statsFormat && outcome.stats) {
    writeErr(formatStats(outcome, statsFormat === 'json') + '\n');
  }
  return outcome.exitCode;
}

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
    if (s.op === Op.SYNC) for (const f of plan.parentJoins) out.push(`# minidock, meanwhile: echo PID > ${f}; then "go" on the sync pipe`);
  });
  return out.join('\n') + '\n';
}

/** --trace (text, with the container's directory shown as $C) or --trace=json, to stderr. */
function printTrace(tl: Timeline, format: string | undefined, dir: string): void {
  if (format === 'json') writeErr(JSON.stringify(tl.toJSON()) + '\n');
  else if (format) writeErr(tl.render(!!process.stderr.isTTY, { [dir]: '$C' }));
}
