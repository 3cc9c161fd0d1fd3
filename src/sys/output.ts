// Writing to stdout and stderr without process.stdout / process.stderr.
//
// The first use of process.stdout (or stderr) builds a stream: for a file that loads Node's stream
// modules (~20 of them), for a pipe `net` as well — ~1.5 ms, more than all of minidock's own work
// for `run -d` between its start and its clone. The launch path prints one line (an ID, an error),
// so it writes to the file descriptor itself. Writes to fds 1 and 2 are synchronous either way.
import { writeSync } from 'node:fs';
import { sleepSync } from './sleep.js';

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length;) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return; // the reader is gone (`| head`): nothing more to say to it
      // a non-blocking pipe shared with someone else, and full: wait for the reader
      if (code !== 'EAGAIN') throw e;
      sleepSync(1);
    }
  }
}

export function writeOut(text: string): void {
  writeAll(1, text);
}

export function writeErr(text: string): void {
  writeAll(2, text);
}
