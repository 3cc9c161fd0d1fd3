/*
 * monitor.c — the parent of a detached container (`minidock run -d`).
 *
 * Why a separate program: `minidock run -d` must return at once, but a container needs a parent
 * that stays: to reap it (or it lingers as a zombie and its exit status is lost), to copy its
 * output into a log, and to record how it ended. Node cannot stay behind cheaply (~40 MiB per
 * container), so minidock execs this small, single-threaded, statically linked C program instead
 * (Podman's conmon plays the same role; Docker uses containerd-shim, ~13 MiB each).
 *
 * It reuses the launch code of the foreground path: md_spawn_into() (spawn.c) clones the container,
 * which runs the same byte-coded plan in child.c, and the same launch protocol with the child (the
 * functions under "the launch protocol" below; src/runtime/handshake.ts draws it whole). The
 * conversation with `minidock run -d` happens on fd 3 (MD_MONITOR_CTL_FD), a unix socket:
 *
 *   CLI -> monitor   u32 length, plan bytes
 *   monitor -> CLI   i32 pid of the container (or -errno)      the child now waits at its SYNC step
 *   CLI -> monitor   'G' (MD_MSG_RELEASE)  after writing the pid into the cgroup (EOF: give up)
 *                          (these two only without --no-sync, below)
 *   monitor -> CLI   u32 n, n x struct md_report                after EOF on the report pipe (= exec);
 *                          on success, state.json says "running" before this is sent
 *   CLI -> monitor   'A' (MD_MSG_ACK)  the CLI will print the ID (EOF: kill the container, leave it to gc)
 *
 * With --no-sync (cgroup v1, where the child joins its cgroups itself: planLaunch in build-plan.ts
 * decides) the plan has no SYNC step and nobody sends 'G': the monitor clones with
 * CLONE_VM|CLONE_VFORK, as the foreground launch does, and sends the pid and the records in one
 * write. The CLI does not wait after its 'A' either: every round trip here is paid by every
 * `minidock run -d`.
 *
 * Then it copies the container's stdout/stderr into DIR/container.log as json-file lines
 * ({"log":"…\n","stream":"stdout","time":"RFC3339"}), forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT/
 * SIGUSR1/SIGUSR2 to the container, reaps it, writes state.json (a temp file, fdatasync'd, then
 * renamed: a reader never sees half a file; in place only on a full disk, see overwrite_in_place),
 * removes the cgroup, with --rm the whole container directory, and exits.
 *
 * The log (--log-driver, --log-opt: src/runtime/log-config.ts): with --log-max-size BYTES it is
 * rotated between two lines, as Docker's json-file: container.log becomes container.log.1, .1 .2 and
 * so on up to .(--log-max-file - 1), the oldest dropped (rotate_log; lifecycle/logs.ts reads them
 * back oldest first, and follows across a rotation by inode). With --log none no file is made: the
 * output is still read (a full pipe would block the container) and dropped.
 *
 * Stdin (--stdin: run -d -i, create -i + start): the container's fd 0 is the read end of a pipe whose
 * write end (non-blocking) we keep, and we listen on the abstract unix socket "minidock-attach/ID"
 * (no file: the kernel frees the name with our last fd, SIGKILL included; SO_PEERCRED admits root and
 * our own uid). What `minidock attach` sends goes into the pipe one chunk at a time, up to 8
 * attachers; an attacher's EOF closes its connection only, the container's stdin stays open. All of
 * it is closed at the container's exit.
 *
 * A restart policy (--restart always|on-failure, src/runtime/restart-policy.ts decides what this
 * run is told) is carried out here, at the exit: unless the user stopped the container (the mark
 * DIR/manually-stopped, left by stop and kill) the monitor writes "restarting" with the count,
 * removes the cgroups, waits out the back-off (--restart-delay, or 100 ms after a run of 10 s or
 * more, as Docker) and then execs the --relaunch command line (`minidock start --relaunch ID`) in
 * its own process: same pid, same start time, so state.json's keeper never looks gone. That
 * minidock makes the next run with the launch code every run uses (cgroups and their limits, the
 * network, the user namespace's maps) and a new monitor, then exits. Nothing of this run is left
 * when it does: the container was reaped, its cgroups removed, every fd here is close-on-exec.
 *
 * The event journal (`minidock events`, src/runtime/lifecycle/events.ts): with --events FILE ATTRS
 * the monitor appends what only it sees — oom and die at the exit, destroy after --rm, restart
 * before a policy's relaunch — one JSON line each, one O_APPEND write (journal_event).
 *
 * usage: minidock-monitor DIR CLONE_FLAGS [--rm] [--no-sync] [--oom FILE] [--cgroup DIR]...
 *          [--log none | --log-max-size BYTES --log-max-file N] [--stdin] [--events FILE ATTRS]
 *          [--restart always|on-failure --restart-delay MS] [--restart-count N]
 *          [--health INTERVAL_MS TIMEOUT_MS START_PERIOD_MS START_INTERVAL_MS RETRIES TIMEOUT_TEXT N ARG...]
 *          [--relaunch ARGV...]
 */
#define _GNU_SOURCE
#include "plan.h"
#include "spawn.h" /* (ours, native/spawn.h: not posix_spawn's <spawn.h>) */

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* from rmtree.c */
int md_rmtree(const char *dir);
/* from oom.c */
int md_oom_killed(int pid, int signal, long long oom_kills, long long since_us, const char *kmsg);

#define CTL MD_MONITOR_CTL_FD
#define MAX_CGROUPS 16
#define LINE_MAX_BYTES 8192 /* a longer line is logged in pieces, as Docker's json-file does at 16 KiB */

static const char *dir;
static const char *oom_file;
static const char *cgroups[MAX_CGROUPS];
static int ncgroups, auto_remove, no_sync;
static char boot_id[40];
/* the event journal and the attributes each of our events carries ("image":"…","name":"…") */
static const char *events_file, *event_attrs;

/* The restart policy for this run: when (0: never), the count so far, the back-off if the run was
 * short, and the command line that makes the next run (the rest of argv after --relaunch). */
enum { RESTART_NEVER, RESTART_ALWAYS, RESTART_ON_FAILURE };
static int restart_when, restart_count;
static long restart_delay_ms = 100;
static char **relaunch_argv;
#define BACKOFF_FIRST_MS 100
#define BACKOFF_RESET_AFTER_MS 10000

/* The log on a full (or read-only, or failing) filesystem: the first error, the bytes logged before
 * it and the bytes of output lost after it. Recorded in state.json as "logError". */
static int log_errno;
static unsigned long long log_written, log_lost;

/* --log-driver none (--log none): no container.log at all, the output is read and dropped. json-file's
 * rotation (--log-max-size BYTES, 0: never; --log-max-file N): see rotate_log. log_size is the size of
 * the current container.log (log_written counts every file). */
