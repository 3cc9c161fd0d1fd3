/*
 * spawn.c — the parent side of a launch, called from Node through ffi-rs.
 *
 * md_spawn() parses the plan (here, where malloc is still allowed), then clone()s the container's
 * first process with the requested CLONE_NEW* flags on a stack of its own. The child runs
 * md_child_main() (child.c). The parent returns with the child's host pid: at once, or, with
 * CLONE_VM|CLONE_VFORK (cgroup v1, see VFORK_FLAGS in build-plan.ts), once the child has exec'd or
 * died. The fds it needs afterwards are fetched by name with md_spawned_fd(MD_SPAWNED_*); the
 * monitor gets them in a struct md_spawned (md_spawn_into). What minidock and the child then say to
 * each other on those fds is drawn at the top of src/runtime/handshake.ts.
 *
 * md_try_reap() is how minidock sees the exit: called on SIGCHLD, it waits for exactly that pid
 * (never waitpid(-1): libuv reaps its own children by pid).
 */
#define _GNU_SOURCE
#include "child.h"
#include "plan.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_SIZE (256 * 1024) /* a tiny stack segfaults: the child's frames are not small */

/* The fds of the last md_spawn, for Node: ffi-rs returns one int per call, so TypeScript asks for
 * each by its MD_SPAWNED_* number (plan.h). The monitor calls md_spawn_into with a struct of its own. */
static struct md_spawned last_spawned = {-1, -1, -1, {-1, -1, -1}};

int md_spawned_fd(int which) {
  switch (which) {
  case MD_SPAWNED_REPORT:
    return last_spawned.report_fd;
  case MD_SPAWNED_SYNC:
    return last_spawned.sync_fd;
  case MD_SPAWNED_CONSOLE:
    return last_spawned.console_fd;
  case MD_SPAWNED_STDIN:
  case MD_SPAWNED_STDOUT:
  case MD_SPAWNED_STDERR:
    return last_spawned.stdio_fd[which - MD_SPAWNED_STDIN];
  default:
    return -1;
  }
}

/* Bit N set: fd N is a terminal (isatty), for N = 0, 1, 2. */
int md_terminals(void) {
  int mask = 0;
  for (int fd = 0; fd < 3; fd++)
    if (isatty(fd)) mask |= 1 << fd;
  return mask;
}

static void free_plan(struct md_plan *p) {
  if (!p->steps) return;
  for (uint32_t i = 0; i < p->nsteps; i++) {
    free((void *)p->steps[i].strs);
    free((void *)p->steps[i].lens);
  }
  free(p->steps);
}

/* Parse the wire format described in plan.h. The strings point into `buf`: the child reads them in
 * its copy of our memory, or, with CLONE_VM, in ours, which stays as it is until it has exec'd. */
static int parse_plan(const uint8_t *buf, uint32_t len, struct md_plan *p) {
  if (len < 8) return -EINVAL;
  uint32_t magic, n;
  memcpy(&magic, buf, 4);
  memcpy(&n, buf + 4, 4);
  if (magic != MD_PLAN_MAGIC || n > 100000) return -EINVAL;
  p->nsteps = n;
  p->steps = calloc(n ? n : 1, sizeof *p->steps);
  if (!p->steps) return -ENOMEM;
  size_t off = 8;
  for (uint32_t i = 0; i < n; i++) {
    struct md_step *s = &p->steps[i];
    if (off + 16 > len) return -EINVAL;
    memcpy(&s->op, buf + off, 2);
    memcpy(&s->flags, buf + off + 2, 2);
    memcpy(&s->nints, buf + off + 4, 4);
    memcpy(&s->nstrs, buf + off + 8, 4);
    off += 16;
    if (s->nints > 65536 || s->nstrs > 65536 || off + 8ull * s->nints > len) return -EINVAL;
    s->ints = (const uint64_t *)(buf + off); /* TS aligns the buffer and every step to 8 bytes */
    off += 8ull * s->nints;
    /* one extra NULL slot: MD_OP_EXEC passes strs as argv and envp arrays, NULL-terminated */
    const char **strs = calloc(s->nstrs + 2, sizeof *strs);
    uint32_t *lens = calloc(s->nstrs + 1, sizeof *lens);
    s->strs = strs;
    s->lens = lens;
    if (!strs || !lens) return -ENOMEM;
    for (uint32_t j = 0; j < s->nstrs; j++) {
      uint32_t l;
      if (off + 4 > len) return -EINVAL;
      memcpy(&l, buf + off, 4);
      off += 4;
      if (off + l + 1 > len || buf[off + l] != 0) return -EINVAL;
      strs[j] = (const char *)(buf + off);
      lens[j] = l;
      off += l + 1;
    }
    off = (off + 7) & ~(size_t)7;
    if (s->op == MD_OP_EXEC) {
      /* argv and envp must each end in NULL: rebuild strs as argv..., NULL, envp..., NULL, path... */
      if (s->nints < 3) return -EINVAL;
      uint32_t argc = (uint32_t)s->ints[0], envc = (uint32_t)s->ints[1];
      if (argc < 1 || (uint64_t)argc + envc > s->nstrs) return -EINVAL;
      const char **v = calloc(s->nstrs + 2, sizeof *v);
      uint32_t *vl = calloc(s->nstrs + 2, sizeof *vl);
      if (!v || !vl) return -ENOMEM;
      uint32_t k = 0;
      for (uint32_t j = 0; j < argc; j++, k++) v[k] = strs[j], vl[k] = lens[j];
      v[k] = NULL, vl[k] = 0, k++;
      for (uint32_t j = argc; j < argc + envc; j++, k++) v[k] = strs[j], vl[k] = lens[j];
      v[k] = NULL, vl[k] = 0, k++;
      for (uint32_t j = argc + envc; j < s->nstrs; j++, k++) v[k] = strs[j], vl[k] = lens[j];
      free(strs);
      free(lens);
      s->strs = v;
      s->lens = vl;
    }
  }
  return 0;
}

