// -t: relay between the user's terminal and the container's pty master. (Without -t, the container
// never holds the user's terminal either: stdio-relay.ts.)
// Moving bytes between the user's terminal and the container is this module's job, not printing.
//
// The container's first process opened the pty from its own devpts and sent us the master over a
// unix socket. We put our own terminal in raw mode, so every key (^C included) reaches the
// container's line discipline unchanged, copy bytes both ways, and pass window-size changes on.
import { readSync } from 'node:fs';
import tty from 'node:tty';
import { mdSetWinsize, mdTtyOpostOff } from '../sys/native.js';

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
  const resize = (): void =>
    void mdSetWinsize(master, (stdout.isTTY && stdout.rows) || 24, (stdout.isTTY && stdout.columns) || 80);
  resize();
  stdout.on('resize', resize);
  if (stdin.isTTY) {
    stdin.setRawMode(true);
    // libuv's raw mode is not cfmakeraw(3): it leaves output processing on (OPOST with ONLCR, which
    // turns "\n" into "\r\n"). The container's own pty has done that already, so our terminal
    // would print "\r\r\n". Node has no call for c_oflag, so libminidock clears OPOST on the
    // terminal (fd 0: the same terminal device as the output, in a shell); setRawMode(false) below
    // puts back the whole termios that libuv saved before it went raw, OPOST included.
    mdTtyOpostOff(0);
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
    pty.on('end', () => {
      drainAfterHangup(master, (c) => void stdout.write(c));
      resolve();
    });
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
 * Read what is left in the pty after libuv said EOF. A pty master never reads 0 bytes: libuv makes
 * that EOF up. When epoll reports POLLHUP (the container's last process closed the slave) and a
 * read returned less than it asked for, libuv takes the stream as ended. But a pty moves what the
 * slave wrote to the master's buffer in a kernel work item, so the container's last line may not have
 * been readable yet ("echo one; echo two" showed only "one", once in 30 runs). A read on the master
 * waits for that work item and then, with nothing left, fails with EIO: so read until it fails.
 * (Called from the 'end' event, before Node closes the descriptor; libuv made it non-blocking.)
 */
function drainAfterHangup(master: number, out: (chunk: Buffer) => void): void {
  const buf = Buffer.allocUnsafe(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(master, buf, 0, buf.length, null);
    } catch {
      return; // EIO: all read. (EAGAIN: some other process still has the slave open)
    }
    if (n === 0) return;
    out(Buffer.from(buf.subarray(0, n)));
  }
}
