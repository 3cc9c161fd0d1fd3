// runc exec: a new process in a running OCI container, on the exec library's plan
// (src/runtime/lifecycle/exec.ts buildExecPlan: SYNC, SETNS into the init's namespaces, FORK into its
// PID namespace, then the process part of the container's plan). The process is described by
// `--process P.json` (the runtime spec's process object) or by ARGS with --cwd, --env, --user, --tty.
//
// --detach: the command must outlive this process, but FORK arms PR_SET_PDEATHSIG in it (a
// foreground exec's command dies with minidock). So the detached plan holds the command at an
// EXEC_FIFO step — the op that clears the death signal and closes the report pipe, as for create —
// and this process releases it at once by reading that fifo, then exits; the command is left to
// the caller's subreaper, as a created container's init is.
//
// Library code: returns the exit code (foreground) or 0, throws MinidockError; never prints.
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import { MinidockError } from '../errors.js';
import { errnoName } from '../sys/errno.js';
import { Op, encodePlan } from '../runtime/plan.js';
import type { ContainerSpec } from '../runtime/spec.js';
import { mapConfig, parseConfigText, readBundleConfig } from './config.js';
import { containerPath, loadState } from './state.js';

const O_PATH = 0o10000000;
const S_IFIFO = 0o010000;

export interface ExecOptions {
  root: string;
  id: string;
  /** ARGS, when no --process */
  args: string[];
  processFile?: string;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  tty: boolean;
  cwd?: string;
  env: string[];
  /** --user UID[:GID] */
  user?: string;
  /** --ignore-paused: exec into a paused container (the process freezes as it joins the cgroup, until resume) */
  ignorePaused?: boolean;
  /** --preserve-fds N: our fds 3..3+N-1 (the caller's) stay open in the exec'd process, as create's */
  preserveFds?: number;
}

type Obj = Record<string, unknown>;

/** The exec'd process: the container's spec with the process from --process or the flags. */
function processSpec(base: ContainerSpec, o: ExecOptions): ContainerSpec {
  if (o.processFile) {
    const p = parseConfigText(readFileSync(o.processFile, 'utf8'), o.processFile);
    const user = (p.user ?? {}) as Obj;
    const args = p.args;
    if (!Array.isArray(args) || !args.length || !args.every((a) => typeof a === 'string')) {
      throw new MinidockError(`${o.processFile}: args must be a non-empty list of strings`, 1);
    }
    return {
      ...base,
      args: args as string[],
      env: Array.isArray(p.env) ? (p.env as string[]) : base.env,
      cwd: typeof p.cwd === 'string' ? p.cwd : base.cwd,
      uid: typeof user.uid === 'number' ? user.uid : base.uid,
      gid: typeof user.gid === 'number' ? user.gid : base.gid,
      additionalGids: Array.isArray(user.additionalGids)
        ? (user.additionalGids as number[])
        : [typeof user.gid === 'number' ? user.gid : base.gid],
      tty: p.terminal === true,
      interactive: true,
    };
  }
  if (!o.args.length)
    throw new MinidockError('exec needs a command: minidock-oci exec ID COMMAND [ARGS...] (or --process P.json)', 1);
  let uid = base.uid;
  let gid = base.gid;
  if (o.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(o.user);
    if (!m) throw new MinidockError(`--user ${o.user}: give UID[:GID], numbers`, 1);
    uid = Number(m[1]);
    gid = m[2] === undefined ? gid : Number(m[2]);
  }
  const env = new Map(base.env.map((e) => [e.slice(0, e.indexOf('=')), e] as const));
  for (const e of o.env) env.set(e.slice(0, e.indexOf('=')), e);
  return {
    ...base,
    args: o.args,
    env: [...env.values()],
    cwd: o.cwd ?? base.cwd,
    uid,
    gid,
    additionalGids: [gid],
    tty: o.tty,
    interactive: true,
  };
}

