// `minidock doctor`: the checks of src/bench/doctor.ts, one line each with its fix, or as JSON.
import type { Command } from 'commander';
import type { Check, Status } from '../bench/doctor.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'check this machine: kernel, cgroups, overlayfs, namespaces, what a normal user gets rootless, seccomp, state root, rootfs, native build, Node, peers — with fixes',
    )
    .option('--json', 'print the checks as JSON')
    .option('--root <dir>', 'the state root to check (default $MINIDOCK_ROOT or /var/lib/minidock); never created here')
    .action(async (flags: { json?: boolean; root?: string }) => {
      const [{ runChecks }, { writeOut }] = await Promise.all([
        import('../bench/doctor.js'),
        import('../sys/output.js'),
      ]);
      const checks = runChecks(flags.root);
      if (flags.json) writeOut(JSON.stringify(checks, null, 1) + '\n');
      else writeOut(renderChecks(checks, !!process.stdout.isTTY));
      process.exitCode = checks.some((c) => c.status === 'fail') ? 1 : 0;
    });
}

export function renderChecks(checks: Check[], color: boolean): string {
  const mark: Record<Status, string> = {
    ok: color ? '\x1b[32m✔\x1b[0m' : '✔',
    warn: color ? '\x1b[33m!\x1b[0m' : '!',
    fail: color ? '\x1b[31m✘\x1b[0m' : '✘',
  };
  const w = Math.max(...checks.map((c) => c.area.length));
  const lines = checks.flatMap((c) => [
    `${mark[c.status]} ${c.area.padEnd(w)}  ${c.found}`,
    ...(c.fix ? [`  ${''.padEnd(w)}  fix: ${c.fix}`] : []),
  ]);
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  lines.push(
    '',
    fails
      ? `${fails} problem(s) stop minidock from running here; ${warns} warning(s).`
      : `minidock can run here${warns ? ` (${warns} warning(s): optional features or peers)` : ''}.`,
  );
  return lines.join('\n') + '\n';
}
