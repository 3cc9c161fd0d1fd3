// Writing to stdout and stderr without process.stdout / process.stderr.
//
// The first use of process.stdout (or stderr) builds a stream: for a file that loads Node's stream
// modules (~20 of them), for a pipe `net` as well — ~1.5 ms, more than all of minidock's own work
// for `run -d` between its start and its clone. The launch path prints one line (an ID, an error),
// so it writes to the file descriptor itself. Writes to fds 1 and 2 are synchronous either way.
//
// A reader that has gone (`minidock logs -f ID | head -1`) is EPIPE here — Node ignores SIGPIPE, so
// the write fails instead of killing the process — and the writers return false: callers that would
// go on writing (a follower, a relay) stop quietly, as `yes | head -1` ends.
import { writeSync } from 'node:fs';
import { sleepSync } from './sleep.js';

/** Write all of `data` to `fd`; false if its reader is gone (EPIPE; EIO: a terminal that hung up). */
export function writeAll(fd: number, data: string | Uint8Array): boolean {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE' || code === 'EIO') return false; // nothing more to say to it
      // a non-blocking pipe shared with someone else, and full: wait for the reader
      if (code !== 'EAGAIN') throw e;
      sleepSync(1);
    }
  }
  return true;
}

export function writeOut(text: string): boolean {
  return writeAll(1, text);
}

export function writeErr(text: string): boolean {
  return writeAll(2, text);
}
