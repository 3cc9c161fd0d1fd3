// `minidock doctor` — commander wiring only; the checks are in src/bench/doctor.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check this machine: kernel, cgroups, overlayfs, namespaces, seccomp, state root, rootfs, native build, Node, peers — with fixes')
    .option('--json', 'print the checks as JSON')
    .option('--root <dir>', 'the state root to check (default $MINIDOCK_ROOT or /var/lib/minidock); never created here')
    .action(async (flags: { json?: boolean; root?: string }) => {
      const { doctorCommand } = await import('../bench/doctor.js');
      process.exitCode = await doctorCommand(flags);
    });
}
