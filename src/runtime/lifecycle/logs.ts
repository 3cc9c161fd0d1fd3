// minidock logs [-f] [--tail N] [-t] ID: what a detached container wrote, from the monitor's
// json-file log (one {"log","stream","time"} object per line; see native/monitor.c).
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { fail, MinidockError } from '../../errors.js';
import { effectiveStatus, readState, resolve } from '../store.js';
import { rootOf, sleep, type RootFlag } from './common.js';
import { writeAll } from '../../sys/output.js';

export interface LogsFlags extends RootFlag {
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
}

interface Line {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

/**
 * Print the lines, each run of one stream in one write (synchronous: the next lines are read only
 * after these are out, so a slow reader slows the follower instead of filling memory). False once a
 * reader is gone (`logs -f ID | head -1`: EPIPE): the caller stops, as `yes | head -1` does.
 */
function emit(lines: Line[], ts: boolean): boolean {
  for (let i = 0; i < lines.length;) {
    const stream = lines[i].stream;
    let text = '';
    for (; i < lines.length && lines[i].stream === stream; i++) text += ts ? `${lines[i].time} ${lines[i].log}` : lines[i].log;
    if (!writeAll(stream === 'stderr' ? 2 : 1, text)) return false;
  }
  return true;
}

function parse(text: string): Line[] {
  const out: Line[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    try {
      out.push(JSON.parse(raw) as Line);
    } catch { /* a torn line cannot happen (one write per line), but never die on one */ }
  }
  return out;
}

export async function logs(ref: string, flags: LogsFlags): Promise<number> {
  const root = rootOf(flags);
  const e = resolve(root, ref);
  let tail = Infinity;
  if (flags.tail !== undefined && flags.tail !== 'all') {
    tail = Number(flags.tail);
    if (!Number.isInteger(tail) || tail < 0) fail(`--tail ${flags.tail}: use a number of lines ≥ 0, or all`);
  }
  const path = e.config?.logPath;
  if (!path) {
    throw new MinidockError(`container ${ref} ran in the foreground: its output went to the terminal and was not logged (only run -d keeps a log)`, 1);
  }
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 0; // no output yet
  }
  try {
    // Read what is there; keep an incomplete last line for later (-f).
    let pos = 0;
    let pending = Buffer.alloc(0);
    const buf = Buffer.alloc(1 << 16);
    // At most `max` bytes a call: a container that writes without a pause (`yes`) grows its log as
    // fast as we read it, so "read to the end" would never end, and never print.
    const readMore = (max = 1 << 20): Line[] => {
      const chunks = [pending];
      for (let got = 0; got < max;) {
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
    const ts = !!flags.timestamps;
    // What the log holds now: printed as it is read, or its last `tail` lines.
    const size = fstatSync(fd).size;
    let last: Line[] = [];
    for (let before = -1; pos < size && pos !== before;) {
      before = pos;
      const lines = readMore();
      if (tail === Infinity) {
        if (!emit(lines, ts)) return 0;
      } else if (tail > 0) {
        last = last.concat(lines).slice(-tail);
      }
    }
    if (!emit(last, ts) || !flags.follow) return 0;
    // -f: follow until the container has exited and everything it wrote is printed, or until
    // nobody reads our output any more.
    for (;;) {
      const s = readState(e.dir);
      const st = s ? effectiveStatus({ ...e, state: s }) : 'exited';
      const done = st === 'exited' || st === 'dead';
      const before = pos;
      if (!emit(readMore(), ts)) return 0;
      if (pos > before) continue; // there may be more: read on before waiting
      if (done) return 0; // it had exited before this read found nothing more
      try {
        statSync(path);
      } catch {
        return 0; // removed (--rm)
      }
      await sleep(100);
    }
  } finally {
    closeSync(fd);
  }
}
