/*
 * sockshard native: the few socket syscalls Node lacks (listen with SO_REUSEPORT, batched accept4, UDP
 * sockets with SO_REUSEPORT and buffer sizes, UDP datagrams in batches with recvmmsg/sendmmsg, sockets
 * passed between processes with SCM_RIGHTS). The ss_*.c files are plain POSIX and return 0 or a positive
 * errno; binding.c is the only N-API glue and ss_errors.c the only place an errno becomes a JS Error.
 * Linux only (accept4, SOCK_NONBLOCK/SOCK_CLOEXEC in the socket type, SO_REUSEPORT balancing).
 */
#ifndef SOCKSHARD_SS_H
#define SOCKSHARD_SS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <node_api.h>
#include <uv.h>

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
 * ss_unix.c: Unix SOCK_SEQPACKET sockets (one sendmsg, one recvmsg) for the process hand-over; both are
 * non-blocking and close-on-exec. On failure *syscall names the step.
 */
int ss_unix_listen(const char *path, int backlog, int *out, const char **syscall);
int ss_unix_connect(const char *path, int *out, const char **syscall);

/*
 * ss_scm.c: one message with file descriptors attached (SCM_RIGHTS), without blocking. The receiver gets
 * its own descriptors for the same open sockets, as dup(2) would give; the sender still owns its copies.
 * SS_SCM_MAX_FDS is the kernel's limit per message (SCM_MAX_FD). Both return EAGAIN when they would block.
 * ss_recv_fds refuses a message that did not fit (EMSGSIZE, its descriptors closed); a *length of 0 with no
 * descriptors is the peer's orderly shutdown.
 */
enum { SS_SCM_MAX_FDS = 253 };
int ss_send_fds(int fd, const void *data, size_t length, const int *fds, size_t count, size_t *sent);
int ss_recv_fds(int fd, void *data, size_t capacity, int *fds, size_t max_fds, size_t *length, size_t *count);

/* ss_describe.c: what a socket is. family is AF_INET, AF_INET6, AF_UNIX...; port is -1 where none. */
typedef struct ss_socket_description {
  int type;
  int family;
  int listening;
  int reuse_port;
  char address[108];
  int port;
} ss_socket_description;
int ss_describe_socket(int fd, ss_socket_description *out, const char **syscall);

/*
 * ss_accept.c: accepts up to `pairs` connections into out[2i] = fd, out[2i+1] = peer address hash.
 * Returns 0 when the batch is full, EAGAIN when the backlog is drained, or the errno that stopped it;
 * *count is set in every case.
 */
int ss_accept_batch(int listen_fd, int32_t *out, size_t pairs, int *count);

/*
 * 32-bit FNV-1a of a peer's IP only (not its port), so every connection from one client address hashes the
 * same; IPv4-mapped IPv6 addresses hash as IPv4. The balancer's `hash` and the per-address cap use it.
 */
uint32_t ss_address_hash(const struct sockaddr_storage *addr);

/* ss_proxy.c: a PROXY protocol header, v1 or v2 (haproxy's doc/proxy-protocol.txt). */
typedef struct ss_proxy_header {
  int version; /* 1 or 2 */
  int local;   /* use the connection's own endpoints: v2 LOCAL (a health check), v1 UNKNOWN, v2 UNSPEC/UNIX/DGRAM */
  int family;  /* 4 or 6 when not local */
  uint8_t source[16];
  uint16_t source_port;
  uint8_t destination[16];
  uint16_t destination_port;
} ss_proxy_header;

enum {
  SS_PROXY_INCOMPLETE = 0,
  SS_PROXY_MISSING = -1,   /* the bytes match neither signature: the sender sent no header */
  SS_PROXY_MALFORMED = -2, /* a signature, then something the spec does not allow */
  SS_PROXY_OVERSIZED = -3, /* v1: no CRLF within 107 bytes; v2: longer than `max` */
};

/* The header's length (> 0) once `data` holds a whole valid one, else one of SS_PROXY_*. */
int ss_proxy_parse(const uint8_t *data, size_t length, size_t max, ss_proxy_header *out);

