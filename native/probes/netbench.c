/*
 * netbench: TCP throughput between two ends, for `minidock bench network`.
 *
 *   netbench recv PORT              listen on 0.0.0.0:PORT; for every connection: read to EOF, then
 *                                   write back the byte count (8 bytes) and close; forever
 *   netbench send ADDR PORT BYTES   connect to the IPv4 ADDR:PORT (retrying for 10 s while nothing
 *                                   listens yet), write BYTES zero bytes in 128 KiB writes, shut the
 *                                   writing side, read the receiver's count; print one line:
 *                                   "netbench bytes=N ns=T" (T: connected -> count received)
 *
 * The clock runs on the sender only, from the established connection to the receiver's count: the
 * count is sent after the receiver read the last byte, so T covers delivery, not only the sender's
 * writes into its socket buffer (which can hold megabytes). The connection set-up is not in T.
 * Static and without name resolution: it runs in the busybox rootfs, and no DNS is involved.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (128 * 1024)
static char buf[CHUNK];

static unsigned long long now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static int full_write(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static int recv_main(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 8) != 0) {
    perror("netbench recv: listen");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN); /* a sender that went away must not kill the receiver */
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    unsigned long long total = 0;
    for (;;) {
      ssize_t r = read(c, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      total += (unsigned long long)r;
    }
    full_write(c, &total, sizeof total);
    close(c);
  }
}

static int send_main(const char *addr, int port, unsigned long long bytes) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
    fprintf(stderr, "netbench send: %s is not an IPv4 address\n", addr);
    return 2;
  }
  int s = -1;
  unsigned long long deadline = now() + 10000000000ULL;
  for (;;) {
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) break;
    int e = errno;
    close(s);
    /* a published port answers with a reset until the container's receiver listens */
    if (now() > deadline || (e != ECONNREFUSED && e != ECONNRESET && e != EHOSTUNREACH && e != ENETUNREACH)) {
      fprintf(stderr, "netbench send: connect %s:%d: %s\n", addr, port, strerror(e));
      return 1;
    }
    usleep(20000);
  }
  unsigned long long t0 = now(), left = bytes;
  while (left) {
    size_t n = left < CHUNK ? (size_t)left : CHUNK;
    if (full_write(s, buf, n) != 0) {
      perror("netbench send: write");
      return 1;
    }
    left -= n;
  }
  shutdown(s, SHUT_WR);
  unsigned long long got = 0;
  size_t have = 0;
  while (have < sizeof got) {
    ssize_t r = read(s, (char *)&got + have, sizeof got - have);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      fprintf(stderr, "netbench send: the receiver closed without its count\n");
      return 1;
    }
    have += (size_t)r;
  }
  unsigned long long t1 = now();
  if (got != bytes) {
    fprintf(stderr, "netbench send: sent %llu bytes, the receiver read %llu\n", bytes, got);
    return 1;
  }
  printf("netbench bytes=%llu ns=%llu\n", bytes, t1 - t0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "recv") == 0) return recv_main(atoi(argv[2]));
  if (argc == 5 && strcmp(argv[1], "send") == 0) return send_main(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10));
  fprintf(stderr, "usage: netbench recv PORT | netbench send ADDR PORT BYTES\n");
  return 2;
}
