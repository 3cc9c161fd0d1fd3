// What a detached container wrote (minidock logs), from the monitor's json-file log (one
// {"log","stream","time"} object per line; see native/monitor.c), as batches of lines.
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fail, MinidockError } from '../../errors.js';
import { displayName } from '../container-store/listing.js';
import { readState, type Entry } from '../container-store/records.js';
import { effectiveStatus } from '../container-store/staleness.js';
import { sleep } from './common.js';

export interface LogOptions {
  /** keep reading until the container has exited and everything it wrote is read */
  follow?: boolean;
  /** only the last N lines of what is there now: a number, or "all" */
  tail?: string;
  /** start where the log ended at this mark (start -a: only what this run writes; logEnd) */
  from?: LogMark;
}

export interface LogLine {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

/** A place in the log: a file (by inode: its name changes when it is rotated) and an offset in it. */
export interface LogMark {
  ino: number;
  pos: number;
}

function parse(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    try {
      out.push(JSON.parse(raw) as LogLine);
    } catch {
      /* a torn line cannot happen (one write per line), but never die on one */
    }
  }
  return out;
}

/**
 * The log's files, oldest first: container.log.N ... container.log.1 (json-file's rotation, done by the
 * monitor: --log-opt max-size/max-file), then container.log; with their inodes. From the directory's
 * listing, not by probing .1, .2...: in the middle of a rotation one of them may be missing a moment.
 */
export function logFiles(path: string): { path: string; ino: number }[] {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const rotated = names
    .map((n) =>
      n.startsWith(`${base}.`) && /^\d+$/.test(n.slice(base.length + 1)) ? Number(n.slice(base.length + 1)) : 0,
    )
    .filter((n) => n > 0)
    .sort((a, b) => b - a)
    .map((n) => `${path}.${n}`);
  const out: { path: string; ino: number }[] = [];
  for (const p of [...rotated, path]) {
    try {
      out.push({ path: p, ino: statSync(p).ino });
    } catch {
      /* rotated away meanwhile */
    }
  }
  return out;
}

/** Where the log ends now (the current container.log, its size): what a follower started now skips. */
export function logEnd(path: string): LogMark {
  try {
    const st = statSync(path);
    return { ino: st.ino, pos: st.size };
  } catch {
    return { ino: 0, pos: 0 }; // no log yet: everything to come is new
  }
}

/**
 * Reads the log's lines across its files, oldest first, and on across a rotation: the monitor
 * renames container.log away and never writes to it again, so the file this reader holds open is
 * read to its end and then the next one is found by inode among logFiles. (A reader more than
 * max-file rotations behind finds its file dropped and goes on with the oldest there is: those
 * lines are lost, as in Docker.)
 */
export class LogReader {
  private fd = -1;
  /** the file read now (inode) and the offset in it */
  ino = 0;
  pos = 0;
  /** bytes the last read() took */
  progress = 0;
  private pending = Buffer.alloc(0);
  private final = false;
  private started = false;
  private readonly buf = Buffer.alloc(1 << 16);

  constructor(
    private readonly path: string,
    private readonly from?: LogMark,
  ) {}

  /** Up to about `max` bytes of lines (a container that never pauses grows its log as fast as we read). */
  read(max = 1 << 20): LogLine[] {
    const chunks = [this.pending];
    this.progress = 0;
    while (this.progress < max) {
      if (this.fd < 0 && !this.openNext()) break;
      const n = readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
      if (n > 0) {
        this.pos += n;
        this.progress += n;
        chunks.push(Buffer.from(this.buf.subarray(0, n)));
      } else if (!this.final) {
        // at the end: rotated away? Then read it once more (what was written before the rename) and move on
        const files = logFiles(this.path);
        if (!files.length || files[files.length - 1].ino === this.ino) break;
        this.final = true;
      } else {
        // whole lines only: a line cut at the end of a file (a full disk) is dropped
        const all = Buffer.concat(chunks);
        chunks.splice(0, chunks.length, all.subarray(0, all.lastIndexOf(0x0a) + 1));
        // The next file is looked up while this one is still open: closed (and dropped by the
        // rotation), its inode number can be given at once to the new container.log, which we would
        // then take for ours and skip (seen: a whole file of lines missing from logs -f).
        const old = this.fd;
        this.fd = -1;
        const opened = this.openNext();
        closeSync(old);
        if (!opened) {
          this.ino = 0; // (then the oldest there is)
          break;
        }
      }
    }
    const all = Buffer.concat(chunks);
    const cut = all.lastIndexOf(0x0a) + 1; // a newline byte is never part of a UTF-8 sequence
    this.pending = all.subarray(cut);
    return parse(all.toString('utf8', 0, cut));
  }

