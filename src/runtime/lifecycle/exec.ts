// minidock exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] ID CMD...: a new process inside a running
// container.
//
// Why this is C too (docs/contributing.md): setns() into a mount namespace fails with EINVAL in a
// multi-threaded process, and Node always has threads. So, as for run, md_spawn clones a child
// (the joiner) that runs a plan, through the same launch protocol (handshake.ts):
//
//   joiner   SYNC            wait while minidock puts us into the container's cgroup(s)
//   joiner   SETNS x6        ipc, uts, net, cgroup, pid, mnt of /proc/<container pid>/ns/ (mnt last:
//                            after it, "/proc" is the container's)
//   joiner   FORK            setns(CLONE_NEWPID) applies to children only: clone(CLONE_PARENT)
//                            makes the command's process, minidock's child, inside the container's
//                            PID namespace; the joiner reports its pid (REPORT_PID) and exits
//   command  [CONSOLE]       -t: a pty from the container's own devpts
//   command  the tail of run's plan: rlimits, bounding set, groups/gid/uid, capabilities,
//                            no_new_privs, workdir, fds, seccomp, execve
//
// The cgroup is joined before the namespaces, and the command's process inherits it from the
// joiner: from its first instruction it counts against the container's memory, CPU and pids limits.
//
// A library function: it returns the command's exit code; src/cli/exec.ts sets it as minidock's.
import { posix } from 'node:path';
import { MinidockError, fail } from '../../errors.js';
import { CLONE } from '../../sys/constants.js';
import { buildPlan } from '../build-plan.js';
import { openCgroupAt } from '../cgroups/index.js';
import { closeChildFds, readReport, receiveConsole, release, spawnChild } from '../handshake.js';
import { parseEnvEntry } from '../flag-parsers.js';
import { parseUser } from '../rootfs-view.js';
import { Op, encodePlan, type Step } from '../plan.js';
import { exitCodeOf, forwardSignals, waitExit } from '../process.js';
import { stepError } from '../step-error.js';
import type { ContainerSpec } from '../spec.js';
import { resolve } from '../container-store/listing.js';
import { specFromStored } from '../container-store/records.js';
import { isRunning, rootOf, type RootFlag } from './common.js';

export interface ExecFlags extends RootFlag {
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
}

// The namespaces to join, mount namespace last (see above); a container's user namespace, when it has one, before them all (buildExecPlan).
const NAMESPACES: Array<[string, number]> = [
  ['ipc', CLONE.CLONE_NEWIPC],
  ['uts', CLONE.CLONE_NEWUTS],
  ['net', CLONE.CLONE_NEWNET],
  ['cgroup', CLONE.CLONE_NEWCGROUP],
  ['pid', CLONE.CLONE_NEWPID],
  ['mnt', CLONE.CLONE_NEWNS],
];

/** The exec'd process's spec: the container's, with exec's own command, env, workdir, user, tty. */
export function execSpec(base: ContainerSpec, command: string[], f: ExecFlags): ContainerSpec {
  if (!command.length || !command[0]) fail('no command given: use minidock exec [OPTIONS] CONTAINER CMD [ARG...]');
  const env = new Map(base.env.map((e) => [e.slice(0, e.indexOf('=')), e] as const));
  const user = f.user ? parseUser(base.rootfs, f.user) : undefined;
  if (user) env.set('HOME', `HOME=${user.home}`);
  if (f.tty) env.set('TERM', 'TERM=xterm');
  for (const raw of f.env ?? []) {
    const e = parseEnvEntry(raw, '-e');
    if (e) env.set(e.slice(0, e.indexOf('=')), e);
  }
  const cwd = f.workdir ?? base.cwd;
  if (!cwd.startsWith('/')) fail(`-w ${cwd}: the working directory must be an absolute path`);
  return {
    ...base,
    args: command,
    env: [...env.values()],
    cwd,
    uid: user?.uid ?? base.uid,
    gid: user?.gid ?? base.gid,
    additionalGids: user?.groups ?? base.additionalGids,
    tty: !!f.tty,
    interactive: !!f.interactive,
    ttySize: f.tty && process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined,
  };
}

