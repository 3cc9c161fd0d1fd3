/* spawn.h — what spawn.c offers the monitor (monitor.c); Node reaches the same code through the
 * md_* functions that src/sys/native.ts binds. */
#ifndef MINIDOCK_SPAWN_H
#define MINIDOCK_SPAWN_H

#include <stdint.h>

/* The parent's ends of what md_spawn made for one child, by name; -1 where the plan needed none.
 * (md_spawned_fd(MD_SPAWNED_*) hands the same fds to TypeScript, one at a time.) */
struct md_spawned {
  int report_fd;   /* read end of the report pipe: md_report records, EOF once the child exec'd or died */
  int sync_fd;     /* write end of the sync pipe: MD_MSG_RELEASE lets the child past its SYNC step */
  int console_fd;  /* our end of the console socket (MD_OP_CONSOLE): the pty master arrives on it */
  int stdio_fd[3]; /* our ends of the pipes that replaced the child's fds 0-2 (MD_OP_STDIO) */
};

/* clone() the child that runs the plan in buf; its fds go to *out. The child's host pid, or -errno. */
int md_spawn_into(const uint8_t *buf, uint32_t len, int64_t clone_flags, struct md_spawned *out);

/* Receive one fd sent with SCM_RIGHTS (the pty master from the console step), or -errno. */
int md_recv_fd(int sock);
int md_send_fd_to(const char *path, int fd, const char *name);

#endif
