/* child.h — the plan as the C child sees it: already parsed by the parent (spawn.c) before clone(),
 * so the child never needs malloc. */
#ifndef MINIDOCK_CHILD_H
#define MINIDOCK_CHILD_H

#include <stdint.h>

struct md_step {
  uint16_t op, flags;
  uint32_t nints, nstrs;
  const uint64_t *ints;
  const char **strs;
  const uint32_t *lens;
};

struct md_plan {
  uint32_t nsteps;
  struct md_step *steps;
  int report_fd;     /* write end: one struct md_report per step; close-on-exec, so EOF == exec happened */
  int report_rfd;    /* the read end, whose copy clone() gave us: closed first (see rearm_pdeathsig) */
  int sync_fd;       /* read end: the parent writes MD_MSG_RELEASE once we are in our cgroup */
  int console_fd;    /* our end of the console socketpair, or -1 */
  int stdio_pipe[3]; /* our ends of the stdio pipes to minidock's relay (MD_OP_STDIO), or -1 */
  int host_pid;      /* our pid as minidock sees it, sent with MD_MSG_RELEASE_PID (0: not sent) — the HOOK
                        steps' state; set in the child's own copy of this struct (a plan with SYNC is never
                        cloned with CLONE_VM) */
};

/* Runs in the cloned child: executes the plan and execve()s. Returns only on failure. */
int md_child_main(void *plan);

#endif
