// The relays between the user's terminal and a container, which never holds that terminal itself.
//
// -t (startRelay): the container's first process opened a pty from its own devpts and sent us the
// master over a unix socket. We put our own terminal in raw mode, so every key (^C included) reaches
// the container's line discipline unchanged, copy bytes both ways, and pass window-size changes on.
//
// Without -t (startPipeRelay): the fds of ours that are a terminal reached the container as pipes
// (build-plan.ts stdioPipes); we copy its output to our terminal and, with -i, our terminal's input
// (in its usual line mode) to its stdin. Loaded only then: a pipe or a file is given as it is.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import tty from 'node:tty';
import { mdSetWinsize } from '../sys/native.js';
import { writeAll } from '../sys/output.js';

export interface Relay {
  /** resolves when the container side has closed (EIO after the last process exits) */
  done: Promise<void>;
  /** resolves if nobody reads our output any more (EPIPE): the relay has hung up on the container */
  outputGone: Promise<void>;
  stop(): void;
}

export function startRelay(master: number): Relay {
  // A tty.ReadStream is a net.Socket over libuv's tty handle: non-blocking, polled, and writable.
  const pty = new tty.ReadStream(master) as tty.ReadStream & NodeJS.WritableStream;
  const stdin = process.stdin;
  const stdout = process.stdout;
  // A terminal that reports 0x0 (e.g. a pty nobody sized) would leave programs without a size: use 24x80.
  const resize = (): void => void mdSetWinsize(master, (stdout.isTTY && stdout.rows) || 24, (stdout.isTTY && stdout.columns) || 80);
  resize();
  stdout.on('resize', resize);
  if (stdin.isTTY) {
    stdin.setRawMode(true);
    // libuv's raw mode is not cfmakeraw(3): it leaves output processing on (OPOST with ONLCR, which
    // turns "\n" into "\r\n"). The container's own pty has done that already, so our terminal
    // would print "\r\r\n". Node has no call for c_oflag, so stty(1) clears OPOST on the terminal
    // (fd 0: the same terminal device as the output, in a shell); setRawMode(false) below puts
    // back the whole termios that libuv saved before it went raw, OPOST included.
    spawnSync('stty', ['-opost'], { stdio: [0, 'ignore', 'ignore'] });
  }
  const toPty = (chunk: Buffer): void => void pty.write(chunk);
  stdin.on('data', toPty);
  stdin.resume();
  let gone = (): void => {};
  const outputGone = new Promise<void>((r) => (gone = r));
  const done = new Promise<void>((resolve) => {
    pty.on('data', (c: Buffer) => {
      // a slow reader of our output slows the container down (the pty fills), instead of our memory
      if (!stdout.write(c)) {
        pty.pause();
        stdout.once('drain', () => pty.resume());
      }
    });
    pty.on('error', () => resolve()); // EIO: the slave side is gone
    pty.on('close', () => resolve());
    pty.on('end', () => resolve());
    // Nobody reads our output any more (`run -t ... | head -1`: EPIPE). Hang up, as a terminal
    // window that closes does: closing the master, of which we hold the only copy, makes the kernel
    // hang up the container's side — SIGHUP to its foreground process group (PID 1 ignores it unless
    // it has a handler, as it ignores every signal) and EIO on every later write, which ends
    // `yes` and any program that checks its writes. The exit then goes on as usual: the container's
    // own status, and cleanup (--rm).
    stdout.on('error', () => {
      stdin.off('data', toPty);
      pty.destroy();
      gone();
      resolve();
    });
  });
  let stopped = false;
  return {
    done,
    outputGone,
    stop(): void {
      if (stopped) return;
      stopped = true;
      stdout.off('resize', resize);
      stdin.off('data', toPty);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      stdin.unref?.();
      pty.destroy();
    },
  };
}

/**
 * `fds`: our ends of the pipes that replaced the container's fds 0, 1, 2 (-1: that fd is not one).
 * `done` resolves at EOF on the output pipes: once the container's last process has exited (the
 * kernel kills the whole PID namespace with its init, so no writer is left).
 */
export function startPipeRelay(fds: number[]): Relay {
  let gone = (): void => {};
  const outputGone = new Promise<void>((r) => (gone = r));
  const outs: net.Socket[] = [];
  const ends: Array<Promise<void>> = [];
  // Our terminal hung up (EIO): close the pipes, so the container's next write fails (EPIPE, and
  // SIGPIPE for any process but its PID 1), as for a writer in a shell pipeline whose reader left.
  const hangUp = (): void => {
    for (const o of outs) o.destroy();
    gone();
  };
  for (const n of [1, 2]) {
    if (fds[n] < 0) continue;
    const o = new net.Socket({ fd: fds[n], readable: true, writable: false });
    outs.push(o);
    ends.push(new Promise((resolve) => o.on('close', () => resolve())));
    // synchronous writes to the terminal: a terminal that is slow (or stopped with ^S) slows the
    // container down through the full pipe, instead of filling our memory
    o.on('data', (c: Buffer) => void (writeAll(n, c) || hangUp()));
    o.on('error', () => o.destroy());
  }
  const stdin = process.stdin;
  let input: net.Socket | undefined;
  const toContainer = (c: Buffer): void => {
    if (input && !input.write(c)) {
      stdin.pause(); // the container is not reading: let the terminal hold the rest
      input.once('drain', () => stdin.resume());
    }
  };
  const endInput = (): void => void input?.end(); // ^D: the container sees the end of its input
  if (fds[0] >= 0) {
    input = new net.Socket({ fd: fds[0], readable: false, writable: true });
    input.on('error', () => input?.destroy()); // EPIPE: the container closed its stdin
    stdin.on('data', toContainer);
    stdin.on('end', endInput);
    stdin.resume();
  }
  let stopped = false;
  return {
    done: Promise.all(ends).then(() => undefined),
    outputGone,
    stop(): void {
      if (stopped) return;
      stopped = true;
      for (const o of outs) o.destroy();
      if (input) {
        stdin.off('data', toContainer);
        stdin.off('end', endInput);
        stdin.pause();
        stdin.unref?.();
        input.destroy();
      }
    },
  };
}
