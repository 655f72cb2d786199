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

/* The address of `path`, and a new non-blocking, close-on-exec SEQPACKET socket to bind or connect there. */
static int unix_socket(const char *path, struct sockaddr_un *addr, socklen_t *len, int *fd, const char **syscall) {
  *syscall = "socket";
  int err = unix_address(path, addr, len);
  if (err != 0) return err;
  *fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return *fd < 0 ? errno : 0;
}

/* Closes `fd` after a call on it failed, and returns that call's errno. */
static int fail(int fd) {
  int err = errno;
  close(fd);
  return err;
}

int ss_unix_listen(const char *path, int backlog, int *out, const char **syscall) {
  struct sockaddr_un addr;
  socklen_t len;
  int fd, err = unix_socket(path, &addr, &len, &fd, syscall);
  if (err != 0) return err;
  *syscall = "bind";
  if (bind(fd, (struct sockaddr *)&addr, len) != 0) return fail(fd);
  *syscall = "listen";
  if (listen(fd, backlog) != 0) return fail(fd);
  *out = fd;
  return 0;
}

int ss_unix_connect(const char *path, int *out, const char **syscall) {
  struct sockaddr_un addr;
  socklen_t len;
  int fd, err = unix_socket(path, &addr, &len, &fd, syscall);
  if (err != 0) return err;
  /*
   * A Unix connect never waits for the peer to accept: it succeeds at once when the listener's backlog has
   * room, and on a non-blocking socket fails with EAGAIN (not EINPROGRESS) when it has none.
   */
  *syscall = "connect";
  if (connect(fd, (struct sockaddr *)&addr, len) != 0) return fail(fd);
  *out = fd;
  return 0;
}