static int log_none, log_max_file = 1;
static unsigned long long log_max_size, log_size;

/* -i (--stdin): the write end of the container's stdin pipe (-1: none, or closed), the abstract unix
 * socket `minidock attach` connects to, and the attachers connected now. */
#define MAX_ATTACHERS 8
static int keep_stdin, stdin_w = -1, attach_fd = -1, attachers[MAX_ATTACHERS], nattachers;
static char in_buf[16384];
static size_t in_len, in_off;

/* ---- small helpers ---- */

static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static int write_full(int fd, const void *buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t r = write(fd, (const char *)buf + put, n - put);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    put += (size_t)r;
  }
  return 0;
}

/* RFC 3339 in UTC with nanoseconds, like Docker's timestamps */
static void rfc3339(char *out, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* field 22 of /proc/PID/stat: the start time in clock ticks since boot. With the pid it names a
 * process for good: a recycled pid has another start time (gc and stop rely on this). */
static unsigned long long start_ticks(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may contain spaces and parentheses */
  if (!p) return 0;
  for (int field = 2; field < 22 && p; field++) p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void read_boot_id(void) {
  int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, boot_id, sizeof boot_id - 1);
  close(fd);
  boot_id[n > 36 ? 36 : (n < 0 ? 0 : n)] = 0;
}

/* JSON string escaping: quote, backslash and control characters; other bytes pass through. */
static size_t json_escape(char *out, const char *in, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '"' || c == '\\')
      out[o++] = '\\', out[o++] = (char)c;
    else if (c == '\n')
      out[o++] = '\\', out[o++] = 'n';
    else if (c == '\r')
      out[o++] = '\\', out[o++] = 'r';
    else if (c == '\t')
      out[o++] = '\\', out[o++] = 't';
    else if (c < 0x20 || c == 0x7f) {
      memcpy(out + o, "\\u00", 4);
      o += 4;
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    } else
      out[o++] = (char)c;
  }
  return o;
}

/* ---- the event journal ---- */

/* One line of the journal, as events.ts writes them: {"time","type","action","id","attributes"}; the
 * id is the container directory's name. One write() on an O_APPEND file: concurrent writers' lines
 * never interleave. Best effort: an event that cannot be written is not worth failing the exit for. */
static void journal_event(const char *action, const char *extra) {
  if (!events_file) return;
  char ts[40], line[4096];
  const char *id = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
  const char *attrs = event_attrs ? event_attrs : "";
  rfc3339(ts, sizeof ts);
  int n = snprintf(line, sizeof line,
                   "{\"time\":\"%s\",\"type\":\"container\",\"action\":\"%s\",\"id\":\"%s\",\"attributes\":{%s%s%s}}\n",
                   ts, action, id, extra, *extra && *attrs ? "," : "", attrs);
  if (n <= 0 || (size_t)n >= sizeof line) return;
  int fd = open(events_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (write(fd, line, (size_t)n) < 0) {} /* (best effort) */
  close(fd);
}

/* ---- state.json ---- */

struct outcome {
  int pid;
  unsigned long long pid_start, mon_start;
  char started[64], finished[64];
  int exited, exit_code, signal, oom_killed;
  long oom_kills;
  int restarting; /* exited, and to be restarted after delay_ms */
  long delay_ms;
  const char *error; /* why a restart could not be made */
};

/* The last resort of a state write on a full filesystem (ENOSPC, EDQUOT), as writeState does in
 * TypeScript (store.ts, overwriteInPlace): the new text over the old file's own bytes, in blocks it
 * already has (st_blocks), so no new block is needed where the temp file needed one. Not atomic: it
 * is used only when the alternative is to lose the exit code. Padded with spaces to the old length
 * (JSON allows trailing whitespace) so that no old tail stays. 0, or -1. */
static int overwrite_in_place(const char *path, const char *body, size_t n) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  char padded[8192];
  int ok = fstat(fd, &st) == 0;
  size_t len = ok && (size_t)st.st_size > n ? (size_t)st.st_size : n;
  ok = ok && len <= sizeof padded && len <= (size_t)st.st_blocks * 512;
  if (ok) {
    memcpy(padded, body, n);
    memset(padded + n, ' ', len - n);
    ok = pwrite(fd, padded, len, 0) == (ssize_t)len && fdatasync(fd) == 0;
  }
  close(fd);
  return ok ? 0 : -1;
}

/* Write state.json: 0, or the errno of a write that failed (after the in-place last resort). */
static int write_state(const struct outcome *o) {
  char tmp[4096], path[4096], cg[4096];
  size_t c = 0;
  cg[0] = 0;
  for (int i = 0; i < ncgroups && c < sizeof cg - 1; i++) {
    char esc[1024 * 6];
    size_t l = strlen(cgroups[i]);
    if (l > 1000) continue;
    size_t e = json_escape(esc, cgroups[i], l);
    c += (size_t)snprintf(cg + c, sizeof cg - c, "%s\"%.*s\"", i ? "," : "", (int)e, esc);
  }
  char body[8192], ended[256] = "", logerr[512] = "", restart[1200] = "";
  if (log_errno) {
    /* what happened to the log, in state.json beside the exit code (strerrorname_np: glibc 2.32) */
    snprintf(logerr, sizeof logerr,
             "\"logError\":\"container.log: %s (%s) after %llu bytes; %llu bytes of output were not logged\",",
             strerror(log_errno), strerrorname_np(log_errno) ? strerrorname_np(log_errno) : "?", log_written, log_lost);
  }
  if (o->exited) {
    char sig[32] = "";
    if (o->signal) snprintf(sig, sizeof sig, "\"signal\":%d,", o->signal);
    snprintf(ended, sizeof ended, "\"finishedAt\":\"%s\",\"exitCode\":%d,%s\"oomKilled\":%s,\"oomKills\":%ld,",
             o->finished, o->exit_code, sig, o->oom_killed ? "true" : "false", o->oom_kills);
  }
  /* the restart policy's count (inspect's RestartCount), the back-off being waited, a failed restart */
  size_t r = (size_t)snprintf(restart, sizeof restart, "\"restartCount\":%d,", restart_count);
  if (o->restarting) r += (size_t)snprintf(restart + r, sizeof restart - r, "\"restartDelayMs\":%ld,", o->delay_ms);
  if (o->error) {
    char esc[200 * 6];
    size_t l = strnlen(o->error, 200), e = json_escape(esc, o->error, l);
    snprintf(restart + r, sizeof restart - r, "\"error\":\"%.*s\",", (int)e, esc);
  }
  /* the cgroup paths stay listed after the exit: rm and gc retry what the monitor could not remove */
  int n = snprintf(body, sizeof body,
                   "{\"status\":\"%s\",\"pid\":%d,\"pidStart\":%llu,\"monitorPid\":%d,\"monitorStart\":%llu,"
                   "\"startedAt\":\"%s\",%s%s%s\"cgroupPaths\":[%s],\"bootId\":\"%s\",\"autoRemove\":%s}\n",
                   o->restarting ? "restarting"
                   : o->exited   ? "exited"
                                 : "running",
                   o->pid, o->pid_start, (int)getpid(), o->mon_start, o->started, ended, logerr, restart, cg, boot_id,
                   auto_remove ? "true" : "false");
  snprintf(tmp, sizeof tmp, "%s/state.json.%d.tmp", dir, (int)getpid());
  snprintf(path, sizeof path, "%s/state.json", dir);
  if (n <= 0 || (size_t)n >= sizeof body) return EOVERFLOW;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    if (write_full(fd, body, (size_t)n) < 0 || fdatasync(fd) < 0) err = errno ? errno : EIO;
    close(fd);
    /* rename() replaces the old file in one step: readers see the old state or the new one */
    if (!err && rename(tmp, path) < 0) err = errno;
    if (err) unlink(tmp);
  }
  if (err && (err == ENOSPC || err == EDQUOT) && overwrite_in_place(path, body, (size_t)n) == 0) err = 0;
  return err;
}

