// minidock's command line. Each verb lives in its own file (src/cli/<verb>.ts) with commander
// wiring only; the work is imported lazily inside each action, so `minidock run` never loads
// what `minidock bench` or `minidock lesson` need (ink, React, charts).
import { Command, CommanderError } from 'commander';
import { MinidockError } from '../errors.js';
import { register as registerRun } from './run.js';

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

// `--trace=json` and `--stats=json` are written like Docker's `--format=json`; commander's optional
// option-arguments would swallow the ROOTFS after a bare `--trace`, so the = forms are rewritten.
export function preprocessArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    if (a === '--') { out.push(...argv.slice(argv.indexOf(a))); break; }
    const m = /^--(trace|stats)=(.*)$/.exec(a);
    out.push(m ? `--${m[1]}-format=${m[2]}` : a);
  }
  return out;
}

export function buildProgram(): Command {
  const program = new Command('minidock')
    .description('an educational container runtime: namespaces, overlayfs, pivot_root, cgroups, seccomp')
    .version('0.1.0')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: () => {} , outputError: () => {} });
  registerRun(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(preprocessArgv(process.argv.slice(2)), { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && e.code === 'commander.helpDisplayed') return;
    process.exitCode = reportError(e);
  }
}

await main();
