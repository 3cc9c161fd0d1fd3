// The launch plan: the list of steps the container's first process performs between clone() and
// execve(). TypeScript decides every step; the C child (native/child.c) only executes them.
// Because the plan is data, it can be printed (--trace, `minidock run --dry-run`), tested without
// root, and shown in lessons.
//
// The ops, the wire format and the report records must match native/plan.h: test/unit/plan.test.ts
// compares the two files.

import { CLONE, MS, MNT_DETACH, flagNames } from '../sys/constants.js';

// ---- the ops: one table ----

const q = (s: string | Uint8Array | undefined): string =>
  s === undefined ? 'NULL' : typeof s === 'string' ? (s === '' ? 'NULL' : JSON.stringify(s)) : `<${s.length} bytes>`;
const oct = (n: number | bigint): string => '0' + Number(n).toString(8);
const hex = (n: number | bigint): string => '0x' + BigInt(n).toString(16);
const STDIO_FIX = 'fcntl(0..2, clear FD_CLOEXEC|O_NONBLOCK); setsid()';

type Strs = Array<string | Uint8Array>;
type Ints = Array<number | bigint>;

/** One operation of the C child. */
export interface OpInfo {
  /** its number on the wire: MD_OP_<name> in native/plan.h */
  code: number;
  /** the system call a failure of the step is reported against (stepError in step-error.ts) */
  syscall: string;
  /** the step as the system call(s) it makes, the way strace prints them (--trace, --dry-run, lessons) */
  describe(strs: Strs, ints: Ints): string;
  /** what a failed record's err says when it is not (only) an errno (HOOK: an exit status); else undefined */
  failure?(err: number, strs: Strs, ints: Ints): string | undefined;
}

/**
 * Every op the C child knows, by name: the name and code of MD_OP_<name> in native/plan.h (what each
 * carries is commented there; test/unit/plan.test.ts checks that both files list the same ops), the
 * system call a failure names, and how a step prints. An unused int prints as 0, an unused string as NULL.
 */