/* ---- the log ---- */

struct stream {
  int fd;
  const char *name;
  size_t len;
  char buf[LINE_MAX_BYTES];
};

static int log_fd = -1;

/* (Re)open DIR/container.log for appending; log_size from what it holds (start appends to it). */
static void open_log(void) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/container.log", dir);
  log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) log_errno = errno;
  log_size = log_fd >= 0 && fstat(log_fd, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

/* json-file's rotation, as Docker's: container.log becomes container.log.1, .1 becomes .2 and so on
 * up to .(max-file - 1), the oldest is dropped, and a new container.log is started. Called between
 * two lines, so every file holds whole lines. Renamed from the oldest down: at every moment each
 * file is under one name or another. A reader holding the old file open reads it to its end (we
 * never write to it again) and then finds the next by its inode (lifecycle/logs.ts). */
static void rotate_log(void) {
  char from[4200], to[4200];
  close(log_fd);
  log_fd = -1;
  snprintf(to, sizeof to, "%s/container.log.%d", dir, log_max_file - 1);
  if (log_max_file > 1) unlink(to);
  for (int i = log_max_file - 2; i >= 1; i--) {
    snprintf(from, sizeof from, "%s/container.log.%d", dir, i);
    snprintf(to, sizeof to, "%s/container.log.%d", dir, i + 1);
    rename(from, to); /* (ENOENT: not that many files yet) */
  }
  snprintf(from, sizeof from, "%s/container.log", dir);
  if (log_max_file > 1) {
    snprintf(to, sizeof to, "%s/container.log.1", dir);
    rename(from, to);
  } else {
    unlink(from); /* max-file=1: the current file only; it starts again empty */
  }
  open_log();
}

static void log_line(struct stream *s) {
  static char out[LINE_MAX_BYTES * 6 + 256];
  char ts[40];
  if (!s->len) return;
  if (log_fd < 0 || log_errno) { /* no log (any more): the output is read and counted, never blocks the container */
    log_lost += s->len;
    s->len = 0;
    return;
  }
  rfc3339(ts, sizeof ts);
  size_t o = 0;
  memcpy(out, "{\"log\":\"", 8);
  o = 8;
  o += json_escape(out + o, s->buf, s->len);
  o += (size_t)snprintf(out + o, sizeof out - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", s->name, ts);
  if (log_max_size && log_size > 0 && log_size + o > log_max_size) {
    rotate_log();
    if (log_fd < 0) { /* the new file could not be made: as a full disk, the log stops here */
      log_lost += s->len;
      s->len = 0;
      return;
    }
  }
  /* one write per line, O_APPEND: readers never see lines interleave */
  if (write_full(log_fd, out, o) < 0) {
    /* A full disk (or a failing one): the log stops here, rather than go on with holes. Half a line
     * may have been written: cut it off (ftruncate to a smaller size needs no space). */
    log_errno = errno ? errno : ENOSPC;
    if (ftruncate(log_fd, (off_t)log_size) < 0) {} /* best effort: logs skips a line it cannot parse */
    log_lost += s->len;
  } else {
    log_written += o;
    log_size += o;
  }
  s->len = 0;
}

static void log_bytes(struct stream *s, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    s->buf[s->len++] = p[i];
    if (p[i] == '\n' || s->len == sizeof s->buf) log_line(s);
  }
}

/* ---- stdin: `minidock attach` to a `run -d -i` container ---- */

/* The socket attach connects to, in the abstract namespace: "\0minidock-attach/ID" (Linux). Not a file
 * in the container directory: the kernel frees an abstract name with its last fd, so nothing is left
 * behind even when the monitor is SIGKILLed, and the directory's path may be longer than sun_path's
 * 108 bytes. Any process of the host's network namespace can connect to an abstract name, so
 * accept_attacher lets in only root and our own uid (SO_PEERCRED). Not fatal: without it the
 * container runs, and attach says its stdin cannot be reached. */
static void listen_attach(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  const char *id = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
  int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "minidock-attach/%s", id);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || n <= 0 || (size_t)n >= sizeof a.sun_path - 1) return;
  /* The whole sun_path, zeros after the name included: an abstract name is its bytes up to the
   * address length, and Node 20 (libuv) connects with all 108 (measured: strace of net.connect). */
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, MAX_ATTACHERS) < 0) {
    close(fd);
    return;
  }
  attach_fd = fd;
}

