// The bridge to native/build/libminidock.so, through ffi-rs.
//
// ffi-rs's index.js probes for musl with process.report.getReport() (about 4 ms at every start);
// on glibc Linux we load the platform binding directly and fall back to the package otherwise.
// Per call, ffi-rs costs ~2 µs: a launch makes a handful of calls, so it never matters.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MinidockError } from '../errors.js';

const require = createRequire(import.meta.url);

/** The package root: the nearest directory above this module holding native/Makefile (this file is
 * src/sys/native.ts under vitest, and part of a bundle in dist/ when installed). */
export function packageRoot(): string {
  // (new URL(...).pathname rather than node:url's fileURLToPath: one builtin module less to load)
  let dir = dirname(decodeURIComponent(new URL(import.meta.url).pathname));
  while (!existsSync(join(dir, 'native', 'Makefile')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const LIB_PATH = join(packageRoot(), 'native', 'build', 'libminidock.so');

type Ffi = {
  DataType: Record<string, number>;
  FFITypeTag: Record<string, number>;
  open(p: { library: string; path: string }): void;
  load(p: Record<string, unknown>): unknown;
};

let ffi: Ffi | undefined;

function binding(): Ffi {
  if (ffi) return ffi;
  const arch = process.arch === 'arm64' ? 'arm64' : process.arch;
  try {
    ffi = require(`@yuuang/ffi-rs-linux-${arch}-gnu`) as Ffi;
  } catch {
    ffi = require('ffi-rs') as Ffi;
  }
  if (!existsSync(LIB_PATH)) {
    throw new MinidockError(`native library ${LIB_PATH} is missing: run \`npm run build\` (it compiles native/ with cc)`);
  }
  ffi.open({ library: 'minidock', path: LIB_PATH });
  return ffi;
}

function call(funcName: string, retType: 'i32', params: Array<['i32' | 'i64', number] | ['u8[]', Uint8Array]>): number {
  const f = binding();
  const T = f.DataType;
  const paramsType = params.map(([t, v]) =>
    t === 'u8[]' ? { ffiTypeTag: f.FFITypeTag.Array, type: T.U8Array, length: (v as Uint8Array).length } : t === 'i64' ? T.I64 : T.I32,
  );
  const paramsValue = params.map(([t, v]) => (t === 'u8[]' ? Buffer.from((v as Uint8Array).buffer, (v as Uint8Array).byteOffset, (v as Uint8Array).length) : v));
  return f.load({ library: 'minidock', funcName, retType: T.I32, paramsType, paramsValue, freeResultMemory: false }) as number;
}

/** clone() the container's first process; it runs the plan. Returns the host pid, or -errno. */
export function mdSpawn(plan: Uint8Array, cloneFlags: number): number {
  return call('md_spawn', 'i32', [['u8[]', plan], ['i32', plan.length], ['i64', cloneFlags]]);
}

/** 0: report pipe (read), 1: sync pipe (write), 2: pidfd, 3: console socket */
export function mdLastFd(which: 0 | 1 | 2 | 3): number {
  return call('md_last_fd', 'i32', [['i32', which]]);
}

/** Start a waiter thread for pid; returns a pipe fd that yields 32 bytes (struct md_exit). */
export function mdReaper(pid: number): number {
  return call('md_reaper', 'i32', [['i32', pid]]);
}

export function mdRecvFd(sock: number): number {
  return call('md_recv_fd', 'i32', [['i32', sock]]);
}

export function mdSetWinsize(fd: number, rows: number, cols: number): number {
  return call('md_set_winsize', 'i32', [['i32', fd], ['i32', rows], ['i32', cols]]);
}
