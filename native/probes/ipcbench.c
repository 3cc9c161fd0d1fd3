/*
 * ipcbench: a ping-pong between two processes through shared memory and through a unix socket, for
 * `minidock bench ipc`. The two processes may be on the host, in two containers sharing /dev/shm
 * (--ipc container:NAME) or in two containers bind-mounting the same host directory: all they share
 * is the directory DIR.
 *
 *   ipcbench serve DIR                 make DIR/ipcbench.shm and DIR/ipcbench.sock, then
 *                                      DIR/ipcbench.ready; answer every request, forever
 *   ipcbench client DIR ROUNDS MIB     wait (10 s at most) for DIR/ipcbench.ready, then per transport:
 *                                      ROUNDS round trips of a 64-byte request and a 64-byte reply
 *                                      (latency), and MIB requests of 1 MiB each with a 4-byte reply
 *                                      (throughput); one line per transport:
 *                                      "ipcbench transport=shm|unix rounds=R rtt_ns=N bytes=B ns=T"
 *
 * Each side copies every byte (the server reads the whole request out before it replies), so both
 * transports move the same bytes the same number of times. Shared memory: a MAP_SHARED mapping of
 * the file; a request is signalled by bumping a sequence word and FUTEX_WAKE, after a short spin the
 * waiter sleeps in FUTEX_WAIT. Not FUTEX_PRIVATE: a shared futex is keyed by the file's inode and
 * offset, not by the address space, which is what lets two processes in different mount and IPC
 * namespaces (and different containers) wait on one word. The unix socket is bound to a path: a
 * path is found through the filesystem (the socket's inode), so a bind mount or a shared /dev/shm
 * reaches it whatever the network namespaces.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAXMSG (1024 * 1024)
#define SMALL 64
#define DATA_OFF 4096
#define SHM_SIZE (DATA_OFF + 2 * MAXMSG)
#define SPIN 20000

/* the control page: each sequence word on its own cache line */
struct ctl {
  _Atomic uint32_t req;
  char pad1[60];
  _Atomic uint32_t rep;
  char pad2[60];
  uint32_t len, replylen;
};

static char local[MAXMSG + 8];
static char path_shm[4096], path_sock[108], path_ready[4096]; /* 108: sun_path */

static unsigned long long now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *w, uint32_t v) { syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0); }
static void futex_wake(_Atomic uint32_t *w) { syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0); }

/* wait until *w != old: spin a little (the other side may be running on the other CPU), then sleep */
static uint32_t wait_change(_Atomic uint32_t *w, uint32_t old) {
  for (int i = 0; i < SPIN; i++) {
    uint32_t v = atomic_load_explicit(w, memory_order_acquire);
    if (v != old) return v;
  }
  for (;;) {
    futex_wait(w, old);
    uint32_t v = atomic_load_explicit(w, memory_order_acquire);
    if (v != old) return v;
  }
}

