// The three system calls behind minidock's netlink (src/runtime/network/netlink.ts builds and parses
// every message in TypeScript; C only opens the socket and moves the bytes). Each returns a value or
// -errno, like the rest of libminidock. These run in Node's main thread, never in the cloned child.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

/*
 * An AF_NETLINK socket of `protocol` (NETLINK_ROUTE for links, addresses and routes; NETLINK_NETFILTER
 * for nftables' objects). A netlink socket talks to the network namespace it was created
 * in, for its whole life: with netns_fd >= 0 (an open /proc/PID/ns/net) this thread enters that
 * namespace, creates the socket and comes back, all inside this one call, so no JavaScript ever runs
 * in the other namespace. setns(CLONE_NEWNET) changes the calling thread only, and unlike a mount
 * namespace it is allowed in a multi-threaded process: Node's other threads never notice.
 */
int md_nl_open(int netns_fd, int protocol) {
  int self = -1;
  if (netns_fd >= 0) {
    self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) return -errno;
    if (setns(netns_fd, CLONE_NEWNET) < 0) {
      int e = errno;
      close(self);
      return -e;
    }
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  int e = errno;
  if (self >= 0) {
    // back home; failing here would leave Node's main thread in the container's namespace
    if (setns(self, CLONE_NEWNET) < 0) _exit(125);
    close(self);
  }
  if (fd < 0) return -e;
  int one = 1;
  // CAP_ACK: an ack does not echo our whole request back. EXT_ACK: an error carries the kernel's own
  // sentence ("Nexthop has invalid gateway"), which minidock's one line repeats. Both best effort
  // (older kernels refuse them; the errno alone still reaches the user).
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  // the kernel answers a route request at once; a reply that never comes must not hang a launch
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/* sendto() the kernel (nl_pid 0): the bytes sent, or -errno. */
int md_nl_send(int fd, const unsigned char *buf, int len) {
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  ssize_t n;
  do n = sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&sa, sizeof sa);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : (int)n;
}

/* One datagram (one or more netlink messages) into buf: its length, or -errno (-EAGAIN after the
 * 5 s timeout). A datagram larger than cap is an error (-EMSGSIZE), never silently cut. */
int md_nl_recv(int fd, unsigned char *buf, int cap) {
  ssize_t n;
  do n = recv(fd, buf, (size_t)cap, MSG_TRUNC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  return n > cap ? -EMSGSIZE : (int)n;
}
