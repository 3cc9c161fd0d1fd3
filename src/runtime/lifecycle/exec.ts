// minidock exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] ID CMD...: a new process inside a running
// container.
//
// Why this is C too (docs/contributing.md): setns() into a mount namespace fails with EINVAL in a
// multi-threaded process, and Node always has threads. So, as for run, md_spawn clones a child
// (C1) that runs a plan:
//
//   C1  SYNC                 wait while minidock puts us into the container's cgroup(s)
//   C1  SETNS x6             ipc, uts, net, cgroup, pid, mnt of /proc/<container pid>/ns/ (mnt last:
//                            after it, "/proc" is the container's)
//   C1  FORK                 setns(CLONE_NEWPID) applies to children only: clone(CLONE_PARENT)
//                            makes C2, minidock's child, inside the container's PID namespace; C1
//                            reports C2's pid and exits
//   C2  [CONSOLE]            -t: a pty from the container's own devpts
//   C2  the tail of run's plan: rlimits, bounding set, groups/gid/uid, capabilities,
//                            no_new_privs, workdir, fds, seccomp, execve
//
// The cgroup is joined before the namespaces, and C2 inherits it from C1: from its first
// instruction the new process counts against the container's memory, CPU and pids limits.
import { closeSync, existsSync, writeFileSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { MinidockError, fail } from '../../errors.js';
import { CLONE } from '../../sys/constants.js';
import { errnoName } from '../../sys/errno.js';
import { buildPlan } from '../build-plan.js';
import { exitCodeOf, forwardSignals, parseRecords, readAllSync, stepError, waitExit } from '../launch.js';
import { parseEnvEntry, parseUser } from '../options.js';
import { Op, REPORT_PID, encodePlan, type Step } from '../plan.js';
import type { ContainerSpec } from '../spec.js';
import { resolve, specFromStored } from '../store.js';
import { isRunning, rootOf, type RootFlag } from './common.js';

export interface ExecFlags extends RootFlag {
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
}

// The namespaces to join, mount namespace last (see above). No user namespace: minidock does not make one.
const NAMESPACES: Array<[string, number]> = [
  ['ipc', CLONE.CLONE_NEWIPC], ['uts', CLONE.CLONE_NEWUTS], ['net', CLONE.CLONE_NEWNET],
  ['cgroup', CLONE.CLONE_NEWCGROUP], ['pid', CLONE.CLONE_NEWPID], ['mnt', CLONE.CLONE_NEWNS],
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
    ...base, args: command, env: [...env.values()], cwd,
    uid: user?.uid ?? base.uid, gid: user?.gid ?? base.gid, additionalGids: user?.groups ?? base.additionalGids,
    tty: !!f.tty, interactive: !!f.interactive,
    ttySize: f.tty && process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined,
  };
}

/** The exec plan (see the top of this file). `selfJoin`: cgroup v1 `tasks` files C1 writes "0" into. */
export function buildExecPlan(spec: ContainerSpec, containerPid: number, selfJoin: string[] = []): Step[] {
  // The process part of run's plan — everything after the cgroup namespace is entered — is
  // exactly what a new process in the container needs too: the same rlimits, capabilities,
  // no_new_privs and seccomp filter, in the same order.
  // (tty: false — our own CONSOLE step comes after the fork; the pty is then stdin too)
  const full = buildPlan({ ...spec, tty: false, interactive: spec.interactive || spec.tty }, { merged: '/', upper: '/', work: '/' });
  const at = full.findIndex((s) => s.op === Op.UNSHARE && Number(s.ints?.[0]) === CLONE.CLONE_NEWCGROUP);
  if (at < 0) throw new MinidockError('internal: the run plan has no cgroup-namespace step to split at');
  const steps: Step[] = [];
  for (const f of selfJoin) {
    steps.push({ op: Op.WRITE_FILE, strs: [f, '0'], why: 'join the container\'s cgroup: "0" moves this (single-threaded) process itself', phase: 'cgroup' });
  }
  steps.push({ op: Op.SYNC, why: selfJoin.length ? 'wait for minidock to release us' : 'minidock writes our pid into the container\'s cgroup.procs meanwhile', phase: 'cgroup' });
  for (const [ns, flag] of NAMESPACES) {
    steps.push({ op: Op.SETNS, strs: [`/proc/${containerPid}/ns/${ns}`], ints: [flag], why: `join the container's ${ns} namespace`, phase: 'namespaces' });
  }
  steps.push({ op: Op.FORK, why: 'setns(pid) applies to our children only: fork into the container\'s PID namespace', phase: 'namespaces' });
  if (spec.tty) {
    steps.push({ op: Op.CONSOLE, ints: [spec.ttySize?.rows || 24, spec.ttySize?.cols || 80], why: '-t: a pty of the container\'s devpts; the master goes to minidock', phase: 'exec' });
  }
  steps.push(...full.slice(at + 1));
  return steps;
}

