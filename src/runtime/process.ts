// Process utilities of a launch and of exec: waiting for exactly one child, its exit code, reading
// a pipe to EOF, and passing the user's signals on to the container.
import { closeSync, readFileSync, readSync } from 'node:fs';
import { MinidockError } from '../errors.js';
import { SIGNALS } from '../sys/constants.js';
import { errnoName } from '../sys/errno.js';
import { mdTryReap } from '../sys/native.js';

/**
 * Does the process whose /proc/PID/status text is given catch signal `signo` (a handler installed)?
 * SigCgt is the mask of caught signals, in hex, bit N-1 for signal N.
 */
export function catchesSignal(status: string, signo: number): boolean {
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
  return caught ? ((BigInt('0x' + caught[1]) >> BigInt(signo - 1)) & 1n) === 1n : true; // unknown: assume it does
}

/** The line shown when a forwarded signal will be ignored by the container's PID 1. */
export function ignoredSignalNotice(sig: string, comm: string, escalateMs: number): string {
  return (
    `${sig} forwarded to the container's PID 1 (${comm}), which has no handler for it and so ignores it ` +
    `(the kernel drops the signals a PID namespace's init does not handle); SIGKILL follows in ${escalateMs / 1000} s ` +
    '(--stop-timeout) — run a PID 1 that handles the signal to stop cleanly'
  );
}

/**
 * Pass the signals a user sends minidock (^C, kill) on to the process target() names (none while it
 * is <= 0). With escalateMs (the target is a container's PID 1), SIGKILL follows that long after the
 * first one, and if PID 1 has no handler for that signal, onIgnored gets the line that says so (the
 * command prints it): without it, a ^C on `minidock run IMAGE sleep 30` would seem to do nothing for
 * --stop-timeout seconds. Returns the undo.
 */
export function forwardSignals(
  target: () => number,
  escalateMs?: number,
  onIgnored?: (line: string) => void,
): () => void {
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  let killTimer: NodeJS.Timeout | undefined;
  const send = (sig: NodeJS.Signals | 'SIGKILL'): void => {
    const pid = target();
    if (pid <= 0) return;
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  const forward = (sig: NodeJS.Signals): void => {
    send(sig);
    const pid = target();
    if (escalateMs === undefined || pid <= 0 || killTimer) return;
    killTimer = setTimeout(() => send('SIGKILL'), escalateMs);
    let status = '';
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      /* gone already: nothing to explain */
    }
    if (status && !catchesSignal(status, SIGNALS[sig])) {
      onIgnored?.(ignoredSignalNotice(sig, /^Name:\s*(.*)$/m.exec(status)?.[1] ?? '?', escalateMs));
    }
  };
  for (const s of sigs) process.on(s, forward);
  return () => {
    for (const s of sigs) process.off(s, forward);
    if (killTimer) clearTimeout(killTimer);
  };
}

/**
 * Once nobody reads the container's output the relay hangs up on it (tty.ts), which ends `yes` and
 * every program that checks its writes; one that goes on regardless is killed after --stop-timeout,
 * as one that ignores a forwarded SIGTERM is. Returns the undo.
 */
export function killIfOutputGone(
  relay: { outputGone: Promise<void> },
  target: () => number,
  escalateMs: number,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let undone = false;
  void relay.outputGone.then(() => {
    if (undone) return;
    timer = setTimeout(() => {
      const pid = target();
      try {
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, escalateMs);
  });
  return () => {
    undone = true;
    if (timer) clearTimeout(timer);
  };
}

/** Read a pipe to EOF, blocking, and close it: for the report pipe once the child is past its last wait. */
export function readAllSync(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(16384);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks);
}

/**
 * Wait for exactly `pid` to exit: on every SIGCHLD, waitpid(pid, WNOHANG). (docs/contributing.md: never
 * waitpid(-1), libuv reaps its own children; and no blocking wait parked on libuv's thread pool.)
 * A signal handler does not keep Node's event loop alive, so a long timer does until the exit.
 * Resolves to the raw wait status.
 */
export function waitExit(pid: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    const check = (): void => {
      const result = mdTryReap(pid);
      if (result.state === 'running') return;
      process.off('SIGCHLD', check);
      clearInterval(keepAlive);
      if (result.state === 'failed') reject(new MinidockError(`waitpid(${pid}): ${errnoName(result.errno)}`));
      else resolve(result.status);
    };
    process.on('SIGCHLD', check);
    check(); // it may have exited before the handler was there
  });
}

/** A raw wait status as the shell and Docker show it: the exit status, or 128 + the killing signal. */
export function exitCodeOf(status: number): { code: number; signal?: number } {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff };
  return { code: 128 + sig, signal: sig };
}
