// The bridge to native/build/libminidock.so, through ffi-rs.
//
// ffi-rs's index.js probes for musl with process.report.getReport() (about 4 ms at every start);
// on glibc Linux we load the platform binding directly and fall back to the package otherwise.
// Per call, ffi-rs costs ~2 µs: a launch makes a handful of calls, so it never matters.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MinidockError } from '../errors.js';
import type { SpawnedFd } from '../runtime/plan.js';

let req: NodeRequire | undefined;
/** require(), for the fallbacks only (made on first use). */
function nodeRequire(id: string): unknown {
  return (req ??= createRequire(import.meta.url))(id);
}

/** The package root: the nearest directory above this module holding native/Makefile (this file is
 * src/sys/native.ts under vitest, and part of a bundle in dist/ when installed). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  // (import.meta.dirname is Node >= 20.11's, and __dirname in a bundle; new URL(...).pathname rather
  // than node:url's fileURLToPath: one builtin module less to load)
  let dir = import.meta.dirname ?? dirname(decodeURIComponent(new URL(import.meta.url).pathname));
  while (!existsSync(join(dir, 'native', 'Makefile')) && dirname(dir) !== dir) dir = dirname(dir);
  return (root = dir);
}
let root: string | undefined;

type Ffi = {
  DataType: Record<string, number>;
  FFITypeTag: Record<string, number>;
  open(p: { library: string; path: string }): void;
  load(p: Record<string, unknown>): unknown;
};

let ffi: Ffi | undefined;

function binding(): Ffi {
  if (ffi) return ffi;
  const pkg = `@yuuang/ffi-rs-linux-${process.arch}-gnu`;
  let f: Ffi;
  try {
    // process.dlopen of the file where `npm install` puts it: require() would first search
    // node_modules directories and read package.json files (~1.3 ms of every launch)
    const m = { exports: {} };
    process.dlopen(m, join(packageRoot(), 'node_modules', pkg, `ffi-rs.linux-${process.arch}-gnu.node`));
    f = m.exports as Ffi;
  } catch {
    try {
      f = nodeRequire(pkg) as Ffi;
    } catch {
      f = nodeRequire('ffi-rs') as Ffi;
    }
  }
  const lib = join(packageRoot(), 'native', 'build', 'libminidock.so');
  if (!existsSync(lib)) {
    throw new MinidockError(`native library ${lib} is missing: run \`npm run build\` (it compiles native/ with cc)`);
  }
  f.open({ library: 'minidock', path: lib });
  return (ffi = f);
}

/** Call a libminidock function; every one of them returns an int (a value, or -errno). */
function call(funcName: string, params: Array<['i32' | 'i64', number] | ['u8[]', Uint8Array]>): number {
  const f = binding();
  const T = f.DataType;
  const paramsType = params.map(([t, v]) =>
    t === 'u8[]'
      ? { ffiTypeTag: f.FFITypeTag.Array, type: T.U8Array, length: (v as Uint8Array).length }
      : t === 'i64'
        ? T.I64
        : T.I32,
  );
  const paramsValue = params.map(([t, v]) =>
    t === 'u8[]' ? Buffer.from((v as Uint8Array).buffer, (v as Uint8Array).byteOffset, (v as Uint8Array).length) : v,
  );
  return f.load({
    library: 'minidock',
    funcName,
    retType: T.I32,
    paramsType,
    paramsValue,
    freeResultMemory: false,
  }) as number;
}

/** clone() the container's first process; it runs the plan. Returns the host pid, or -errno; our
 * ends of its pipes are then mdSpawnedFd(SPAWNED.X) (src/runtime/handshake.ts spawnChild names them). */
export function mdSpawn(plan: Uint8Array, cloneFlags: number): number {
  return call('md_spawn', [
    ['u8[]', plan],
    ['i32', plan.length],
    ['i64', cloneFlags],
  ]);
}

/** One of our ends of what the last mdSpawn made, named by plan.ts's SPAWNED (REPORT, SYNC,
 * CONSOLE, STDIN...): an fd, or -1 where the plan needed none. */
export function mdSpawnedFd(which: SpawnedFd): number {
  return call('md_spawned_fd', [['i32', which]]);
}

/** Bit N set: this process's fd N is a terminal (N = 0, 1, 2). One native call: node:tty's isatty
 * would load node:tty and node:net on the launch path. */
export function mdTerminals(): number {
  return call('md_terminals', []);
}

export function mdRecvFd(sock: number): number {
  return call('md_recv_fd', [['i32', sock]]);
}