/* Returns the child's pid (in our namespace), or -errno; our ends of its pipes and socket go to *out
 * (all -1 on failure). */
int md_spawn_into(const uint8_t *buf, uint32_t len, int64_t clone_flags, struct md_spawned *out) {
  struct md_plan plan = {0};
  int report[2] = {-1, -1}, sync[2] = {-1, -1}, cons[2] = {-1, -1};
  int stdio[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  plan.stdio_pipe[0] = plan.stdio_pipe[1] = plan.stdio_pipe[2] = -1;
  int ret = parse_plan(buf, len, &plan);
  if (ret < 0) goto out;
  for (uint32_t i = 0; i < plan.nsteps; i++) {
    const struct md_step *s = &plan.steps[i];
    if (s->op == MD_OP_CONSOLE && cons[0] < 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cons) < 0) {
      ret = -errno;
      goto out;
    }
    /* the child's stdin reads stdio[0][0], its stdout and stderr write stdio[1][1], stdio[2][1] */
    for (int fd = 0; s->op == MD_OP_STDIO && s->nints > 1 && fd < 3; fd++) {
      if (!(s->ints[1] & (1u << fd)) || stdio[fd][0] >= 0) continue;
      if (pipe2(stdio[fd], O_CLOEXEC) < 0) {
        ret = -errno;
        goto out;
      }
      plan.stdio_pipe[fd] = stdio[fd][fd == 0 ? 0 : 1];
    }
  }
  if (pipe2(report, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0) {
    ret = -errno;
    goto out;
  }
  plan.report_fd = report[1];
  plan.report_rfd = report[0];
  plan.sync_fd = sync[0];
  plan.console_fd = cons[1];

  char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    ret = -errno;
    goto out;
  }
  /* Block every signal around clone(): otherwise a signal could reach the child before it has
   * reset the handlers it inherited from Node, and run Node's handler in the child. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  /* No CLONE_PIDFD: minidock is the child's parent, so its pid cannot be recycled before minidock
   * reaps it (kill(pid) is safe until then), and Node has no way to wait on a pidfd without parking
   * a blocking call on libuv's pool; SIGCHLD + waitpid(pid, WNOHANG) is how it waits (md_try_reap).
   * (It also keeps kernels before 5.2, which have no CLONE_PIDFD, working.) */
  int pid = clone(md_child_main, stack + STACK_SIZE, (int)clone_flags | SIGCHLD, &plan);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  /* Unmapping the child's stack is safe in both cases. Without CLONE_VM the child runs on its own
   * copy of this mapping. With CLONE_VM|CLONE_VFORK it shares our address space, this stack included,
   * but clone() returns here only after the child has exec'd (a new address space) or exited: the
   * calling thread is suspended until then, and nothing below runs while the child still uses it.
   * (The same holds for free_plan: the plan is the child's to read only until then.) */
  munmap(stack, STACK_SIZE);
  ret = pid < 0 ? -e : pid;

out:
  free_plan(&plan);
  /* keep our ends, close the child's */
  if (report[1] >= 0) close(report[1]);
  if (sync[0] >= 0) close(sync[0]);
  if (cons[1] >= 0) close(cons[1]);
  for (int fd = 0; fd < 3; fd++) {
    int ours = stdio[fd][fd == 0 ? 1 : 0];
    if (plan.stdio_pipe[fd] >= 0) close(plan.stdio_pipe[fd]);
    if (ret < 0 && ours >= 0) close(ours), ours = -1;
    out->stdio_fd[fd] = ours;
  }
  if (ret < 0) {
    if (report[0] >= 0) close(report[0]);
    if (sync[1] >= 0) close(sync[1]);
    if (cons[0] >= 0) close(cons[0]);
    report[0] = sync[1] = cons[0] = -1;
  }
  out->report_fd = report[0];
  out->sync_fd = sync[1];
  out->console_fd = cons[0];
  return ret;
}

