// minidock's command line. Each verb lives in its own file (src/cli/<verb>.ts) with commander
// wiring only; the work is imported lazily inside each action, so `minidock run` never loads
// what `minidock bench` or `minidock lesson` need (ink, React, charts).
// Register new verbs in VERBS below.
import { Command, CommanderError } from 'commander';
import { MinidockError } from '../errors.js';
import { register as runVerb } from './run.js';
import { register as psVerb } from './ps.js';
import { register as stopVerb } from './stop.js';
import { register as killVerb } from './kill.js';
import { register as rmVerb } from './rm.js';
import { register as logsVerb } from './logs.js';
import { register as execVerb } from './exec.js';
import { register as inspectVerb } from './inspect.js';
import { register as statsVerb } from './stats.js';
import { register as waitVerb } from './wait.js';
import { register as pruneVerb } from './prune.js';
import { register as gcVerb } from './gc.js';
import { register as benchVerb } from './bench.js';
import { register as doctorVerb } from './doctor.js';
import { register as importVerb } from './import.js';
import { register as imagesVerb } from './images.js';
import { register as rmiVerb } from './rmi.js';
import { register as exportVerb } from './export.js';
import { register as cgroupVerb } from './cgroup.js';
import { register as lessonVerb } from './lesson.js';
import { register as seccompVerb } from './seccomp.js';

/** The one place errors become output: `minidock: <one line>` and Docker's exit code. */
export function reportError(e: unknown): number {
  if (e instanceof MinidockError) {
    process.stderr.write(`minidock: ${e.message}\n`);
    return e.code;
  }
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    process.stderr.write(`minidock: ${e.message.replace(/^error: /, '')} (see minidock --help)\n`);
    return 125;
  }
  const err = e as Error;
  process.stderr.write(`minidock: internal error: ${err?.stack ?? String(e)}\n`);
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
    verb.options.filter((o) => o.required || o.optional).flatMap((o) => [o.short, o.long]).filter((f): f is string => !!f),
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

/** Every verb, by the name it is invoked with (its file is src/cli/<name>.ts). */
const VERBS: Record<string, (program: Command) => void> = {
  run: runVerb,
  ps: psVerb,
  stop: stopVerb,
  kill: killVerb,
  rm: rmVerb,
  logs: logsVerb,
  exec: execVerb,
  inspect: inspectVerb,
  stats: statsVerb,
  wait: waitVerb,
  prune: pruneVerb,
  gc: gcVerb,
  bench: benchVerb,
  doctor: doctorVerb,
  import: importVerb,
  images: imagesVerb,
  rmi: rmiVerb,
  export: exportVerb,
  cgroup: cgroupVerb,
  lesson: lessonVerb,
  seccomp: seccompVerb,
};

export function buildProgram(only?: string): Command {
  const program = new Command('minidock')
    .description('an educational container runtime: namespaces, overlayfs, pivot_root, cgroups, seccomp')
    .version('0.1.0')
    .enablePositionalOptions()
    .exitOverride()
    // help goes where commander sends it; errors are printed once, by reportError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: () => {} });
  // Only the verb being run is registered (each verb has many options: building all of them costs
  // ~4 ms of every command); help and unknown verbs get all of them.
  for (const [name, register] of Object.entries(VERBS)) if (!only || name === only) register(program);
  return program;
}

/** Parse and run; returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const verb = argv[0] !== undefined && Object.hasOwn(VERBS, argv[0]) ? argv[0] : undefined;
  const program = buildProgram(verb);
  try {
    await program.parseAsync(preprocessArgv(argv, program), { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return reportError(e);
  }
}
