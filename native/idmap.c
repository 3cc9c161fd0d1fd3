/*
 * idmap.c — an idmapped lower layer for a container with a user namespace (src/runtime/userns.ts
 * idmapLowerLayers), called from Node through ffi-rs while the child waits at its SYNC step.
 *
 * Why: ./rootfs belongs to the host's root. Seen from a user namespace that maps 0 inside to 100000
 * outside, host uid 0 is unmapped and shows as 65534, and overlayfs refuses to copy up a directory
 * whose owner it cannot name in the upper layer (EOVERFLOW): the container could not write in /tmp.
 * An idmapped mount (Linux 5.12; under overlayfs 5.19) shows the same files through the container's
 * maps instead: host uid 0 appears as uid 0 inside, and a copy-up writes the mapped owner (100000)
 * into the upper layer. The rootfs on disk is not changed, and no per-container chown copy is made.
 *
 * Who can make it: mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN over the user namespace the
 * source filesystem was mounted in (the host's, for ext4) and works only on a detached mount — a
 * clone made by open_tree(OPEN_TREE_CLONE) that is attached nowhere yet (mount_setattr(2)). The
 * container's root has no capability over the host's namespace, so minidock (host root) makes it.
 * The idmapping is copied from the namespace's uid_map/gid_map at that moment, so it is made after
 * minidock wrote the maps, before the child is released to mount its overlay.
 *
 * How it reaches the child: runc and crun make such mounts outside and pass the fds to the container
 * process over a socket (SCM_RIGHTS), which move_mount()s them into place. Here a short-lived helper
 * does that move instead: cloned from this process, it setns()es into the child's mount namespace
 * (host root has every capability over the child's user namespace, which owns it) and move_mount()s
 * the detached tree ONTO the lower layer's own path there. The child's plan is unchanged — its overlay
 * still names lowerdir=ROOTFS, and in its mount namespace that path is now the idmapped mount — and
 * nothing is ever mounted in the host's namespace: the mount lives and dies with the container's
 * mount namespace, so a SIGKILL at any moment leaves nothing behind. (setns() into a mount namespace
 * is refused in a multi-threaded process such as Node, hence the helper; it shares our memory with
 * CLONE_VM|CLONE_VFORK, as posix_spawn does, and we sleep until it has exited.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif

struct move_args {
  int mntns_fd, tree_fd;
  const char *target;
  int err; /* written by the helper (shared memory), read after it exited */
};

/* The helper: into the child's mount namespace, then the detached tree onto `target` there. It
 * shares our memory, so it only makes raw system calls and _exits. */
static int move_into(void *p) {
  struct move_args *a = p;
  if (syscall(SYS_setns, a->mntns_fd, CLONE_NEWNS) < 0) {
    a->err = errno;
    _exit(1);
  }
  if (syscall(SYS_move_mount, a->tree_fd, "", AT_FDCWD, a->target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    a->err = errno;
    _exit(2);
  }
  a->err = 0;
  _exit(0);
}

/*
 * Mount `path` (a directory) idmapped through the user namespace of `pid` onto `path` itself, in the
 * mount namespace of `pid`. Returns 0, or a negative code telling which call failed: -(errno) for
 * open_tree, -(1000 + errno) for mount_setattr, -(2000 + errno) for setns, -(3000 + errno) for
 * move_mount, -(4000 + errno) for opening the /proc/PID/ns files or the helper's clone.
 */
int md_idmap_onto(int pid, const char *path) {
  char userns_path[64], mntns_path[64];
  snprintf(userns_path, sizeof userns_path, "/proc/%d/ns/user", pid);
  snprintf(mntns_path, sizeof mntns_path, "/proc/%d/ns/mnt", pid);
  int ret = 0, userns = -1, mntns = -1;
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return -errno;
  userns = open(userns_path, O_RDONLY | O_CLOEXEC);
  mntns = open(mntns_path, O_RDONLY | O_CLOEXEC);
  if (userns < 0 || mntns < 0) {
    ret = -(4000 + errno);
    goto out;
  }
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    ret = -(1000 + errno);
    goto out;
  }

  struct move_args a = {mntns, tree, path, -1};
  size_t stack_size = 64 * 1024;
  char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    ret = -(4000 + errno);
    goto out;
  }
  /* signals blocked around clone(), as in spawn.c: no Node handler may run in the helper */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int helper = clone(move_into, stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  munmap(stack, stack_size); /* (CLONE_VFORK: the helper has exited by now) */
  if (helper < 0) {
    ret = -(4000 + e);
    goto out;
  }
  int status;
  while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {}
  if (a.err != 0)
    ret = WIFEXITED(status) && WEXITSTATUS(status) == 1 ? -(2000 + a.err) : -(3000 + (a.err > 0 ? a.err : EIO));

out:
  close(tree);
  if (userns >= 0) close(userns);
  if (mntns >= 0) close(mntns);
  return ret;
}
