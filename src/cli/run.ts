// `minidock run [OPTIONS] ROOTFS CMD [ARG...]`: flags -> spec (src/runtime/run.ts) -> launch
// (src/runtime/launch.ts), and what it prints: the ID (-d), the plan (--dry-run), --trace, the OOM
// line, --stats.
import type { Command } from 'commander';
import type { LaunchOutcome } from '../runtime/launch.js';
import type { RunSpecFlags } from '../runtime/run.js';
import type { ContainerSpec } from '../runtime/spec.js';
import { runOptions } from './run-options.js';
import { sidePath } from '../sys/code-cache.js';

interface CliFlags extends RunSpecFlags {
  root?: string;
  trace?: boolean;
  traceFormat?: string;
  stats?: boolean;
  statsFormat?: string;
  dryRun?: boolean;
  detach?: boolean;
}

export function register(program: Command, argv?: readonly string[]): void {
  const run = program
    .command('run')
    .description('run a command in a new container, in the foreground')
    .option('-d, --detach', 'run in the background and print the container ID (a small C monitor stays as its parent)')
    .option('--trace', 'print every syscall of the launch with its duration to stderr')
    .option('--trace-format <fmt>', 'trace format: text or json (also --trace=json)')
    .option('--stats', 'print resource usage from the cgroup at exit')
    .option('--stats-format <fmt>', 'stats format: text or json (also --stats=json)')
    .option('--dry-run', 'print the launch plan and exit, without running anything');
  // (run's own options first: runOptions registers the rarely used ones only if argv names an option
  // not registered yet)
  runOptions(run, 'run', argv).action(async (rootfs: string, command: string[], flags: Record<string, unknown>) => {
    // -it attaches the user's terminal (not with -d, which has no stdin, nor --dry-run); node:tty
    // is loaded only then
    if (flags.tty && flags.interactive && !flags.detach && !flags.dryRun) {
      const [{ isatty }, { checkTtyInput }] = await Promise.all([
        import('node:tty'),
        import('../runtime/flag-parsers.js'),
      ]);
      checkTtyInput(flags, isatty(0));
    }
    // (the launch in the foreground is the run bundle's main path: bin/minidock.js keeps its code cache)
    if (flags.dryRun) sidePath('*');
    else if (flags.detach) sidePath('verb');
    process.exitCode = await runCommand(rootfs, command, flags);
  });
}

/** run --restart without -d: a foreground container has no monitor to restart it. */
const restartNeedsDetach = (policy?: string): string =>
  `--restart ${policy} without -d: the restarts are made by a detached container's monitor, and a foreground container has none — use run -d --restart ..., or create then start`;

const healthNeedsDetach = (key: string): string =>
  `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} without -d: health checks are run by a detached container's monitor, and a foreground container has none — use run -d, or create then start`;

async function runCommand(rootfs: string, command: string[], flags: CliFlags): Promise<number> {
  const [
    { Timeline },
    { fail },
    { writeErr, writeOut },
    { newId, stateRoot, containerDir, ensureStateRoot },
    { dryRunPlan, privilegedWarning, runSpec },
    { containerCgroup },
    { formatDryRun },
  ] = await Promise.all([
    import('../runtime/trace.js'),
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/state-root.js'),
    import('../runtime/run.js'),
    import('../runtime/launch.js'),
    import('./format-dry-run.js'),
  ]);
  const tl = new Timeline();
  tl.mark('imports + argument parsing');
  const traceFormat = flags.traceFormat ?? (flags.trace ? 'text' : undefined);
  const statsFormat = flags.statsFormat ?? (flags.stats ? 'text' : undefined);
  for (const [name, v] of [
    ['--trace', traceFormat],
    ['--stats', statsFormat],
  ] as const) {
    if (v !== undefined && v !== 'text' && v !== 'json') fail(`${name}=${v}: use ${name} (text) or ${name}=json`);
  }
  // A normal user: a rootless launch (a user namespace of its own, docs/security.md); --dry-run
  // still shows the plan root would run
  if (process.geteuid?.() !== 0 && !flags.dryRun) flags.rootless = true;
  if (flags.detach && flags.interactive && flags.tty)
    fail(
      '-d -i -t: minidock attach relays stdin through a pipe, not a terminal (no raw mode, no window size) — use -d -i without -t, or run -it in the foreground',
    );
  if (flags.detach && flags.stats)
    fail('-d with --stats: the container is still running when run -d returns; use minidock stats ID');
  const cid = flags.cidfile !== undefined && !flags.dryRun ? await import('../runtime/cidfile.js') : undefined;
  cid?.checkCidfile(flags.cidfile!);
  const id = newId();
  const root = stateRoot(flags.root);
  const spec = await runSpec(id, root, rootfs, command, flags);
  tl.mark('spec (flags validated, seccomp compiled)');
  if (spec.restartPolicy && !flags.detach && !flags.dryRun) fail(restartNeedsDetach(flags.restart));
  // a healthcheck is carried out by the monitor too: asked for in the foreground, refused; the image's, left out
  if (spec.healthcheck && !flags.detach && !flags.dryRun) {
    const given = Object.entries(flags).find(([k, v]) => /^health[A-Z]/.test(k) && v !== undefined);
    if (given) fail(healthNeedsDetach(given[0]));
    delete spec.healthcheck;
  }
  const warning = privilegedWarning(spec);
  if (warning) writeErr(`minidock: WARNING: ${warning}\n`);
  if (spec.userns?.rootless) {
    // (rootless: a limit flag, or a state root the user cannot make, is refused before the note below)
    containerCgroup(spec, true);
    ensureStateRoot(root);
  }
  if (spec.userns?.note) writeErr(`minidock: ${spec.userns.note}\n`);
  if (spec.limits.oomKillDisable && spec.limits.memory === undefined)
    writeErr(
      "minidock: note: --oom-kill-disable without -m: the container's cgroup has no memory limit, so its OOM killer never runs and the flag changes nothing (the host's own OOM killer may still pick its processes)\n",
    );

  if (flags.dryRun) {
    writeOut((await recordLines(spec, flags.cidfile)) + formatDryRun(await dryRunPlan(spec, root)));
    return 0;
  }
  if (cid) {
    cid.writeCidfile(flags.cidfile!, id);
    tl.mark(`--cidfile ${flags.cidfile} written`);
  }
  try {
    return await launchAndReport(id, root, spec, flags, tl, traceFormat, statsFormat);
  } catch (e) {
    // a launch that failed left no container (its directory is gone): the ID file goes with it
    if (cid && !(await import('node:fs')).existsSync(containerDir(root, id))) cid.removeCidfile(flags.cidfile!);
    throw e;
  }
}

