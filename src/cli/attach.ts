// `minidock attach [--no-stdin] [--sig-proxy=true|false] CONTAINER`: the output a running detached
// container writes from now on (its log, followed: src/runtime/lifecycle/attach.ts), stdout lines
// to stdout and stderr lines to stderr, until it exits; then its exit status. ^C, SIGTERM and the
// like go to the container (--sig-proxy, the default, as Docker's). It has no stdin to attach: what
// the user types gets one line saying so.
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
    .option('--no-stdin', 'do not read stdin (the container has none to write to either way)')
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
  if (flags.stdin !== false) noStdin(writeErr, target);
  const output = lib.attachedOutput(a);
  let r = await output.next();
  for (; !r.done; r = await output.next())
    for (const l of r.value)
      if (!writeAll(l.stream === 'stderr' ? 2 : 1, l.log)) {
        await output.return(undefined); // (our reader went away: EPIPE)
        return 0;
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
 * The container's stdin is /dev/null, and its monitor keeps no pipe to it (run -d takes no -i):
 * what the user types goes nowhere, and one line says so, once. Read only from a terminal (a pipe
 * or file given as stdin is left unread: at its EOF nothing would be said anyway).
 */
function noStdin(writeErr: (s: string) => boolean, ref: string): void {
  if (!process.stdin.isTTY) return;
  process.stdin.once('data', () => {
    writeErr(
      `minidock: container ${ref} has no stdin: a detached container's monitor keeps none (run -d takes no -i), so what you type is not sent (attach --no-stdin does not read it)\n`,
    );
    process.stdin.pause();
  });
}
