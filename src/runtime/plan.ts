// The launch plan: the list of steps the container's first process performs between clone() and
// execve(). TypeScript decides every step; the C child (native/child.c) only executes them.
// Because the plan is data, it can be printed (--trace, `minidock run --dry-run`), tested without
// root, and shown in lessons.
//
// The op numbers and the wire format must match native/plan.h (test/unit/plan.test.ts checks it).

import { CLONE, MS, MNT_DETACH, flagNames } from '../sys/constants.js';

export enum Op {
  MOUNT = 1,
  UMOUNT2 = 2,
  MKDIR = 3,
  TOUCH = 4,
  SYMLINK = 5,
  SETHOSTNAME = 6,
  CHDIR = 7,
  PIVOT_ROOT = 8,
  UNSHARE = 9,
  LOOPBACK_UP = 10,
  SETRLIMIT = 11,
  CAPBSET = 12,
  CAPSET = 13,
  NO_NEW_PRIVS = 14,
  SECCOMP = 15,
  SETGROUPS = 16,
  SETGID = 17,
  SETUID = 18,
  KEEPCAPS = 19,
  SYNC = 20,
  CLOSE_FDS = 21,
  STDIO = 22,
  EXEC = 23,
  WRITE_FILE = 24,
  CONSOLE = 25,
  SETNS = 26,
  FORK = 27,
}

/** Errors a step may ignore (see MD_F_* in native/plan.h). */
export const F = { IGNORE_ENOENT: 1, IGNORE_EEXIST: 2, IGNORE_ALL: 4 } as const;

export interface Step {
  op: Op;
  flags?: number;
  ints?: Array<number | bigint>;
  strs?: Array<string | Uint8Array>;
  /** Why this step exists, in one line: shown by --trace and the lessons. */
  why: string;
  /** The launch phase this step belongs to (for the phase table of --trace and bench phases). */
  phase: Phase;
}

export type Phase = 'mounts' | 'rootfs' | 'pivot_root' | 'cgroup' | 'identity' | 'capabilities' | 'seccomp' | 'exec' | 'namespaces';

export const PLAN_MAGIC = 0x3150444d; // "MDP1"

/** Encode steps into the wire format of native/plan.h. */
export function encodePlan(steps: Step[]): Uint8Array {
  const enc = new TextEncoder();
  const strBytes = steps.map((s) => (s.strs ?? []).map((x) => (typeof x === 'string' ? enc.encode(x) : x)));
  let size = 8;
  steps.forEach((s, i) => {
    size += 16 + 8 * (s.ints?.length ?? 0);
    for (const b of strBytes[i]) size += 4 + b.length + 1;
    size = (size + 7) & ~7;
  });
  const buf = new Uint8Array(size);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, PLAN_MAGIC, true);
  dv.setUint32(4, steps.length, true);
  let off = 8;
  steps.forEach((s, i) => {
    const ints = s.ints ?? [];
    dv.setUint16(off, s.op, true);
    dv.setUint16(off + 2, s.flags ?? 0, true);
    dv.setUint32(off + 4, ints.length, true);
    dv.setUint32(off + 8, strBytes[i].length, true);
    off += 16;
    for (const v of ints) {
      dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
      off += 8;
    }
    for (const b of strBytes[i]) {
      dv.setUint32(off, b.length, true);
      buf.set(b, off + 4);
      off += 4 + b.length + 1; // the NUL is already 0
    }
    off = (off + 7) & ~7;
  });
  return buf;
}

// ---- printing steps the way strace prints syscalls ----

const q = (s: string | Uint8Array | undefined): string =>
  s === undefined ? 'NULL' : typeof s === 'string' ? (s === '' ? 'NULL' : JSON.stringify(s)) : `<${s.length} bytes>`;
const oct = (n: number | bigint | undefined): string => '0' + Number(n ?? 0).toString(8);
const hex = (n: number | bigint | undefined): string => '0x' + BigInt(n ?? 0).toString(16);