export const OPS = {
  MOUNT: {
    code: 1,
    syscall: 'mount',
    describe: (st, [a = 0]) => `mount(${q(st[0])}, ${q(st[1])}, ${q(st[2])}, ${flagNames(a, MS)}, ${q(st[3])})`,
  },
  UMOUNT2: {
    code: 2,
    syscall: 'umount2',
    describe: (st, [a = 0]) => `umount2(${q(st[0])}, ${Number(a) === MNT_DETACH ? 'MNT_DETACH' : a})`,
  },
  MKDIR: { code: 3, syscall: 'mkdir', describe: (st, [a = 0]) => `mkdir(${q(st[0])}, ${oct(a)})` },
  TOUCH: { code: 4, syscall: 'open', describe: (st, [a = 0]) => `open(${q(st[0])}, O_CREAT|O_RDONLY, ${oct(a)})` },
  SYMLINK: { code: 5, syscall: 'symlink', describe: (st) => `symlink(${q(st[0])}, ${q(st[1])})` },
  SETHOSTNAME: { code: 6, syscall: 'sethostname', describe: (st) => `sethostname(${q(st[0])})` },
  CHDIR: { code: 7, syscall: 'chdir', describe: (st) => `chdir(${q(st[0])})` },
  PIVOT_ROOT: { code: 8, syscall: 'pivot_root', describe: (st) => `pivot_root(${q(st[0])}, ${q(st[1])})` },
  UNSHARE: { code: 9, syscall: 'unshare', describe: (_, [a = 0]) => `unshare(${flagNames(a, CLONE)})` },
  LOOPBACK_UP: {
    code: 10,
    syscall: 'ioctl(SIOCSIFFLAGS, lo)',
    describe: () => 'ioctl(socket(AF_INET), SIOCSIFFLAGS, "lo" IFF_UP)',
  },
  SETRLIMIT: {
    code: 11,
    syscall: 'setrlimit',
    describe: (_, [a = 0, b = 0, c = 0]) => `setrlimit(${a}, {soft=${b}, hard=${c}})`,
  },
  CAPBSET: {
    code: 12,
    syscall: 'prctl(PR_CAPBSET_DROP)',
    describe: (_, [a = 0]) => `prctl(PR_CAPBSET_DROP, …) keep=${hex(a)}`,
  },
  CAPSET: {
    code: 13,
    syscall: 'capset',
    describe: (_, [a = 0, b = 0, c = 0, d]) =>
      `capset(eff=${hex(a)}, perm=${hex(b)}, inh=${hex(c)}); prctl(PR_CAP_AMBIENT_CLEAR_ALL)${d === undefined ? '' : `; PR_CAP_AMBIENT_RAISE ${hex(d)}`}`,
  },
  NO_NEW_PRIVS: { code: 14, syscall: 'prctl(PR_SET_NO_NEW_PRIVS)', describe: () => 'prctl(PR_SET_NO_NEW_PRIVS, 1)' },
  // (a sock_filter is 8 bytes)
  SECCOMP: {
    code: 15,
    syscall: 'seccomp',
    describe: (st) =>
      `seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=${st[0] instanceof Uint8Array ? st[0].length / 8 : 0} instructions})`,
  },
  SETGROUPS: {
    code: 16,
    syscall: 'setgroups',
    describe: (_, ints) => `setgroups(${ints.length}, [${ints.join(', ')}])`,
  },
  SETGID: { code: 17, syscall: 'setresgid', describe: (_, [a = 0]) => `setresgid(${a}, ${a}, ${a})` },
  SETUID: { code: 18, syscall: 'setresuid', describe: (_, [a = 0]) => `setresuid(${a}, ${a}, ${a})` },
  KEEPCAPS: { code: 19, syscall: 'prctl(PR_SET_KEEPCAPS)', describe: (_, [a = 0]) => `prctl(PR_SET_KEEPCAPS, ${a})` },
  SYNC: {
    code: 20,
    syscall: 'read(sync pipe)',
    // ints: [keep] (1: the pipe stays open for a later SYNC step: OCI create's prestart hooks)
    describe: (_, [keep]) =>
      `read(sync_pipe) — wait until minidock has joined us to the cgroup${keep ? '; the pipe kept for the next SYNC' : ''}`,
  },
  // ints: [first fd] (default 3; OCI --preserve-fds N: 3+N, and fds 3..3+N-1 kept across execve)
  CLOSE_FDS: {
    code: 21,
    syscall: 'close_range',
    describe: (_, [a = 3]) =>
      `${Number(a) > 3 ? `fcntl(3..${Number(a) - 1}, F_SETFD, 0); ` : ''}close_range(${a}, ~0, CLOSE_RANGE_CLOEXEC)`,
  },
  // ints: [stdin_null, pipes]: bit N of pipes = fd N becomes a pipe to minidock's relay
  STDIO: {
    code: 22,
    syscall: 'stdio setup',
    describe: (_, [a = 0, b = 0]) =>
      [0, 1, 2]
        .filter((n) => Number(b) & (1 << n))
        .map((n) => `dup2(pipe, ${n}); `)
        .join('') + (Number(a) ? `dup2(open("/dev/null"), 0); ${STDIO_FIX}` : STDIO_FIX),
  },
  // ints: [argc, envc, npath]; strs: argv..., envp..., PATH dirs...
  EXEC: {
    code: 23,
    syscall: 'execve',
    describe: (st, [a = 0, b = 0]) =>
      `execve(${q(st[0])}, [${st.slice(0, Number(a)).map(q).join(', ')}], [${Number(b)} vars])`,
  },
  WRITE_FILE: { code: 24, syscall: 'write', describe: (st) => `write(${q(st[0])}, ${q(st[1])})` },
  CONSOLE: {
    code: 25,
    syscall: 'console (pty)',
    describe: (_, [a = 0, b = 0]) =>
      `open("/dev/ptmx"); ioctl(TIOCSWINSZ, ${a}x${b}); setsid(); ioctl(TIOCSCTTY); dup2(pty, 0..2); sendmsg(console_socket, SCM_RIGHTS master)`,
  },
  SETNS: { code: 26, syscall: 'setns', describe: (st, [a = 0]) => `setns(open(${q(st[0])}), ${flagNames(a, CLONE)})` },
  FORK: {
    code: 27,
    syscall: 'clone(CLONE_PARENT)',
    describe: () => 'clone(CLONE_PARENT|SIGCHLD) — the parent reports the pid and exits; the child goes on',
  },
  // OCI create: the child's last record, then it waits here until `start` opens the fifo (runc's exec.fifo);
  // ints: [fd, keep]: keep = 1, the steps after it report on the fifo (start reads them to EOF: execve)
  EXEC_FIFO: {
    code: 28,
    syscall: 'open(exec.fifo)',
    describe: (_, [a = 0, b = 0]) =>
      `prctl(PR_SET_PDEATHSIG, 0); close(report_pipe); open("/proc/self/fd/${a}", O_WRONLY) — blocks until start reads exec.fifo; write("0")${Number(b) ? '; the fifo is the report pipe from here to execve' : ''}`,
  },
  UMASK: { code: 29, syscall: 'umask', describe: (_, [a = 0]) => `umask(${oct(a)})` },
  // ints: [mode with its S_IF* type, major, minor, uid, gid]
  MKNOD: {
    code: 30,
    syscall: 'mknod',
    describe: (st, [a = 0, b = 0, c = 0, d = 0, e = 0]) =>
      `mknod(${q(st[0])}, ${oct(a)}, makedev(${b}, ${c})); chmod(${q(st[0])}, ${oct(Number(a) & 0o7777)}); chown(${q(st[0])}, ${d}, ${e})`,
  },
  // strs: [the request's bytes, what it does as an `ip` command (for --trace and --dry-run; the child
  // ignores it), optionally a namespace file]; ints: [where in the request that file's descriptor goes]
  NETLINK: {
    code: 31,
    syscall: 'netlink',
    describe: (st, [at = 0]) =>
      `${typeof st[2] === 'string' ? `open(${q(st[2])}): its fd at byte ${at}; ` : ''}write(socket(AF_NETLINK, NETLINK_ROUTE), {${st[0] instanceof Uint8Array ? st[0].length : 0} bytes: ${typeof st[1] === 'string' ? st[1] : '?'}}); read(ack)`,
  },
  // strs: [mount namespace file, path in that namespace, target here] (child.c bind_from_ns)
  BIND_FROM_NS: {
    code: 32,
    syscall: 'open_tree/move_mount',
    describe: (st) =>
      `setns(open(${q(st[0])}), CLONE_NEWNS); open_tree(${q(st[1])}, OPEN_TREE_CLONE); setns(back); move_mount(tree, ${q(st[2])})`,
  },
  // OCI createContainer/startContainer (child.c run_hook). ints: [timeout ms (0: none), argc, envc];
  // strs: [path, state JSON before the pid, state JSON after it, argv..., envp...]
  HOOK: {
    code: 33,
    syscall: 'hook',
    describe: (st, [a = 0, b = 0, c = 0]) =>
      `clone(SIGCHLD); execve(${q(st[0])}, [${st
        .slice(3, 3 + Number(b))
        .map(q)
        .join(
          ', ',
        )}], [${c} vars]) with the state on stdin; wait4(${Number(a) ? `SIGKILL after ${Number(a) / 1000} s` : 'no timeout'})`,
    failure: (err, _, [a = 0]) =>
      err & HOOK_EXITED
        ? `exit status ${err & 0xffff}`
        : err & HOOK_SIGNALED
          ? `killed by signal ${err & 0xffff}`
          : err === 110 // ETIMEDOUT
            ? `timed out after ${Number(a) / 1000} s, killed (ETIMEDOUT)`
            : undefined,
  },
} as const satisfies Record<string, OpInfo>;

