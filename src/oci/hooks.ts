// OCI hooks (runtime-spec config.md "POSIX-platform Hooks", runtime.md "Lifecycle"): programs the
// engine asks the runtime to run at fixed points of a container's life, each given the container's
// state JSON on its stdin, at the points of runtime.md's Lifecycle. minidock runs four from the
// runtime process, in the host's namespaces:
//
//   create   prestart, createRuntime   while the child waits at SYNC (launch.ts hookSync): its
//                                      namespaces, cgroup and mounts made, before createContainer
//                                      and pivot_root (state "creating", its pid); a failure is
//                                      create's error: the child is killed, the container is
//                                      destroyed, then the poststop hooks run
//   start    poststart                 once the program has been executed (state "running"); a
//                                      failure is a warning, the next hooks and start go on
//   delete   poststop                  once the container is gone (state "stopped"); a failure is a
//                                      warning, the next hooks and delete go on
//
// and two from inside the container, as steps of its plan (HOOK, native/child.c run_hook: the child
// forks, the hook gets the state on stdin, the child waits with the timeout):
//
//   create   createContainer           released from SYNC, in the container's namespaces and
//                                      cgroup, before pivot_root (the path is the runtime's); state
//                                      "creating"; a failure is create's error, as above
//   start    startContainer            after start released exec.fifo, as the container's user,
//                                      right before its program's execve (the path is the
//                                      container's); state "created"; a failure is start's error
//
// Their pid is the one the runtime sees, which minidock sends down the sync pipe with the release
// (handshake.ts 'P'); hookSteps makes the steps, launch.ts puts them in place.
//
// Library code: returns values, throws MinidockError (code 1, runc's), hands warnings to a callback.
import { spawn } from 'node:child_process';
import { MinidockError } from '../errors.js';
import { HOOK_MAX_STRS, Op, type Step } from '../runtime/plan.js';
import type { OciState } from './runtime-state.js';

export interface Hook {
  /** absolute path of the program, on the host */
  path: string;
  /** argv, argv[0] included (runtime-spec: "same semantics as IEEE Std 1003.1-2008 execv's argv") */
  args?: string[];
  /** the whole environment; absent: the runtime's own (as runc, whose exec.Cmd inherits a nil Env) */
  env?: string[];
  /** seconds before the hook is killed and counts as failed */
  timeout?: number;
}

export const HOOK_POINTS = [
  'prestart',
  'createRuntime',
  'createContainer',
  'startContainer',
  'poststart',
  'poststop',
] as const;
export type HookPoint = (typeof HOOK_POINTS)[number];
export type Hooks = Partial<Record<HookPoint, Hook[]>>;

/**
 * Run one hook: spawn it, write `state` as JSON to its stdin and close it, wait for its exit.
 * Anything but exit status 0 within `timeout` is an error naming the hook, with what it printed.
 */
export function runHook(hook: Hook, state: OciState, label: string): Promise<void> {
  const args = hook.args?.length ? hook.args : [hook.path];
  const env = hook.env
    ? Object.fromEntries(hook.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
    : process.env;
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => reject(new MinidockError(`error running ${label} (${hook.path}): ${why}`, 1));
    const child = spawn(hook.path, args.slice(1), { argv0: args[0], env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // a hook that does not read its stdin closes the pipe under our write: EPIPE, not the hook's failure
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(state));
    let timedOut = false;
    const timer = hook.timeout
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, hook.timeout * 1000)
      : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      fail((e as NodeJS.ErrnoException).code ?? e.message);
    });
    // 'close', not 'exit': what it printed is complete only once its pipes are closed
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const printed = `stdout: ${Buffer.concat(out).toString().trim()}, stderr: ${Buffer.concat(err).toString().trim()}`;
      if (timedOut) return fail(`timed out after ${hook.timeout} s, killed; ${printed}`);
      fail(`${signal ? `killed by ${signal}` : `exit status ${code}`}, ${printed}`);
    });
  });
}

/**
 * Run the hooks of one point, in the listed order (config.md: "Hooks MUST be called in the listed
 * order"). prestart, createRuntime (and the in-container points): the first failure is thrown and the
 * rest are not run. poststart, poststop: a failure goes to `onWarning` and the next hook runs.
 */
export async function runHooks(
  hooks: Hooks | undefined,
  point: HookPoint,
  state: OciState,
  onWarning?: (line: string) => void,
): Promise<void> {
  const list = hooks?.[point] ?? [];
  const warnOnly = point === 'poststart' || point === 'poststop';
  for (let i = 0; i < list.length; i++) {
    try {
      await runHook(list[i]!, state, `${point} hook #${i}`);
    } catch (e) {
      if (!warnOnly || !(e instanceof MinidockError)) throw e;
      onWarning?.(`${e.message} (a failing ${point} hook is a warning: the lifecycle goes on)`);
    }
  }
}

/** The hook points run inside the container, by the plan's HOOK steps (the rest: runHooks). */
export const IN_CONTAINER: readonly HookPoint[] = ['createContainer', 'startContainer'];

/**
 * The HOOK steps of one in-container point: each hook's path, argv, environment (absent: the
 * runtime's own, as runc's hooks get) and timeout, and the state JSON cut where the pid goes — the
 * child puts in the pid minidock sent it (handshake.ts 'P'). The state's keys are in stateOf's
 * (runc's) order: ociVersion, id, pid, status, bundle, ...
 */
export function hookSteps(
  hooks: Hooks | undefined,
  point: 'createContainer' | 'startContainer',
  state: Omit<OciState, 'pid'>,
  runtimeEnv: NodeJS.ProcessEnv = process.env,
): Step[] {
  const { ociVersion, id, status, bundle, rootfs, created, annotations, owner } = state;
  const head = JSON.stringify({ ociVersion, id });
  const before = `${head.slice(0, -1)},"pid":`;
  const tail = JSON.stringify({
    status,
    bundle,
    ...(rootfs ? { rootfs } : {}),
    created,
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    owner,
  });
  const after = `,${tail.slice(1)}`;
  const where =
    point === 'createContainer'
      ? "in the container's namespaces and cgroup, its mounts made, before pivot_root"
      : "in the container, as its user, right before its program's execve";
  return (hooks?.[point] ?? []).map((h, i): Step => {
    const args = h.args?.length ? h.args : [h.path];
    const env = h.env ?? Object.entries(runtimeEnv).map(([k, v]) => `${k}=${v ?? ''}`);
    if (args.length + env.length > HOOK_MAX_STRS)
      throw new MinidockError(
        `config.json: hooks.${point}[${i}] has ${args.length} args and ${env.length} env entries: at most ${HOOK_MAX_STRS} together — give the hook its env explicitly`,
        1,
      );
    return {
      op: Op.HOOK,
      ints: [(h.timeout ?? 0) * 1000, args.length, env.length],
      strs: [h.path, before, after, ...args, ...env],
      why: `${point} hook #${i} (config.json hooks.${point}[${i}]): ${where}, state "${state.status}" on its stdin`,
      phase: 'exec',
    };
  });
}
