#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ss.h"

/*
 * Unix SOCK_SEQPACKET sockets for the process hand-over. SEQPACKET rather than STREAM: each sendmsg arrives
 * as one recvmsg, with its SCM_RIGHTS attached to exactly that message, so no framing is needed and no
 * message can be read half, or glued to the next one's file descriptors.
 */
static int unix_address(const char *path, struct sockaddr_un *addr, socklen_t *len) {
  size_t length = strlen(path);
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  /* sun_path holds 108 bytes with the terminating NUL; a longer path would be cut silently by some APIs. */
  if (length == 0 || length >= sizeof addr->sun_path) return ENAMETOOLONG;
  memcpy(addr->sun_path, path, length);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length + 1);
  return 0;
}

int ss_unix_listen(const char *path, int backlog, int *out, const char **syscall) {
  struct sockaddr_un addr;
  socklen_t len;
  *syscall = "bind";
  int err = unix_address(path, &addr, &len);
  if (err != 0) return err;
  *syscall = "socket";
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  *syscall = "bind";
  if (bind(fd, (struct sockaddr *)&addr, len) != 0) goto fail;
  *syscall = "listen";
  if (listen(fd, backlog) != 0) goto fail;
  *out = fd;
  return 0;
fail:
  err = errno;
  close(fd);
  return err;
}

int ss_unix_connect(const char *path, int *out, const char **syscall) {
  struct sockaddr_un addr;
  socklen_t len;
  *syscall = "connect";
  int err = unix_address(path, &addr, &len);
  if (err != 0) return err;
  *syscall = "socket";
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  /*
   * A Unix connect never waits for the peer to accept: it succeeds at once when the listener's backlog has
   * room, and on a non-blocking socket fails with EAGAIN (not EINPROGRESS) when it has none.
   */
  *syscall = "connect";
  if (connect(fd, (struct sockaddr *)&addr, len) != 0) {
    err = errno;
    close(fd);
    return err;
  }
  *out = fd;
  return 0;
}
