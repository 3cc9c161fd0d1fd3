/*
 * child.c — the plan interpreter that runs inside the freshly cloned container process.
 *
 * Why this is C and not TypeScript: Node is multi-threaded (libuv's pool, V8's helpers). Namespace
 * syscalls such as unshare(CLONE_NEWNS) or setns() affect only the calling thread, or are refused
 * outright in a multi-threaded process. So the container's first process is created by clone() in
 * C (spawn.c) and everything between clone() and execve() happens here.
 *
 * The rules for this file: the child is ONE thread of a multi-threaded process, running on a copy
 * of its memory, or (cgroup v1's vfork launch, CLONE_VM|CLONE_VFORK) on the very same memory while
 * Node's other threads go on. Another thread may hold a lock (malloc's, stdio's) at the moment of
 * clone: in a copy, that lock is held forever; in shared memory, the child would change the heap
 * under threads that are using it. So only async-signal-safe functions are used: raw system calls,
 * no malloc, no printf, no locks. test/unit/native-symbols.test.ts checks this file's undefined
 * symbols against an allowlist.
 *
 * Errors are not printed: each step writes a small binary record {step, errno, t0, t1} to the
 * report pipe, and TypeScript turns the failing record into a sentence.
 */
#define _GNU_SOURCE
#include "child.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#define SYS_move_mount 429
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static uint64_t now_ns(void) {
  struct timespec ts; /* clock_gettime is async-signal-safe (and a vDSO call: no syscall at all) */
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report(const struct md_plan *p, uint32_t step, int err, uint64_t t0, uint64_t t1) {
  struct md_report r = {step, err, t0, t1};
  ssize_t n;
  do n = write(p->report_fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
}

static const char *str_or_null(const struct md_step *s, uint32_t i) {
  return (i < s->nstrs && s->lens[i] > 0) ? s->strs[i] : NULL;
}

/* Bring up "lo": a fresh network namespace has only a loopback device, and it starts DOWN. */
static int loopback_up(void) {
  struct ifreq ifr;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_name[0] = 'l';
  ifr.ifr_name[1] = 'o';
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  return close(s);
}

/* Keep only the capabilities in `keep` in the bounding set: the bounding set limits what any
 * later execve() can ever gain, even by running a setuid-root or file-capability binary. */
static int capbset(uint64_t keep) {
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) return 0; /* past the kernel's last capability */
      return -1;
    }
  }
  return 0;
}

static int capset_masks(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {
      {(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
      {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
  };
  if (syscall(SYS_capset, &hdr, data) < 0) return -1;
  /* Ambient capabilities would survive execve of an unprivileged program: clear them. */
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return -1;
  return 0;
}

static int set_groups(const struct md_step *s) {
  gid_t gids[64];
  uint32_t n = s->nints < 64 ? s->nints : 64;
  for (uint32_t i = 0; i < n; i++) gids[i] = (gid_t)s->ints[i];
  /* Raw syscalls on purpose: glibc's setgroups/setresuid broadcast the change to every thread of
   * the process (setxid), and the threads it remembers are Node's, not this process's. */
  return (int)syscall(SYS_setgroups, n, gids);
}

static int write_file(const char *path, const char *content, uint32_t len) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, content, len);
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)len ? 0 : -1;
}

/* The console: open a pty pair from the container's own devpts, make the slave our controlling
 * terminal and stdio, and send the master to minidock over a unix socket (SCM_RIGHTS). minidock
 * then relays between the master and the user's terminal. This is runc's "console socket". */
static int console(int sock, uint64_t rows, uint64_t cols) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return -1;
  /* the size first: the program may ask for it in its very first instructions */
  struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
  if (ioctl(master, TIOCSWINSZ, &ws) < 0) return -1;
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) return -1;
  if (setsid() < 0) return -1;
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR); /* open the peer without a path lookup */
  if (slave < 0) return -1;
  if (ioctl(slave, TIOCSCTTY, 0) < 0) return -1;
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) return -1;
  if (slave > 2) close(slave);

  char byte = 'T';
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) return -1;
  close(master);
  return 0;
}

/* Node marks fds 0-2 close-on-exec at start-up and makes stdio pipes non-blocking; a program that
 * inherits them as they are loses its output (EBADF) or sees EAGAIN. Undo both.
 * First, the fds that are the user's terminal become pipes to minidock's relay (spawn.c made them):
 * a process holding the terminal itself could push input into it (TIOCSTI) or change its settings. */
