// What `minidock run` does, start to end: flags -> spec -> launch -> report.
import { existsSync } from 'node:fs';
import { MinidockError, fail } from '../errors.js';
import { describeStep } from './plan.js';
import { buildPlan } from './build-plan.js';
import { cgroupOptions, launch, launchDetached, type LaunchOutcome } from './launch.js';
import { plannedFsMounts } from './cgroups/index.js';
import { specFromFlags, type RunFlags, type SecurityChoice } from './options.js';
import { containerDir, newId, stateRoot } from './state.js';
import { Timeline } from './trace.js';
import { formatStats } from './report.js';
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
    const dir = containerDir(root, id);
    const steps = buildPlan(spec, { merged: `${dir}/merged`, upper: `${dir}/upper`, work: `${dir}/work` }, [], { cgroupfs: plannedFsMounts(spec.limits, cgroupOptions(spec)) });
    steps.forEach((s, i) => writeOut(`${String(i).padStart(2)}  ${s.phase.padEnd(12)} ${describeStep(s)}\n      ${''.padEnd(12)} # ${s.why}\n`));
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
  if (statsFormat && outcome.stats) {
    writeErr(formatStats(outcome, statsFormat === 'json') + '\n');
  }
  return outcome.exitCode;
}

/** --trace (text, with the container's directory shown as $C) or --trace=json, to stderr. */
function printTrace(tl: Timeline, format: string | undefined, dir: string): void {
  if (format === 'json') writeErr(JSON.stringify(tl.toJSON()) + '\n');
  else if (format) writeErr(tl.render(!!process.stderr.isTTY, { [dir]: '$C' }));
}
