// `minidock run [OPTIONS] ROOTFS CMD [ARG...]`: flags -> spec (src/runtime/run.ts) -> launch
// (src/runtime/launch.ts), and what it prints: the ID (-d), the plan (--dry-run), --trace, the OOM
// line, --stats.
import type { Command } from 'commander';
import type { LaunchOutcome } from '../runtime/launch.js';
import type { RunSpecFlags } from '../runtime/run.js';
import type { ContainerSpec } from '../runtime/spec.js';

interface CliFlags extends RunSpecFlags {
  root?: string;
  trace?: boolean;
  traceFormat?: string;
  stats?: boolean;
  statsFormat?: string;
  dryRun?: boolean;
  detach?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  const run = program.command('run').description('run a command in a new container, in the foreground');
  runOptions(run, 'run')
    .option('-d, --detach', 'run in the background and print the container ID (a small C monitor stays as its parent)')
    .option('--trace', 'print every syscall of the launch with its duration to stderr')
    .option('--trace-format <fmt>', 'trace format: text or json (also --trace=json)')
    .option('--stats', 'print resource usage from the cgroup at exit')
    .option('--stats-format <fmt>', 'stats format: text or json (also --stats=json)')
    .option('--dry-run', 'print the launch plan and exit, without running anything')
    .action(async (rootfs: string, command: string[], flags: Record<string, unknown>) => {
      // -it attaches the user's terminal (not with -d, which has no stdin, nor --dry-run); node:tty
      // is loaded only then
      if (flags.tty && flags.interactive && !flags.detach && !flags.dryRun) {
        const [{ isatty }, { checkTtyInput }] = await Promise.all([
          import('node:tty'),
          import('../runtime/flag-parsers.js'),
        ]);
        checkTtyInput(flags, isatty(0));
      }
      process.exitCode = await runCommand(rootfs, command, flags);
    });
}

/** The flags `run` and `create` share (create: src/cli/create.ts), and its two arguments. */
export function runOptions(cmd: Command, verb: string): Command {
  cmd
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
    .option('--env-file <file>', 'read KEY=VAL lines from a file (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-h, --hostname <name>', 'container hostname (default: the short id)')
    .option('-u, --user <uid[:gid]>', 'user (and group) to run as: numbers or names from the rootfs')
    .option(
      '--entrypoint <cmd>',
      "an image's entrypoint instead of its own ('' clears it; the image's Cmd is then not used)",
    )
    .option('--read-only', "mount the container's root filesystem read-only")
    .option(
      '--rm',
      'remove the container when it exits (without it, an exited container stays for logs/inspect until rm)',
    )
    .option('--name <name>', 'a name for the container')
    .option(
      '--restart <policy>',
      'no, on-failure[:N], always or unless-stopped: restart the container when it exits (needs -d or create/start; not with --rm)',
    )
    .option('--stop-timeout <seconds>', 'grace period after a forwarded SIGTERM/SIGINT before SIGKILL', '10')
    .option('--stop-signal <signal>', 'the signal `stop` sends first, e.g. SIGUSR1 (default SIGTERM)')
    .option(
      '-l, --label <key=value>',
      "a label in the container's config (repeatable; ps --filter label=)",
      collect,
      [],
    )
    .option('--label-file <file>', 'read KEY=VALUE label lines from a file (repeatable)', collect, [])
    .option('--cidfile <file>', 'write the container ID to this file (which must not exist)')
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
    .option('--ulimit <name=soft[:hard]>', 'set a process resource limit (repeatable)', collect, []);
  return storageAndKernelOptions(limitOptions(cmd))
    .option(
      '--userns <mode>',
      "host (the host's ids: the default) or auto (root inside is an unprivileged host uid, from the minidock user's /etc/subuid range)",
    )
    .option('--uidmap <container:host:size>', 'a user namespace mapping these uids (repeatable)', collect, [])
    .option('--gidmap <container:host:size>', 'the same for gids (repeatable; default: as --uidmap)', collect, [])
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
    .option('--shm-size <bytes>', 'size of /dev/shm, e.g. 128m (default 64m)')
    .option('--cgroup-parent <path>', "parent cgroup (default: minidock's own cgroup)")
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)');
}

