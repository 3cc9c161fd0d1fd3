// The run flags that parse on their own, with no look into the rootfs: -e and --env-file, -i -t's
// terminal check, --ulimit, --security-opt, --label and --label-file, --stop-signal, --oom-score-adj.
// Every bad input is one clear line (exit 125).
import { readFileSync } from 'node:fs';
import { fail } from '../errors.js';
import { RLIMIT, SIGNALS } from '../sys/constants.js';
import type { Rlimit } from './spec.js';

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** One KEY=VALUE (or KEY, copied from minidock's environment) of -e, --env-file or exec -e. */
export function parseEnvEntry(raw: string, where: string): string | undefined {
  // execve() takes each variable as a C string: everything after a NUL would silently vanish.
  if (raw.includes('\0'))
    fail(`${where} ${JSON.stringify(raw)}: contains a NUL byte, which no environment variable can hold — remove it`);
  const eq = raw.indexOf('=');
  const key = eq < 0 ? raw : raw.slice(0, eq);
  if (!ENV_KEY.test(key)) fail(`${where} "${raw}": the variable name must be letters, digits and _ (use KEY=VALUE)`);
  if (eq >= 0) return raw;
  // Docker: `-e KEY` copies KEY from minidock's own environment, or is dropped when unset.
  const v = process.env[key];
  return v === undefined ? undefined : `${key}=${v}`;
}

/** A file of KEY=VALUE lines, read once (--env-file, --label-file). */
function readLinesFile(path: string, flag: string): string {
  try {
    // Read exactly once (a pipe has no second reading). /dev/stdin and /dev/fd/N are read through
    // the descriptor itself: open() of /proc/self/fd/N fails with ENXIO when it is a socket, which
    // is what a program's stdin is when another program made it with socketpair() (Node does).
    const fd = /^\/dev\/(?:stdin|fd\/(\d+))$/.exec(path);
    return readFileSync(fd ? Number(fd[1] ?? 0) : path, 'utf8');
  } catch (e) {
    return fail(
      `${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'} — give a readable file of KEY=VALUE lines`,
    );
  }
}

export function parseEnvFile(path: string): string[] {
  const text = readLinesFile(path, '--env-file');
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    const t = line.replace(/\r$/, '').trim();
    if (!t || t.startsWith('#')) return;
    const e = parseEnvEntry(t, `--env-file ${path} line ${i + 1}:`);
    if (e) out.push(e);
  });
  return out;
}

/**
 * -i -t needs a terminal on stdin, as in Docker ("the input device is not a TTY"). The relay puts
 * the user's terminal in raw mode and copies its bytes to the container's pty; a pipe or a file has
 * no keyboard to make raw, and its end of input cannot be passed on: in raw mode a pty has no
 * "end of file" (^D is just a byte), so the container would wait for more input forever.
 */
export function checkTtyInput(f: { tty?: boolean; interactive?: boolean }, stdinIsTTY: boolean): void {
  if (f.tty && f.interactive && !stdinIsTTY) {
    fail(
      '-i -t: the input device is not a TTY (stdin is a pipe or a file) — drop -t to pipe input into the container (-i alone), or run from a terminal',
    );
  }
}

/** --ulimit nofile=1024:2048. Never above the caller's hard limit: raising a hard limit needs
 * CAP_SYS_RESOURCE, which root lacks on some hosts (this project's machines, for one). */
export function parseUlimit(raw: string, callerHard: (type: string) => number): Rlimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(raw);
  if (!m) return fail(`--ulimit ${raw}: use NAME=SOFT[:HARD], e.g. nofile=1024:2048`);
  const [, type, s, h] = m;
  if (!(type in RLIMIT)) fail(`--ulimit ${raw}: unknown limit "${type}" (one of ${Object.keys(RLIMIT).join(', ')})`);
  const soft = Number(s);
  const hard = h === undefined ? soft : Number(h);
  const norm = (n: number): number => (n === -1 ? Infinity : n);
  if (norm(soft) > norm(hard)) fail(`--ulimit ${raw}: the soft limit is above the hard limit`);
  const max = callerHard(type);
  if (norm(hard) > max) {
    fail(
      `--ulimit ${raw}: the hard limit ${hard} is above minidock's own hard limit ${max} for ${type}; raising it needs CAP_SYS_RESOURCE, which this host does not give — use at most ${max}`,
    );
  }
  return { type, soft: soft === -1 ? -1 : soft, hard: hard === -1 ? -1 : hard };
}