export async function exec(ref: string, command: string[], flags: ExecFlags): Promise<number> {
  const root = rootOf(flags);
  const e = resolve(root, ref);
  if (!isRunning(e) || !e.config) throw new MinidockError(`container ${ref} is not running (see minidock ps -a)`, 1);
  const spec = execSpec(specFromStored(e.config.spec), command, flags);
  const target = e.state!.pid!;
  const cgroups = (e.state?.cgroupPaths ?? []).filter((p) => existsSync(p));
  // cgroup v1: join ourselves through `tasks` (no global lock, see build-plan.ts); v2: by pid.
  const selfJoin = cgroups.length && cgroups.every((p) => existsSync(posix.join(p, 'tasks'))) ? cgroups.map((p) => posix.join(p, 'tasks')) : [];
  const steps = buildExecPlan(spec, target, selfJoin);

  const { mdLastFd, mdRecvFd, mdSpawn } = await import('../../sys/native.js');
  const c1 = mdSpawn(encodePlan(steps), 0); // no new namespaces: it joins the container's
  if (c1 < 0) throw new MinidockError(`clone: ${errnoName(-c1)}`);
  const reportFd = mdLastFd(0);
  const syncFd = mdLastFd(1);
  const consoleFd = mdLastFd(3);
  const c1Exit = waitExit(c1);
  let c2 = -1;
  let c2Exit: Promise<number> | undefined;
  const stopForwarding = forwardSignals(() => c2); // to the command, once it exists
  let relay: import('../tty.js').Relay | undefined;
  try {
    let released = false;
    try {
      if (!selfJoin.length) for (const p of cgroups) writeFileSync(posix.join(p, 'cgroup.procs'), String(c1));
      writeSync(syncFd, 'G'); // releases the child parked at its SYNC step
      released = true;
    } finally {
      closeSync(syncFd);
      if (!released) {
        process.kill(c1, 'SIGKILL'); // it holds the pipe's write end too: EOF would never come
        await c1Exit;
      }
    }
    const all = parseRecords(readAllSync(reportFd)); // past SYNC the child waits for nothing
    await c1Exit;
    const pidRec = all.find((r) => r.step === REPORT_PID);
    const records = all.filter((r) => r.step !== REPORT_PID);
    if (pidRec) {
      c2 = pidRec.err;
      c2Exit = waitExit(c2);
    }
    const last = records[records.length - 1];
    if (!last || last.err > 0 || !c2Exit) {
      await c2Exit;
      if (consoleFd >= 0) closeSync(consoleFd);
      throw stepError(last ? steps[last.step] : undefined, last?.err ?? 0, spec);
    }
    if (consoleFd >= 0) {
      const master = mdRecvFd(consoleFd);
      closeSync(consoleFd);
      if (master < 0) throw new MinidockError(`recvmsg(console socket): ${errnoName(-master)} — the pty master never arrived`);
      relay = (await import('../tty.js')).startRelay(master);
    }
    const exit = await c2Exit;
    if (relay) await Promise.race([relay.done, new Promise((r) => setTimeout(r, 200))]);
    return exitCodeOf(exit).code;
  } finally {
    relay?.stop();
    stopForwarding();
  }
}
