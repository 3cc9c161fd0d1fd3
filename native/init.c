/*
 * minidock-init: the tiny init of `minidock run --init`, bind-mounted into the container at /dev/init
 * and run as its PID 1 (`/dev/init -- CMD ARG...`), as Docker runs tini (docker-init).
 *
 * Why a container needs one: the kernel gives PID 1 of a PID namespace two jobs and one privilege.
 *  - Every orphaned process of the namespace is re-parented to it, and stays a zombie (a pid and a
 *    process table entry) until PID 1 calls wait() for it. A shell or a server as PID 1 does not
 *    expect children it never started, and many never reap them.
 *  - The privilege: a signal sent from inside the namespace (or by its parent namespace, all but
 *    SIGKILL and SIGSTOP) is dropped unless PID 1 installed a handler for it. The default action
 *    of SIGTERM, "terminate", is not applied to init (kernel/signal.c sig_task_ignored: a
 *    SIGNAL_UNKILLABLE task with SIG_DFL ignores it). So `docker stop` of a `sh` container waits
 *    the whole grace period, then SIGKILLs it.
 *
 * This init: blocks every signal, forks the command (which gets the default dispositions and an
 * empty mask back, and a process group of its own), then waits with sigwaitinfo(): a blocked signal
 * is never "ignored" by the kernel — it stays pending for us — so SIGTERM from `stop` reaches us, and
 * we send it on to the command, which, not being PID 1, dies of it by default. SIGCHLD: reap every
 * child that has exited (orphans included). When the command itself exits, we exit with its status
 * (128+N if a signal N killed it), and the kernel then kills whatever else is left in the namespace.
 * The same loop without being PID 1 works too: PR_SET_CHILD_SUBREAPER makes orphans ours.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Signals that a fault raises in the faulting thread: never forwarded (tini's list). */
static int synchronous(int sig) {
  return sig == SIGFPE || sig == SIGILL || sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGTRAP ||
         sig == SIGSYS;
}

static void die(const char *what, const char *arg, int code) {
  fprintf(stderr, "minidock-init: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
  exit(code);
}

static pid_t spawn(char **argv, const sigset_t *old) {
  pid_t pid = fork();
  if (pid < 0) die("fork", NULL, 1);
  if (pid > 0) return pid;
  /* the command: its own process group, the foreground one of a terminal (-t: ^C reaches it and
   * its children, not us twice), then the signal mask and dispositions a program expects */
  setpgid(0, 0);
  if (isatty(STDIN_FILENO)) {
    signal(SIGTTOU, SIG_IGN); /* tcsetpgrp from a background group would stop us */
    tcsetpgrp(STDIN_FILENO, getpgrp());
    signal(SIGTTOU, SIG_DFL);
  }
  sigprocmask(SIG_SETMASK, old, NULL);
  execvp(argv[0], argv);
  die("exec", argv[0], errno == ENOENT ? 127 : 126);
  return -1;
}

int main(int argc, char **argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    fprintf(stderr, "usage: minidock-init [--] COMMAND [ARG...]\n");
    return 2;
  }
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1);

  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = spawn(argv + first, &old);

  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue; /* EINTR */
    if (sig != SIGCHLD) {
      if (!synchronous(sig)) kill(child, sig);
      continue;
    }
    /* one SIGCHLD may stand for several exits: reap until none is left */
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid != child) continue; /* an orphan: reaped, nothing more */
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return WEXITSTATUS(status);
    }
  }
}
