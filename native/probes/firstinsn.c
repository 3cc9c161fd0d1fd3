/*
 * firstinsn: time to first instruction.
 *
 * The benchmark reads CLOCK_MONOTONIC on the host just before it starts a runtime
 * (`minidock run`, `runc run`, `docker run`, ...) with this probe as the container's command;
 * the probe prints CLOCK_MONOTONIC as the very first thing it does. The difference is how long
 * the runtime took until the container's own code ran: everything before is the runtime's cost,
 * everything after (exit, teardown) is not part of this figure.
 *
 * Why this works across namespaces: CLOCK_MONOTONIC is not affected by PID, mount or network
 * namespaces (only a time namespace could offset it, and no runtime here creates one), so the
 * host's and the container's readings share one time axis.
 *
 * Static (the busybox rootfs has no libc) and tiny: output is one line, "firstinsn <ns>\n",
 * written with one write(2) so that it cannot be interleaved.
 */
#include <time.h>
#include <unistd.h>

int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* first thing: nothing else runs before this in main */
  unsigned long long ns = (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
  char buf[48] = "firstinsn ";
  char digits[24];
  int n = 0;
  do {
    digits[n++] = (char)('0' + ns % 10);
    ns /= 10;
  } while (ns);
  int p = 10;
  while (n) buf[p++] = digits[--n];
  buf[p++] = '\n';
  return write(1, buf, (size_t)p) == p ? 0 : 1;
}
