/* The OOM verdict: was the container's own first process (its init) killed for memory?
 *
 * Decided here, once, for both parents of a container: `minidock run` (src/runtime/report.ts calls
 * md_oom_killed through libminidock.so) and the detached container's monitor (monitor.c). The
 * message naming every victim stays in TypeScript; this is only the yes/no that state.json's
 * oomKilled and the "container killed: out of memory" line rest on.
 *
 * The evidence:
 *   - the exit: an OOM kill is a SIGKILL;
 *   - the memory cgroup's counter (v1 memory.oom_control, v2 memory.events "oom_kill N"): an OOM
 *     kill happened in THIS container, but not whom it took. A side process killed for memory and
 *     the init then SIGKILLed by someone else (`kill -9` from the host) look the same;
 *   - the kernel log: every OOM kill prints "Killed process PID (comm)" with the host pid. Unlike
 *     the detailed "oom-kill:" report, that line is not rate-limited, so when the log has such lines
 *     since the container started and none names the init, the init was not the victim.
 * Without a readable log (not root, dmesg_restrict, or nothing logged), Docker's rule remains:
 * SIGKILL and at least one OOM kill in the cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Does one record line "prio,seq,usec,flags[,...];text" at or after since_us say "Killed process "?
 * 1 and *named when it names `pid`; 0 otherwise (continuation lines " KEY=value" have no header). */
static int killed_line(const char *line, int pid, unsigned long long since_us, int *named) {
  const char *semi = strchr(line, ';');
  const char *c1 = strchr(line, ',');
  const char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
  if (!semi || !c2 || c2 > semi || line[0] < '0' || line[0] > '9') return 0;
  if (strtoull(c2 + 1, NULL, 10) < since_us) return 0; /* older than the container: a pid is reused */
  const char *k = strstr(semi + 1, "Killed process ");
  if (!k) return 0;
  char *end;
  long who = strtol(k + 15, &end, 10);
  if (who == pid && *end == ' ') *named = 1;
  return 1;
}

/* 1: the init (host pid `pid`) was OOM-killed; 0: it was not. `signal` is what ended it (0 for an
 * exit), `oom_kills` the cgroup's counter, `since_us` when the container started on the kernel
 * log's clock (CLOCK_MONOTONIC, microseconds), `kmsg` the log (/dev/kmsg; a file in tests).
 * /dev/kmsg gives one record per read() and, opened O_NONBLOCK, EAGAIN at the end of the log
 * instead of waiting for the next message; a plain file gives many lines per read: both are split
 * into lines here. */
int md_oom_killed(int pid, int signal, long long oom_kills, long long since_us, const char *kmsg) {
  if (signal != SIGKILL || oom_kills <= 0) return 0;
  int fd = open(kmsg, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return 1;
  char buf[8192];
  size_t have = 0;
  int any = 0, named = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
    if (n < 0 && errno == EPIPE) continue; /* a record was overwritten while we read: skip it */
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* EAGAIN (/dev/kmsg) or end of file */
    have += (size_t)n;
    buf[have] = 0;
    char *line = buf, *nl;
    while ((nl = strchr(line, '\n'))) {
      *nl = 0;
      any |= killed_line(line, pid, (unsigned long long)since_us, &named);
      line = nl + 1;
    }
    /* /dev/kmsg records end in '\n'; a file's last partial line waits for the next read (a line
     * longer than the buffer is dropped) */
    have = strlen(line);
    if (have == sizeof buf - 1) have = 0;
    memmove(buf, line, have);
  }
  if (have) {
    buf[have] = 0;
    any |= killed_line(buf, pid, (unsigned long long)since_us, &named);
  }
  close(fd);
  return named || !any;
}
