// `minidock exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] ID CMD...`: the command. The library
// (src/runtime/lifecycle/exec.ts) runs the process and returns its exit code, which becomes
// minidock's; its errors are MinidockErrors, printed as one line by main.ts. Nothing else is printed:
// the command's own output goes straight to the terminal (or through the -t relay).
import type { Command } from 'commander';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command('exec')
    .description('run a command inside a running container (its namespaces, cgroup, capabilities and seccomp)')
    .argument('<container>', 'container ID (or unique prefix) or name')
    .argument('<command...>', 'the command and its arguments')
    .helpOption('--help', 'display help for exec')
    .passThroughOptions()
    .option('-i, --interactive', 'keep stdin attached')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-e, --env <KEY=VAL>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <uid[:gid]>', 'user (and group): numbers or names from the rootfs')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, command: string[], flags: Record<string, unknown>) => {
      const { exec } = await import('../runtime/lifecycle/exec.js');
      process.exitCode = await exec(ref, command, flags);
    });
}