/** Connect to the unix socket at `path` and send it `fd` (SCM_RIGHTS) with `name` as the payload, as
 * runc hands a pty master to an engine's --console-socket: 0 or -errno. */
export function mdSendFdTo(path: string, fd: number, name: string): number {
  return call('md_send_fd_to', [
    ['u8[]', Buffer.from(path + '\0')],
    ['i32', fd],
    ['u8[]', Buffer.from(name + '\0')],
  ]);
}

export function mdSetWinsize(fd: number, rows: number, cols: number): number {
  return call('md_set_winsize', [
    ['i32', fd],
    ['i32', rows],
    ['i32', cols],
  ]);
}

/** Clear OPOST on a terminal (tcsetattr): 0 or -errno. */
export function mdTtyOpostOff(fd: number): number {
  return call('md_tty_opost_off', [['i32', fd]]);
}

// --- filesystem helpers for images (native/xattr.c): whiteouts, opaque dirs, xattrs, device nodes ---

const cstr = (s: string): Uint8Array => Buffer.from(s + '\0');

/** mknod(path, mode, makedev(major, minor)): 0 or -errno. mode includes the type (S_IFCHR, ...). */
export function mdMknod(path: string, mode: number, major: number, minor: number): number {
  return call('md_mknod', [
    ['u8[]', cstr(path)],
    ['i32', mode],
    ['i32', major],
    ['i32', minor],
  ]);
}

/** lsetxattr (never follows a symlink): 0 or -errno. */
export function mdLsetxattr(path: string, name: string, value: Uint8Array): number {
  // ffi-rs needs a non-empty array: pass one spare byte and the real length
  const v = Buffer.alloc(value.length + 1);
  v.set(value);
  return call('md_lsetxattr', [
    ['u8[]', cstr(path)],
    ['u8[]', cstr(name)],
    ['u8[]', v],
    ['i32', value.length],
  ]);
}

/** lgetxattr: the value, undefined when absent (ENODATA) or unsupported, or -errno otherwise. */
export function mdLgetxattr(path: string, name: string, cap = 4096): Buffer | undefined | number {
  const buf = Buffer.alloc(cap);
  const n = call('md_lgetxattr', [
    ['u8[]', cstr(path)],
    ['u8[]', cstr(name)],
    ['u8[]', buf],
    ['i32', cap],
  ]);
  if (n === -61 || n === -95) return undefined; // ENODATA, EOPNOTSUPP
  return n < 0 ? n : Buffer.from(buf.subarray(0, n));
}

/** llistxattr: the names, or -errno. */
export function mdLlistxattr(path: string, cap = 65536): string[] | number {
  const buf = Buffer.alloc(cap);
  const n = call('md_llistxattr', [
    ['u8[]', cstr(path)],
    ['u8[]', buf],
    ['i32', cap],
  ]);
  if (n === -95) return [];
  return n < 0 ? n : buf.subarray(0, n).toString('latin1').split('\0').filter(Boolean);
}

/** openat2(root, rel, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), read-only and non-blocking: an fd, or
 * -errno (-ENOSYS where the kernel has no openat2). */
export function mdOpenBeneath(root: string, rel: string): number {
  return call('md_open_beneath', [
    ['u8[]', cstr(root)],
    ['u8[]', cstr(rel)],
  ]);
}

/** Mount `path` idmapped through the user namespace of `pid` onto `path` itself, inside the mount
 * namespace of `pid` (native/idmap.c): 0, or -(N + errno) where N names the call that failed
 * (0 open_tree, 1000 mount_setattr, 2000 setns, 3000 move_mount, 4000 /proc/PID/ns or clone). */
export function mdIdmapOnto(pid: number, path: string): number {
  return call('md_idmap_onto', [
    ['i32', pid],
    ['u8[]', cstr(path)],
  ]);
}

// --- lifecycle (native/spawn.c): the detached container's monitor, and the state store's lock ---

/** posix_spawn native/build/minidock-monitor with argv (argv[0] = its path), in a new session.
 * Returns its pid or -errno; mdMonitorCtlFd() is then our end of the control socket. */
export function mdStartMonitor(argv: string[]): number {
  const buf = Buffer.from(argv.map((a) => a + '\0').join(''));
  return call('md_start_monitor', [
    ['u8[]', buf],
    ['i32', buf.length],
  ]);
}

/** Our end of the control socket to the monitor the last mdStartMonitor started. */
export function mdMonitorCtlFd(): number {
  return call('md_monitor_ctl_fd', []);
}

/** rm -rf dir, without following symlinks or crossing mounts (native/rmtree.c): 0 or -errno. */
export function mdRmtree(dir: string): number {
  return call('md_rmtree', [['u8[]', cstr(dir)]]);
}

