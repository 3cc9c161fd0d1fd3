/*
 * plan.h — the byte-coded launch plan that TypeScript builds and C executes.
 *
 * TypeScript decides everything (which mounts, in which order, which capabilities, the seccomp
 * program); this file only names the operations the C child knows how to perform. Every op and
 * every #define here has its twin in src/runtime/plan.ts (the OPS table, PLAN_MAGIC, STEP_FLAGS,
 * REPORT_*, MSG, SPAWNED, MONITOR_CTL_FD), as has the size of struct md_report (REPORT_BYTES):
 * test/unit/plan.test.ts compares the files.
 *
 * Wire format (little-endian), produced by encodePlan() in src/runtime/plan.ts:
 *   header: u32 magic 'MDP1', u32 step count
 *   step:   u16 op, u16 flags, u32 nints, u32 nstrs, u32 reserved,
 *           u64 ints[nints],
 *           nstrs x { u32 len, bytes[len], NUL }   (then padding to 8 bytes)
 */
/* The op table's aligned comments are its documentation: clang-format (scripts/lint.sh) leaves this
 * file as written. */
/* clang-format off */
#ifndef MINIDOCK_PLAN_H
#define MINIDOCK_PLAN_H

#include <stdint.h>

#define MD_PLAN_MAGIC 0x3150444d /* "MDP1" */

enum md_op {
  MD_OP_MOUNT = 1,        /* strs: source, target, fstype, data ("" = NULL); ints: flags */
  MD_OP_UMOUNT2 = 2,      /* strs: target; ints: flags */
  MD_OP_MKDIR = 3,        /* strs: path; ints: mode */
  MD_OP_TOUCH = 4,        /* strs: path; ints: mode — create an empty file (a bind-mount target) */
  MD_OP_SYMLINK = 5,      /* strs: target, linkpath */
  MD_OP_SETHOSTNAME = 6,  /* strs: name */
  MD_OP_CHDIR = 7,        /* strs: path */
  MD_OP_PIVOT_ROOT = 8,   /* strs: new_root, put_old */
  MD_OP_UNSHARE = 9,      /* ints: flags */
  MD_OP_LOOPBACK_UP = 10, /* bring "lo" up in the new network namespace */
  MD_OP_SETRLIMIT = 11,   /* ints: resource, soft, hard */
  MD_OP_CAPBSET = 12,     /* ints: keep mask — drop every other capability from the bounding set */
  MD_OP_CAPSET = 13,      /* ints: effective, permitted, inheritable masks[, ambient mask]; clears ambient, raises the 4th */
  MD_OP_NO_NEW_PRIVS = 14,
  MD_OP_SECCOMP = 15,     /* strs: struct sock_filter[] bytes */
  MD_OP_SETGROUPS = 16,   /* ints: gids */
  MD_OP_SETGID = 17,      /* ints: gid (setresgid, raw syscall) */
  MD_OP_SETUID = 18,      /* ints: uid (setresuid, raw syscall) */
  MD_OP_KEEPCAPS = 19,    /* ints: 0/1 */
  MD_OP_SYNC = 20,        /* wait until the parent says go (it joined us to the cgroup) */
  MD_OP_CLOSE_FDS = 21,   /* mark every fd >= ints[0] (default 3) close-on-exec, clear it below (from 3) */
  MD_OP_STDIO = 22,       /* ints: stdin_null[, pipes: bit N = fd N becomes a pipe to minidock] — fix fds 0-2 */
  MD_OP_EXEC = 23,        /* ints: argc, envc, npath; strs: argv..., envp..., PATH dirs... */
  MD_OP_WRITE_FILE = 24,  /* strs: path, content */
  MD_OP_CONSOLE = 25,     /* ints: rows, cols — open a pty, make it our terminal, send the master */
  MD_OP_SETNS = 26,       /* strs: /proc/PID/ns/X; ints: nstype — join a namespace of a running container */
  MD_OP_FORK = 27,        /* clone(CLONE_PARENT): the parent reports the new pid and exits; the child goes on */
  MD_OP_EXEC_FIFO = 28,   /* ints: fd (an O_PATH fd of <root>/<id>/exec.fifo)[, keep] — OCI create: report, close
                             the report pipe, open the fifo O_WRONLY (blocks until `start` reads), write a byte;
                             keep = 1: the fifo becomes the report pipe of the steps after it (start reads them) */
  MD_OP_UMASK = 29,       /* ints: mask — the process's umask (OCI process.user.umask) */
  MD_OP_MKNOD = 30,       /* strs: path; ints: mode (S_IF* | permissions), major, minor, uid, gid — mknod, then
                             chmod (the umask does not apply) and chown (OCI linux.devices) */
  MD_OP_NETLINK = 31,     /* strs: one NETLINK_ROUTE request (nlmsghdr + body, NLM_F_ACK), its `ip` command, and
                             optionally a namespace file; ints: where (a byte offset) the request wants that file's
                             descriptor (IFLA_NET_NS_FD) — sent from inside our network namespace, the file opened
                             and its descriptor written into a copy of the request first; the kernel's
                             -nlmsgerr.error is the step's errno */
  MD_OP_BIND_FROM_NS = 32, /* strs: mount namespace file, path in it, target — bind a mount of another mount
                             namespace: setns into it, open_tree(OPEN_TREE_CLONE), setns back, move_mount */
  MD_OP_HOOK = 33,        /* ints: timeout ms (0: none), argc, envc; strs: path, state JSON before the pid, after
                             it, argv..., envp... — OCI createContainer/startContainer: fork, the state (with the
                             pid MD_MSG_RELEASE_PID gave) on the hook's stdin, execve, wait (SIGKILL at the timeout) */
  MD_OP_MAX
};