static void accept_attacher(void) {
  int c = accept4(attach_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (c < 0) return;
  struct ucred cr;
  socklen_t l = sizeof cr;
  if (nattachers == MAX_ATTACHERS || getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0 ||
      (cr.uid != 0 && cr.uid != geteuid())) {
    close(c); /* (attach sees EOF at once) */
    return;
  }
  attachers[nattachers++] = c;
}

static void drop_attacher(int fd) {
  for (int i = 0; i < nattachers; i++)
    if (attachers[i] == fd) {
      close(fd);
      attachers[i] = attachers[--nattachers];
      return;
    }
}

/* What an attacher sent, into the container's stdin as far as the pipe takes it now. EPIPE: the
 * container closed its stdin (or has no reader left): what comes from now on is dropped. */
static void flush_stdin(void) {
  while (stdin_w >= 0 && in_off < in_len) {
    ssize_t w = write(stdin_w, in_buf + in_off, in_len - in_off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return; /* the pipe is full: POLLOUT tells when to go on */
    if (w < 0) {
      close(stdin_w);
      stdin_w = -1;
      break;
    }
    in_off += (size_t)w;
  }
  in_off = in_len = 0;
}

/* The poll entries of the stdin side, from pf[k]: the listening socket; then the pipe (POLLOUT)
 * while a chunk waits for room in it, else every attacher (POLLIN). One chunk at a time: a
 * container that does not read its stdin makes the attachers wait (their sockets fill), never the
 * monitor. Several attachers may be connected; each chunk goes in whole, so their input interleaves
 * only at chunk boundaries (what one read() of the socket returned). The new k. */
static int stdin_pollfds(struct pollfd *pf, int k) {
  if (attach_fd >= 0) pf[k].fd = attach_fd, pf[k++].events = POLLIN;
  if (stdin_w >= 0 && in_off < in_len) {
    pf[k].fd = stdin_w, pf[k++].events = POLLOUT;
    return k;
  }
  for (int i = 0; i < nattachers; i++) pf[k].fd = attachers[i], pf[k++].events = POLLIN;
  return k;
}

static void stdin_events(const struct pollfd *pf, int from, int to) {
  for (int i = from; i < to; i++) {
    if (!pf[i].revents) continue;
    if (pf[i].fd == attach_fd) {
      accept_attacher();
    } else if (pf[i].fd == stdin_w) {
      flush_stdin(); /* (POLLERR: no reader left, the write sees EPIPE) */
    } else if (in_off == in_len) {
      ssize_t got = read(pf[i].fd, in_buf, sizeof in_buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) { /* attach's stdin ended (or attach died): the container's stdin stays open */
        drop_attacher(pf[i].fd);
        continue;
      }
      in_off = 0, in_len = (size_t)got;
      flush_stdin();
    }
  }
}

/* At the container's exit: the socket, the attachers (they see EOF) and the pipe go. */
static void close_stdin_side(void) {
  if (attach_fd >= 0) close(attach_fd), attach_fd = -1;
  while (nattachers) close(attachers[--nattachers]);
  if (stdin_w >= 0) close(stdin_w), stdin_w = -1;
  in_off = in_len = 0;
}

/* ---- cleanup without Node ---- */

/* rmdir the container's cgroups. The container's init is reaped, and when a PID namespace's init
 * dies the kernel SIGKILLs everything else in it, but those may take a moment to go: EBUSY means
 * "still has tasks", so kill what is listed and retry for up to ~2 s. */
static void remove_cgroups(void) {
  for (int i = 0; i < ncgroups; i++) {
    for (int tries = 0; tries < 200; tries++) {
      if (rmdir(cgroups[i]) == 0 || errno == ENOENT) break;
      if (errno != EBUSY) break;
      char path[4200], buf[4096];
      snprintf(path, sizeof path, "%s/cgroup.procs", cgroups[i]);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        for (char *p = buf; *p;) {
          long pid = strtol(p, &p, 10);
          if (pid > 0) kill((int)pid, SIGKILL);
          while (*p == '\n') p++;
          if (pid <= 0) break;
        }
      }
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
}

/* --rm, or a launch the CLI abandoned: the container directory (upper layer, log, state). The
 * overlay itself was mounted in the container's mount namespace and went away with its last
 * process: no umount needed here. */
static void remove_dir(void) { md_rmtree(dir); }

static unsigned long long monotonic_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

static int reap(int pid) {
  int st = 0;
  while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {}
  return st;
}

/* ---- the launch protocol, monitor side (src/runtime/handshake.ts is the TypeScript side) ---- */

/* Let the child past its SYNC step: it is in its cgroup. */
static void release_child(struct md_spawned *c) {
  char go = MD_MSG_RELEASE;
  write_full(c->sync_fd, &go, 1);
  close(c->sync_fd);
  c->sync_fd = -1;
}

/* Give up on a child that has not exec'd. Closing our end of the sync pipe is not enough: the child
 * got a copy of every fd at clone time, the pipe's write end included, so it would never see EOF. */
static void abandon_child(int pid, struct md_spawned *c) {
  if (c->sync_fd >= 0) close(c->sync_fd), c->sync_fd = -1;
  kill(pid, SIGKILL);
  reap(pid);
}

/* The report pipe to EOF — the child exec'd (the pipe is close-on-exec) or died — as records; room
 * is left for one more (MD_REPORT_STATE). NULL when out of memory. */
static struct md_report *read_report(int fd, uint32_t *nrec) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (n == cap) {
      char *bigger = realloc(buf, cap *= 2);
      if (!bigger) free(buf);
      buf = bigger;
    }
    if (!buf) return NULL;
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  *nrec = (uint32_t)(n / sizeof(struct md_report));
  char *fit = realloc(buf, (*nrec + 1) * sizeof(struct md_report));
  if (!fit) free(buf);
  return (struct md_report *)fit;
}

/* A step failed (its errno > 0), or the child died before it reported any. */
static int launch_failed(const struct md_report *recs, uint32_t nrec) { return nrec == 0 || recs[nrec - 1].err > 0; }

/* ---- the healthcheck (--health-cmd; src/runtime/lifecycle/health.ts decides the arguments) ---- */

/* Docker's HEALTHCHECK, carried out by a keeper: a fork of this monitor, made once the container
 * runs, that probes it every interval and records the verdict in DIR/health.json. A process of its
 * own so that a probe (a Node `minidock exec`, ~0.1 s of CPU) never holds up the log or a signal
 * here; it dies with us (PR_SET_PDEATHSIG) and we SIGKILL it at the container's exit. A probe is a
 * child of the keeper in a process group of its own, and its command inside the container is a
 * child of that `minidock exec` with PR_SET_PDEATHSIG too (child.c, fork_into_namespace): killing
 * one kills the chain, so no probe outlives the keeper, and nothing outlives the container's PID
 * namespace. */

#define HEALTH_LOG 5       /* results kept, as Docker's maxLogEntries */
#define HEALTH_OUTPUT 4096 /* bytes of a probe's output kept, as Docker's maxOutputLen */

static struct {
  long interval_ms, timeout_ms, start_period_ms, start_interval_ms;
  int retries, argc;
  const char *timeout_text; /* the timeout as Docker prints it ("1s", "1m30s"): the timeout's Output */
  char **argv;              /* the probe: minidock exec --root ROOT ID /bin/sh -c CMD (or the CMD form) */
} hc;
static int health_keeper_pid = -1;

struct probe_result {
  char start[40], end[40];
  int exit_code;
  size_t len;
  int truncated;
  char out[HEALTH_OUTPUT];
};

/* --health INTERVAL_MS TIMEOUT_MS START_PERIOD_MS START_INTERVAL_MS RETRIES TIMEOUT_TEXT N ARG... :
 * the index of its last word (or i, unchanged, when it does not parse: then no healthcheck). */
static int health_args(int argc, char **argv, int i) {
  if (i + 7 >= argc) return i;
  int n = atoi(argv[i + 7]);
  if (n <= 0 || i + 7 + n >= argc) return i;
  hc.interval_ms = atol(argv[i + 1]);
  hc.timeout_ms = atol(argv[i + 2]);
  hc.start_period_ms = atol(argv[i + 3]);
  hc.start_interval_ms = atol(argv[i + 4]);
  hc.retries = atoi(argv[i + 5]);
  hc.timeout_text = argv[i + 6];
  hc.argc = n;
  hc.argv = malloc(((size_t)n + 1) * sizeof *hc.argv);
  if (!hc.argv) return i + 7 + n;
  for (int k = 0; k < n; k++) hc.argv[k] = argv[i + 8 + k];
  hc.argv[n] = NULL;
  return i + 7 + n;
}

/* DIR/health.json as Docker's State.Health: {"Status","FailingStreak","Log":[{Start,End,ExitCode,
 * Output}]}, oldest result first. A temp file renamed over the old one: readers see one or the
 * other. Not fdatasync'd: the verdict is about a running container and is rewritten every
 * interval; after a crash of the machine none is running. */
static void health_write(const char *status, int streak, const struct probe_result *log, int nlog) {
  size_t cap = 512 + (size_t)nlog * (HEALTH_OUTPUT * 6 + 256), o = 0;
  char *body = malloc(cap), tmp[4200], path[4200];
  if (!body) return;
  o += (size_t)snprintf(body, cap, "{\"Status\":\"%s\",\"FailingStreak\":%d,\"Log\":[", status, streak);
  for (int k = 0; k < nlog; k++) {
    const struct probe_result *r = &log[k];
    o += (size_t)snprintf(body + o, cap - o, "%s{\"Start\":\"%s\",\"End\":\"%s\",\"ExitCode\":%d,\"Output\":\"",
                          k ? "," : "", r->start, r->end, r->exit_code);
    o += json_escape(body + o, r->out, r->len);
    o += (size_t)snprintf(body + o, cap - o, "%s\"}", r->truncated ? "..." : "");
  }
  o += (size_t)snprintf(body + o, cap - o, "]}\n");
  snprintf(tmp, sizeof tmp, "%s/health.json.%d.tmp", dir, (int)getpid());
  snprintf(path, sizeof path, "%s/health.json", dir);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    int ok = write_full(fd, body, o) == 0;
    close(fd);
    if (!ok || rename(tmp, path) < 0) unlink(tmp);
  }
  free(body);
}

/* Kill a probe that outlived its timeout: the command `minidock exec` runs in the container (its
 * child, found by PPid in /proc: this kernel has no /proc/PID/task/TID/children) with its process
 * group (exec gives it a session of its own, so `sh -c 'sleep 5'` goes whole), then the exec. */
static void kill_probe(int pid) {
  char path[64], buf[512];
  struct dirent *d;
  DIR *proc = opendir("/proc");
  while (proc && (d = readdir(proc))) {
    int p = atoi(d->d_name);
    if (p <= 0) continue;
    snprintf(path, sizeof path, "/proc/%d/stat", p);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *s = strrchr(buf, ')'); /* "pid (comm) S ppid ...": the name may hold anything */
    if (s && atoi(s + 4) == pid) kill(-p, SIGKILL), kill(p, SIGKILL);
  }
  if (proc) closedir(proc);
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
}

/* One probe: its output (stdout and stderr, the first HEALTH_OUTPUT bytes) and exit code, or -1 and
 * Docker's "Health check exceeded timeout (1s)" when it ran longer than the timeout. */
static void run_probe(int sfd, struct probe_result *r) {
  int p[2];
  memset(r, 0, sizeof *r);
  rfc3339(r->start, sizeof r->start);
  if (pipe2(p, O_CLOEXEC) < 0) {
    r->exit_code = -1, r->len = (size_t)snprintf(r->out, sizeof r->out, "pipe: %s", strerror(errno));
    rfc3339(r->end, sizeof r->end);
    return;
  }
  int pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    dup2(p[1], 1);
    dup2(p[1], 2);
    sigset_t none;
    sigemptyset(&none);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(hc.argv[0], hc.argv);
    dprintf(2, "%s: %s", hc.argv[0], strerror(errno));
    _exit(127);
  }
  close(p[1]);
  if (pid > 0) setpgid(pid, pid); /* (also in the child: whichever runs first) */
  unsigned long long deadline = monotonic_us() + (unsigned long long)hc.timeout_ms * 1000ull;
  int status = 0, exited = pid < 0, timed_out = 0, out = p[0];
  if (pid < 0) r->len = (size_t)snprintf(r->out, sizeof r->out, "fork: %s", strerror(errno)), status = 1 << 8;
  while (!exited) {
    unsigned long long now = monotonic_us();
    if (now >= deadline) {
      kill_probe(pid);
      reap(pid);
      timed_out = exited = 1;
      break;
    }
    struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN}, {.fd = out, .events = POLLIN}};
    int r2 = poll(pf, out >= 0 ? 2 : 1, (int)((deadline - now + 999) / 1000));
    if (r2 < 0 && errno != EINTR) break;
    if (r2 > 0 && (pf[0].revents & POLLIN)) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) < 0) {}
      if (waitpid(pid, &status, WNOHANG) == pid) exited = 1;
    }
    if (out >= 0 && r2 > 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[4096];
      ssize_t got = read(out, buf, sizeof buf);
      if (got <= 0 && !(got < 0 && errno == EINTR)) {
        close(out), out = -1;
      } else if (got > 0) {
        size_t room = sizeof r->out - r->len, take = (size_t)got < room ? (size_t)got : room;
        memcpy(r->out + r->len, buf, take);
        r->len += take;
        if (take < (size_t)got) r->truncated = 1;
      }
    }
  }
  /* what it wrote before it ended (a process it left behind may keep the pipe open: no waiting) */
  if (out >= 0) {
    fcntl(out, F_SETFL, O_NONBLOCK);
    char buf[4096];
    ssize_t got;
    while (!timed_out && (got = read(out, buf, sizeof buf)) > 0) {
      size_t room = sizeof r->out - r->len, take = (size_t)got < room ? (size_t)got : room;
      memcpy(r->out + r->len, buf, take);
      r->len += take;
      if (take < (size_t)got) r->truncated = 1;
    }
    close(out);
  }
  rfc3339(r->end, sizeof r->end);
  if (timed_out) {
    r->exit_code = -1, r->truncated = 0;
    r->len = (size_t)snprintf(r->out, sizeof r->out, "Health check exceeded timeout (%s)", hc.timeout_text);
  } else {
    r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

/* The keeper's loop: Docker's state machine (moby daemon/health.go). "starting" until the first
 * success; a success makes it "healthy" and clears the failing streak; a failure adds to the streak
 * unless the container is still "starting" inside its start period; `retries` failures in a row
 * make it "unhealthy". Each change is journaled as `health_status: healthy` (Docker's action). The
 * wait before a probe is the interval, or the start interval while starting within the start
 * period. Ends when the container is gone (the monitor reaped it: its pid and start time no longer
 * name a process) — its verdict about a dead container is not recorded. */
static void health_keeper(int cpid, unsigned long long cstart) {
  static struct probe_result log[HEALTH_LOG];
  int nlog = 0, streak = 0;
  const char *status = "starting";
  unsigned long long started = monotonic_us();
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK); /* (SIGCHLD is blocked: inherited mask) */
  for (;;) {
    int starting = !strcmp(status, "starting");
    long since_ms = (long)((monotonic_us() - started) / 1000);
    sleep_ms(starting && since_ms < hc.start_period_ms ? hc.start_interval_ms : hc.interval_ms);
    struct probe_result r;
    long at_ms = (long)((monotonic_us() - started) / 1000);
    run_probe(sfd, &r);
    if (start_ticks(cpid) != cstart) _exit(0);
    const char *was = status;
    if (r.exit_code == 0) {
      streak = 0, status = "healthy";
    } else if (!(!strcmp(status, "starting") && at_ms < hc.start_period_ms) && ++streak >= hc.retries) {
      status = "unhealthy";
    }
    if (nlog == HEALTH_LOG) memmove(log, log + 1, sizeof log - sizeof *log), nlog--;
    log[nlog++] = r;
    health_write(status, streak, log, nlog);
    if (strcmp(status, was)) {
      char action[64];
      snprintf(action, sizeof action, "health_status: %s", status);
      journal_event(action, "");
    }
  }
}