  /** Open the next file: the mark's or the oldest at first, then the one after ours. False: none yet. */
  private openNext(): boolean {
    for (let tries = 0; tries < 3; tries++) {
      const files = logFiles(this.path);
      let next: { path: string; ino: number } | undefined;
      let pos = 0;
      if (!this.started && this.from?.ino) {
        next = files.find((f) => f.ino === this.from!.ino);
        if (next) pos = this.from.pos;
        else next = files[0]; // (rotated away and dropped since: the oldest there is)
      } else if (this.ino === 0) {
        next = files[0];
      } else {
        const i = files.findIndex((f) => f.ino === this.ino);
        next = files[i + 1]; // (not found: ours was dropped, the oldest there is comes next)
      }
      if (!next) return false;
      let fd: number;
      try {
        fd = openSync(next.path, 'r');
      } catch {
        continue; // rotated meanwhile: list again
      }
      if (fstatSync(fd).ino !== next.ino) {
        closeSync(fd); // another file took the name meanwhile
        continue;
      }
      [this.fd, this.ino, this.pos, this.final, this.started] = [fd, next.ino, pos, false, true];
      return true;
    }
    return false;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** The container's log driver is none: nothing to read (Docker: "configured logging driver does not support reading"). */
export function checkReadable(e: Entry, ref: string): void {
  if (e.config?.spec?.logConfig?.type === 'none')
    fail(
      `container ${ref}: the container's log driver is none, so no log was kept (run it with --log-driver json-file, the default, to read it)`,
    );
}

/**
 * The container's log, a batch of lines at a time: what the log holds now (or its last `tail`
 * lines), then, with `follow`, what comes until the container has exited. Batches are read only as
 * the caller asks for them, so a slow reader slows the follower instead of filling memory; a caller
 * that stops early (its own reader gone) ends the generator, which closes the log.
 */
export async function* logBatches(e: Entry, opts: LogOptions = {}, ref = displayName(e)): AsyncGenerator<LogLine[]> {
  let tail = Infinity;
  if (opts.tail !== undefined && opts.tail !== 'all') {
    tail = Number(opts.tail);
    if (!Number.isInteger(tail) || tail < 0) fail(`--tail ${opts.tail}: use a number of lines ≥ 0, or all`);
  }
  checkReadable(e, ref);
  const path = e.config?.logPath;
  if (!path) {
    throw new MinidockError(
      `container ${ref} ran in the foreground: its output went to the terminal and was not logged (only run -d keeps a log)`,
      1,
    );
  }
  const reader = new LogReader(path, opts.from);
  try {
    // What the log holds now (up to where container.log ends at this moment): given as it is read,
    // or its last `tail` lines.
    const end = logEnd(path);
    let last: LogLine[] = [];
    for (;;) {
      const lines = reader.read();
      if (tail === Infinity) {
        if (lines.length) yield lines;
      } else if (tail > 0) {
        last = last.concat(lines).slice(-tail);
      }
      if (!reader.progress || (reader.ino === end.ino && reader.pos >= end.pos)) break;
    }
    if (last.length) yield last;
    if (!opts.follow) return;
    // follow until the container has exited and everything it wrote is read, or until the caller
    // stops asking.
    for (;;) {
      const s = readState(e.dir);
      const st = s ? effectiveStatus({ ...e, state: s }) : 'exited';
      const done = st === 'exited' || st === 'dead';
      const lines = reader.read();
      if (lines.length) yield lines;
      if (reader.progress) continue; // there may be more: read on before waiting
      if (done) return; // it had exited before this read found nothing more
      try {
        statSync(e.dir);
      } catch {
        return; // removed (--rm)
      }
      await sleep(100);
    }
  } finally {
    reader.close();
  }
}
