// The flags of `run` and `create` (create: src/cli/create.ts), and when commander learns them.
//
// Every container launch pays for registering its verb's options with commander: ~25 µs each, and
// `run` has about 70 (1.7 ms of a plain `run --rm ROOTFS true`, measured with `--trace`). So the
// options that most launches use (the lessons', the bench's, the tests') are registered always, and
// the rest only when the command line names one of them before its first operand — or asks for
// --help, or names an option commander must reject (so its error and its "did you mean" see them all).
import type { Command } from 'commander';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Add run's/create's options to `cmd`: the common ones, and the others when `argv` needs them
 * (argv: the verb's own words, `run ...`; undefined: all of them, for help and the tests). */
export function runOptions(cmd: Command, verb: string, argv: readonly string[] | undefined): Command {
  commonOptions(cmd, verb);
  if (argv === undefined || namesUnregisteredOption(argv, cmd)) otherOptions(cmd);
  return cmd;
}

/**
 * Whether argv (a verb and its arguments) names, before its first operand, an option that `cmd` has
 * not registered, or --help. The scan follows commander's rules: `--x=V` and `--x V` for an option
 * with a value, `-abc` for -a -b -c, `-eV` for -e V; an option with an optional value counts as
 * unregistered (whether it takes the next word depends on that word).
 */
export function namesUnregisteredOption(argv: readonly string[], cmd: Command): boolean {
  const known = new Map<string, boolean>(); // flag -> takes a value
  for (const o of cmd.options) {
    // (commander marks `<uid[:gid]>` both required and optional; required wins when it parses)
    if (o.optional && !o.required) continue;
    for (const f of [o.short, o.long]) if (f) known.set(f, o.required);
  }
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' || a === '-' || !a.startsWith('-')) return false; // the operands start here
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const takesValue = known.get(eq < 0 ? a : a.slice(0, eq));
      if (takesValue === undefined) return true;
      if (takesValue && eq < 0) i++;
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const takesValue = known.get(`-${a[j]}`);
      if (takesValue === undefined) return true;
      if (takesValue) {
        if (j === a.length - 1) i++;
        break;
      }
    }
  }
  return false;
}

/** What most launches use: always registered. */
function commonOptions(cmd: Command, verb: string): Command {
  return cmd
    .argument(
      '<rootfs>',
      'a directory holding a root filesystem (a path: contains "/" or exists), or an IMAGE[:TAG] imported with `minidock import`',
    )
    .argument(
      '[command...]',
      'the command to run as PID 1, and its arguments (optional for an image: its Entrypoint/Cmd)',
    )
    .helpOption('--help', `display help for ${verb}`)
    .passThroughOptions()
    .option('-i, --interactive', 'keep stdin attached')
    .option('-t, --tty', 'allocate a pseudo-terminal inside the container')
    .option('-e, --env <KEY=VAL>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-h, --hostname <name>', 'container hostname (default: the short id)')
    .option('-u, --user <uid[:gid]>', 'user (and group) to run as: numbers or names from the rootfs')
    .option('--read-only', "mount the container's root filesystem read-only")
    .option(
      '--rm',
      'remove the container when it exits (without it, an exited container stays for logs/inspect until rm)',
    )
    .option('--name <name>', 'a name for the container')
    .option('-m, --memory <bytes>', 'memory limit, e.g. 50M, 1g')
    .option('--cpus <n>', 'CPU limit in CPUs, e.g. 0.5')
    .option('--pids-limit <n>', 'maximum number of tasks')
    .option(
      '-v, --volume <host:container[:ro]>',
      'bind-mount a host path, or a named volume NAME:/path (made on first use; repeatable)',
      collect,
      [],
    )
    .option(
      '--network <mode>',
      'none (the default: only lo), host, bridge (a veth on minidock0, NAT), container:NAME, or a network of `minidock network create`',
    )
    .option(
      '-p, --publish <[ip:]host:container[/proto]>',
      'publish a container port on the host (repeatable; needs --network bridge)',
      collect,
      [],
    )
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)');
}

