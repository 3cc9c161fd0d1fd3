// The bench as its containers' parent, for the cycle experiment: after `create` exits, a container's
// init is an orphan, and the kernel gives an orphan to its nearest ancestor marked as a child
// subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), else to PID 1. Every engine is that subreaper
// (conmon, containerd-shim) and reaps the init as it exits, which is when the container is
// "stopped". PID 1 need not reap promptly (here it reaps about a second later), and until then the
// zombie still counts in its v1 cgroups, so a runtime that removes them waits for it. The cycle
// marks the bench a subreaper for its own duration and reaps exactly the inits it is told of.
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { mdTryReap } from '../sys/native.js';

const PR_SET_CHILD_SUBREAPER = 36;

type Ffi = {
  DataType: Record<string, number>;
  open(p: { library: string; path: string }): void;
  load(p: Record<string, unknown>): unknown;
};
let libc: Ffi | undefined;

/** prctl(PR_SET_CHILD_SUBREAPER, on) through ffi-rs on the C library; 0, or -1 when it failed. */
export function setChildSubreaper(on: boolean): number {
  if (!libc) {
    const f = createRequire(import.meta.url)('ffi-rs') as Ffi;
    f.open({ library: 'libc', path: '' }); // '': the C library already in this process
    libc = f;
  }
  const T = libc.DataType;
  return libc.load({
    library: 'libc',
    funcName: 'prctl',
    retType: T.I32,
    paramsType: [T.I32, T.I64, T.I64, T.I64, T.I64],
    paramsValue: [PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0],
  }) as number;
}

/** Sleep without the event loop (the cycle is synchronous): Atomics.wait on a private buffer. */
const cell = new Int32Array(new SharedArrayBuffer(4));
export const pause = (ms: number): void => {
  Atomics.wait(cell, 0, 0, ms);
};

/** /proc/PID/stat's state letter ('Z' zombie), or undefined when there is no such process. */
function procState(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/**
 * Wait until `pid` has ended: reaped by us when it is our child (the subreaper adopted it), else
 * gone or a zombie (someone else's to reap). Polls every 50 µs; false after `timeoutMs`.
 */
export function waitEnded(pid: number, timeoutMs = 10_000): boolean {
  const t0 = Date.now();
  for (;;) {
    const r = mdTryReap(pid);
    if (r.state === 'reaped') return true;
    if (r.state === 'failed') {
      const st = procState(pid);
      if (st === undefined || st === 'Z') return true;
    }
    if (Date.now() - t0 > timeoutMs) return false;
    pause(0.05);
  }
}

/** Reap every zombie child of ours (inits adopted while a cycle failed): by pid, never waitpid(-1). */
export function reapZombieChildren(): number {
  let n = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z' && Number(f[1]) === process.pid && mdTryReap(Number(p)).state === 'reaped') n++;
    } catch {
      /* gone */
    }
  }
  return n;
}