/* Before the container is reported running: health.json says "starting", whatever an earlier run
 * of the container left there. */
static void health_begin(void) {
  if (hc.argv) health_write("starting", 0, NULL, 0);
}

/* Once the container runs and the CLI took it: the keeper. Its fds are 0-2 on /dev/null, nothing
 * else of ours (the log, the output pipes, the attach socket stay the monitor's alone). */
static void health_start(int cpid, unsigned long long cstart) {
  if (!hc.argv) return;
  int monitor = getpid();
  int pid = fork();
  if (pid != 0) {
    health_keeper_pid = pid;
    return;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != monitor) _exit(0); /* we died before the line above */
  int nul = open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; fd++) dup2(nul, fd);
  syscall(SYS_close_range, 3u, ~0u, 0u);
  health_keeper(cpid, cstart);
  _exit(0);
}

/* At the container's exit, before anything is recorded: the keeper and its probe go, reaped. */
static void health_stop(void) {
  if (health_keeper_pid <= 0) return;
  kill(health_keeper_pid, SIGKILL);
  reap(health_keeper_pid);
  health_keeper_pid = -1;
}

/* ---- main, in the order of a run ---- */

static long long parse_args(int argc, char **argv) {
  dir = argv[1];
  long long clone_flags = strtoll(argv[2], NULL, 0);
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--rm"))
      auto_remove = 1;
    else if (!strcmp(argv[i], "--no-sync"))
      no_sync = 1;
    else if (!strcmp(argv[i], "--oom") && i + 1 < argc)
      oom_file = argv[++i];
    else if (!strcmp(argv[i], "--log") && i + 1 < argc)
      log_none = !strcmp(argv[++i], "none");
    else if (!strcmp(argv[i], "--log-max-size") && i + 1 < argc)
      log_max_size = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--log-max-file") && i + 1 < argc)
      log_max_file = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
    else if (!strcmp(argv[i], "--stdin"))
      keep_stdin = 1;
    else if (!strcmp(argv[i], "--cgroup") && i + 1 < argc && ncgroups < MAX_CGROUPS)
      cgroups[ncgroups++] = argv[++i];
    else if (!strcmp(argv[i], "--events") && i + 2 < argc) {
      events_file = argv[++i];
      event_attrs = argv[++i];
    } else if (!strcmp(argv[i], "--restart") && i + 1 < argc) {
      i++;
      restart_when = !strcmp(argv[i], "always")       ? RESTART_ALWAYS
                     : !strcmp(argv[i], "on-failure") ? RESTART_ON_FAILURE
                                                      : 0;
    } else if (!strcmp(argv[i], "--restart-count") && i + 1 < argc)
      restart_count = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--restart-delay") && i + 1 < argc)
      restart_delay_ms = atol(argv[++i]);
    else if (!strcmp(argv[i], "--health"))
      i = health_args(argc, argv, i);
    else if (!strcmp(argv[i], "--relaunch") && i + 1 < argc) {
      relaunch_argv = argv + i + 1; /* the rest of argv, NULL-terminated as main's argv is */
      break;
    }
  }
  if (!relaunch_argv) restart_when = RESTART_NEVER; /* nothing to restart with */
  return clone_flags;
}

