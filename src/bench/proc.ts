// Running commands for the benchmark: timed ones through native/build/probes/benchexec (vfork +
// CLOCK_MONOTONIC in C, see native/probes/benchexec.c), untimed helpers through spawnSync.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { shellCodeOfSignal } from '../sys/constants.js';
import { packageRoot } from '../sys/native.js';

export const PKG_ROOT = packageRoot();
export const PROBES_DIR = join(PKG_ROOT, 'native', 'build', 'probes');
export const BENCHEXEC = join(PROBES_DIR, 'benchexec');
export const FIRSTINSN = join(PROBES_DIR, 'firstinsn');
/** bench network's sender and receiver, bench ipc's ping-pong (native/probes/netbench.c, ipcbench.c) */
export const NETBENCH = join(PROBES_DIR, 'netbench');
export const IPCBENCH = join(PROBES_DIR, 'ipcbench');
export const MINIDOCK_BIN = join(PKG_ROOT, 'bin', 'minidock.js');
/** What `npm run build` makes and MINIDOCK_BIN loads: its absence means "not built". */
export const MINIDOCK_BUNDLE = join(PKG_ROOT, 'dist', 'minidock.cjs');

export interface Timed {
  code: number;
  stdout: string;
  stderr: string;
  /** wall time of the command, ms */
  ms: number;
  /** CLOCK_MONOTONIC (ns) right before the command was started */
  t0: bigint;
  t1: bigint;
  timedOut?: boolean;
  /** how it was timed: 'benchexec' (C, vfork) or 'node' (spawnSync: ~2 ms of Node's own fork included) */
  clock: 'benchexec' | 'node';
}

export interface RunOpts {
  env?: NodeJS.ProcessEnv;
  pin?: number;
  timeoutMs?: number;
  input?: string;
  cwd?: string;
  /** 'ignore' for detached launches whose container keeps the output pipe open (runc -d, ctr -d);
   * an open file's fd: stdout and stderr both go there (the cycle's `create`: its init keeps them) */
  stdout?: 'pipe' | 'ignore' | number;
}

/** Run argv and time it. Never throws for a failing command: the caller decides what a failure means. */
export function timed(argv: string[], opts: RunOpts = {}): Timed {
  const useC = existsSync(BENCHEXEC);
  const out = opts.stdout ?? 'pipe';
  const stdio: Array<'pipe' | 'ignore' | number> = [opts.input !== undefined ? 'pipe' : 'ignore', out, out, 'pipe'];
  const full = useC ? [BENCHEXEC, ...(opts.pin !== undefined ? ['-c', String(opts.pin)] : []), '--', ...argv] : argv;
  const n0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
    stdio: useC ? stdio : stdio.slice(0, 3),
    maxBuffer: 64 << 20,
    encoding: 'buffer',
  });
  const n1 = process.hrtime.bigint();
  const stdoutS = r.stdout ? r.stdout.toString('utf8') : '';
  const stderrS = r.stderr ? r.stderr.toString('utf8') : r.error ? String(r.error.message) : '';
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const fd3 = useC ? (r.output?.[3] as Buffer | null | undefined)?.toString('utf8').trim() : undefined;
  const m = fd3 ? /^(\d+) (\d+) (-?\d+)$/.exec(fd3) : null;
  if (m) {
    const t0 = BigInt(m[1]);
    const t1 = BigInt(m[2]);
    return {
      code: Number(m[3]),
      stdout: stdoutS,
      stderr: stderrS,
      ms: Number(t1 - t0) / 1e6,
      t0,
      t1,
      timedOut,
      clock: 'benchexec',
    };
  }
  const code = r.status ?? (r.signal ? shellCodeOfSignal(r.signal) : 125);
  return { code, stdout: stdoutS, stderr: stderrS, ms: Number(n1 - n0) / 1e6, t0: n0, t1: n1, timedOut, clock: 'node' };
}

/** Untimed helper command (setup, inspect, cleanup). */
export function sh(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0], argv.slice(1), {
    env: opts.env ?? process.env,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    input: opts.input,
    stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  return {
    code: r.status ?? 125,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? String(r.error.message) : ''),
  };
}

/** Absolute path of a command on PATH, or undefined. */
export function which(
  cmd: string,
  path = process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined;
  for (const dir of path.split(':')) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
