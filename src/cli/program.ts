// minidock's command line. Each verb lives in its own file (src/cli/<verb>.ts): its commander
// wiring and its body, which prints; the library it calls is imported lazily inside each action,
// so `minidock run` never loads what `minidock bench` or `minidock lesson` need (ink, React, charts).
// The verbs are listed in ./verbs.ts; this file takes the table as an argument, so that a bundle
// made for one verb (scripts/bundle.mjs) holds that verb's code only.
import { Command, CommanderError } from 'commander';
import { MinidockError } from '../errors.js';
import { onStateRootWarning } from '../runtime/state-root.js';
import { exitProcess } from '../sys/native.js';
import { writeErr } from '../sys/output.js';
import { sourceStack } from './stack.js';
/** The one place errors become output: `minidock: <one line>` and Docker's exit code. */
export function reportError(e: unknown): number {
  if (e instanceof MinidockError) {
    writeErr(`minidock: ${e.message}\n`);
    return e.code;
  }
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    // one line: commander puts its "(Did you mean run?)" on a second one
    const msg = e.message
      .replace(/^error: /, '')
      .replace(/\n\(Did you mean (.*)\?\)/, ' — did you mean $1?')
      .replace(/\n/g, ' ');
    writeErr(`minidock: ${msg} (see minidock --help)\n`);
    return 125;
  }
  const err = e as Error;
  writeErr(`minidock: internal error: ${err?.stack ? sourceStack(err.stack) : String(e)}\n`);
  return 125;
}

/**
 * `--trace=json` and `--stats=json` read like Docker's `--format=json`, but commander's optional
 * option-arguments would swallow the ROOTFS after a bare `--trace`. So `--X=V` is rewritten to
 * `--X-format=V` — only among the verb's own options, never in the container's command line (which
 * starts at the first positional argument).
 */
export function preprocessArgv(argv: string[], program: Command): string[] {
  const verb = program.commands.find((c) => c.name() === argv[0]);
  if (!verb) return argv;
  const takesValue = new Set(
    verb.options
      .filter((o) => o.required || o.optional)
      .flatMap((o) => [o.short, o.long])
      .filter((f): f is string => !!f),
  );
  const out = [argv[0]];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' || !a.startsWith('-') || a === '-') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--(trace|stats)=(.*)$/.exec(a);
    out.push(m ? `--${m[1]}-format=${m[2]}` : a);
    if (takesValue.has(a) && i + 1 < argv.length) out.push(argv[++i]);
  }
  return out;
}

/** Verb name → the function that registers it with commander. `argv` (the verb and its arguments,
 * when only that verb is registered) lets a verb with many options register only those argv needs
 * (run, create: src/cli/run-options.ts); without it, every option is registered. */
export type Verbs = Record<string, (program: Command, argv?: readonly string[]) => void>;

export function buildProgram(verbs: Verbs, only?: string, argv?: readonly string[]): Command {
  const program = new Command('minidock')
    .description('an educational container runtime: namespaces, overlayfs, pivot_root, cgroups, seccomp')
    .version('0.1.0')
    .enablePositionalOptions()
    .exitOverride()
    // help goes where commander sends it; errors are printed once, by reportError()
    .configureOutput({ writeErr: (s) => writeErr(s), outputError: () => {} });
  // Only the verb being run is registered (each verb has many options: building all of them costs
  // ~4 ms of every command); help and unknown verbs get all of them.
  for (const [name, register] of Object.entries(verbs))
    if (!only || name === only) register(program, only ? argv : undefined);
  return program;
}

/** The command did its work: bin/minidock.js may save this run's compiled code as the bundle's code
 * cache (not after `run --help` or a failed launch, whose cache would lack the launch's functions). */
function ranVerb(): void {
  (globalThis as { __mdRanVerb?: boolean }).__mdRanVerb = true;
}

/**
 * Docker's commands that minidock does not have (yet). A Docker user types them first; commander
 * would answer with the nearest verb by spelling ("top" -> "Did you mean stop?"), which is wrong.
 */
export const DOCKER_ONLY_VERBS = new Set([
  'container',
  'build',
  'builder',
  'buildx',
  'pull',
  'push',
  'login',
  'logout',
  'search',
  'compose',
  'context',
  'manifest',
  'plugin',
  'secret',
  'config',
  'service',
  'stack',
  'swarm',
  'node',
  'trust',
  'checkpoint',
  'init',
  'scout',
]);

/** Parse and run; returns the exit code. */
export async function runCli(argv: string[], verbs: Verbs): Promise<number> {
  const verb = argv[0] !== undefined && Object.hasOwn(verbs, argv[0]) ? argv[0] : undefined;
  if (!verb && DOCKER_ONLY_VERBS.has(argv[0])) {
    return reportError(
      new MinidockError(
        `"${argv[0]}" is a Docker command that minidock does not have yet; minidock's commands are: ${Object.keys(verbs).join(', ')} (see minidock --help)`,
      ),
    );
  }
  const program = buildProgram(verbs, verb, argv);
  // the state root's mode line (ensureStateRoot), printed when a writing verb first touches the root
  onStateRootWarning((line) => writeErr(`minidock: ${line}\n`));
  try {
    await program.parseAsync(preprocessArgv(argv, program), { from: 'user' });
    const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
    if (code === 0) ranVerb();
    return code;
  } catch (e) {
    const code = reportError(e);
    if (code === 0 && !verb) ranVerb(); // `minidock --help`, `minidock --version`: the work of the main bundle
    return code;
  }
}

/** The entry of every bundle: run the command line, then exit at once rather than letting Node wind
 * down on its own (measured: 10-15 ms of teardown after the last line of work). Nothing is lost: on
 * Linux, writes to stdout/stderr (files, pipes and terminals) are synchronous, and every verb has
 * finished its work when runCli() resolves. */
export function runMain(verbs: Verbs): void {
  void runCli(process.argv.slice(2), verbs).then((code) => exitProcess(code));
}