/* Signals arrive through a signalfd, read in the poll loop of relay_until_exit: no handlers, no
 * races. The container's child resets its mask and dispositions first thing (child.c). */
static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static int signal_fd(void) {
  sigset_t set;
  sigemptyset(&set);
  for (unsigned i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaddset(&set, forwarded[i]);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  return signalfd(-1, &set, SFD_CLOEXEC);
}

/* The plan from the CLI: u32 length, bytes. NULL when the CLI went away or sent nonsense. */
static uint8_t *read_plan(uint32_t *len) {
  if (read_full(CTL, len, 4) < 0 || *len == 0 || *len > (64u << 20)) return NULL;
  uint8_t *plan = malloc(*len);
  if (plan && read_full(CTL, plan, *len) < 0) free(plan), plan = NULL;
  return plan;
}

/* container.log (not with --log none), and the pipes whose write ends become the container's fds 1
 * and 2 (out[0], err[0] are the read ends); with --stdin, the pipe whose read end is its fd 0 (the
 * plan's STDIO step keeps fd 0 as inherited with -i), its write end ours (stdin_w). -1 without pipes. */
static int open_log_and_pipes(int out[2], int err[2]) {
  if (!log_none) open_log();
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) return -1;
  dup2(out[1], 1); /* dup2 leaves the copies inheritable: the child gets them as its fds 0, 1 and 2 */
  dup2(err[1], 2);
  close(out[1]);
  close(err[1]);
  if (keep_stdin) {
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0) return -1;
    dup2(in[0], 0);
    close(in[0]);
    stdin_w = in[1];
    /* never blocks the monitor: a container that does not read its stdin must not stop its log */
    fcntl(stdin_w, F_SETFL, O_NONBLOCK);
  }
  return 0;
}

/* Clone the container and, unless --no-sync, hand its pid to the CLI and release it on the CLI's
 * word. The pid, or -1 (nothing left running; the CLI was told a -errno, or went away). */