/** The rest, registered when named (runOptions). */
function otherOptions(cmd: Command): Command {
  return storageAndKernelOptions(networkAndNamespaceOptions(limitOptions(processOptions(cmd))));
}

/** The process: environment, entrypoint, restart and stop, labels, identity, privileges, healthcheck. */
function processOptions(cmd: Command): Command {
  cmd
    .option('--env-file <file>', 'read KEY=VAL lines from a file (repeatable)', collect, [])
    .option(
      '--entrypoint <cmd>',
      "an image's entrypoint instead of its own ('' clears it; the image's Cmd is then not used)",
    )
    .option(
      '--restart <policy>',
      'no, on-failure[:N], always or unless-stopped: restart the container when it exits (needs -d or create/start; not with --rm)',
    )
    .option('--stop-timeout <seconds>', 'grace period after a forwarded SIGTERM/SIGINT before SIGKILL (default 10)')
    .option('--stop-signal <signal>', 'the signal `stop` sends first, e.g. SIGUSR1 (default SIGTERM)')
    .option(
      '-l, --label <key=value>',
      "a label in the container's config (repeatable; ps --filter label=)",
      collect,
      [],
    )
    .option('--label-file <file>', 'read KEY=VALUE label lines from a file (repeatable)', collect, [])
    .option('--cidfile <file>', 'write the container ID to this file (which must not exist)')
    .option('--log-driver <driver>', 'json-file (the default: container.log, read by minidock logs) or none (no log)')
    .option(
      '--log-opt <key=value>',
      'json-file: max-size=SIZE (rotate container.log at it, e.g. 10m), max-file=N (files kept, needs max-size; repeatable)',
      collect,
      [],
    )
    .option(
      '--group-add <group>',
      "a supplementary group: a GID or a name from the container's /etc/group (repeatable)",
      collect,
      [],
    )
    .option('--oom-score-adj <n>', "the container's OOM score adjustment, -1000 (spared) to 1000 (killed first)")
    .option('--cap-add <cap>', 'add a capability (repeatable; ALL for all)', collect, [])
    .option('--cap-drop <cap>', 'drop a capability (repeatable; ALL for all)', collect, [])
    .option('--privileged', 'all capabilities, no seccomp, no masked paths (dangerous)')
    .option('--security-opt <opt>', 'seccomp=FILE.json | seccomp=unconfined | no-new-privileges=false', collect, [])
    .option('--ulimit <name=soft[:hard]>', 'set a process resource limit (repeatable)', collect, [])
    .option(
      '--health-cmd <cmd>',
      'a command run with /bin/sh -c inside the container to check its health (needs -d or create/start)',
    )
    .option('--health-interval <duration>', 'time between health checks, e.g. 30s, 1m30s, 500ms (default 30s)')
    .option('--health-timeout <duration>', 'a check running longer is killed and counts as failed (default 30s)')
    .option('--health-retries <n>', 'failures in a row that make it unhealthy (default 3)')
    .option('--health-start-period <duration>', 'failures in this time after the start do not count (default 0s)')
    .option('--health-start-interval <duration>', 'time between checks during the start period (default 5s)')
    .option('--no-healthcheck', "no healthcheck, not even the image's HEALTHCHECK");
  // (commander gives a --no-X option the default X = true: none here, so the flags say only what was given)
  return cmd.setOptionValueWithSource('healthcheck', undefined, 'default');
}

