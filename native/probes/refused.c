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
 *
 * Harmless: the pty is a new one of the container's own devpts; the byte pushed is read back.
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
#include <unistd.h>

static const char *ename(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "EUNKNOWN";
}

static int io_uring(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  long fd = syscall(SYS_io_uring_setup, 1, &p);
  if (fd < 0) printf("io_uring: %s\n", ename(errno));
  else printf("io_uring: ok # a ring was set up\n");
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
  if (syscall(SYS_ioctl, slave, request, &c) < 0) printf("%s: %s\n", name, ename(errno));
  else printf("%s: ok # a byte was pushed into the terminal's input\n", name);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *what = argc > 1 ? argv[1] : "";
  if (!strcmp(what, "io_uring")) return io_uring();
  /* a child for each: setsid() fails in a process group leader (the shell made us one) */
  if (!strcmp(what, "tiocsti") || !strcmp(what, "tiocsti_high")) {
    if (fork() == 0) {
      tiocsti(what[7] ? (1UL << 32) | TIOCSTI : TIOCSTI, what);
      _exit(0);
    }
    wait(NULL);
    return 0;
  }
  fprintf(stderr, "usage: refused io_uring|tiocsti|tiocsti_high\n");
  return 2;
}
