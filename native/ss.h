/*
 * sockshard native: the few socket syscalls Node lacks (listen with SO_REUSEPORT, batched accept4, UDP
 * sockets with SO_REUSEPORT and buffer sizes). The ss_*.c files are plain POSIX and return 0 or a positive
 * errno; binding.c is the only N-API glue and ss_errors.c the only place an errno becomes a JS Error.
 * Linux only (accept4, SOCK_NONBLOCK/SOCK_CLOEXEC in the socket type, SO_REUSEPORT balancing).
 */
#ifndef SOCKSHARD_SS_H
#define SOCKSHARD_SS_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <node_api.h>

/* What to bind: `host` must be an IPv4 or IPv6 address literal (no DNS, no zone id). */
typedef struct ss_bind_options {
  const char *host;
  int port;
  int reuse_port;
  int ipv6_only;
} ss_bind_options;

/* A socket being set up; on failure `syscall` names the step that failed and the fd is already closed. */
typedef struct ss_socket {
  int fd;
  int port;
  const char *syscall;
  struct sockaddr_storage addr;
  socklen_t addr_len;
} ss_socket;

/* ss_socket.c: socket + options, then bind, shared by TCP and UDP; local port; listening check. */
int ss_open_socket(const ss_bind_options *options, int type, ss_socket *out);
int ss_bind(ss_socket *sock);
int ss_fail(ss_socket *sock, const char *syscall, int err);
int ss_local_port(int fd, int *port);
int ss_is_listening(int fd, const char **syscall);

/* ss_listen.c */
int ss_listen(const ss_bind_options *options, int backlog, ss_socket *out);

/* ss_udp.c: a buffer size of 0 keeps the kernel default. */
int ss_udp_socket(const ss_bind_options *options, int recv_buffer_size, int send_buffer_size,
                  ss_socket *out);

/* ss_fd.c */
int ss_close(int fd);
int ss_dup(int fd, int *out);

/*
 * ss_accept.c: accepts up to `pairs` connections into out[2i] = fd, out[2i+1] = peer address hash.
 * Returns 0 when the batch is full, EAGAIN when the backlog is drained, or the errno that stopped it;
 * *count is set in every case.
 */
int ss_accept_batch(int listen_fd, int32_t *out, size_t pairs, int *count);

/* ss_errors.c: throws and returns NULL so callers can `return ss_throw_...`. */
typedef struct ss_error_context {
  const char *address; /* NULL when not known */
  int port;            /* -1 when not known */
  int fd;              /* -1 when not known */
} ss_error_context;

napi_value ss_throw_errno(napi_env env, int err, const char *syscall, const ss_error_context *context);
napi_value ss_throw_last_napi_error(napi_env env);

#endif