/** The resource flags (limits.ts): cgroup limits, and what the memory and I/O controllers weigh. */
function limitOptions(cmd: Command): Command {
  return cmd
    .option('--memory-swap <bytes>', 'memory + swap limit (-1: unlimited)')
    .option('--memory-reservation <bytes>', 'soft memory limit')
    .option('--cpu <percent>', 'CPU limit in percent of one CPU (class handouts; = --cpus N/100)')
    .option('--cpu-shares <n>', 'CPU shares (relative weight, cgroup v1 style)')
    .option('--cpu-weight <n>', 'CPU weight (cgroup v2 style, 1-10000)')
    .option('--cpuset-cpus <list>', 'CPUs the container may use, e.g. 0-1')
    .option('--pids <n>', 'alias of --pids-limit (class handouts)')
    .option(
      '--oom-kill-disable',
      "the memory cgroup's OOM killer off: at -m the container waits for memory (cgroup v1 only)",
    )
    .option('--memory-swappiness <n>', 'how readily its memory is swapped out, 0-100 (cgroup v1 only)')
    .option('--blkio-weight <n>', 'relative block I/O weight, 10-1000 (needs the BFQ scheduler, or iocost on v2)')
    .option('--cgroup-parent <path>', "parent cgroup (default: minidock's own cgroup)");
}

/** User namespaces (userns.ts), the network (network/), and namespaces shared with others (namespaces.ts). */
function networkAndNamespaceOptions(cmd: Command): Command {
  return cmd
    .option(
      '--userns <mode>',
      "host (the host's ids: the default) or auto (root inside is an unprivileged host uid, from the minidock user's /etc/subuid range)",
    )
    .option('--uidmap <container:host:size>', 'a user namespace mapping these uids (repeatable)', collect, [])
    .option('--gidmap <container:host:size>', 'the same for gids (repeatable; default: as --uidmap)', collect, [])
    .option('--ip <address>', "the container's address on its bridge network (default: the next free one)")
    .option('-P, --publish-all', 'publish every exposed port (EXPOSE, --expose) on a free host port')
    .option('--expose <port[/proto]>', 'expose a port or a range START-END (for -P; repeatable)', collect, [])
    .option('--mac-address <mac>', "eth0's MAC address on a bridge network, e.g. 02:42:ac:11:00:02")
    .option(
      '--network-alias <name>',
      'another name of the container on its user-defined network (repeatable)',
      collect,
      [],
    )
    .option(
      '--add-host <name:ip>',
      'a line of its /etc/hosts (repeatable; NAME:host-gateway: the bridge address)',
      collect,
      [],
    )
    .option('--dns <ip>', "a nameserver for its /etc/resolv.conf instead of the host's (repeatable)", collect, [])
    .option(
      '--ipc <mode>',
      "shareable (the default: its own IPC namespace and /dev/shm, others may join), private, host, or container:NAME (that container's, /dev/shm too)",
    )
    .option('--pid <mode>', "host (the host's processes) or container:NAME (that container's PID namespace)")
    .option('--uts <mode>', "host: the host's hostname (not with --hostname)")
    .option('--shm-size <bytes>', 'size of /dev/shm, e.g. 128m (default 64m)');
}

/** --tmpfs, --mount (mount-flags.ts) and --device, --sysctl, --init, --cgroupns (kernel-flags.ts). */
function storageAndKernelOptions(cmd: Command): Command {
  return cmd
    .option(
      '--tmpfs <path[:opts]>',
      'mount a tmpfs, e.g. /run:size=64m,mode=1777 (noexec,nosuid,nodev unless exec, suid, dev; repeatable)',
      collect,
      [],
    )
    .option(
      '--mount <spec>',
      "Docker's long form: type=bind|volume|tmpfs,source=..,target=..[,readonly][,tmpfs-size=..][,tmpfs-mode=..] (repeatable)",
      collect,
      [],
    )
    .option(
      '--device <host[:container][:rwm]>',
      'make a host device available in the container (repeatable)',
      collect,
      [],
    )
    .option(
      '--sysctl <key=value>',
      'set a namespaced kernel parameter: net.*, fs.mqueue.*, kernel.shm*/msg*/sem (repeatable)',
      collect,
      [],
    )
    .option('--init', 'run a tiny init as PID 1 (/dev/init): it forwards signals and reaps zombies')
    .option('--cgroupns <mode>', 'private (the default: its own cgroup namespace) or host');
}
