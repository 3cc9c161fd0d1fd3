/*
 * alloc MIB [STEP_MIB] — allocate and touch MIB MiB of ANONYMOUS memory, STEP_MIB (default 1) at a
 * time, printing "allocated N MiB" after each step; then print "done N MiB" and exit 0.
 *
 * Why anonymous memory: a memory cgroup limit is tested only by memory the kernel cannot simply drop.
 * Page cache (dd of=/tmp/file) is reclaimed at the limit instead of triggering the OOM killer, and
 * malloc'd memory that is never written costs nothing (the kernel maps pages on first touch). So each
 * step mmaps MAP_PRIVATE|MAP_ANONYMOUS and writes one byte per 4 KiB page: now the pages are charged
 * to the cgroup, and with no swap the only way out at the limit is the OOM killer.
 *
 * Also: "alloc -h HOLD_MS MIB" keeps the memory for HOLD_MS ms before exiting (to be OOM-killed while
 * a sibling allocates).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long hold_ms = 0;
  int a = 1;
  if (a + 1 < argc && strcmp(argv[a], "-h") == 0) {
    hold_ms = atol(argv[a + 1]);
    a += 2;
  }
  if (a >= argc) {
    fprintf(stderr, "usage: alloc [-h HOLD_MS] MIB [STEP_MIB]\n");
    return 2;
  }
  long total = atol(argv[a]);
  long step = a + 1 < argc ? atol(argv[a + 1]) : 1;
  if (total <= 0 || step <= 0) {
    fprintf(stderr, "alloc: MIB and STEP_MIB must be positive\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  long page = sysconf(_SC_PAGESIZE);
  long done = 0;
  while (done < total) {
    long n = step < total - done ? step : total - done;
    size_t bytes = (size_t)n << 20;
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      perror("alloc: mmap");
      return 1;
    }
    for (size_t off = 0; off < bytes; off += (size_t)page) p[off] = 1; /* touch: now it is charged */
    done += n;
    printf("allocated %ld MiB\n", done);
  }
  if (hold_ms > 0) {
    struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  printf("done %ld MiB\n", done);
  return 0;
}