/* For Node: md_spawn_into, the fds kept for md_spawned_fd. */
int md_spawn(const uint8_t *buf, uint32_t len, int64_t clone_flags) {
  return md_spawn_into(buf, len, clone_flags, &last_spawned);
}

/* Receive one fd sent with SCM_RIGHTS (the pty master from the console step). */
int md_recv_fd(int sock) {
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (n == 0 || !c || c->cmsg_type != SCM_RIGHTS) return -EPROTO;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* OCI create --console-socket: connect to the engine's unix socket `path` and send it `fd` (the pty
 * master) with SCM_RIGHTS, its `name` (/dev/pts/N) as the payload — how runc hands a console to
 * conmon or containerd-shim (libcontainer/utils.SendFd). Returns 0 or -errno. */
#include <sys/un.h>
int md_send_fd_to(const char *path, int fd, const char *name) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return -ENAMETOOLONG;
  strcpy(sa.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(s);
    return -e;
  }
  struct iovec iov = {(void *)name, strlen(name) ? strlen(name) : 1};
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
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(s, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  int e = n < 0 ? errno : 0;
  close(s);
  return -e;
}

/* Window size for the pty master (TIOCSWINSZ) — Node can only read a tty's size. Returns 0 or -errno. */
#include <sys/ioctl.h>
int md_set_winsize(int fd, int rows, int cols) {
  struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
  return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

/* Output processing off (OPOST, as cfmakeraw does) on the user's terminal while it relays a pty: the
 * container's pty already turned "\n" into "\r\n", and libuv's raw mode leaves OPOST on, so every
 * line would end "\r\r\n". Node has no call for c_oflag. Returns 0 or -errno. */
#include <termios.h>
int md_tty_opost_off(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) < 0) return -errno;
  t.c_oflag &= ~OPOST;
  return tcsetattr(fd, TCSANOW, &t) < 0 ? -errno : 0;
}

/* ---- run -d: start the monitor ---- */

#include <spawn.h>
#include <sys/file.h>

extern char **environ;

/*
 * Start native/build/minidock-monitor (argv: NUL-separated strings in buf, argv[0] = its path) as
 * the future parent of a detached container. posix_spawn (a vfork-style clone in glibc) is safe to
 * call from a multi-threaded process, unlike fork(). The monitor gets:
 *   - a session of its own (setsid): no terminal, and the user's ^C or a killed process group of
 *     the CLI does not reach it;
 *   - fds 0-2 on /dev/null, fd 3 = our control socket; every other fd of Node is close-on-exec;
 *   - default signal dispositions and an empty mask (Node ignores SIGPIPE and blocks some).
 * Returns the monitor's pid; md_monitor_ctl_fd() is then our end of the control socket.
 */
static int monitor_ctl = -1;
int md_monitor_ctl_fd(void) { return monitor_ctl; }

int md_start_monitor(const uint8_t *buf, uint32_t len) {
  char *argv[64];
  int argc = 0;
  for (uint32_t off = 0; off < len && argc < 63;) {
    argv[argc++] = (char *)buf + off;
    off += (uint32_t)strnlen((const char *)buf + off, len - off) + 1;
  }
  argv[argc] = NULL;
  if (argc == 0 || buf[len - 1] != 0) return -EINVAL;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  for (int fd = 0; fd < 3; fd++) posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_adddup2(&fa, sv[1], MD_MONITOR_CTL_FD); /* dup2 clears close-on-exec */
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int e = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(sv[1]);
  if (e) {
    close(sv[0]);
    return -e;
  }
  monitor_ctl = sv[0];
  return pid;
}

/* _exit(2): the process ends here, without Node's teardown (src/sys/native.ts, exitProcess says
 * when that is safe). */
void md_exit(int code) { _exit(code); }

/* flock(2) for the state store's lock file (names stay unique under concurrent `run --name`).
 * The kernel drops the lock when the process dies, even by SIGKILL: no stale lock files. */
int md_flock(int fd, int op) { return flock(fd, op) < 0 ? -errno : 0; }

/* Non-blocking wait for exactly `pid` (never -1: libuv reaps its own children by pid). minidock calls
 * it when SIGCHLD arrives. Returns 1 when it was reaped (its wait status: md_reaped_status()), 0
 * while it runs, or -errno. */
static int reaped_status;
int md_try_reap(int pid) {
  int st = 0, r;
  do r = waitpid(pid, &st, WNOHANG | __WALL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (r == 0) return 0;
  reaped_status = st;
  return 1;
}

/* The raw wait status of the process the last md_try_reap() returned 1 for. */
int md_reaped_status(void) { return reaped_status; }