/* ss_client_hello.c: the key name of the session ticket a ClientHello offers (see the file). */
enum {
  SS_TICKET_KEY_NAME = 16,
  SS_TLS_RECORD_MAX = 16384, /* a TLSPlaintext record's limit (RFC 8446 5.1), which a ClientHello's is */
  SS_HELLO_INCOMPLETE = 0,
  SS_HELLO_TICKET = 1,
  SS_HELLO_NO_TICKET = 2,
  SS_HELLO_NOT_TLS = 3,
};
int ss_client_hello_ticket(const uint8_t *data, size_t length, uint8_t key_name[SS_TICKET_KEY_NAME]);

/*
 * ss_header_reader.c: an epoll set of accepted fds waiting for their first bytes (see the file). Results
 * are records of SS_HEADER_WORDS int32 words; src/native/binding.ts mirrors these numbers (HEADER_*).
 *
 *   word         SS_READ_PROXY                                SS_PEEK_CLIENT_HELLO
 *   0 FD         the connection
 *   1 STATUS     SS_HEADER_OK, LOCAL or a failure             SS_HEADER_TICKET or NO_TICKET
 *   2 FAMILY     4 or 6: the client's (OK) or the peer's (LOCAL)
 *   3 PORT       its port
 *   4..7 ADDRESS as the UDP records: big-endian 32-bit groups  TICKET: the key name's 16 raw bytes
 *   8 HASH       ss_address_hash of that address
 *   9 VERSION    1 or 2
 *   10 ERRNO     CLOSED: the errno that ended it, 0 for an orderly close
 */
enum {
  SS_READ_PROXY = 1,
  SS_PEEK_CLIENT_HELLO = 2,

  SS_HEADER_WORDS = 12,
  SS_HEADER_FD = 0,
  SS_HEADER_STATUS = 1,
  SS_HEADER_FAMILY = 2,
  SS_HEADER_PORT = 3,
  SS_HEADER_ADDRESS = 4,
  SS_HEADER_ADDRESS_WORDS = 4,
  SS_HEADER_HASH = 8,
  SS_HEADER_VERSION = 9,
  SS_HEADER_ERRNO = 10,

  SS_HEADER_PENDING = 0,
  SS_HEADER_OK = 1,
  SS_HEADER_LOCAL = 2,
  SS_HEADER_MISSING = 3,
  SS_HEADER_MALFORMED = 4,
  SS_HEADER_OVERSIZED = 5,
  SS_HEADER_CLOSED = 6,
  SS_HEADER_REFUSED = 7,
  SS_HEADER_TICKET = 8,
  SS_HEADER_NO_TICKET = 9,
};

/* An allowlist entry: `family` 4 or 6, the first `prefix` bits of `address` (network order). */
typedef struct ss_cidr {
  int family;
  int prefix;
  uint8_t address[16];
} ss_cidr;

typedef struct ss_header_reader ss_header_reader;
int ss_header_reader_new(int mode, size_t max_header, const ss_cidr *allow, size_t allow_count,
                         ss_header_reader **out);
/* Closes the epoll fd (the fds in the set stay open: they are the caller's); free() does it too. */
void ss_header_reader_close(ss_header_reader *r);
void ss_header_reader_free(ss_header_reader *r);
/* The epoll fd to poll for readiness. */
int ss_header_reader_fd(const ss_header_reader *r);
/* Adds `fd`, unless its result is known at once: what it has already queued is examined first, and a
 * whole header (or a failure) is written to `record` and returned as `*status` without adding it. Else
 * *status is SS_HEADER_PENDING and the fd waits in the set. (PROXY, not added: SS_HEADER_REFUSED for a
 * source not in the allowlist, SS_HEADER_CLOSED for a peer already gone.) Returns 0 or an errno. */
int ss_header_reader_add(ss_header_reader *r, int fd, int32_t *record, int *status);
int ss_header_reader_remove(ss_header_reader *r, int fd);
/* Up to `records` results into `out`; returns 0 when more may be ready, EAGAIN when drained, or an errno. */
int ss_header_reader_poll(ss_header_reader *r, int32_t *out, size_t records, int *count);