static int full_io(int fd, char *p, size_t n, int wr) {
  while (n) {
    ssize_t r = wr ? write(fd, p, n) : read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void paths(const char *dir) {
  if (strlen(dir) + sizeof "/ipcbench.sock" > sizeof path_sock) {
    fprintf(stderr, "ipcbench: %s is too long for a unix socket path\n", dir);
    exit(2);
  }
  snprintf(path_shm, sizeof path_shm, "%s/ipcbench.shm", dir);
  snprintf(path_sock, sizeof path_sock, "%s/ipcbench.sock", dir);
  snprintf(path_ready, sizeof path_ready, "%s/ipcbench.ready", dir);
}

static struct ctl *map_shm(int create) {
  int fd = open(path_shm, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0666);
  if (fd < 0 || (create && ftruncate(fd, SHM_SIZE) != 0)) return NULL;
  void *m = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return m == MAP_FAILED ? NULL : m;
}

static void serve_shm(struct ctl *c, uint32_t seen) {
  char *req = (char *)c + DATA_OFF, *rep = req + MAXMSG;
  for (;;) {
    seen = wait_change(&c->req, seen);
    uint32_t len = c->len, replylen = c->replylen;
    if (len > MAXMSG || replylen > MAXMSG) len = replylen = 0;
    memcpy(local, req, len);
    memcpy(rep, local, replylen);
    atomic_store_explicit(&c->rep, seen, memory_order_release);
    futex_wake(&c->rep);
  }
}

static void serve_conn(int fd) {
  uint32_t h[2];
  while (full_io(fd, (char *)h, sizeof h, 0) == 0) {
    if (h[0] > MAXMSG || h[1] > MAXMSG) break;
    if (full_io(fd, local, h[0], 0) != 0 || full_io(fd, local, h[1], 1) != 0) break;
  }
  close(fd);
}

static int serve_main(void) {
  unlink(path_ready);
  struct ctl *c = map_shm(1);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  memcpy(a.sun_path, path_sock, sizeof path_sock);
  unlink(path_sock);
  if (!c || s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 4) != 0) {
    perror("ipcbench serve");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  pid_t parent = getpid();
  uint32_t seen = atomic_load(&c->req); /* read before ready exists: no request can be missed */
  if (fork() == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* on the host nothing else would end the shm server */
    if (getppid() != parent) _exit(0);
    serve_shm(c, seen);
  }
  int r = open(path_ready, O_WRONLY | O_CREAT, 0644);
  if (r >= 0) close(r);
  for (;;) {
    int fd = accept(s, NULL, NULL);
    if (fd >= 0) serve_conn(fd);
  }
}

/* one request of len bytes, one reply of replylen bytes */
typedef int (*round_fn)(void *t, uint32_t len, uint32_t replylen);

static int shm_round(void *t, uint32_t len, uint32_t replylen) {
  struct ctl *c = t;
  char *req = (char *)c + DATA_OFF, *rep = req + MAXMSG;
  memcpy(req, local, len);
  c->len = len;
  c->replylen = replylen;
  uint32_t s = atomic_load(&c->req) + 1;
  atomic_store_explicit(&c->req, s, memory_order_release);
  futex_wake(&c->req);
  uint32_t v = atomic_load_explicit(&c->rep, memory_order_acquire);
  while (v != s) v = wait_change(&c->rep, v);
  memcpy(local, rep, replylen);
  return 0;
}

static int unix_round(void *t, uint32_t len, uint32_t replylen) {
  int fd = *(int *)t;
  uint32_t h[2] = {len, replylen};
  if (full_io(fd, (char *)h, sizeof h, 1) != 0 || full_io(fd, local, len, 1) != 0) return -1;
  return full_io(fd, local, replylen, 0);
}

static int measure(const char *name, round_fn f, void *t, long rounds, long mib) {
  for (int i = 0; i < 100; i++)
    if (f(t, SMALL, SMALL) != 0) return -1; /* warm-up: both sides awake, pages touched */
  unsigned long long t0 = now();
  for (long i = 0; i < rounds; i++)
    if (f(t, SMALL, SMALL) != 0) return -1;
  unsigned long long t1 = now();
  for (long i = 0; i < mib; i++)
    if (f(t, MAXMSG, 4) != 0) return -1;
  unsigned long long t2 = now();
  printf("ipcbench transport=%s rounds=%ld rtt_ns=%llu bytes=%llu ns=%llu\n", name, rounds, (t1 - t0) / rounds,
         (unsigned long long)mib * MAXMSG, t2 - t1);
  return 0;
}

static int client_main(long rounds, long mib) {
  unsigned long long deadline = now() + 10000000000ULL;
  struct stat st;
  while (stat(path_ready, &st) != 0) {
    if (now() > deadline) {
      fprintf(stderr, "ipcbench client: no server (%s missing after 10 s)\n", path_ready);
      return 1;
    }
    usleep(10000);
  }
  struct ctl *c = map_shm(0);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  memcpy(a.sun_path, path_sock, sizeof path_sock);
  if (!c || s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("ipcbench client");
    return 1;
  }
  if (measure("shm", shm_round, c, rounds, mib) != 0 || measure("unix", unix_round, &s, rounds, mib) != 0) {
    fprintf(stderr, "ipcbench client: the server went away\n");
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "serve") == 0) {
    paths(argv[2]);
    return serve_main();
  }
  if (argc == 5 && strcmp(argv[1], "client") == 0 && atol(argv[3]) > 0 && atol(argv[4]) >= 0) {
    paths(argv[2]);
    return client_main(atol(argv[3]), atol(argv[4]));
  }
  fprintf(stderr, "usage: ipcbench serve DIR | ipcbench client DIR ROUNDS MIB\n");
  return 2;
}
