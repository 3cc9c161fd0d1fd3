// `minidock doctor` — commander wiring only; the checks are in src/bench/doctor.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check this machine: kernel, cgroups, overlayfs, namespaces, seccomp, rootfs, native build, Node, peers — with fixes')
    .option('--json', 'print the checks as JSON')
    .action(async (flags: { json?: boolean }) => {
      const { doctorCommand } = await import('../bench/doctor.js');
      process.exitCode = await doctorCommand(flags);
    });
}