/**
 * Exit with `code`, now. process.exit() first runs Node's teardown: it stops V8's worker threads,
 * runs C++ atexit handlers (OpenSSL's among them) and restores the O_NONBLOCK flags and terminal
 * modes of fds 0-2 — about 1 ms that every minidock command pays (measured: −1.1 ms over 3 × 40
 * interleaved launches). The restoring matters only if a stdio stream changed them, and every
 * stream (tty, net, fs, process.stdin/out/err) loads Node's `stream` module: when it was never
 * loaded and libminidock is already loaded, `_exit()` (md_exit) skips the teardown. The 'exit'
 * listeners still run first (bin/minidock.js writes the code cache in one). With Node flags other
 * than the shebang's own, or NODE_V8_COVERAGE (--cpu-prof and coverage write their files at exit):
 * process.exit(), as always.
 */
export function exitProcess(code: number): never {
  const loaded = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  if (
    ffi &&
    !loaded.includes('NativeModule stream') &&
    (process.execArgv.length === 0 || (globalThis as { __mdOwnFlags?: boolean }).__mdOwnFlags) && // (bin/minidock.js's shebang)
    !process.env.NODE_V8_COVERAGE
  ) {
    (process as unknown as { _exiting: boolean })._exiting = true;
    process.exitCode = code;
    process.emit('exit', code);
    call('md_exit', [['i32', code]]);
  }
  process.exit(code);
}

/** flock(fd, op): 0 or -errno (LOCK_EX = 2, LOCK_UN = 8). */
export function mdFlock(fd: number, op: number): number {
  return call('md_flock', [
    ['i32', fd],
    ['i32', op],
  ]);
}

/** What waitpid(pid, WNOHANG) found: the child still runs, it was reaped (its raw wait status), or
 * the call failed (its errno, e.g. ECHILD for a pid that is not our child). */
export type ReapResult =
  | { state: 'running' }
  | { state: 'reaped'; status: number }
  | { state: 'failed'; errno: number };

/** waitpid(pid, WNOHANG) for exactly `pid` (never -1: libuv reaps its own children by pid). */
export function mdTryReap(pid: number): ReapResult {
  const r = call('md_try_reap', [['i32', pid]]);
  if (r === 0) return { state: 'running' };
  if (r < 0) return { state: 'failed', errno: -r };
  return { state: 'reaped', status: call('md_reaped_status', []) };
}

/** The OOM verdict (native/oom.c, shared with the monitor): 1 when the container's init, host pid
 * `pid`, was killed for memory, judged from how it ended, the cgroup's OOM counter and the kernel
 * log `kmsg` since `sinceUs` (CLOCK_MONOTONIC microseconds); 0 when it was not. */
export function mdOomKilled(
  pid: number,
  signal: number,
  oomKills: number,
  sinceUs: number,
  kmsg = '/dev/kmsg',
): number {
  return call('md_oom_killed', [
    ['i32', pid],
    ['i32', signal],
    ['i64', oomKills],
    ['i64', sinceUs],
    ['u8[]', cstr(kmsg)],
  ]);
}

/** Load a BPF_PROG_TYPE_CGROUP_DEVICE program and attach it to a cgroup v2 directory; 0 or -errno. */
export function mdBpfDeviceFilter(program: Uint8Array, cgroupDir: string): number {
  return call('md_bpf_device_filter', [
    ['u8[]', program],
    ['i32', program.length],
    ['u8[]', new TextEncoder().encode(cgroupDir + '\0')],
  ]);
}

// --- netlink (native/netlink.c): the socket only; every message is built in src/runtime/network/netlink.ts ---

/** An AF_NETLINK socket of `protocol` (0 NETLINK_ROUTE, 12 NETLINK_NETFILTER), in the network
 * namespace of `netnsFd` (-1: this one): fd or -errno. */
export function mdNlOpen(netnsFd = -1, protocol = 0): number {
  return call('md_nl_open', [
    ['i32', netnsFd],
    ['i32', protocol],
  ]);
}

/** Send one request to the kernel: bytes sent or -errno. */
export function mdNlSend(fd: number, msg: Uint8Array): number {
  return call('md_nl_send', [
    ['i32', fd],
    ['u8[]', msg],
    ['i32', msg.length],
  ]);
}

/** Receive one datagram into buf: its length or -errno. */
export function mdNlRecv(fd: number, buf: Uint8Array): number {
  return call('md_nl_recv', [
    ['i32', fd],
    ['u8[]', buf],
    ['i32', buf.length],
  ]);
}
