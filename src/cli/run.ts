// `minidock run [OPTIONS] ROOTFS CMD [ARG...]` — commander wiring only; see src/runtime/run.ts.
import type { Command } from 'commander';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command('run')
    .description('run a command in a new container, in the foreground')
    .argument('<rootfs>', 'a directory holding a root filesystem (a path: contains "/" or exists), or an IMAGE[:TAG] imported with `minidock import`')
    .argument('[command...]', "the command to run as PID 1, and its arguments (optional for an image: its Entrypoint/Cmd)")
    .helpOption('--help', 'display help for run')
    .passThroughOptions()
    .option('-i, --interactive', 'keep stdin attached')
    .option('-t, --tty', 'allocate a pseudo-terminal inside the container')
    .option('-e, --env <KEY=VAL>', 'set an environment variable (repeatable)', collect, [])
    .option('--env-file <file>', 'read KEY=VAL lines from a file (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-h, --hostname <name>', 'container hostname (default: the short id)')
    .option('-u, --user <uid[:gid]>', 'user (and group) to run as: numbers or names from the rootfs')
    .option('--entrypoint <cmd>', "an image's entrypoint instead of its own ('' clears it; the image's Cmd is then not used)")
    .option('-v, --volume <host:container[:ro]>', 'bind-mount a host path (repeatable)', collect, [])
    .option('--read-only', "mount the container's root filesystem read-only")
    .option('-d, --detach', 'run in the background and print the container ID (a small C monitor stays as its parent)')
    .option('--rm', 'remove the container when it exits (without it, an exited container stays for logs/inspect until rm)')
    .option('--name <name>', 'a name for the container')
    .option('--stop-timeout <seconds>', 'grace period after a forwarded SIGTERM/SIGINT before SIGKILL', '10')
    .option('--cap-add <cap>', 'add a capability (repeatable; ALL for all)', collect, [])
    .option('--cap-drop <cap>', 'drop a capability (repeatable; ALL for all)', collect, [])
    .option('--privileged', 'all capabilities, no seccomp, no masked paths (dangerous)')
    .option('--security-opt <opt>', 'seccomp=FILE.json | seccomp=unconfined | no-new-privileges=false', collect, [])
    .option('--ulimit <name=soft[:hard]>', 'set a process resource limit (repeatable)', collect, [])
    .option('-m, --memory <bytes>', 'memory limit, e.g. 50M, 1g')
    .option('--memory-swap <bytes>', 'memory + swap limit (-1: unlimited)')
    .option('--memory-reservation <bytes>', 'soft memory limit')
    .option('--cpus <n>', 'CPU limit in CPUs, e.g. 0.5')
    .option('--cpu <percent>', 'CPU limit in percent of one CPU (class handouts; = --cpus N/100)')
    .option('--cpu-shares <n>', 'CPU shares (relative weight, cgroup v1 style)')
    .option('--cpu-weight <n>', 'CPU weight (cgroup v2 style, 1-10000)')
    .option('--cpuset-cpus <list>', 'CPUs the container may use, e.g. 0-1')
    .option('--pids-limit <n>', 'maximum number of tasks')
    .option('--pids <n>', 'alias of --pids-limit (class handouts)')
    .option('--cgroup-parent <path>', "parent cgroup (default: minidock's own cgroup)")
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .option('--trace', 'print every syscall of the launch with its duration to stderr')
    .option('--trace-format <fmt>', 'trace format: text or json (also --trace=json)')
    .option('--stats', 'print resource usage from the cgroup at exit')
    .option('--stats-format <fmt>', 'stats format: text or json (also --stats=json)')
    .option('--dry-run', 'print the launch plan and exit, without running anything')
    .action(async (rootfs: string, command: string[], flags: Record<string, unknown>) => {
      const { runCommand } = await import('../runtime/run.js');
      // -it attaches the user's terminal (not with -d, which has no stdin, nor --dry-run); node:tty
      // is loaded only then
      if (flags.tty && flags.interactive && !flags.detach && !flags.dryRun) {
        const [{ isatty }, { checkTtyInput }] = await Promise.all([import('node:tty'), import('../runtime/options.js')]);
        checkTtyInput(flags, isatty(0));
      }
      process.exitCode = await runCommand(rootfs, command, flags);
    });
}
