#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "ss.h"

int ss_close(int fd) {
  /*
   * Never retry on EINTR: Linux has already released the fd by then, and a retry could close an fd
   * another thread has just been given.
   */
  if (close(fd) == 0 || errno == EINTR) return 0;
  return errno;
}

int ss_dup(int fd, int *out) {
  /* F_DUPFD_CLOEXEC rather than dup + FD_CLOEXEC: no window where a fork+exec inherits the copy. */
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return errno;
  *out = copy;
  return 0;
}
