// `minidock attach [--no-stdin] [--sig-proxy=true|false] CONTAINER`: the output a running detached
// container writes from now on (its log, followed: src/runtime/lifecycle/attach.ts), stdout lines
// to stdout and stderr lines to stderr, until it exits; then its exit status. ^C, SIGTERM and the
// like go to the container (--sig-proxy, the default, as Docker's). A container started with -i
// (run -d -i, create -i) gets what attach reads on its stdin, through its monitor; at attach's EOF
// the container's stdin stays open (another attach can write more). Without -i, what the user
// types gets one line saying so.
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export interface AttachFlags extends RootFlag {
  stdin?: boolean;
  sigProxy?: string | boolean;
}

/** What --sig-proxy forwards: Docker proxies every signal but SIGCHLD, SIGPIPE, SIGURG and SIGWINCH. */
const PROXIED = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12 } as const;

export function register(program: Command): void {
  program
    .command('attach')
    .description("follow a running detached container's output until it exits, and exit with its status")
    // ([container]: a bare `--sig-proxy NAME` gives commander's optional value NAME; attach() takes it back)
    .argument('[container]', 'container ID (or unique prefix) or name')
    .option('--no-stdin', "do not connect stdin to the container's (a container started with -i has one)")
    .option('--sig-proxy [bool]', 'forward ^C, SIGTERM, SIGHUP... to the container (default true; --sig-proxy=false)')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string | undefined, flags: Record<string, unknown>) => {
      process.exitCode = await attach(ref, flags);
    });
}

async function attach(given: string | undefined, flags: AttachFlags): Promise<number> {
  const [{ fail, MinidockError }, { writeAll, writeErr }, { resolve }, common, lib] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/container-store/listing.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/attach.js'),
  ]);
  let ref = given;
  let proxy = flags.sigProxy === undefined || flags.sigProxy === true ? 'true' : String(flags.sigProxy);
  if (ref === undefined && proxy !== 'true' && proxy !== 'false') [ref, proxy] = [proxy, 'true']; // attach --sig-proxy NAME
  const target = ref ?? fail('attach: name the container (minidock attach NAME|ID; minidock ps lists them)');
  if (proxy !== 'true' && proxy !== 'false')
    fail(`--sig-proxy ${proxy}: use --sig-proxy=true (the default) or --sig-proxy=false`);
  const root = common.rootOf(flags);
  const a = lib.attachTo(resolve(root, target), target);
  if (proxy === 'true')
    for (const [sigName, sig] of Object.entries(PROXIED))
      process.on(sigName, () => {
        try {
          common.signal(resolve(root, a.entry.id), sig);
        } catch {
          /* it has just exited: the follow below ends */
        }
      });
  if (a.logNone)
    writeErr(
      `minidock: container ${target}'s log driver is none: attach reads the output from the log, so none is shown — waiting for its exit\n`,
    );
  const input =
    flags.stdin === false
      ? undefined
      : a.openStdin
        ? await lib.connectStdin(a.entry.id, target)
        : noStdin(writeErr, target);
  if (input) {
    input.on('error', () => {}); // (the container exited meanwhile: the follow below ends)
    process.stdin.pipe(input); // at its EOF: input.end(), and the container's stdin stays open
  }
  const output = lib.attachedOutput(a);
  let r = await output.next();
  try {
    for (; !r.done; r = await output.next())
      for (const l of r.value)
        if (!writeAll(l.stream === 'stderr' ? 2 : 1, l.log)) {
          await output.return(undefined); // (our reader went away: EPIPE)
          return 0;
        }
  } finally {
    if (input) {
      process.stdin.unpipe(input);
      input.destroy();
      process.stdin.destroy(); // (else a terminal's stdin keeps this process alive)
    }
  }
  const code = lib.exitCodeOf(a, r.value);
  if (code === undefined)
    throw new MinidockError(
      `container ${target} exited, but its exit status cannot be known: ${r.value?.error ?? 'see minidock inspect'}`,
      1,
    );
  return code;
}

/**
 * Started without -i, the container's stdin is /dev/null and its monitor keeps no pipe to it: what
 * the user types goes nowhere, and one line says so, once. Read only from a terminal (a pipe or file
 * given as stdin is left unread: at its EOF nothing would be said anyway).
 */
function noStdin(writeErr: (s: string) => boolean, ref: string): undefined {
  if (!process.stdin.isTTY) return;
  process.stdin.once('data', () => {
    writeErr(
      `minidock: container ${ref} has no stdin: it was started without -i (run -d -i keeps it open), so what you type is not sent (attach --no-stdin does not read it)\n`,
    );
    process.stdin.pause();
  });
}