/** A failed HOOK step's err (MD_HOOK_* in native/plan.h): or'ed with the hook's exit status, or with
 * the signal that killed it; above every errno. */
export const HOOK_EXITED = 0x10000;
export const HOOK_SIGNALED = 0x20000;
/** The most argv + envp strings a HOOK step may carry (child.c builds the arrays on its stack). */
export const HOOK_MAX_STRS = 1024;

export type OpName = keyof typeof OPS;
/** The op codes by name, from the table: Op.MOUNT === 1. */
export const Op = Object.fromEntries(Object.entries(OPS).map(([name, o]) => [name, o.code])) as {
  readonly [N in OpName]: (typeof OPS)[N]['code'];
};
export type Op = (typeof Op)[OpName];

const byCode: OpInfo[] = [];
for (const o of Object.values(OPS)) byCode[o.code] = o;

/** The table's row for an op code. */
export function opInfo(op: Op): OpInfo {
  return byCode[op]!;
}

/** One step as the syscall(s) it makes, e.g. `mount("proc", "/m/proc", "proc", MS_NOSUID|MS_NODEV, NULL)`. */
export function describeStep(s: Step): string {
  return opInfo(s.op).describe(s.strs ?? [], s.ints ?? []);
}

/** Errors a step may ignore (MD_F_* in native/plan.h: F for flag). */
export const STEP_FLAGS = { IGNORE_ENOENT: 1, IGNORE_EEXIST: 2, IGNORE_ALL: 4 } as const;