static int fix_stdio(const struct md_plan *p, int stdin_null) {
  for (int fd = 0; fd < 3; fd++)
    if (p->stdio_pipe[fd] >= 0 && dup2(p->stdio_pipe[fd], fd) < 0) return -1; /* the original: O_CLOEXEC */
  if (stdin_null) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || dup2(fd, 0) < 0) return -1;
    close(fd);
  }
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_SETFD, 0) < 0) continue; /* fd not open: the program gets it closed */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }
  /* A new session: the user's terminal no longer delivers ^C straight to the container;
   * minidock forwards signals itself (and with -t, console() already made a session). */
  if (getsid(0) != getpid()) setsid();
  return 0;
}

/* execvp() is not async-signal-safe, so the PATH search is done here by hand: try each directory,
 * remember EACCES (126: found but not executable) over ENOENT (127: not found). */
static int do_exec(const struct md_step *s) {
  /* spawn.c laid strs out as: argv[0..argc), NULL, envp[0..envc), NULL, PATH dirs[0..npath) */
  uint32_t argc = (uint32_t)s->ints[0], envc = (uint32_t)s->ints[1], npath = (uint32_t)s->ints[2];
  uint32_t dirs = argc + 1 + envc + 1;
  char *const *argv = (char *const *)&s->strs[0];
  char *const *envp = (char *const *)&s->strs[argc + 1];
  const char *file = s->strs[0];
  if (strchr(file, '/')) {
    execve(file, argv, envp);
    return -1;
  }
  int saw_eacces = 0;
  char buf[4096];
  for (uint32_t i = 0; i < npath; i++) {
    const char *dir = s->strs[dirs + i];
    size_t dl = s->lens[dirs + i], fl = s->lens[0];
    if (dl + fl + 2 > sizeof buf) continue;
    memcpy(buf, dir, dl);
    buf[dl] = '/';
    memcpy(buf + dl + 1, file, fl + 1);
    execve(buf, argv, envp);
    if (errno == EACCES) saw_eacces = 1;
  }
  errno = saw_eacces ? EACCES : ENOENT;
  return -1;
}

/* exec: join one namespace of a running container. The fd is opened from the host's /proc; the
 * plan joins the mount namespace last, because after it "/proc" means the container's. */
static int join_ns(const char *path, int nstype) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = setns(fd, nstype);
  int e = errno;
  close(fd);
  errno = e;
  return r;
}

/* Bind a mount of ANOTHER mount namespace (--ipc container:NAME: that container's /dev/shm) onto
 * `target` in ours. mount(MS_BIND) refuses a source outside the caller's mount namespace (EINVAL,
 * even reached through /proc/PID/root), so: step into that namespace, take a detached copy of the
 * mount there (open_tree OPEN_TREE_CLONE: a mount in no namespace yet, held by an fd), step back into
 * our own, and attach the copy (move_mount; Linux 5.2). `path` is resolved in the other namespace,
 * from its root: a symlink there cannot lead to the host's files, which that namespace does not hold.
 * setns(CLONE_NEWNS) also moves our root and cwd to the namespace's root: back in ours, they are its
 * root again, where they were (the plan has not pivoted yet; it chdirs before pivot_root). */
static int bind_from_ns(const char *ns_path, const char *path, const char *target) {
  int own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  int other = own < 0 ? -1 : open(ns_path, O_RDONLY | O_CLOEXEC);
  int tree = -1, back = -1, r = -1;
  if (other >= 0 && setns(other, CLONE_NEWNS) == 0) {
    tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | O_CLOEXEC);
    int e = errno;
    back = setns(own, CLONE_NEWNS);
    if (back == 0) errno = e;
  }
  /* not back in our own namespace: the step fails (and the child exits before anything else) */
  if (tree >= 0 && back == 0) r = (int)syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
  int e = errno;
  if (tree >= 0) close(tree);
  if (other >= 0) close(other);
  if (own >= 0) close(own);
  errno = e;
  return r;
}

/* exec: setns(CLONE_NEWPID) moves only our future *children* into the container's PID namespace;
 * this process stays where it was (a process never changes its own PID namespace). So fork once
 * more. CLONE_PARENT makes the new process a child of minidock (which waits for it), not of us.
 * A raw clone with no new stack behaves like fork(), which glibc does not promise to be
 * async-signal-safe in a copy of a multi-threaded process; the raw syscall is. */