/** One step as the syscall(s) it makes, e.g. `mount("proc", "/m/proc", "proc", MS_NOSUID|MS_NODEV, NULL)`. */
export function describeStep(s: Step): string {
  const [a = 0, b = 0, c = 0] = s.ints ?? [];
  const st = s.strs ?? [];
  switch (s.op) {
    case Op.MOUNT:
      return `mount(${q(st[0])}, ${q(st[1])}, ${q(st[2])}, ${flagNames(a, MS)}, ${q(st[3])})`;
    case Op.UMOUNT2:
      return `umount2(${q(st[0])}, ${Number(a) === MNT_DETACH ? 'MNT_DETACH' : a})`;
    case Op.MKDIR:
      return `mkdir(${q(st[0])}, ${oct(a)})`;
    case Op.TOUCH:
      return `open(${q(st[0])}, O_CREAT|O_WRONLY, ${oct(a)})`;
    case Op.SYMLINK:
      return `symlink(${q(st[0])}, ${q(st[1])})`;
    case Op.SETHOSTNAME:
      return `sethostname(${q(st[0])})`;
    case Op.CHDIR:
      return `chdir(${q(st[0])})`;
    case Op.PIVOT_ROOT:
      return `pivot_root(${q(st[0])}, ${q(st[1])})`;
    case Op.UNSHARE:
      return `unshare(${flagNames(a, CLONE)})`;
    case Op.LOOPBACK_UP:
      return `ioctl(socket(AF_INET), SIOCSIFFLAGS, "lo" IFF_UP)`;
    case Op.SETRLIMIT:
      return `setrlimit(${a}, {soft=${b}, hard=${c}})`;
    case Op.CAPBSET:
      return `prctl(PR_CAPBSET_DROP, …) keep=${hex(a)}`;
    case Op.CAPSET:
      return `capset(eff=${hex(a)}, perm=${hex(b)}, inh=${hex(c)}); prctl(PR_CAP_AMBIENT_CLEAR_ALL)`;
    case Op.NO_NEW_PRIVS:
      return `prctl(PR_SET_NO_NEW_PRIVS, 1)`;
    case Op.SECCOMP: {
      const n = st[0] instanceof Uint8Array ? st[0].length / 8 : 0;
      return `seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=${n} instructions})`;
    }
    case Op.SETGROUPS:
      return `setgroups(${(s.ints ?? []).length}, [${(s.ints ?? []).join(', ')}])`;
    case Op.SETGID:
      return `setresgid(${a}, ${a}, ${a})`;
    case Op.SETUID:
      return `setresuid(${a}, ${a}, ${a})`;
    case Op.KEEPCAPS:
      return `prctl(PR_SET_KEEPCAPS, ${a})`;
    case Op.SYNC:
      return `read(sync_pipe) — wait until minidock has joined us to the cgroup`;
    case Op.CLOSE_FDS:
      return `close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`;
    case Op.STDIO: {
      const pipes = [0, 1, 2].filter((n) => Number(b) & (1 << n)).map((n) => `dup2(pipe, ${n}); `).join(''); // b: the relay's pipes
      return pipes + (Number(a) ? `dup2(open("/dev/null"), 0); fcntl(0..2, clear FD_CLOEXEC|O_NONBLOCK); setsid()` : `fcntl(0..2, clear FD_CLOEXEC|O_NONBLOCK); setsid()`);
    }
    case Op.EXEC: {
      const argc = Number(a);
      const argv = st.slice(0, argc).map(q).join(', ');
      return `execve(${q(st[0])}, [${argv}], [${Number(b)} vars])`;
    }
    case Op.WRITE_FILE:
      return `write(${q(st[0])}, ${q(st[1])})`;
    case Op.SETNS:
      return `setns(open(${q(st[0])}), ${flagNames(a, CLONE)})`;
    case Op.FORK:
      return `clone(CLONE_PARENT|SIGCHLD) — the parent reports the pid and exits; the child goes on`;
    case Op.CONSOLE:
      return `open("/dev/ptmx"); ioctl(TIOCSWINSZ, ${a}x${b}); setsid(); ioctl(TIOCSCTTY); dup2(pty, 0..2); sendmsg(console_socket, SCM_RIGHTS master)`;
  }
}
