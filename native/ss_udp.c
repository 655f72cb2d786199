#include <errno.h>
#include <sys/socket.h>

#include "ss.h"

static int set_size(int fd, int name, int size) {
  return setsockopt(fd, SOL_SOCKET, name, &size, sizeof size) == 0 ? 0 : errno;
}

int ss_udp_socket(const ss_bind_options *options, int recv_buffer_size, int send_buffer_size,
                  ss_socket *out) {
  int err = ss_open_socket(options, SOCK_DGRAM, out);
  if (err != 0) return err;
  /*
   * Before bind, so no datagram is queued against the default limit. Linux doubles the value (for its
   * own bookkeeping) and silently caps it at net.core.rmem_max / wmem_max; it never fails for a size.
   */
  if (recv_buffer_size > 0 && (err = set_size(out->fd, SO_RCVBUF, recv_buffer_size)) != 0)
    return ss_fail(out, "setsockopt", err);
  if (send_buffer_size > 0 && (err = set_size(out->fd, SO_SNDBUF, send_buffer_size)) != 0)
    return ss_fail(out, "setsockopt", err);
  if ((err = ss_bind(out)) != 0) return err;
  if ((err = ss_local_port(out->fd, &out->port)) != 0) return ss_fail(out, "getsockname", err);
  return 0;
}