export async function ociExec(o: ExecOptions): Promise<number> {
  const { rec, state } = loadState(o.root, o.id);
  if (state.status === 'paused' && !o.ignorePaused)
    throw new MinidockError('cannot exec in a paused state (use --ignore-paused to override)', 1); // runc's words
  if (state.status !== 'running' && state.status !== 'created' && state.status !== 'paused')
    throw new MinidockError(`cannot exec in a ${state.status} container`, 1);
  const { compileProfile } = await import('../runtime/seccomp/compile.js');
  const base = mapConfig(readBundleConfig(rec.bundle), rec.bundle, {
    id: o.id,
    name: o.id,
    compileSeccomp: (p, caps) => compileProfile(p, { caps: [...caps] }),
  }).spec;
  const spec = processSpec(base, o);
  if (spec.tty && !o.consoleSocket)
    throw new MinidockError(
      'cannot allocate tty if runc will detach without setting console socket (pass --console-socket SOCK)',
      1,
    );

  const { openCgroupAt } = await import('../runtime/cgroups/index.js');
  const { buildExecPlan } = await import('../runtime/lifecycle/exec.js');
  const { closeChildFds, readReport, release, spawnChild } = await import('../runtime/handshake.js');
  const { checkPreservedFds, passConsole, preserveFdsStep, readFifoByte, writeAtomic } = await import('./launch.js');
  checkPreservedFds(o.preserveFds ?? 0);
  const { isProcess } = await import('../sys/proc.js');
  const { exitCodeOf, forwardSignals, waitExit } = await import('../runtime/process.js');
  const { stepError } = await import('../runtime/step-error.js');
  const { mdMknod } = await import('../sys/native.js');
  const cgroup = openCgroupAt(rec.cgroupPaths ?? []);
  const selfJoin = cgroup?.mode === 'v1' ? cgroup.paths.map((p) => posix.join(p, 'tasks')) : [];
  const steps = buildExecPlan(spec, rec.pid, selfJoin);
  preserveFdsStep(steps, o.preserveFds ?? 0);

  let fifo: string | undefined;
  let fifoFd = -1;
  if (o.detach) {
    fifo = posix.join(containerPath(o.root, o.id), `exec-${process.pid}.fifo`);
    const r = mdMknod(fifo, S_IFIFO | 0o600, 0, 0);
    if (r < 0) throw new MinidockError(`mknod ${fifo}: ${errnoName(-r)}`, 1);
    fifoFd = openSync(fifo, O_PATH);
    steps.splice(
      steps.findIndex((s) => s.op === Op.EXEC),
      0,
      {
        op: Op.EXEC_FIFO,
        ints: [fifoFd],
        why: 'exec --detach: clear the death signal; released at once',
        phase: 'exec',
      },
    );
  }
  const joiner = spawnChild(encodePlan(steps), 0, 'clone');
  let commandPid = -1;
  const stopForwarding = o.detach ? () => undefined : forwardSignals(() => commandPid);
  try {
    await release(
      joiner,
      () => {
        if (!selfJoin.length) cgroup?.join(joiner.pid);
      },
      true,
    );
    const { records, forkedPid } = readReport(joiner);
    await joiner.exited;
    const commandExit = forkedPid === undefined ? undefined : waitExit(forkedPid);
    if (forkedPid !== undefined) commandPid = forkedPid;
    const last = records[records.length - 1];
    const held = steps.findIndex((s) => s.op === Op.EXEC_FIFO);
    if (!last || last.err > 0 || !commandExit || (o.detach && last.step !== held)) {
      await commandExit;
      const e = stepError(last ? steps[last.step] : undefined, last?.err ?? 0, spec);
      throw new MinidockError(e.message, 1);
    }
    if (spec.tty) await passConsole(joiner, o.consoleSocket!);
    if (o.pidFile) writeAtomic(resolve(o.pidFile), String(forkedPid));
    if (o.detach) {
      await readFifoByte(fifo!, () => isProcess(forkedPid, undefined), "the exec'd process ended before it started");
      return 0;
    }
    return exitCodeOf(await commandExit).code;
  } finally {
    stopForwarding();
    closeChildFds(joiner);
    if (fifoFd >= 0) closeSync(fifoFd);
    if (fifo) rmSync(fifo, { force: true });
  }
}
