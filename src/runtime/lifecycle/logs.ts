// What a detached container wrote (minidock logs), from the monitor's json-file log (one
// {"log","stream","time"} object per line; see native/monitor.c), as batches of lines.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
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
  /** start at this byte offset of the log (start -a: only what this run writes) */
  from?: number;
}

export interface LogLine {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
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
  const path = e.config?.logPath;
  if (!path) {
    throw new MinidockError(
      `container ${ref} ran in the foreground: its output went to the terminal and was not logged (only run -d keeps a log)`,
      1,
    );
  }
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return; // no output yet
  }
  try {
    // Read what is there; keep an incomplete last line for later (-f).
    let pos = opts.from ?? 0;
    let pending = Buffer.alloc(0);
    const buf = Buffer.alloc(1 << 16);
    // At most `max` bytes a call: a container that writes without a pause (`yes`) grows its log as
    // fast as we read it, so "read to the end" would never end, and never print.
    const readMore = (max = 1 << 20): LogLine[] => {
      const chunks = [pending];
      for (let got = 0; got < max; ) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        got += n;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      const all = Buffer.concat(chunks);
      const cut = all.lastIndexOf(0x0a) + 1; // a newline byte is never part of a UTF-8 sequence
      pending = all.subarray(cut);
      return parse(all.toString('utf8', 0, cut));
    };
    // What the log holds now: given as it is read, or its last `tail` lines.
    const size = fstatSync(fd).size;
    let last: LogLine[] = [];
    for (let before = -1; pos < size && pos !== before; ) {
      before = pos;
      const lines = readMore();
      if (tail === Infinity) {
        yield lines;
      } else if (tail > 0) {
        last = last.concat(lines).slice(-tail);
      }
    }
    if (last.length) yield last;
    if (!opts.follow) return;
    // follow until the container has exited and everything it wrote is read, or until the caller
    // stops asking.
    for (;;) {
      const s = readState(e.dir);
      const st = s ? effectiveStatus({ ...e, state: s }) : 'exited';
      const done = st === 'exited' || st === 'dead';
      const before = pos;
      const lines = readMore();
      if (lines.length) yield lines;
      if (pos > before) continue; // there may be more: read on before waiting
      if (done) return; // it had exited before this read found nothing more
      try {
        statSync(path);
      } catch {
        return; // removed (--rm)
      }
      await sleep(100);
    }
  } finally {
    closeSync(fd);
  }
}
