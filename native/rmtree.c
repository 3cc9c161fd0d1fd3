/*
 * rmtree.c — `rm -rf DIR` for a container's directory, shared by libminidock (a foreground
 * `run --rm`, `rm`) and the monitor (`run -d --rm`).
 *
 * nftw() walks the tree depth-first (FTW_DEPTH: a directory after its entries), never follows a
 * symlink (FTW_PHYS: a link the container left in its upper layer is removed, not its target) and
 * never crosses into another mount (FTW_MOUNT). In C this is a few syscalls per entry; Node's
 * fs.rmSync({recursive}) loads and runs its rimraf port, which cost ~2 ms of every `run --rm`.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

static int first_err;

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT && !first_err) first_err = errno;
  return 0; /* go on: remove as much as can be removed */
}

/* 0, or -errno of the first entry that could not be removed (a missing DIR is not an error) */
int md_rmtree(const char *dir) {
  first_err = 0;
  if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT) return -errno;
  return -first_err;
}