static int fork_into_namespace(const struct md_plan *p) {
  uint64_t t0 = now_ns();
  long pid = syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
  if (pid < 0) return -1;
  if (pid == 0) {
    /* a fork clears the parent-death signal; minidock exec going away takes the process with it */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    return 0;
  }
  report(p, MD_REPORT_PID, (int)pid, t0, now_ns());
  _exit(0);
}

/*
 * The parent-death signal does not survive a change of identity: the kernel clears it whenever the
 * credentials change (commit_creds() in kernel/cred.c: a different euid, egid, fsuid or fsgid), so
 * the setresgid/setresuid steps silently undo the prctl() of md_child_main, and with -u 1000 a
 * killed minidock would leave the container running. So it is set again after each of them (runc
 * does the same after its setuid).
 *
 * minidock may have died in the window where no death signal was armed, and setting one now does
 * not fire for a parent that is already gone. runc checks for that with getppid(), but here it
 * proves nothing: we are PID 1 of a new PID namespace (or, for exec, a process inside one) and our
 * parent is outside it, so getppid() returns 0 before and after the parent dies. The report pipe
 * tells instead: minidock (or the monitor) holds its only read end — md_child_main closed our copy
 * — and poll() reports POLLERR on a pipe's write end once no reader is left. Then nobody will ever
 * read our reports or wait for us: leave before exec.
 */
static void rearm_pdeathsig(const struct md_plan *p) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  struct pollfd pfd = {p->report_fd, POLLOUT, 0};
  if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR)) _exit(125);
}

/*
 * OCI create/start, runc's exec.fifo: `create` leaves us here and exits; `start` releases us.
 * Before we block, create must be able to leave without taking us along:
 *  - PR_SET_PDEATHSIG is cleared: create, our parent, exits on purpose (runc's init is not killed when
 *    `runc create` exits either); the engine, a subreaper (conmon, containerd-shim), adopts and reaps us.
 *  - the "held" record is the last one create reads: we close our write end of the report pipe, so
 *    create's read sees EOF now instead of at exec. Steps after this one cannot report (nobody will
 *    read): report() then writes to fd -1 and gets EBADF — never EPIPE, so no SIGPIPE can kill us.
 *  - the sync pipe was already released (cgroup v2) or never used (v1): create joined us before it left.
 */
static void hold_for_start(struct md_plan *p, uint32_t step, uint64_t t0) {
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  report(p, step, 0, t0, now_ns());
  close(p->report_fd);
  p->report_fd = -1;
}

/* The fifo was opened O_PATH by create before the clone (our copy of its fd table has it): after
 * pivot_root the host path is out of reach, /proc/self/fd/N is not. open(O_WRONLY) on a fifo blocks
 * until a reader opens it — `start` opening exec.fifo to read is what lets us go on; the byte tells
 * start that it was us. This is runc's mechanism (libcontainer/standard_init_linux.go). Returns the
 * fifo's fd, open for writing (close-on-exec: execve closes it, which start sees as EOF). */