/* step flags: which errors a step may ignore */
#define MD_F_IGNORE_ENOENT 1u
#define MD_F_IGNORE_EEXIST 2u
#define MD_F_IGNORE_ALL 4u

/* one record per executed step, written by the child to the report pipe */
struct md_report {
  uint32_t step;   /* index in the plan */
  int32_t err;     /* 0, or the errno the step's syscall failed with */
  uint64_t t0_ns;  /* CLOCK_MONOTONIC at start */
  uint64_t t1_ns;  /* CLOCK_MONOTONIC at end */
};

/* A failed HOOK step's err when it is not an errno: the hook's exit status or the signal that killed it,
 * or'ed with one of these (above any errno); ETIMEDOUT: killed at its timeout. */
#define MD_HOOK_EXITED 0x10000
#define MD_HOOK_SIGNALED 0x20000
/* the most argv + envp strings a HOOK step may carry (the child builds the arrays on its stack) */
#define MD_HOOK_MAX_STRS 1024

/* records that are not a step's, told apart by their `step` */
#define MD_REPORT_PID 0xffffffffu   /* MD_OP_FORK's parent half (exec): err = the new process's pid */
#define MD_REPORT_STATE 0xfffffffeu /* added by the monitor (run -d) when it could not write state.json
                                       "running": it killed the container; err = the write's errno */

/* ---- the launch protocol (src/runtime/handshake.ts draws it whole) ---- */

/* The one-byte messages. MD_MSG_RELEASE goes down the sync pipe (minidock -> child: "you are in your
 * cgroup, go past SYNC") and, from `minidock run -d`, over the control socket to the monitor, which
 * passes it on. MD_MSG_ACK goes from `run -d` to the monitor once it has the step records: "I will
 * print the ID, the container is the user's". Anything else, EOF included, means: give up. */
#define MD_MSG_RELEASE 'G'
#define MD_MSG_ACK 'A'
/* MD_MSG_RELEASE plus the child's pid as a u32, little-endian (5 bytes, one write: a pipe write under
 * PIPE_BUF is atomic) — OCI in-container hooks: their state holds the pid as the runtime sees it,
 * which a child in a new PID namespace cannot learn by itself (getpid() says 1 there). */
#define MD_MSG_RELEASE_PID 'P'

/* The parent's ends of what md_spawn made for one child, as md_spawned_fd(which) numbers them
 * (-1 when the plan did not need it). */
#define MD_SPAWNED_REPORT 0  /* report pipe, read end: md_report records; EOF = exec'd or dead */
#define MD_SPAWNED_SYNC 1    /* sync pipe, write end: MD_MSG_RELEASE, or close */
#define MD_SPAWNED_CONSOLE 2 /* console socket (MD_OP_CONSOLE): the pty master arrives on it */
#define MD_SPAWNED_STDIN 3   /* the pipes that replaced the child's fds 0-2 (MD_OP_STDIO): */
#define MD_SPAWNED_STDOUT 4  /*   our write end for its stdin, our read ends for its stdout */
#define MD_SPAWNED_STDERR 5  /*   and stderr */

/* The monitor's (run -d) control socket to the CLI: md_start_monitor dup2()s it to this fd. */
#define MD_MONITOR_CTL_FD 3

/* clang-format on */
#endif