/*
 * ss_udp_batch.c: datagrams in batches, straight between a socket and a JS-owned slab. Each datagram is
 * described by one record of SS_DGRAM_WORDS int32 words in a `meta` array, after SS_META_HEADER_WORDS header
 * words. src/native/binding.ts mirrors these numbers (UDP_META_* and DGRAM_*); change both together.
 *
 *   record word        receive (the addon writes)                   send (JS writes)
 *   0 OFFSET           byte offset in the slab: i * stride          byte offset in the slab
 *   1 LENGTH           the datagram's real length (see TRUNCATED)   bytes to send
 *   2 FLAGS            SS_DGRAM_TRUNCATED if longer than the slot   0; the addon writes the errno of a
 *                                                                   datagram that failed
 *   3 FAMILY           4 or 6 (0: no address)                       4 or 6
 *   4 PORT             peer port                                    destination port
 *   5..8 ADDRESS       IPv4: word 5 (words 6-8 are 0); IPv6: words 5-8, each a big-endian 32-bit group read
 *                      as a number, so 127.0.0.1 is 0x7f000001 and ::1 is 0, 0, 0, 1
 *
 * Header, receive: ICMP_ERRORS counts peer errors (ECONNREFUSED and the like, from an ICMP report about an
 * earlier datagram) that the socket reported instead of data, and ICMP_LAST_ERRNO keeps the last one; both
 * are cumulative, only ever written by the thread that polls.
 * Header, send (reset by every ss_udp_send_batch): SENT, FAILED, FIRST_ERRNO (of the failed ones), STOP_ERRNO
 * (EAGAIN or ENOBUFS when it stopped early on a full buffer, EBADF or ENOTSOCK when it could send nothing,
 * else 0), ICMP_ERRORS (pending peer errors that surfaced on send), SENT_BYTES (bytes of the sent ones,
 * unsigned).
 */
enum {
  SS_META_HEADER_WORDS = 8,
  SS_META_RECV_ICMP_ERRORS = 0,
  SS_META_RECV_ICMP_LAST_ERRNO = 1,
  SS_META_SEND_SENT = 0,
  SS_META_SEND_FAILED = 1,
  SS_META_SEND_FIRST_ERRNO = 2,
  SS_META_SEND_STOP_ERRNO = 3,
  SS_META_SEND_ICMP_ERRORS = 4,
  SS_META_SEND_SENT_BYTES = 5,

  SS_DGRAM_WORDS = 9,
  SS_DGRAM_OFFSET = 0,
  SS_DGRAM_LENGTH = 1,
  SS_DGRAM_FLAGS = 2,
  SS_DGRAM_FAMILY = 3,
  SS_DGRAM_PORT = 4,
  SS_DGRAM_ADDRESS = 5,
  SS_DGRAM_ADDRESS_WORDS = 4,

  SS_DGRAM_TRUNCATED = 1,
  SS_FAMILY_IPV4 = 4,
  SS_FAMILY_IPV6 = 6,

  /* recvmmsg and sendmmsg take at most UIO_MAXIOV (1024) messages per call. */
  SS_UDP_MAX_BATCH = 1024,
  /* The largest UDP payload (65535 less the 8-byte UDP header; IPv4 allows 20 bytes less again). */
  SS_UDP_MAX_DATAGRAM = 65527,
};

/* The slab slot of one received datagram: max_datagram rounded up to 8, so every slot is 8-byte aligned. */
size_t ss_udp_stride(size_t max_datagram);

/* recvmmsg's per-batch arrays, allocated once per poll (no allocation per batch). */
typedef struct ss_udp_receiver ss_udp_receiver;
ss_udp_receiver *ss_udp_receiver_new(size_t batch);
void ss_udp_receiver_free(ss_udp_receiver *receiver);

/* 0 if `fd` is an IPv4 or IPv6 datagram socket; else an errno, with *syscall naming the check. */
int ss_udp_check_socket(int fd, const char **syscall);

/*
 * Receives up to `batch` datagrams into slab[i * stride] and meta's records. Returns 0 when the batch
 * filled (more may be queued), EAGAIN when the socket is drained, or the errno that stopped it; *count is
 * set in every case. Peer errors are counted in meta's header and skipped.
 */
int ss_udp_recv_batch(ss_udp_receiver *receiver, int fd, uint8_t *slab, size_t max_datagram, int32_t *meta,
                      int *count);

/*
 * After the poll reported an error condition (POLLERR): takes the socket's pending error (SO_ERROR) and
 * drains its error queue (filled only if someone set IP_RECVERR). Returns 0 when it found peer errors
 * (counted in meta's header, which may be NULL) or nothing, else the pending errno, to report.
 */
int ss_udp_take_error(int fd, int32_t *meta);

/*
 * Sends `count` datagrams described by meta's records (already checked against the slab) with sendmmsg.
 * Returns how many were dealt with from the first on: sent, or failed with an error that concerns that
 * datagram alone (counted in the header, never stopping the batch). Fewer than `count` only when the
 * socket's buffer was full (STOP_ERRNO = EAGAIN or ENOBUFS) or the fd is no socket (EBADF, ENOTSOCK); the
 * rest were not attempted.
 */
