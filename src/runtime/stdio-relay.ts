// Without -t: the fds of ours that are a terminal reached the container as pipes (build-plan.ts
// stdioPipes), so that nothing inside holds the user's terminal. Copy the container's output from
// them to our terminal and, with -i, the lines typed on our terminal (in its usual line mode: echo,
// editing, ^D) into its stdin.
// Moving bytes between the user's terminal and the container is this module's job, not printing.
//
// The output pipes are read with fs.read, which blocks a thread of libuv's pool rather than polling
// the pipe from the event loop: that needs no node:net (net.Socket over the pipe), whose loading cost
// more than everything else the relay does (docs/performance.md). Only -i loads node:tty, through
// process.stdin. A pipe or a file on our side is given to the container as it is: nothing of this
// module is loaded then.
import { close, read, write } from 'node:fs';
import { writeAll } from '../sys/output.js';
import type { Relay } from './tty.js';

/**
 * `fds`: our ends of the pipes that replaced the container's fds 0, 1, 2 (-1: that fd is not one).
 * `done` resolves at EOF on the output pipes, which comes once the container's last process has
 * exited (the kernel kills the whole PID namespace with its init, so no writer is left inside).
 */
export function startPipeRelay(fds: number[]): Relay {
  let gone = (): void => {};
  const outputGone = new Promise<void>((r) => (gone = r));
  let discard = false;
  // Read until EOF, then close. A read cannot be called off once it waits in the pool, so the fd
  // is closed only by its own loop, never under a pending read (its number could be reused).
  const copy = (from: number, to: number): Promise<void> =>
    new Promise((resolve) => {
      const buf = Buffer.alloc(1 << 16);
      const next = (): void =>
        read(from, buf, 0, buf.length, null, (err, n) => {
          if (err || n === 0) return close(from, () => resolve());
          // writes to the terminal are synchronous: a slow terminal (or ^S) slows the container down
          // through the full pipe, instead of filling our memory. Our terminal hung up (EIO): read
          // on and drop the output; killIfOutputGone (launch.ts) ends a container that goes on.
          if (!discard && !writeAll(to, buf.subarray(0, n))) {
            discard = true;
            gone();
          }
          next();
        });
      next();
    });
  const ends = [1, 2].filter((n) => fds[n] >= 0).map((n) => copy(fds[n], n));

  // -i: our terminal's input into the container's stdin. One write at a time (in the pool: the pipe
  // may be full while the container does not read), our terminal paused meanwhile; EOF (^D) closes
  // the pipe once the last write is done, and the container sees the end of its input.
  const input = fds[0];
  const stdin = input >= 0 ? process.stdin : undefined;
  let writing = false;
  let closing = false;
  let inputOpen = input >= 0;
  const closeInput = (): void => {
    closing = true;
    if (writing || !inputOpen) return;
    inputOpen = false;
    close(input, () => {});
  };
  const toContainer = (c: Buffer): void => {
    writing = true;
    stdin!.pause();
    write(input, c, (err, n) => {
      if (!err && n < c.length) return toContainer(c.subarray(n));
      writing = false;
      if (err) closing = true; // EPIPE: the container closed its stdin
      if (closing) return closeInput();
      stdin!.resume();
    });
  };
  if (stdin) {
    stdin.on('data', toContainer);
    stdin.on('end', closeInput);
    stdin.resume();
  }
  let stopped = false;
  return {
    done: Promise.all(ends).then(() => undefined),
    outputGone,
    stop(): void {
      if (stopped) return;
      stopped = true;
      if (stdin) {
        stdin.off('data', toContainer);
        stdin.off('end', closeInput);
        stdin.pause();
        stdin.unref?.();
        closeInput();
      }
    },
  };
}