static int exec_fifo(int pathfd) {
  char path[32] = "/proc/self/fd/";
  char digits[12];
  int n = 0, len = 14;
  do digits[n++] = (char)('0' + pathfd % 10), pathfd /= 10; /* no snprintf: not async-signal-safe */
  while (pathfd > 0 && n < 11);
  while (n > 0) path[len++] = digits[--n];
  path[len] = 0;
  int fd;
  do fd = open(path, O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -1;
  ssize_t w;
  do w = write(fd, "0", 1);
  while (w < 0 && errno == EINTR);
  if (w == 1) return fd;
  int e = errno;
  close(fd);
  errno = e;
  return -1;
}

/* close_range's fallback: mark every fd >= `from` close-on-exec with fcntl (EBADF for those not
 * open), up to the soft RLIMIT_NOFILE, above which no fd can be open (capped at 1<<20). */
static int cloexec_from(int from) {
  struct rlimit rl;
  long max = syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur < (1u << 20) ? (long)rl.rlim_cur
                                                                                                  : 1L << 20;
  for (long fd = from; fd < max; fd++) fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  return 0;
}

/* OCI linux.devices: a device node in the container's /dev. mknod() masks the mode with the umask,
 * so chmod() gives it exactly the mode asked for; then its owner. dev_t is encoded by hand, as
 * glibc's makedev() does (12 bits of major and 8 of minor low, the rest above): no library call. */
static int make_node(const char *path, uint64_t mode, uint64_t major, uint64_t minor, uint64_t uid, uint64_t gid) {
  uint64_t dev =
      ((major & 0xfffff000ull) << 32) | ((major & 0xfffull) << 8) | ((minor & 0xffffff00ull) << 12) | (minor & 0xffull);
  if (syscall(SYS_mknodat, AT_FDCWD, path, (mode_t)mode, (dev_t)dev) < 0) return -1;
  if (syscall(SYS_fchmodat, AT_FDCWD, path, (mode_t)(mode & 07777)) < 0) return -1;
  return (int)syscall(SYS_fchownat, AT_FDCWD, path, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW);
}

/* One netlink request (RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE: built in TypeScript, bridge.ts
 * containerSteps) sent from inside the container's network namespace: a NETLINK_ROUTE socket speaks
 * to the namespace it was created in, and ours is the container's. The request carries NLM_F_ACK,
 * so the kernel answers with one NLMSG_ERROR whose error field is 0 or -errno. A socket per step:
 * no state kept across steps (the vfork launch would share it with Node), and the socket costs
 * microseconds. write() needs no address: an unconnected netlink socket sends to the kernel.
 *
 * `ns`, when given: a namespace file that the request names by descriptor, at byte `at` (the veth
 * pair's IFLA_NET_NS_FD: its host end goes to minidock's namespace, /proc/<minidock>/ns/net). No
 * descriptor number could be written into the bytes before clone, so the child opens the file and
 * writes the number into its own copy of the request (the plan's memory is Node's in a vfork launch). */
static int netlink_request(const char *msg, uint32_t len, const char *ns, int64_t at) {
  uint64_t req[512]; /* 4 KiB, aligned for struct nlmsghdr */
  if (len > sizeof req || (ns && (at < 0 || (uint64_t)at + 4 > len))) {
    errno = EINVAL;
    return -1;
  }
  memcpy(req, msg, len);
  int nsfd = -1;
  if (ns) {
    nsfd = open(ns, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) return -1;
    uint32_t v = (uint32_t)nsfd;
    memcpy((char *)req + at, &v, sizeof v);
  }
  int err = EIO;
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0)
    err = errno;
  else if (write(s, req, len) == (ssize_t)len) {
    for (;;) {
      uint64_t buf[512]; /* 4 KiB, aligned for struct nlmsghdr */
      ssize_t n = read(s, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < (ssize_t)(sizeof(struct nlmsghdr) + sizeof(int))) {
        err = n < 0 ? errno : EIO;
        break;
      }
      const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
      if (h->nlmsg_type != NLMSG_ERROR) continue; /* not the verdict: read on */
      err = -((const struct nlmsgerr *)NLMSG_DATA(h))->error;
      break;
    }
  } else
    err = errno;
  if (s >= 0) close(s);
  if (nsfd >= 0) close(nsfd);
  if (err == 0) return 0;
  errno = err;
  return -1;
}

/* Read exactly `len` bytes (a pipe may hand them in pieces); returns how many came before EOF. */
static size_t read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  return got;
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    buf += n, len -= (size_t)n;
  }
  return 0;
}

/* Wait for the hook `pid`, at most `timeout_ms` (0: as long as it takes). A pidfd (Linux 5.3) turns
 * "has it exited?" into poll()'s readability; without one, wait4(WNOHANG) every 10 ms. At the
 * timeout the hook's whole process group is killed (a shell hook's own children too). */
static int wait_hook(long pid, uint64_t timeout_ms, int *status) {
  int timed_out = 0;
  if (timeout_ms > 0) {
    int pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (pfd >= 0) {
      struct pollfd x = {pfd, POLLIN, 0};
      int r;
      do r = poll(&x, 1, (int)timeout_ms);
      while (r < 0 && errno == EINTR);
      close(pfd);
      timed_out = r == 0;
    } else {
      uint64_t waited = 0;
      while (syscall(SYS_wait4, (pid_t)pid, status, WNOHANG, NULL) == 0 && !(timed_out = waited >= timeout_ms)) {
        poll(NULL, 0, 10);
        waited += 10;
      }
      if (!timed_out) return 0; /* reaped */
    }
    if (timed_out) syscall(SYS_kill, -(pid_t)pid, SIGKILL);
  }
  while (syscall(SYS_wait4, (pid_t)pid, status, 0, NULL) < 0 && errno == EINTR)
    ;
  return timed_out;
}