export interface Step {
  op: Op;
  flags?: number;
  ints?: Ints;
  strs?: Strs;
  /** Why this step exists, in one line: shown by --trace and the lessons. */
  why: string;
  /** The launch phase this step belongs to (for the phase table of --trace and bench phases). */
  phase: Phase;
}

export type Phase =
  | 'mounts'
  | 'rootfs'
  | 'pivot_root'
  | 'cgroup'
  | 'identity'
  | 'capabilities'
  | 'seccomp'
  | 'exec'
  | 'namespaces';

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

/**
 * Records on the report pipe (struct md_report in native/plan.h): REPORT_BYTES each; `step` is the
 * step's index, or one of these markers of a record that is not a step's.
 */
export const REPORT_BYTES = 24;
/** FORK's parent half (exec): err = the pid of the process it made. */
export const REPORT_PID = 0xffffffff;
/** Added by the monitor (run -d) when it could not record state.json "running": it killed the
 * container; err = the write's errno. */
export const REPORT_STATE = 0xfffffffe;

// ---- the launch protocol (handshake.ts draws it whole) ----

/** The one-byte messages (MD_MSG_* in native/plan.h): RELEASE lets the child past its SYNC step (on
 * the sync pipe; from run -d to the monitor too), ACK tells the monitor that run -d took the
 * container (it will print the ID). RELEASE_PID is RELEASE followed by the child's pid (u32 LE): the
 * pid OCI in-container hooks get in their state. Anything else, EOF included, means: give up. */
export const MSG = { RELEASE: 'G', ACK: 'A', RELEASE_PID: 'P' } as const;

/** Our ends of what md_spawn made for one child, as md_spawned_fd numbers them (MD_SPAWNED_* in
 * native/plan.h); the fd is -1 where the plan needed none. */
export const SPAWNED = { REPORT: 0, SYNC: 1, CONSOLE: 2, STDIN: 3, STDOUT: 4, STDERR: 5 } as const;
export type SpawnedFd = (typeof SPAWNED)[keyof typeof SPAWNED];

/** The monitor's (run -d) fd of its control socket to the CLI (md_start_monitor puts it there). */
export const MONITOR_CTL_FD = 3;
