#include <errno.h>
#include <sys/socket.h>

#include "ss.h"

int ss_listen(const ss_bind_options *options, int backlog, ss_socket *out) {
  int err = ss_open_socket(options, SOCK_STREAM, out);
  if (err == 0) err = ss_bind(out);
  if (err != 0) return err;
  /* The kernel silently caps the backlog at net.core.somaxconn. */
  if (listen(out->fd, backlog) != 0) return ss_fail(out, "listen", errno);
  /* Port 0 asks the kernel to pick one; only getsockname tells which. */
  if ((err = ss_local_port(out->fd, &out->port)) != 0) return ss_fail(out, "getsockname", err);
  return 0;
}
