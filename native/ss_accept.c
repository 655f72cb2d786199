#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ss.h"

/*
 * Errors that concern one pending connection or none, so the next accept4 may succeed. Linux also
 * passes a new connection's already-pending network errors out of accept4 ("treat them like EAGAIN by
 * retrying", accept(2)), and EPERM when a firewall rule refused it.
 */
static int is_transient(int err) {
  switch (err) {
  case EINTR:
  case ECONNABORTED:
  case EPROTO:
  case EPERM:
  case ENETDOWN:
  case ENOPROTOOPT:
  case EHOSTDOWN:
  case ENONET:
  case EHOSTUNREACH:
  case EOPNOTSUPP:
  case ENETUNREACH:
    return 1;
  default:
    return 0;
  }
}

uint32_t ss_address_hash(const struct sockaddr_storage *addr) {
  const uint8_t *bytes = NULL;
  size_t len = 0;
  if (addr->ss_family == AF_INET) {
    bytes = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
    len = 4;
  } else if (addr->ss_family == AF_INET6) {
    const struct in6_addr *ip = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    bytes = ip->s6_addr;
    len = 16;
    /* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; hash them as the IPv4 listener would. */
    if (IN6_IS_ADDR_V4MAPPED(ip)) {
      bytes += 12;
      len = 4;
    }
  }
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < len; i++) {
    hash ^= bytes[i];
    hash *= 16777619u;
  }
  return hash;
}

int ss_accept_batch(int listen_fd, int32_t *out, size_t pairs, int *count) {
  size_t n = 0;
  while (n < pairs) {
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    int fd = accept4(listen_fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (is_transient(errno)) continue;
      *count = (int)n;
      return errno == EWOULDBLOCK ? EAGAIN : errno;
    }
    out[2 * n] = fd;
    /* Stored through the unsigned type (allowed to alias int32_t): JS reads it back with `>>> 0`. */
    ((uint32_t *)out)[2 * n + 1] = ss_address_hash(&addr);
    n++;
  }
  *count = (int)n;
  return 0;
}