static int start_container(uint8_t *plan, uint32_t len, long long clone_flags, struct md_spawned *child) {
  /* without a SYNC step the child needs nothing from us before exec: vfork-style, as posix_spawn,
   * and md_spawn_into returns only once it has exec'd or died */
  int pid = md_spawn_into(plan, len, clone_flags | (no_sync ? CLONE_VM | CLONE_VFORK : 0), child);
  free(plan);
  /* only the container may hold the write ends of the output pipes, or we would never see EOF */
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (keep_stdin) dup2(nul, 0); /* (the stdin pipe's read end: the container's alone too) */
  dup2(nul, 1);
  dup2(nul, 2);
  close(nul);
  int32_t p32 = pid;
  if (pid < 0) {
    write_full(CTL, &p32, 4);
    return -1;
  }
  if (no_sync) { /* the pid goes out later, in one write with the records: every write wakes the CLI */
    close(child->sync_fd);
    child->sync_fd = -1;
    return pid;
  }
  char c = 0;
  if (write_full(CTL, &p32, 4) < 0 || read_full(CTL, &c, 1) < 0 || c != MD_MSG_RELEASE) {
    abandon_child(pid, child); /* the CLI died, gave up, or could not join the cgroup */
    return -1;
  }
  release_child(child);
  return pid;
}

/* The step records to the CLI ([pid (--no-sync)] u32 n, n records: one write), after state.json says
 * "running" on success. 0: the container runs and the CLI took it (MD_MSG_ACK); 1: it failed, the CLI
 * has the records and removes it; -1: abandoned (gone, with its cgroups and directory). */
static int report_to_cli(int *pidp, int report_fd, struct outcome *o) {
  uint32_t nrec = 0;
  struct md_report *recs = read_report(report_fd, &nrec);
  if (!recs) {
    kill(*pidp, SIGKILL);
    reap(*pidp);
    remove_cgroups();
    return -1;
  }
  /* A joined PID namespace (--pid container:): the process we cloned forked the init (MD_OP_FORK,
   * CLONE_PARENT: our child too), reported its pid and exited. From here the init is the container:
   * the one waited for, signalled and recorded. (Its record is no step's: it goes.) */
  for (uint32_t i = 0; i < nrec; i++) {
    if (recs[i].step != MD_REPORT_PID) continue;
    reap(*pidp);
    *pidp = o->pid = recs[i].err;
    o->pid_start = start_ticks(*pidp);
    memmove(&recs[i], &recs[i + 1], (nrec - i - 1) * sizeof *recs);
    nrec--;
    break;
  }
  int pid = *pidp;
  int failed = launch_failed(recs, nrec);
  if (failed) {
    reap(pid); /* the CLI reports the failed step and removes the container */
  } else {
    /* "running" before the CLI hears of it: `minidock ps` right after `run -d` lists it */
    rfc3339(o->started, sizeof o->started);
    int e = write_state(o);
    if (e) {
      /* Unrecorded (a full or read-only disk), the container would run where no verb can see it:
       * it goes now, and the CLI says why (one more record) and removes the directory. */
      kill(pid, SIGKILL);
      reap(pid);
      remove_cgroups();
      recs[nrec++] = (struct md_report){.step = MD_REPORT_STATE, .err = e};
      failed = 1;
    }
  }
  size_t head = no_sync ? 8 : 4, msg_len = head + nrec * sizeof(struct md_report);
  char *msg = malloc(msg_len);
  if (msg) {
    int32_t p32 = pid;
    if (no_sync) memcpy(msg, &p32, 4);
    memcpy(msg + head - 4, &nrec, 4);
    memcpy(msg + head, recs, nrec * sizeof(struct md_report));
    write_full(CTL, msg, msg_len);
    free(msg);
  }
  free(recs);
  if (failed) return msg ? 1 : -1; /* (already reaped: no kill now, its pid may be another's) */
  char c = 0;
  if (!msg || read_full(CTL, &c, 1) < 0 || c != MD_MSG_ACK) {
    /* The CLI died before it could tell anyone the ID: nobody knows this container exists, so
     * it goes entirely, --rm or not. (Left behind, its state.json would say "running" under a
     * monitor that is gone: a container that ran, which gc keeps as the user's, dead, until rm.)
     * Its name link, if any, is released by the next claim of the name or by gc. */
    kill(pid, SIGKILL);
    reap(pid);
    remove_cgroups();
    remove_dir();
    return -1;
  }
  close(CTL);
  return 0;
}

/* Copy the container's output into the log and forward signals until it has exited and its output
 * is drained. Returns its wait status. */