/** The resource flags (limits.ts): cgroup limits, and what the memory and I/O controllers weigh. */
function limitOptions(cmd: Command): Command {
  return cmd
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
    .option(
      '--oom-kill-disable',
      "the memory cgroup's OOM killer off: at -m the container waits for memory (cgroup v1 only)",
    )
    .option('--memory-swappiness <n>', 'how readily its memory is swapped out, 0-100 (cgroup v1 only)')
    .option('--blkio-weight <n>', 'relative block I/O weight, 10-1000 (needs the BFQ scheduler, or iocost on v2)');
}

/** -v, --tmpfs, --mount (mount-flags.ts) and --device, --sysctl, --init, --cgroupns (kernel-flags.ts). */
function storageAndKernelOptions(cmd: Command): Command {
  return cmd
    .option(
      '-v, --volume <host:container[:ro]>',
      'bind-mount a host path, or a named volume NAME:/path (made on first use; repeatable)',
      collect,
      [],
    )
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

/** run --restart without -d: a foreground container has no monitor to restart it. */
const restartNeedsDetach = (policy?: string): string =>
  `--restart ${policy} without -d: the restarts are made by a detached container's monitor, and a foreground container has none — use run -d --restart ..., or create then start`;

async function runCommand(rootfs: string, command: string[], flags: CliFlags): Promise<number> {
  const [
    { Timeline },
    { fail },
    { writeErr, writeOut },
    { newId, stateRoot, containerDir, ensureStateRoot },
    { dryRunPlan, privilegedWarning, runSpec },
    { containerCgroup },
    { formatDryRun },
  ] = await Promise.all([
    import('../runtime/trace.js'),
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/state-root.js'),
    import('../runtime/run.js'),
    import('../runtime/launch.js'),
    import('./format-dry-run.js'),
  ]);
  const tl = new Timeline();
  tl.mark('imports + argument parsing');
  const traceFormat = flags.traceFormat ?? (flags.trace ? 'text' : undefined);
  const statsFormat = flags.statsFormat ?? (flags.stats ? 'text' : undefined);
  for (const [name, v] of [
    ['--trace', traceFormat],
    ['--stats', statsFormat],
  ] as const) {
    if (v !== undefined && v !== 'text' && v !== 'json') fail(`${name}=${v}: use ${name} (text) or ${name}=json`);
  }
  // A normal user: a rootless launch (a user namespace of its own, docs/security.md); --dry-run
  // still shows the plan root would run
  if (process.geteuid?.() !== 0 && !flags.dryRun) flags.rootless = true;
  if (flags.detach && flags.interactive)
    fail('-d with -i: a detached container has no stdin to keep open (minidock has no attach); drop -i');
  if (flags.detach && flags.stats)
    fail('-d with --stats: the container is still running when run -d returns; use minidock stats ID');
  const cid = flags.cidfile !== undefined && !flags.dryRun ? await import('../runtime/cidfile.js') : undefined;
  cid?.checkCidfile(flags.cidfile!);
  const id = newId();
  const root = stateRoot(flags.root);
  const spec = await runSpec(id, root, rootfs, command, flags);
  tl.mark('spec (flags validated, seccomp compiled)');
  if (spec.restartPolicy && !flags.detach && !flags.dryRun) fail(restartNeedsDetach(flags.restart));
  const warning = privilegedWarning(spec);
  if (warning) writeErr(`minidock: WARNING: ${warning}\n`);
  if (spec.userns?.rootless) {
    // (rootless: a limit flag, or a state root the user cannot make, is refused before the note below)
    containerCgroup(spec, true);
    ensureStateRoot(root);
  }
  if (spec.userns?.note) writeErr(`minidock: ${spec.userns.note}\n`);
  if (spec.limits.oomKillDisable && spec.limits.memory === undefined)
    writeErr(
      "minidock: note: --oom-kill-disable without -m: the container's cgroup has no memory limit, so its OOM killer never runs and the flag changes nothing (the host's own OOM killer may still pick its processes)\n",
    );

  if (flags.dryRun) {
    writeOut((await recordLines(spec, flags.cidfile)) + formatDryRun(await dryRunPlan(spec, root)));
    return 0;
  }
  if (cid) {
    cid.writeCidfile(flags.cidfile!, id);
    tl.mark(`--cidfile ${flags.cidfile} written`);
  }
  try {
    return await launchAndReport(id, root, spec, flags, tl, traceFormat, statsFormat);
  } catch (e) {
    // a launch that failed left no container (its directory is gone): the ID file goes with it
    if (cid && !(await import('node:fs')).existsSync(containerDir(root, id))) cid.removeCidfile(flags.cidfile!);
    throw e;
  }
}

/**
 * --dry-run: what the flags record beside the plan (config.json's labels, the stop signal, the ID
 * file), as comment lines before it.
 */
async function recordLines(spec: ContainerSpec, cidfile?: string): Promise<string> {
  const { signalName } = await import('../runtime/flag-parsers.js');
  const out: string[] = [];
  if (spec.labels)
    out.push(
      `# minidock: labels in config.json (ps --filter label=, inspect Config.Labels): ${Object.entries(spec.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  if (spec.stopSignal !== undefined)
    out.push(
      `# minidock: stop sends ${signalName(spec.stopSignal)} first, SIGKILL ${spec.stopTimeoutSec} s later if it still runs`,
    );
  if (cidfile) out.push(`# minidock: the container ID is written to ${cidfile} before the launch`);
  const net = spec.network;
  if (net?.publishAll)
    out.push(
      net.exposed?.length
        ? `# minidock: -P publishes ${net.exposed.join(' ')} (host ports from the ephemeral range, free now: ${net.ports.map((p) => `${p.hostPort}->${p.containerPort}/${p.proto}`).join(' ')})`
        : '# minidock: -P: no exposed ports (no EXPOSE in the image, no --expose): nothing is published',
    );
  if (net?.mac) out.push(`# minidock: eth0's MAC address is ${net.mac}`);
  for (const m of spec.mounts)
    if (m.volume)
      out.push(
        `# minidock: volume ${m.volume} is ${m.source} — created with the container unless it exists, kept after rm`,
      );
  return out.map((l) => l + '\n').join('');
}

/** The launch, -d or in the foreground, and what it prints. */
async function launchAndReport(
  id: string,
  root: string,
  spec: ContainerSpec,
  flags: CliFlags,
  tl: import('../runtime/trace.js').Timeline,
  traceFormat: string | undefined,
  statsFormat: string | undefined,
): Promise<number> {
  const [{ MinidockError }, { writeErr, writeOut }, { containerDir }, { launch, launchDetached }, { printTrace }] =
    await Promise.all([
      import('../errors.js'),
      import('../sys/output.js'),
      import('../runtime/state-root.js'),
      import('../runtime/launch.js'),
      import('./format-dry-run.js'),
    ]);

  if (flags.detach) {
    // -d: the C monitor becomes the container's parent; print the ID once it has exec'd.
    let err: unknown;
    try {
      await launchDetached(spec, {
        root,
        timeline: tl,
        autoRemove: !!flags.rm,
        onNotice: (line) => writeErr(`minidock: ${line}\n`),
      });
    } catch (e) {
      err = e;
    }
    printTrace(tl, traceFormat, containerDir(root, id));
    if (err) throw err;
    writeOut(id + '\n');
    return 0;
  }

  let outcome: LaunchOutcome | undefined;
  let error: unknown;
  try {
    outcome = await launch(spec, {
      root,
      timeline: tl,
      autoRemove: !!flags.rm,
      stats: !!statsFormat,
      onNotice: (line) => writeErr(`minidock: ${line}\n`),
    });
  } catch (e) {
    error = e;
  }
  if (outcome?.cgroup) tl.cgroupWrites(outcome.cgroup.mode, outcome.cgroup.writes);
  printTrace(tl, traceFormat, containerDir(root, id));
  if (error || !outcome) throw error ?? new MinidockError('launch failed');

  if (outcome.oomMessage) writeErr(`minidock: ${outcome.oomMessage}\n`);
  if (outcome.warning) writeErr(`minidock: warning: ${outcome.warning}\n`);
  if (statsFormat && outcome.stats) {
    const { formatStats } = await import('./format-stats.js');
    writeErr(formatStats(outcome, statsFormat === 'json') + '\n');
  }
  return outcome.exitCode;
}