export interface SecurityChoice {
  noNewPrivileges: boolean;
  seccomp: 'default' | 'unconfined' | { file: string };
}

export function parseSecurityOpts(opts: string[]): SecurityChoice {
  const out: SecurityChoice = { noNewPrivileges: true, seccomp: 'default' };
  for (const o of opts) {
    const [k, ...rest] = o.split(/[=:]/);
    const v = rest.join('=');
    if (k === 'seccomp') {
      if (!v) fail(`--security-opt ${o}: use seccomp=FILE.json or seccomp=unconfined`);
      out.seccomp = v === 'unconfined' ? 'unconfined' : { file: v };
    } else if (k === 'no-new-privileges') {
      if (v !== '' && v !== 'true' && v !== 'false') fail(`--security-opt ${o}: use no-new-privileges=true or =false`);
      out.noNewPrivileges = v !== 'false';
    } else {
      fail(`--security-opt ${o}: unknown option; minidock knows seccomp=… and no-new-privileges=…`);
    }
  }
  return out;
}

/**
 * --label-file FILE... then --label K[=V]... (a later one replaces an earlier key, -l after the
 * files, as Docker): Config.Labels. A label without "=" has the value "" (Docker's). Files: one
 * label a line, blank lines and lines starting with # skipped.
 */
export function parseLabels(labels: string[], files: string[]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const put = (raw: string, where: string): void => {
    const eq = raw.indexOf('=');
    const key = eq < 0 ? raw : raw.slice(0, eq);
    if (!key.trim()) fail(`${where} "${raw}": the label has no name — use KEY=VALUE (e.g. com.example.team=web)`);
    if (raw.includes('\0')) fail(`${where} ${JSON.stringify(raw)}: contains a NUL byte — remove it`);
    out[key] = eq < 0 ? '' : raw.slice(eq + 1);
  };
  for (const file of files) {
    readLinesFile(file, '--label-file')
      .split('\n')
      .forEach((line, i) => {
        const t = line.replace(/\r$/, '').trim();
        if (t && !t.startsWith('#')) put(t, `--label-file ${file} line ${i + 1}:`);
      });
  }
  for (const l of labels) put(l, '--label');
  return Object.keys(out).length ? out : undefined;
}

/** --stop-signal: a name (SIGUSR1, USR1, usr1) or a number 1-64 (real-time ones by number). */
export function parseStopSignal(raw: string): number {
  const t = raw.trim();
  const n = /^\d+$/.test(t) ? Number(t) : SIGNALS[`SIG${t.toUpperCase().replace(/^SIG/, '')}`];
  if (!n || n < 1 || n > 64)
    fail(`--stop-signal ${raw}: not a signal — use a name such as SIGTERM, SIGUSR1, SIGQUIT, or a number 1-64`);
  return n;
}

/** The name of a signal number (SIGUSR1), or its number as text when it has none (real-time ones). */
export function signalName(n: number): string {
  return Object.entries(SIGNALS).find(([, v]) => v === n)?.[0] ?? String(n);
}

/** --oom-score-adj N: -1000 (never chosen by the OOM killer) .. 1000 (chosen first), the kernel's range. */
export function parseOomScoreAdj(raw: string): number {
  const t = raw.trim();
  const n = /^-?\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!(n >= -1000 && n <= 1000))
    fail(`--oom-score-adj ${raw}: use an integer from -1000 (never chosen by the OOM killer) to 1000 (chosen first)`);
  return n;
}