/*
 * OCI createContainer/startContainer: one hook, run as runc's init runs it, from inside the container
 * (its namespaces, its cgroup, and at startContainer its user and capabilities). The state JSON is
 * written whole into a pipe before the fork, so no write can block on a hook that does not read it,
 * nor raise SIGPIPE here; the hook gets the pipe as stdin, our stderr as stdout and stderr, and no
 * other fd of ours. A failed execve comes back through a close-on-exec pipe (the classic self-pipe:
 * EOF means it exec'd). The err of a failure: an errno, ETIMEDOUT, or MD_HOOK_EXITED|status,
 * MD_HOOK_SIGNALED|signal (plan.h). argv and envp are NULL-terminated arrays on our stack (no malloc).
 */
static int run_hook(const struct md_plan *p, const struct md_step *s) {
  uint32_t argc = s->nints > 2 ? (uint32_t)s->ints[1] : 0, envc = s->nints > 2 ? (uint32_t)s->ints[2] : 0;
  if (s->nstrs < 3 || argc < 1 || argc + envc > MD_HOOK_MAX_STRS || 3ull + argc + envc > s->nstrs) {
    errno = E2BIG;
    return -1;
  }
  const char *vec[MD_HOOK_MAX_STRS + 2];
  for (uint32_t i = 0; i < argc; i++) vec[i] = s->strs[3 + i];
  vec[argc] = NULL;
  for (uint32_t i = 0; i < envc; i++) vec[argc + 1 + i] = s->strs[3 + argc + i];
  vec[argc + 1 + envc] = NULL;
  char digits[12];
  int nd = 0;
  uint32_t pid_value = (uint32_t)p->host_pid;
  do digits[11 - nd++] = (char)('0' + pid_value % 10), pid_value /= 10;
  while (pid_value > 0);
  size_t len = s->lens[1] + (size_t)nd + s->lens[2];
  int in[2], ex[2];
  if (pipe2(in, O_CLOEXEC) < 0) return -1;
  /* a pipe holds 64 KiB by default: a larger state (many annotations) needs a larger pipe */
  if ((len > 65536 && fcntl(in[1], F_SETPIPE_SZ, (int)len) < 0) || write_all(in[1], s->strs[1], s->lens[1]) < 0 ||
      write_all(in[1], digits + 12 - nd, (size_t)nd) < 0 || write_all(in[1], s->strs[2], s->lens[2]) < 0 ||
      pipe2(ex, O_CLOEXEC) < 0) {
    int e = errno;
    close(in[0]);
    close(in[1]);
    errno = e;
    return -1;
  }
  close(in[1]);
  long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, 0UL, 0UL, 0UL); /* fork, as fork_into_namespace */
  if (pid == 0) {
    syscall(SYS_setpgid, 0, 0);                /* its own process group: the timeout kills the hook's children too */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* a create that gives up on us takes the hook along */
    /* stdout and stderr: our stderr — Node marked fds 0-2 close-on-exec (undone here, in our copy of
     * the fd table); after the STDIO step it is the container's */
    fcntl(2, F_SETFD, 0);
    dup2(2, 1);
    if (dup2(in[0], 0) >= 0) {
      if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) < 0) cloexec_from(3);
      execve(s->strs[0], (char *const *)vec, (char *const *)&vec[argc + 1]);
    }
    int e = errno;
    write_all(ex[1], (const char *)&e, sizeof e);
    _exit(127);
  }
  int e = errno;
  close(in[0]);
  close(ex[1]);
  if (pid < 0) {
    close(ex[0]);
    errno = e;
    return -1;
  }
  int exec_err = 0, status = 0;
  size_t got = read_full(ex[0], &exec_err, sizeof exec_err); /* blocks until execve or its failure */
  close(ex[0]);
  int timed_out = wait_hook(pid, got == sizeof exec_err ? 0 : s->ints[0], &status);
  if (got == sizeof exec_err)
    errno = exec_err;
  else if (timed_out)
    errno = ETIMEDOUT;
  else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  else
    errno = WIFEXITED(status) ? MD_HOOK_EXITED | WEXITSTATUS(status) : MD_HOOK_SIGNALED | WTERMSIG(status);
  return -1;
}

