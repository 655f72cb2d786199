#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ss.h"

static int int_option(int fd, int name, int *value) {
  socklen_t len = sizeof *value;
  return getsockopt(fd, SOL_SOCKET, name, value, &len) == 0 ? 0 : errno;
}

/*
 * What an inherited descriptor is (from systemd, or from a predecessor process), so that it can be checked
 * against the listener that is to serve it rather than trusted by position: the wrong fd (a pipe, a
 * socket of the other type, a TCP socket nobody called listen on) is refused with a clear error at start.
 */
int ss_describe_socket(int fd, ss_socket_description *out, const char **syscall) {
  memset(out, 0, sizeof *out);
  *syscall = "getsockopt";
  int err;
  if ((err = int_option(fd, SO_TYPE, &out->type)) != 0) return err;
  if ((err = int_option(fd, SO_DOMAIN, &out->family)) != 0) return err;
  /* SO_ACCEPTCONN is defined for every socket type; it is 0 where listen() makes no sense. */
  if ((err = int_option(fd, SO_ACCEPTCONN, &out->listening)) != 0) return err;
  if ((err = int_option(fd, SO_REUSEPORT, &out->reuse_port)) != 0) return err;
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  *syscall = "getsockname";
  if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) return errno;
  if (addr.ss_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)&addr;
    inet_ntop(AF_INET, &v4->sin_addr, out->address, sizeof out->address);
    out->port = ntohs(v4->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&addr;
    inet_ntop(AF_INET6, &v6->sin6_addr, out->address, sizeof out->address);
    out->port = ntohs(v6->sin6_port);
  } else if (addr.ss_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)&addr;
    size_t path = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    /* An abstract address starts with a NUL byte; it is shown as '@name', as ss(8) does. */
    if (path > 0 && un->sun_path[0] == '\0') {
      out->address[0] = '@';
      size_t copy = path - 1 < sizeof out->address - 2 ? path - 1 : sizeof out->address - 2;
      memcpy(out->address + 1, un->sun_path + 1, copy);
    } else if (path > 0) {
      size_t copy = strnlen(un->sun_path, path);
      if (copy > sizeof out->address - 1) copy = sizeof out->address - 1;
      memcpy(out->address, un->sun_path, copy);
    }
    out->port = -1;
  } else {
    out->port = -1;
  }
  return 0;
}
