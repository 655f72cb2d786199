#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ss.h"

static int parse_address(const ss_bind_options *options, ss_socket *sock) {
  memset(&sock->addr, 0, sizeof sock->addr);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&sock->addr;
  if (inet_pton(AF_INET, options->host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)options->port);
    sock->addr_len = sizeof *v4;
    return 0;
  }
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sock->addr;
  if (inet_pton(AF_INET6, options->host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)options->port);
    sock->addr_len = sizeof *v6;
    return 0;
  }
  return EINVAL;
}

static int set_flag(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : errno;
}

int ss_fail(ss_socket *sock, const char *syscall, int err) {
  if (sock->fd >= 0) close(sock->fd);
  sock->fd = -1;
  sock->syscall = syscall;
  return err;
}

int ss_open_socket(const ss_bind_options *options, int type, ss_socket *out) {
  out->fd = -1;
  out->port = options->port;
  out->syscall = NULL;
  if (parse_address(options, out) != 0) return ss_fail(out, "inet_pton", EINVAL);

  out->fd = socket(out->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (out->fd < 0) return ss_fail(out, "socket", errno);

  int err = 0;
  /*
   * TCP only: SO_REUSEADDR lets a restarted server rebind while old connections sit in TIME_WAIT, and
   * never lets two live listeners share a port. On UDP it would let a second socket silently bind the
   * same port and take its datagrams, hiding EADDRINUSE, so UDP sharing is SO_REUSEPORT only.
   */
  if (type == SOCK_STREAM && (err = set_flag(out->fd, SOL_SOCKET, SO_REUSEADDR, 1)) != 0)
    return ss_fail(out, "setsockopt", err);
  if (options->reuse_port && (err = set_flag(out->fd, SOL_SOCKET, SO_REUSEPORT, 1)) != 0)
    return ss_fail(out, "setsockopt", err);
  /* Set both ways: the default comes from net.ipv6.bindv6only, which differs between hosts. */
  if (out->addr.ss_family == AF_INET6 &&
      (err = set_flag(out->fd, IPPROTO_IPV6, IPV6_V6ONLY, options->ipv6_only ? 1 : 0)) != 0)
    return ss_fail(out, "setsockopt", err);
  return 0;
}

int ss_bind(ss_socket *sock) {
  if (bind(sock->fd, (struct sockaddr *)&sock->addr, sock->addr_len) != 0)
    return ss_fail(sock, "bind", errno);
  return 0;
}

int ss_local_port(int fd, int *port) {
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) return errno;
  if (addr.ss_family == AF_INET) {
    *port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    *port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
  } else {
    return EAFNOSUPPORT;
  }
  return 0;
}

int ss_is_listening(int fd, const char **syscall) {
  int listening = 0;
  socklen_t len = sizeof listening;
  *syscall = "getsockopt";
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) return errno;
  /* accept4 on a socket that is not listening fails with EINVAL; report that at start, not per event. */
  *syscall = "accept4";
  return listening ? 0 : EINVAL;
}