/** The exec plan (see the top of this file). `selfJoin`: cgroup v1 `tasks` files C1 writes "0" into. */
export function buildExecPlan(spec: ContainerSpec, containerPid: number, selfJoin: string[] = []): Step[] {
  // The process part of run's plan — everything after the cgroup namespace is entered — is
  // exactly what a new process in the container needs too: the same rlimits, capabilities,
  // no_new_privs and seccomp filter, in the same order.
  // (tty: false — our own CONSOLE step comes after the fork; the pty is then stdin too)
  const full = buildPlan(
    { ...spec, tty: false, interactive: spec.interactive || spec.tty },
    { merged: '/', upper: '/', work: '/' },
  );
  const at = full.findIndex((s) => s.op === Op.UNSHARE && Number(s.ints?.[0]) === CLONE.CLONE_NEWCGROUP);
  if (at < 0) throw new MinidockError('internal: the run plan has no cgroup-namespace step to split at');
  const steps: Step[] = [];
  for (const f of selfJoin) {
    steps.push({
      op: Op.WRITE_FILE,
      strs: [f, '0'],
      why: 'join the container\'s cgroup: "0" moves this (single-threaded) process itself',
      phase: 'cgroup',
    });
  }
  steps.push({
    op: Op.SYNC,
    why: selfJoin.length
      ? 'wait for minidock to release us'
      : "minidock writes our pid into the container's cgroup.procs meanwhile",
    phase: 'cgroup',
  });
  // A container with a user namespace: join it first. setns(user) gives us the namespace's
  // capabilities over the namespaces it owns; without it we would be the HOST's root in there.
  if (spec.userns)
    steps.push({
      op: Op.SETNS,
      strs: [`/proc/${containerPid}/ns/user`],
      ints: [CLONE.CLONE_NEWUSER],
      why: "join the container's user namespace first: its root, not the host's",
      phase: 'namespaces',
    });
  for (const [ns, flag] of NAMESPACES) {
    steps.push({
      op: Op.SETNS,
      strs: [`/proc/${containerPid}/ns/${ns}`],
      ints: [flag],
      why: `join the container's ${ns} namespace`,
      phase: 'namespaces',
    });
  }
  steps.push({
    op: Op.FORK,
    why: "setns(pid) applies to our children only: fork into the container's PID namespace",
    phase: 'namespaces',
  });
  if (spec.tty) {
    steps.push({
      op: Op.CONSOLE,
      ints: [spec.ttySize?.rows || 24, spec.ttySize?.cols || 80],
      why: "-t: a pty of the container's devpts; the master goes to minidock",
      phase: 'exec',
    });
  }
  steps.push(...full.slice(at + 1));
  return steps;
}

/** Run `command` in the running container `ref`; resolves to its exit code (shell-style). */
export async function exec(ref: string, command: string[], flags: ExecFlags): Promise<number> {
  const root = rootOf(flags);
  const e = resolve(root, ref);
  if (!isRunning(e) || !e.config) throw new MinidockError(`container ${ref} is not running (see minidock ps -a)`, 1);
  const spec = execSpec(specFromStored(e.config.spec), command, flags);
  // Its cgroup by the directories it recorded: wherever this minidock itself runs.
  const cgroup = openCgroupAt(e.state?.cgroupPaths ?? []);
  // cgroup v1: the joiner joins by itself through `tasks` (no global lock, see build-plan.ts);
  // v2: Cgroup.join writes its pid into cgroup.procs while it waits at SYNC.
  const selfJoin = cgroup?.mode === 'v1' ? cgroup.paths.map((p) => posix.join(p, 'tasks')) : [];
  const steps = buildExecPlan(spec, e.state!.pid!, selfJoin);

  const joiner = spawnChild(encodePlan(steps), 0, 'clone'); // no new namespaces: it joins the container's
  let commandPid = -1;
  const stopForwarding = forwardSignals(() => commandPid); // to the command, once it exists
  let relay: import('../tty.js').Relay | undefined;
  try {
    await release(
      joiner,
      () => {
        if (!selfJoin.length) cgroup?.join(joiner.pid);
      },
      true,
    );
    const { records, forkedPid } = readReport(joiner); // past SYNC the joiner waits for nothing
    await joiner.exited;
    const commandExit = forkedPid === undefined ? undefined : waitExit(forkedPid);
    if (forkedPid !== undefined) commandPid = forkedPid;
    const last = records[records.length - 1];
    if (!last || last.err > 0 || !commandExit) {
      await commandExit;
      throw stepError(last ? steps[last.step] : undefined, last?.err ?? 0, spec);
    }
    const master = receiveConsole(joiner);
    if (master !== undefined) relay = (await import('../tty.js')).startRelay(master);
    const status = await commandExit;
    if (relay) await Promise.race([relay.done, new Promise((r) => setTimeout(r, 200))]);
    return exitCodeOf(status).code;
  } finally {
    relay?.stop();
    stopForwarding();
    closeChildFds(joiner);
  }
}
