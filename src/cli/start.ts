// `minidock start [-a] [-i] ID...`: start containers that exist (made by create, or exited), from
// their recorded spec, keeping ID, name, filesystem and log (src/runtime/lifecycle/start.ts).
// Without -a or -i each is started detached under a monitor, as run -d, and its reference printed.
// -a: the same detached start, then its output followed from the log until it exits (through its
// restart policy's runs), and its exit status. -i: in the foreground, as run -i (stdin, -t's terminal).
import { type Command, Option } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export interface StartFlags extends RootFlag {
  attach?: boolean;
  interactive?: boolean;
  relaunch?: boolean;
}

export function register(program: Command): void {
  program
    .command('start')
    .description('start created or stopped containers (detached, as run -d; -a follows the output)')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('-a, --attach', "print the container's output until it exits, and exit with its status")
    .option('-i, --interactive', 'attach stdin: run it in the foreground, as run -i (no restart policy for that run)')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    // the restart policy's next run, exec'd by the container's monitor (native/monitor.c)
    .addOption(new Option('--relaunch').hideHelp())
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await start(refs, flags);
    });
}

async function start(refs: string[], flags: StartFlags): Promise<number> {
  const [{ fail }, { writeErr }, { rootOf }, { startOne, relaunchOne }, { eachContainer }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/start.js'),
    import('./container-lines.js'),
  ]);
  const root = rootOf(flags);
  if (flags.relaunch) {
    await relaunchOne(root, refs[0]); // (its stdout and stderr are /dev/null: it records what failed)
    return 0;
  }
  if ((flags.attach || flags.interactive) && refs.length > 1)
    fail(`start -a/-i: one container at a time (${refs.length} given) — start the others without -a`);
  if (flags.interactive && !(flags.attach && (await keepsStdin(root, refs[0])))) return startInteractive(root, refs[0]);
  if (flags.attach) return startAttached(root, refs[0], !!flags.interactive);
  const notice = (line: string): void => void writeErr(`minidock: ${line}\n`);
  return eachContainer(root, refs, async (entry, ref) => {
    await startOne(root, entry, { onNotice: notice }, ref);
    return ref;
  });
}

/** start -a -i of a container created with -i and without -t: detached, its stdin kept by its monitor. */
async function keepsStdin(root: string, ref: string): Promise<boolean> {
  const { resolve } = await import('../runtime/container-store/listing.js');
  const spec = resolve(root, ref).config?.spec;
  return !!spec?.interactive && !spec.tty;
}

/**
 * -a: started detached, then what this run (and the runs its restart policy makes) writes, until it
 * stays exited. -a -i (a container created with -i, without -t): our stdin goes to its stdin, as
 * attach sends it (lifecycle/attach.ts), until our EOF; its stdin stays open after that.
 */
async function startAttached(root: string, ref: string, withStdin: boolean): Promise<number> {
  const [
    { MinidockError },
    { writeAll, writeErr },
    { resolve },
    { readState },
    common,
    { startOne },
    { logBatches, logEnd, checkReadable },
    { connectStdin },
  ] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/container-store/listing.js'),
    import('../runtime/container-store/records.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/start.js'),
    import('../runtime/lifecycle/logs.js'),
    import('../runtime/lifecycle/attach.js'),
  ]);
  const e = resolve(root, ref);
  checkReadable(e, ref); // (start -a follows the log: with --log-driver none there is none, refused before the start)
  const from = e.config?.logPath ? logEnd(e.config.logPath) : undefined; // what earlier runs wrote is not shown again
  await startOne(root, e, { onNotice: (line) => writeErr(`minidock: ${line}\n`) }, ref);
  // ^C and the like go to the container, as Docker's start -a forwards them (its exit ends the follow)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(sig, () => {
      try {
        common.signal(resolve(root, e.id), sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1);
      } catch {
        /* between two runs, or gone */
      }
    });
  const input = withStdin ? await connectStdin(e.id, ref) : undefined;
  input?.on('error', () => {}); // (it exited meanwhile: the follow below ends)
  if (input) process.stdin.pipe(input);
  try {
    for await (const lines of logBatches(e, { follow: true, from }, ref))
      for (const l of lines) if (!writeAll(l.stream === 'stderr' ? 2 : 1, l.log)) break;
  } finally {
    if (input) {
      process.stdin.unpipe(input);
      input.destroy();
      process.stdin.destroy();
    }
  }
  const s = readState(e.dir);
  if (!s) throw new MinidockError(`container ${ref} was removed (--rm) before its exit code could be read`, 1);
  if (s.status !== 'exited')
    throw new MinidockError(`container ${ref} is ${s.status}: ${s.error ?? 'its exit status is unknown'}`, 1);
  return s.exitCode ?? 0;
}

/** -i: in the foreground, stdin (and -t's terminal) attached, as run -i. */
async function startInteractive(root: string, ref: string): Promise<number> {
  const [{ isatty }, { checkTtyInput }, { writeErr }, { resolve }, { startAttachedStdin }] = await Promise.all([
    import('node:tty'),
    import('../runtime/flag-parsers.js'),
    import('../sys/output.js'),
    import('../runtime/container-store/listing.js'),
    import('../runtime/lifecycle/start.js'),
  ]);
  const e = resolve(root, ref);
  const spec = e.config?.spec;
  if (spec) checkTtyInput(spec, isatty(0));
  const outcome = await startAttachedStdin(root, e, { onNotice: (line) => writeErr(`minidock: ${line}\n`) }, ref);
  if (!outcome) return 0; // it was running already: nothing to attach to (minidock has no attach)
  if (outcome.oomMessage) writeErr(`minidock: ${outcome.oomMessage}\n`);
  if (outcome.warning) writeErr(`minidock: warning: ${outcome.warning}\n`);
  return outcome.exitCode;
}
