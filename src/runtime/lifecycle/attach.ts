// Attach to a running detached container (minidock attach): its output from now on, read from the
// log its monitor writes (as `docker attach` shows what comes after it attached), until this run
// of it exits; then its exit status. Its stdin, when it was started with -i (run -d -i, create -i):
// the monitor holds the write end of a pipe that is the container's fd 0 and listens on the
// abstract unix socket "\0minidock-attach/ID" (native/monitor.c); what attach sends there goes in.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { MinidockError } from '../../errors.js';
import { displayName } from '../container-store/listing.js';
import { readState, type ContainerState, type Entry } from '../container-store/records.js';
import { effectiveStatus } from '../container-store/staleness.js';
import { isPaused } from './pause.js';
import { eventsPath, journal } from './events.js';
import { LogReader, logEnd, type LogLine, type LogMark } from './logs.js';

/** What attach follows: the container, the run it attached to (pid + start time), and the log from here. */
export interface Attached {
  entry: Entry;
  pid: number;
  pidStart?: number;
  logPath: string;
  from: LogMark;
  /** its monitor keeps its stdin open (started with -i, without -t) */
  openStdin: boolean;
  /** --log-driver none: no log, so no output to follow (only the exit) */
  logNone: boolean;
}

/** Check that `e` can be attached to, Docker's refusals (exit 1) otherwise, and mark where its log is now. */
export function attachTo(e: Entry, ref = displayName(e)): Attached {
  const status = effectiveStatus(e);
  if (status === 'restarting')
    throw new MinidockError(`cannot attach to container ${ref}: it is restarting — wait until it runs`, 1);
  if (status !== 'running')
    throw new MinidockError(`cannot attach to container ${ref}: it is not running (${status}) — start it first`, 1);
  const logPath = e.config?.logPath;
  if (!e.config?.detached || !logPath)
    throw new MinidockError(
      `cannot attach to container ${ref}: it runs in the foreground of another minidock, whose terminal has its output`,
      1,
    );
  if (isPaused(e)) throw new MinidockError(`cannot attach to container ${ref}: it is paused — unpause it first`, 1);
  const spec = e.config.spec;
  journal(e, 'attach');
  return {
    entry: e,
    pid: e.state!.pid!,
    pidStart: e.state?.pidStart,
    logPath,
    from: logEnd(logPath),
    openStdin: !!spec?.interactive && !spec.tty,
    logNone: spec?.logConfig?.type === 'none',
  };
}

/** The monitor's socket for the container's stdin (monitor.c listen_attach: the same name). */
export function attachSocketName(id: string): string {
  return `\0minidock-attach/${id}`;
}

/**
 * Connect to the container's stdin (its monitor's socket): what is written to the socket goes into
 * the container's stdin; ending it (EOF) leaves the container's stdin open for the next attach.
 */
export async function connectStdin(id: string, ref: string): Promise<Socket> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const sock = connect({ path: attachSocketName(id) });
    sock.once('connect', () => {
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new MinidockError(
          `cannot attach to the stdin of container ${ref}: its monitor does not answer (${err.code ?? err.message}) — it may have just exited; attach --no-stdin follows its output only`,
          1,
        ),
      ),
    );
  });
}

/** Is this still the run attach attached to, running? (Its exit, or a restart's next run, ends the attach.) */
function sameRun(a: Attached, s: ContainerState | undefined): boolean {
  return !!s && s.status === 'running' && s.pid === a.pid && s.pidStart === a.pidStart;
}

/**
 * The output the container writes from now on, a batch of log lines at a time, until the run we
 * attached to has exited and all it wrote is read (the monitor drains the container's pipes into
 * the log before it records the exit). Then returns its state: the exit code is `exitCode`.
 */
export async function* attachedOutput(a: Attached, pollMs = 50): AsyncGenerator<LogLine[], ContainerState | undefined> {
  const reader = new LogReader(a.logPath, a.from);
  try {
    for (;;) {
      const s = readState(a.entry.dir);
      const done = !sameRun(a, s) || effectiveStatus({ ...a.entry, state: s }) !== 'running';
      // (read after the state: once it says exited, the log holds everything; all of it, however many reads)
      for (let lines = a.logNone ? [] : reader.read(); lines.length || reader.progress; lines = reader.read())
        if (lines.length) yield lines;
      if (done) return s;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    reader.close();
  }
}

/**
 * The exit code of the run attach followed: from its state.json ("exited", or "restarting" between
 * two runs of its policy), or, when the container was removed at its exit (--rm) or its next run
 * has begun, from the journal's last die of this container (the monitor journals it first).
 */
export function exitCodeOf(a: Attached, s: ContainerState | undefined): number | undefined {
  if (s && (s.status === 'exited' || s.status === 'restarting') && s.exitCode !== undefined) return s.exitCode;
  let text = '';
  try {
    text = readFileSync(eventsPath(a.entry.dir.replace(/\/+[^/]+\/+[^/]+\/*$/, '')), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n').reverse()) {
    if (!line.includes(a.entry.id) || !line.includes('"die"')) continue;
    try {
      const ev = JSON.parse(line) as { action?: string; id?: string; attributes?: { exitCode?: string } };
      if (ev.action === 'die' && ev.id === a.entry.id && ev.attributes?.exitCode !== undefined)
        return Number(ev.attributes.exitCode);
    } catch {
      /* a torn line */
    }
  }
  return undefined;
}
