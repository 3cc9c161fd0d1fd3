// Attach to a running detached container (minidock attach): its output from now on, read from the
// log its monitor writes (as `docker attach` shows what comes after it attached), until this run
// of it exits; then its exit status. No stdin: the monitor gives a detached container /dev/null as
// its stdin and keeps no pipe to it (run -d takes no -i), so there is nothing to write into.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import { displayName } from '../container-store/listing.js';
import { readState, type ContainerState, type Entry } from '../container-store/records.js';
import { effectiveStatus } from '../container-store/staleness.js';
import { isPaused } from './pause.js';
import { eventsPath, journal } from './events.js';
import type { LogLine } from './logs.js';

/** What attach follows: the container, the run it attached to (pid + start time), and the log from here. */
export interface Attached {
  entry: Entry;
  pid: number;
  pidStart?: number;
  logPath: string;
  from: number;
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
  let from = 0;
  try {
    from = fstatSize(logPath);
  } catch {
    /* no output yet */
  }
  journal(e, 'attach');
  return { entry: e, pid: e.state!.pid!, pidStart: e.state?.pidStart, logPath, from };
}

function fstatSize(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
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
  let fd = -1;
  let pos = a.from;
  let pending = Buffer.alloc(0);
  const buf = Buffer.alloc(1 << 16);
  const read = (): LogLine[] => {
    if (fd < 0) {
      try {
        fd = openSync(a.logPath, 'r');
      } catch {
        return [];
      }
    }
    const chunks = [pending];
    for (let n = readSync(fd, buf, 0, buf.length, pos); n > 0; n = readSync(fd, buf, 0, buf.length, pos)) {
      pos += n;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    const all = Buffer.concat(chunks);
    const cut = all.lastIndexOf(0x0a) + 1;
    pending = all.subarray(cut);
    const out: LogLine[] = [];
    for (const line of all.toString('utf8', 0, cut).split('\n')) {
      try {
        if (line) out.push(JSON.parse(line) as LogLine);
      } catch {
        /* never die on a line (a full disk cuts one) */
      }
    }
    return out;
  };
  try {
    for (;;) {
      const s = readState(a.entry.dir);
      const done = !sameRun(a, s) || effectiveStatus({ ...a.entry, state: s }) !== 'running';
      const lines = read(); // (read after the state: once it says exited, the log holds everything)
      if (lines.length) yield lines;
      if (done) return s;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    if (fd >= 0) closeSync(fd);
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