static int run_step(const struct md_plan *p, const struct md_step *s) {
  const uint64_t *a = s->ints;
  switch (s->op) {
  case MD_OP_MOUNT:
    return mount(str_or_null(s, 0), s->strs[1], str_or_null(s, 2), (unsigned long)a[0], str_or_null(s, 3));
  case MD_OP_UMOUNT2:
    return umount2(s->strs[0], (int)a[0]);
  case MD_OP_MKDIR:
    return mkdir(s->strs[0], (mode_t)a[0]);
  case MD_OP_TOUCH: {
    /* A bind mount's target only has to exist. Read-only: on the overlay, opening a file of the
     * lower layer for writing copies it up first (~0.3-1 ms for /etc/hosts, measured in --trace). */
    int fd = open(s->strs[0], O_CREAT | O_RDONLY | O_CLOEXEC | O_NOFOLLOW, (mode_t)a[0]);
    return fd < 0 ? -1 : close(fd);
  }
  case MD_OP_SYMLINK:
    return symlink(s->strs[0], s->strs[1]);
  case MD_OP_SETHOSTNAME:
    return sethostname(s->strs[0], s->lens[0]);
  case MD_OP_CHDIR:
    return chdir(s->strs[0]);
  case MD_OP_PIVOT_ROOT: /* glibc has no wrapper for pivot_root */
    return (int)syscall(SYS_pivot_root, s->strs[0], s->strs[1]);
  case MD_OP_UNSHARE:
    return unshare((int)a[0]);
  case MD_OP_LOOPBACK_UP:
    return loopback_up();
  case MD_OP_SETRLIMIT: {
    struct rlimit rl = {(rlim_t)a[1], (rlim_t)a[2]};
    return setrlimit((int)a[0], &rl);
  }
  case MD_OP_CAPBSET:
    return capbset(a[0]);
  case MD_OP_CAPSET:
    if (capset_masks(a[0], a[1], a[2]) < 0) return -1;
    /* an optional 4th mask: raise these into the ambient set (OCI process.capabilities.ambient) */
    for (int cap = 0; s->nints > 3 && cap < 64; cap++)
      if ((a[3] & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return -1;
    return 0;
  case MD_OP_NO_NEW_PRIVS:
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  case MD_OP_SECCOMP: {
    struct sock_fprog prog = {(unsigned short)(s->lens[0] / sizeof(struct sock_filter)),
                              (struct sock_filter *)s->strs[0]};
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  }
  case MD_OP_SETGROUPS:
    return set_groups(s);
  case MD_OP_SETGID:
  case MD_OP_SETUID: {
    long r = s->op == MD_OP_SETGID ? syscall(SYS_setresgid, (gid_t)a[0], (gid_t)a[0], (gid_t)a[0])
                                   : syscall(SYS_setresuid, (uid_t)a[0], (uid_t)a[0], (uid_t)a[0]);
    if (r == 0) rearm_pdeathsig(p); /* the credential change cleared it */
    return (int)r;
  }
  case MD_OP_KEEPCAPS:
    return prctl(PR_SET_KEEPCAPS, (unsigned long)a[0], 0, 0, 0);
  case MD_OP_SYNC: {
    char c = 0;
    size_t n = read_full(p->sync_fd, &c, 1);
    uint32_t pid = 0;
    if (n == 1 && c == MD_MSG_RELEASE_PID && read_full(p->sync_fd, &pid, sizeof pid) == sizeof pid) {
      ((struct md_plan *)p)->host_pid = (int)pid; /* our copy: see child.h */
      c = MD_MSG_RELEASE;
    }
    if (!(s->nints > 0 && a[0])) close(p->sync_fd); /* ints[0] 1: a later SYNC reads it again */
    if (n == 1 && c == MD_MSG_RELEASE) return 0;
    errno = ECANCELED; /* minidock gave up on us (or died): do not exec */
    return -1;
  }
  case MD_OP_CLOSE_FDS: {
    /* Node has dozens of fds open (epoll, eventfds, pipes); none may leak into the container.
     * ints[0], when given, is the first fd to mark (OCI --preserve-fds N keeps 3..3+N-1): the fds
     * below it are kept across execve, their close-on-exec flag cleared (Node sets it on every fd
     * it inherits above 2). */
    unsigned from = s->nints > 0 ? (unsigned)a[0] : 3u;
    for (unsigned fd = 3; fd < from; fd++)
      if (fcntl((int)fd, F_SETFD, 0) < 0) return -1;
    if (syscall(SYS_close_range, from, ~0u, CLOSE_RANGE_CLOEXEC) == 0) return 0;
    /* A seccomp profile older than close_range (Linux 5.9) may already be loaded (the early seccomp
     * step of build-plan.ts) and refuse it with EPERM — OCI bundles' profiles often are; kernels
     * before 5.11 answer EINVAL for CLOSE_RANGE_CLOEXEC. Then fd by fd, up to the fd limit. */
    return cloexec_from((int)from);
  }
  case MD_OP_STDIO:
    return fix_stdio(p, (int)a[0]);
  case MD_OP_EXEC:
    return do_exec(s);
  case MD_OP_WRITE_FILE:
    return write_file(s->strs[0], s->strs[1], s->lens[1]);
  case MD_OP_CONSOLE:
    return console(p->console_fd, a[0], a[1]);
  case MD_OP_SETNS:
    return join_ns(s->strs[0], (int)a[0]);
  case MD_OP_FORK:
    return fork_into_namespace(p);
  case MD_OP_EXEC_FIFO: {
    int fd = exec_fifo((int)a[0]);
    if (fd < 0) return -1;
    /* keep: the steps up to execve (startContainer hooks) report to `start` on the fifo, and execve
     * closes it (O_CLOEXEC): start reads them to EOF as create reads the report pipe */
    if (s->nints > 1 && a[1])
      ((struct md_plan *)p)->report_fd = fd;
    else
      close(fd);
    return 0;
  }
  case MD_OP_UMASK:
    syscall(SYS_umask, (mode_t)a[0]); /* cannot fail: it returns the previous mask */
    return 0;
  case MD_OP_MKNOD:
    return make_node(s->strs[0], a[0], a[1], a[2], a[3], a[4]);
  case MD_OP_NETLINK:
    return netlink_request(s->strs[0], s->lens[0], str_or_null(s, 2), s->nints > 0 ? (int64_t)s->ints[0] : -1);
  case MD_OP_BIND_FROM_NS:
    return bind_from_ns(s->strs[0], s->strs[1], s->strs[2]);
  case MD_OP_HOOK:
    return run_hook(p, s);
  default:
    errno = ENOSYS;
    return -1;
  }
}

int md_child_main(void *arg) {
  const struct md_plan *p = arg;

  /* Node ignores SIGPIPE and libuv installed handlers that write into Node's signal pipe; none of
   * that makes sense here. Reset every disposition, then unblock what spawn.c blocked for clone. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < 65; sig++) sigaction(sig, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  /* If minidock dies, so do we (a foreground container must not outlive its launcher). Set again
   * after each change of identity: see rearm_pdeathsig. */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* clone() copied minidock's fd table, with the report pipe's read end: drop it, so that the
   * pipe's only reader is minidock and a dead minidock shows as POLLERR (rearm_pdeathsig). */
  if (p->report_rfd >= 0) close(p->report_rfd);

  for (uint32_t i = 0; i < p->nsteps; i++) {
    const struct md_step *s = &p->steps[i];
    uint64_t t0 = now_ns();
    if (s->op == MD_OP_EXEC) report(p, i, 0, t0, t0); /* "exec starts now": EOF follows on success */
    /* (p is our copy of the parent's plan struct: clone() without CLONE_VM, which an OCI plan never uses) */
    if (s->op == MD_OP_EXEC_FIFO) hold_for_start((struct md_plan *)p, i, t0);
    int r = run_step(p, s);
    int e = r < 0 ? errno : 0;
    if (e && ((s->flags & MD_F_IGNORE_ALL) || (e == ENOENT && (s->flags & MD_F_IGNORE_ENOENT)) ||
              (e == EEXIST && (s->flags & MD_F_IGNORE_EEXIST))))
      e = -e; /* ignored: reported as a negative errno for the trace */
    report(p, i, e, t0, now_ns());
    if (e > 0) _exit(125);
  }
  errno = ENOEXEC; /* a plan without MD_OP_EXEC */
  report(p, p->nsteps, ENOEXEC, now_ns(), now_ns());
  _exit(125);
}
