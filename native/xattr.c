/*
 * xattr.c — filesystem calls Node has no API for, used by image import and export (src/image/).
 * They run in minidock's own (multi-threaded) process, never in the cloned child, so plain libc
 * is fine here. Each returns 0 (or a length) on success, -errno on failure.
 *
 * Why they are needed: overlayfs keeps its own metadata in the layer directories.
 *   - a deleted file is a whiteout: a character device with device number 0/0 (mknod);
 *   - a directory whose lower contents are hidden is "opaque": xattr trusted.overlay.opaque=y
 *     (trusted.* xattrs can only be read and written with CAP_SYS_ADMIN);
 * and image layers carry device nodes, FIFOs and xattrs (security.capability, ...) that Node's
 * fs module cannot create or read. md_open_beneath (openat2) reads a file of a rootfs or layer
 * without following any symlink out of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>

/* mknod(2): mode carries the type (S_IFCHR, S_IFBLK, S_IFIFO) and the permission bits. */
int md_mknod(const char *path, int mode, int major, int minor) {
  return mknod(path, (mode_t)mode, makedev((unsigned)major, (unsigned)minor)) < 0 ? -errno : 0;
}

/* lsetxattr(2): on the link itself, never following a symlink out of the layer. */
int md_lsetxattr(const char *path, const char *name, const void *value, int len) {
  return lsetxattr(path, name, value, (size_t)len, 0) < 0 ? -errno : 0;
}

/* lgetxattr(2) into buf (cap bytes): the value's length, or -errno (-ENODATA: no such xattr). */
int md_lgetxattr(const char *path, const char *name, void *buf, int cap) {
  ssize_t n = lgetxattr(path, name, buf, (size_t)cap);
  return n < 0 ? -errno : (int)n;
}

/* llistxattr(2) into buf: NUL-separated names; the total length, or -errno. */
int md_llistxattr(const char *path, char *buf, int cap) {
  ssize_t n = llistxattr(path, buf, (size_t)cap);
  return n < 0 ? -errno : (int)n;
}

/*
 * openat2(2) of `rel` below the directory `root`, read-only, with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS:
 * the kernel refuses (EXDEV, ELOOP) any ".." above root and any symlink on the way, including one
 * swapped in after minidock resolved the path (src/runtime/paths.ts resolves a container's symlinks
 * itself, inside the rootfs; this open then reaches exactly what it decided, or nothing).
 * O_NONBLOCK: opening a FIFO never waits for a writer. The fd, or -errno (-ENOSYS: a kernel before
 * 5.6, or a seccomp filter that refuses openat2).
 */
int md_open_beneath(const char *root, const char *rel) {
  int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return -errno;
  struct open_how how = {
      .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
  };
  long fd = syscall(SYS_openat2, dfd, rel, &how, sizeof how);
  int err = errno;
  close(dfd);
  return fd < 0 ? -err : (int)fd;
}