static int relay_until_exit(int sfd, int pid, int out_fd, int err_fd, int console_fd) {
  static struct stream so = {.name = "stdout"}, se = {.name = "stderr"}, tty = {.name = "stdout"};
  so.fd = out_fd;
  se.fd = err_fd;
  struct stream *streams[3] = {&so, &se, NULL};
  if (console_fd >= 0) { /* -t: the child sent the pty master; its output is the container's stdout */
    tty.fd = md_recv_fd(console_fd);
    close(console_fd);
    if (tty.fd >= 0) streams[2] = &tty;
  }
  int status = 0, exited = 0;
  struct timespec deadline = {0, 0};
  for (;;) {
    struct pollfd pf[4 + 2 + MAX_ATTACHERS];
    struct stream *who[4];
    int k = 0;
    pf[k].fd = sfd, pf[k].events = POLLIN, who[k++] = NULL;
    for (int i = 0; i < 3; i++)
      if (streams[i] && streams[i]->fd >= 0) pf[k].fd = streams[i]->fd, pf[k].events = POLLIN, who[k++] = streams[i];
    if (exited && k == 1) break;
    int ks = k; /* pf[ks..k): the stdin side (none after the exit) */
    k = stdin_pollfds(pf, k);
    int timeout = -1;
    if (exited) {
      /* after the exit, drain what is left; a descriptor someone else still holds ends it */
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long ms = (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1000000;
      if (ms <= 0) break;
      timeout = (int)ms;
    }
    int r = poll(pf, (nfds_t)k, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (pf[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
          if (!exited && waitpid(pid, &status, WNOHANG | __WALL) == pid) {
            exited = 1;
            close_stdin_side();
            clock_gettime(CLOCK_MONOTONIC, &deadline);
            deadline.tv_sec += 2;
          }
        } else if (!exited) {
          kill(pid, (int)si.ssi_signo); /* PID 1 ignores what it has no handler for: stop escalates */
        }
      }
    }
    if (!exited) stdin_events(pf, ks, k);
    for (int i = 1; i < ks; i++) {
      if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[16384];
      ssize_t got = read(who[i]->fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got > 0) {
        log_bytes(who[i], buf, (size_t)got);
      } else { /* EOF, or EIO from a pty whose last slave is closed */
        log_line(who[i]);
        close(who[i]->fd);
        who[i]->fd = -1;
      }
    }
  }
  if (!exited) status = reap(pid);
  close_stdin_side();
  for (int i = 0; i < 3; i++)
    if (streams[i]) log_line(streams[i]);
  return status;
}

/* ---- the restart policy ---- */

/* The user stopped it (stop; kill with SIGKILL or SIGTERM): Docker restarts no such container. */
static int manually_stopped(void) {
  char path[4200];
  snprintf(path, sizeof path, "%s/manually-stopped", dir);
  return access(path, F_OK) == 0;
}

/* Its directory is still there (rm removes it: then there is nothing to restart). */
static int still_there(void) {
  char path[4200];
  snprintf(path, sizeof path, "%s/state.json", dir);
  return access(path, F_OK) == 0;
}

/* The policy's verdict on this exit (restart-policy.ts told this run when, and the count limit by
 * leaving --restart out): 1 to restart, with o->delay_ms set to the back-off. */
static int should_restart(struct outcome *o, unsigned long long ran_ms) {
  if (restart_when == RESTART_NEVER || manually_stopped()) return 0;
  if (restart_when == RESTART_ON_FAILURE && o->exit_code == 0) return 0;
  /* Docker's back-off goes back to its first step after a run of 10 s or more */
  o->delay_ms = ran_ms >= BACKOFF_RESET_AFTER_MS ? BACKOFF_FIRST_MS : restart_delay_ms;
  return 1;
}

/* The back-off, in slices of 50 ms: a stop (its mark) or an rm (the directory gone) meanwhile ends
 * the wait, and the restart with it. 1: restart now; 0: not. Signals sent to the monitor now stay
 * pending in the signalfd: there is no container to forward them to. */
static int wait_backoff(long delay_ms) {
  for (long waited = 0;; waited += 50) {
    if (manually_stopped() || !still_there()) return 0;
    if (waited >= delay_ms) return 1;
    long slice = delay_ms - waited < 50 ? delay_ms - waited : 50;
    struct timespec ts = {0, slice * 1000 * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
  }
}

/* Become `minidock start --relaunch ID`: the signals this program blocked are unblocked (a mask
 * survives execve) once those pending are read away (else an old SIGTERM would kill the relaunch
 * at once). Returns only if execve failed. */
static void relaunch(int sfd) {
  struct signalfd_siginfo si;
  fcntl(sfd, F_SETFL, O_NONBLOCK);
  while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {}
  close(sfd);
  sigset_t none;
  sigemptyset(&none);
  signal(SIGPIPE, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execv(relaunch_argv[0], relaunch_argv);
}

/* How it ended, into state.json; the OOM counter is read before the cgroup goes. */
static void record_exit(int pid, int status, unsigned long long started_us, struct outcome *o) {
  if (WIFSIGNALED(status))
    o->signal = WTERMSIG(status), o->exit_code = 128 + o->signal;
  else
    o->exit_code = WEXITSTATUS(status);
  if (oom_file) {
    FILE *f = fopen(oom_file, "re");
    char line[256];
    while (f && fgets(line, sizeof line, f))
      if (!strncmp(line, "oom_kill ", 9)) o->oom_kills = strtol(line + 9, NULL, 10);
    if (f) fclose(f);
  }
  /* OOMKilled: the container's own process was killed for memory (oom.c decides, for run too) */
  o->oom_killed = md_oom_killed(pid, o->signal, o->oom_kills, (long long)started_us, "/dev/kmsg");
  o->exited = 1;
  rfc3339(o->finished, sizeof o->finished);
}

/* The exit into state.json: "exited", or "restarting" with the count one higher. */
static void write_exit(struct outcome *o) {
  if (o->restarting) restart_count++;
  /* If even this fails, state.json still says "running" under a monitor that is gone: every verb
   * then shows the container as dead, exit status unknown, kept until rm — nothing more to do.
   * Written before the monitor exits, never after: a reader that finds this process gone reads
   * state.json again and takes that as final (store.ts staleReason). */
  /* The journal before state.json: whoever sees the exit there (wait, stop) finds the die already
   * journaled, so `stop` journals its stop after it, and `wait; events --until now` shows it. */
  char code[48];
  snprintf(code, sizeof code, "\"exitCode\":\"%d\"", o->exit_code);
  if (o->oom_kills > 0) journal_event("oom", "");
  journal_event("die", code);
  write_state(o);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr,
            "usage: %s DIR CLONE_FLAGS [--rm] [--no-sync] [--oom FILE] [--cgroup DIR]...\n"
            "(started by `minidock run -d`, not by hand)\n",
            argv[0]);
    return 2;
  }
  long long clone_flags = parse_args(argc, argv);
  fcntl(CTL, F_SETFD, FD_CLOEXEC); /* the container must not inherit our line to the CLI */
  read_boot_id();
  struct outcome o;
  memset(&o, 0, sizeof o);
  o.mon_start = start_ticks(getpid());
  int sfd = signal_fd();

  uint32_t len = 0;
  uint8_t *plan = read_plan(&len);
  int out[2], err[2];
  if (!plan || open_log_and_pipes(out, err) < 0) return 1;

  /* the kernel log's clock is close to CLOCK_MONOTONIC; one second of margin */
  unsigned long long started_us = monotonic_us() > 1000000ull ? monotonic_us() - 1000000ull : 0;
  struct md_spawned child;
  int pid = start_container(plan, len, clone_flags, &child);
  if (pid < 0) {
    remove_cgroups();
    return 1;
  }
  o.pid = pid;
  o.pid_start = start_ticks(pid);
  health_begin();
  if (keep_stdin) listen_attach(); /* before the CLI prints the ID: attach may come right after */
  int reported = report_to_cli(&pid, child.report_fd, &o);
  if (reported) return reported > 0 ? 0 : 1;
  health_start(pid, o.pid_start);

  unsigned long long ran_from_us = monotonic_us();
  int status = relay_until_exit(sfd, pid, out[0], err[0], child.console_fd);
  health_stop();
  record_exit(pid, status, started_us, &o);
  o.restarting = should_restart(&o, (monotonic_us() - ran_from_us) / 1000);
  write_exit(&o);
  if (log_fd >= 0) close(log_fd);
  remove_cgroups(); /* (before a restart too: the next run makes them again, with the same paths) */
  if (auto_remove) remove_dir(), journal_event("destroy", "");
  if (!o.restarting) return 0;
  if (wait_backoff(o.delay_ms)) {
    char count[48];
    snprintf(count, sizeof count, "\"restartCount\":\"%d\"", restart_count);
    journal_event("restart", count);
    relaunch(sfd);
    o.error = "the restart policy's relaunch could not be executed (execve failed)";
  }
  /* stopped or removed during the back-off (or execve failed): the exit stands, final */
  o.restarting = 0;
  if (still_there()) write_state(&o);
  return 0;
}
