/*
 * refused — calls that minidock's default seccomp profile refuses although Docker's allows them, one
 * result line each:
 *
 *     NAME: RESULT [# what happened]
 *
 * RESULT is `ok` (the call worked) or the errno name. Which errno tells who refused: the profile answers
 * EPERM; a kernel that refuses by itself says otherwise (io_uring: ENOSYS when not built in, EPERM as
 * well when kernel.io_uring_disabled=2 — so tests run the probe unconfined first; TIOCSTI: EIO when the
 * kernel was built without CONFIG_LEGACY_TIOCSTI or dev.tty.legacy_tiocsti=0).
 *
 *     refused io_uring        io_uring_setup(1, &params)
 *     refused tiocsti         TIOCSTI on a pty that is our controlling terminal (a new session)
 *     refused tiocsti_high    the same request with bit 32 set: the kernel reads an unsigned int
 *     refused stdio           what fds 0-2 are, and whether a process holding them can reach the
 *                             terminal behind them: for each fd N, three lines
 *                               fdN: the target of /proc/self/fd/N (pipe:[...], /dev/null, /dev/pts/3)
 *                               tiocsti_fdN: TIOCSTI of the bytes "MDINJ" into its input
 *                               tcsetattr_fdN: its termios with ECHO turned off
 *
 * Harmless for tiocsti/tiocsti_high: the pty is a new one of the container's own devpts. NOT harmless
 * for stdio: if fd N is a terminal, the bytes pushed stay in its input and its echo stays off — that
 * is what a test looks for from outside; run it on a terminal made for the test (script(1)).
 * TIOCSTI on a terminal that is not our controlling one needs CAP_SYS_ADMIN (--privileged).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const char *ename(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "EUNKNOWN";
}

static int io_uring(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  long fd = syscall(SYS_io_uring_setup, 1, &p);
  if (fd < 0)
    printf("io_uring: %s\n", ename(errno));
  else
    printf("io_uring: ok # a ring was set up\n");
  return 0;
}

/* TIOCSTI without CAP_SYS_ADMIN works only on the caller's controlling terminal, so make a pty of our
 * own, start a session and make the pty's slave our controlling terminal first. */
static int tiocsti(unsigned long request, const char *name) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
    printf("%s: %s step=ptmx\n", name, ename(errno));
    return 0;
  }
  if (setsid() < 0 && errno != EPERM) {
    printf("%s: %s step=setsid\n", name, ename(errno));
    return 0;
  }
  int slave = open(ptsname(master), O_RDWR);
  if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
    printf("%s: %s step=ctty\n", name, ename(errno));
    return 0;
  }
  char c = 'x';
  if (syscall(SYS_ioctl, slave, request, &c) < 0)
    printf("%s: %s\n", name, ename(errno));
  else
    printf("%s: ok # a byte was pushed into the terminal's input\n", name);
  return 0;
}

static int stdio_fds(void) {
  for (int fd = 0; fd < 3; fd++) {
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0)
      printf("fd%d: %s\n", fd, ename(errno));
    else
      printf("fd%d: %.*s\n", fd, (int)n, target);
    int pushed = 0;
    for (const char *c = "MDINJ"; *c; c++, pushed++)
      if (ioctl(fd, TIOCSTI, c) < 0) break;
    if (pushed == 5)
      printf("tiocsti_fd%d: ok # 5 bytes pushed into the terminal's input\n", fd);
    else
      printf("tiocsti_fd%d: %s\n", fd, ename(errno));
    struct termios t;
    if (tcgetattr(fd, &t) < 0) {
      printf("tcsetattr_fd%d: %s step=tcgetattr\n", fd, ename(errno));
      continue;
    }
    t.c_lflag &= ~(tcflag_t)ECHO;
    if (tcsetattr(fd, TCSANOW, &t) < 0)
      printf("tcsetattr_fd%d: %s\n", fd, ename(errno));
    else
      printf("tcsetattr_fd%d: ok # echo turned off\n", fd);
  }
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *what = argc > 1 ? argv[1] : "";
  if (!strcmp(what, "io_uring")) return io_uring();
  if (!strcmp(what, "stdio")) return stdio_fds();
  /* a child for each: setsid() fails in a process group leader (the shell made us one) */
  if (!strcmp(what, "tiocsti") || !strcmp(what, "tiocsti_high")) {
    if (fork() == 0) {
      tiocsti(what[7] ? (1UL << 32) | TIOCSTI : TIOCSTI, what);
      _exit(0);
    }
    wait(NULL);
    return 0;
  }
  fprintf(stderr, "usage: refused io_uring|tiocsti|tiocsti_high|stdio\n");
  return 2;
}
