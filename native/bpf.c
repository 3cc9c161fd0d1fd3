/*
 * bpf.c — attach a device filter (an eBPF program) to a cgroup v2 directory.
 *
 * cgroup v2 has no devices.allow file: the kernel asks a BPF_PROG_TYPE_CGROUP_DEVICE program,
 * attached to the cgroup, whether each open()/mknod() of a device node may proceed. The program is
 * built in TypeScript (src/runtime/cgroups/device-bpf.ts); this file only hands it to the kernel:
 * bpf(BPF_PROG_LOAD) makes the verifier check it and returns an fd, bpf(BPF_PROG_ATTACH) attaches it
 * to the cgroup's directory. Both fds can be closed afterwards: the attachment keeps the program
 * alive until the cgroup is removed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char verifier_log[65536];

static int prog_load(const uint8_t *insns, uint32_t len, int with_log) {
  union bpf_attr load;
  memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insn_cnt = len / 8; /* sizeof(struct bpf_insn) */
  load.insns = (uint64_t)(uintptr_t)insns;
  load.license = (uint64_t)(uintptr_t) "GPL";
  if (with_log) { /* a log too small for the verifier's text fails the load (ENOSPC): only when needed */
    load.log_level = 1;
    load.log_buf = (uint64_t)(uintptr_t)verifier_log;
    load.log_size = sizeof verifier_log;
  }
  return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
}

/* Returns 0, or -errno. When the verifier rejects the program, md_bpf_log() has its explanation. */
int md_bpf_device_filter(const uint8_t *insns, uint32_t len, const uint8_t *cgroup_dir) {
  verifier_log[0] = 0;
  int prog = prog_load(insns, len, 0);
  if (prog < 0) {
    int e = errno;
    int again = prog_load(insns, len, 1); /* the same load once more, for the verifier's reasons */
    if (again >= 0) close(again);
    return -e;
  }

  int dir = open((const char *)cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    int e = errno;
    close(prog);
    return -e;
  }
  union bpf_attr attach;
  memset(&attach, 0, sizeof attach);
  attach.target_fd = dir;
  attach.attach_bpf_fd = prog;
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI; /* as runc: several programs may be attached */
  int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach);
  int e = errno;
  close(dir);
  close(prog);
  return r < 0 ? -e : 0;
}

/* The verifier's log of the last load, for an error message. */
const char *md_bpf_log(void) { return verifier_log; }
