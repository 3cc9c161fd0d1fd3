// minidock logs [-f] [--tail N] [-t] ID: what a detached container wrote, from the monitor's
// json-file log (one {"log","stream","time"} object per line; see native/monitor.c).
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { fail, MinidockError } from '../../errors.js';
import { effectiveStatus, readState, resolve } from '../store.js';
import { rootOf, sleep, type RootFlag } from './common.js';

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

function emit(l: Line, ts: boolean): void {
  const out = l.stream === 'stderr' ? process.stderr : process.stdout;
  out.write(ts ? `${l.time} ${l.log}` : l.log);
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
    let pending = '';
    const buf = Buffer.alloc(1 << 16);
    const readMore = (): string => {
      let text = '';
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        text += buf.toString('utf8', 0, n);
      }
      const all = pending + text;
      const cut = all.lastIndexOf('\n') + 1;
      pending = all.slice(cut);
      return all.slice(0, cut);
    };
    const first = parse(readMore());
    for (const l of tail === Infinity ? first : tail === 0 ? [] : first.slice(-tail)) emit(l, !!flags.timestamps);
    if (!flags.follow) return 0;
    // -f: follow until the container has exited and everything it wrote is printed.
    for (;;) {
      const s = readState(e.dir);
      const st = s ? effectiveStatus({ ...e, state: s }) : 'exited';
      const done = st === 'exited' || st === 'dead';
      for (const l of parse(readMore())) emit(l, !!flags.timestamps);
      if (done) {
        for (const l of parse(readMore())) emit(l, !!flags.timestamps);
        return 0;
      }
      try {
        if (statSync(path).size > pos) continue;
      } catch {
        return 0; // removed (--rm)
      }
      await sleep(100);
    }
  } finally {
    closeSync(fd);
  }
}