size_t ss_udp_send_batch(int fd, const uint8_t *slab, int32_t *meta, size_t count);

/*
 * ss_streams.c: a thread's TCP connections on uv_polls, read into one slab and written with writev from it
 * (see the file's comment). src/native/binding.ts mirrors these numbers (STREAM_*); change both together.
 *
 * events (the addon writes, SS_EVENT_WORDS int32 words each): [type, id, a, b]
 *   DATA     a = offset of the bytes in the slab's input region, b = their length (valid during the call)
 *   EOF      the peer shut its write side
 *   ERROR    a = errno (positive) of a failed read or write; the stream reads and writes no more
 *   DRAINED  the output that had passed the high-water mark has all gone to the kernel
 *   CLOSED   the group closed the stream itself (after an END record); its id may be reused after this
 *   NONE     a dropped event (its stream was destroyed meanwhile): skip it
 * out (JS writes): word 0 the record count, word 1 reserved, then [id, offset, length, flags] per record;
 *   flags END: after this record's bytes, shut the write side, drop what the peer still sends, close.
 * pending (optional, the addon writes): per id, the bytes the kernel has not taken yet.
 */
enum {
  SS_EVENT_WORDS = 4,
  SS_EVENT_TYPE = 0,
  SS_EVENT_ID = 1,
  SS_EVENT_A = 2,
  SS_EVENT_B = 3,
  SS_EV_NONE = 0,
  SS_EV_DATA = 1,
  SS_EV_EOF = 2,
  SS_EV_ERROR = 3,
  SS_EV_DRAINED = 4,
  SS_EV_CLOSED = 5,

  SS_OUT_HEADER_WORDS = 2,
  SS_OUT_COUNT = 0,
  SS_OUT_WORDS = 4,
  SS_OUT_ID = 0,
  SS_OUT_OFFSET = 1,
  SS_OUT_LENGTH = 2,
  SS_OUT_FLAGS = 3,
  SS_OUT_END = 1,
};

typedef struct ss_streams ss_streams;
typedef struct ss_stream ss_stream;

typedef struct ss_streams_config {
  uint8_t *slab;       /* over a SharedArrayBuffer: never detached, so the pointer holds for the group's life */
  size_t slab_bytes;   /* the whole slab: out records may point anywhere in it */
  size_t in_bytes;     /* [0, in_bytes): where reads land */
  size_t read_bytes;   /* the most one recv takes */
  int32_t *events;
  size_t max_events;
  int32_t *out;
  size_t out_words;
  int32_t *pending;    /* NULL, or max_streams words */
  size_t max_streams;
  size_t high_water;   /* stop reading a stream with more unsent output than this */
} ss_streams_config;

typedef struct ss_streams_hooks {
  /* Hands JS `count` events (in config.events); false if JS can no longer run. */
  bool (*deliver)(ss_streams *group, int count, void *arg);
  /* Whether JS can still run here: if not, nothing more is taken out of the kernel. */
  bool (*can_take)(void *arg);
  /* Every handle of a closing group has closed: free it now. */
  void (*closed)(void *arg);
  void *arg;
} ss_streams_hooks;

ss_streams *ss_streams_new(uv_loop_t *loop, const ss_streams_config *config, const ss_streams_hooks *hooks);
int ss_streams_add(ss_streams *group, int fd, int32_t *id);
ss_stream *ss_streams_get(ss_streams *group, int32_t id);
void ss_streams_flush(ss_streams *group);
int ss_streams_write(ss_streams *group, int32_t id, const uint8_t *data, size_t len);
void ss_streams_pause(ss_streams *group, int32_t id, bool paused);
void ss_streams_destroy(ss_streams *group, int32_t id);
void ss_streams_close(ss_streams *group);
void ss_streams_free(ss_streams *group);

/* ss_errors.c: throws and returns NULL so callers can `return ss_throw_...`. */
typedef struct ss_error_context {
  const char *address; /* NULL when not known */
  int port;            /* -1 when not known */
  int fd;              /* -1 when not known */
} ss_error_context;

napi_value ss_throw_errno(napi_env env, int err, const char *syscall, const ss_error_context *context);
napi_value ss_throw_last_napi_error(napi_env env);

#endif
