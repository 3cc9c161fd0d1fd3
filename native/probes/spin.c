/*
 * spin SECONDS [THREADS] — burn CPU in THREADS busy processes (default 1) for SECONDS of WALL time,
 * then print "spun S s, cpu U s" (the CPU time this process and its children got, from times()).
 *
 * Wall time, not CPU time: under a CFS quota the process is throttled, so it receives less CPU than
 * wall time; the ratio cpu/wall is the achieved share of one CPU that the cgroup allowed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void burn(double secs) {
  double end = now() + secs;
  volatile unsigned long x = 0;
  while (now() < end)
    for (int i = 0; i < 100000; i++) x += i;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: spin SECONDS [THREADS]\n");
    return 2;
  }
  double secs = atof(argv[1]);
  int threads = argc > 2 ? atoi(argv[2]) : 1;
  if (secs <= 0 || threads < 1) {
    fprintf(stderr, "spin: SECONDS must be > 0 and THREADS >= 1\n");
    return 2;
  }
  double t0 = now();
  for (int i = 1; i < threads; i++) {
    pid_t p = fork();
    if (p < 0) {
      perror("spin: fork");
      return 1;
    }
    if (p == 0) {
      burn(secs);
      _exit(0);
    }
  }
  burn(secs);
  while (wait(NULL) > 0) {}
  struct tms t;
  times(&t);
  long hz = sysconf(_SC_CLK_TCK);
  double cpu = (double)(t.tms_utime + t.tms_stime + t.tms_cutime + t.tms_cstime) / hz;
  printf("spun %.3f s, cpu %.3f s\n", now() - t0, cpu);
  return 0;
}