/**
 * --dry-run: what the flags record beside the plan (config.json's labels, the stop signal, the ID
 * file), as comment lines before it.
 */
async function recordLines(spec: ContainerSpec, cidfile?: string): Promise<string> {
  const { signalName } = await import('../runtime/flag-parsers.js');
  const out: string[] = [];
  if (spec.labels)
    out.push(
      `# minidock: labels in config.json (ps --filter label=, inspect Config.Labels): ${Object.entries(spec.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  if (spec.stopSignal !== undefined)
    out.push(
      `# minidock: stop sends ${signalName(spec.stopSignal)} first, SIGKILL ${spec.stopTimeoutSec} s later if it still runs`,
    );
  if (cidfile) out.push(`# minidock: the container ID is written to ${cidfile} before the launch`);
  if (spec.logConfig)
    out.push(`# minidock: ${(await import('../runtime/log-config.js')).describeLogConfig(spec.logConfig)}`);
  if (spec.healthcheck) out.push((await import('../runtime/lifecycle/health.js')).describeHealth(spec.healthcheck));
  const net = spec.network;
  if (net?.publishAll)
    out.push(
      net.exposed?.length
        ? `# minidock: -P publishes ${net.exposed.join(' ')} (host ports from the ephemeral range, free now: ${net.ports.map((p) => `${p.hostPort}->${p.containerPort}/${p.proto}`).join(' ')})`
        : '# minidock: -P: no exposed ports (no EXPOSE in the image, no --expose): nothing is published',
    );
  if (net?.mac) out.push(`# minidock: eth0's MAC address is ${net.mac}`);
  for (const m of spec.mounts)
    if (m.volume)
      out.push(
        `# minidock: volume ${m.volume} is ${m.source} — created with the container unless it exists, kept after rm`,
      );
  return out.map((l) => l + '\n').join('');
}

/** The launch, -d or in the foreground, and what it prints. */
async function launchAndReport(
  id: string,
  root: string,
  spec: ContainerSpec,
  flags: CliFlags,
  tl: import('../runtime/trace.js').Timeline,
  traceFormat: string | undefined,
  statsFormat: string | undefined,
): Promise<number> {
  const [{ MinidockError }, { writeErr, writeOut }, { containerDir }, { launch, launchDetached }, { printTrace }] =
    await Promise.all([
      import('../errors.js'),
      import('../sys/output.js'),
      import('../runtime/state-root.js'),
      import('../runtime/launch.js'),
      import('./format-dry-run.js'),
    ]);

  if (flags.detach) {
    // -d: the C monitor becomes the container's parent; print the ID once it has exec'd.
    let err: unknown;
    try {
      await launchDetached(spec, {
        root,
        timeline: tl,
        autoRemove: !!flags.rm,
        onNotice: (line) => writeErr(`minidock: ${line}\n`),
      });
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
    outcome = await launch(spec, {
      root,
      timeline: tl,
      autoRemove: !!flags.rm,
      stats: !!statsFormat,
      onNotice: (line) => writeErr(`minidock: ${line}\n`),
    });
  } catch (e) {
    error = e;
  }
  if (outcome?.cgroup) tl.cgroupWrites(outcome.cgroup.mode, outcome.cgroup.writes);
  printTrace(tl, traceFormat, containerDir(root, id));
  if (error || !outcome) throw error ?? new MinidockError('launch failed');

  if (outcome.oomMessage) writeErr(`minidock: ${outcome.oomMessage}\n`);
  if (outcome.warning) writeErr(`minidock: warning: ${outcome.warning}\n`);
  if (statsFormat && outcome.stats) {
    const { formatStats } = await import('./format-stats.js');
    writeErr(formatStats(outcome, statsFormat === 'json') + '\n');
  }
  return outcome.exitCode;
}
