/*
 * Waits for the first bytes of accepted connections, many at a time, without a thread or a handle per
 * connection: each fd is in one epoll set (edge-triggered), whose own fd one uv_poll watches (binding.c).
 *
 * - SS_READ_PROXY: reads and consumes a PROXY protocol header (ss_proxy.c), exactly its bytes and no more:
 *   what the client sent after it stays in the kernel for whoever adopts the fd. The source must be in the
 *   allowlist, checked when the fd is added.
 * - SS_PEEK_CLIENT_HELLO: peeks (MSG_PEEK, consumes nothing) a TLS ClientHello and reports the name of the
 *   key of the session ticket it offers (ss_client_hello.c).
 *
 * Every event re-peeks what the socket holds from its first byte, so no per-connection buffer is kept.
 * Edge-triggered because a header may arrive in pieces: level-triggered, a socket holding half a header we
 * cannot consume yet would be reported on every loop turn; edge-triggered, it is reported again only when
 * more bytes arrive (or the peer closes). Timeouts are the caller's (it removes the fd and closes it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <netinet/in.h>

#include "ss.h"

struct ss_header_reader {
  int epoll_fd;
  int mode;
  size_t max_header;
  uint8_t *buffer;
  size_t buffer_size;
  ss_cidr *allow;
  size_t allow_count;
};

/* The records of one poll, so one epoll_wait fills a whole batch. */
enum { EVENTS_PER_POLL = 64 };

int ss_header_reader_new(int mode, size_t max_header, const ss_cidr *allow, size_t allow_count,
                         ss_header_reader **out) {
  *out = NULL;
  ss_header_reader *r = calloc(1, sizeof *r);
  if (r == NULL) return ENOMEM;
  r->mode = mode;
  r->max_header = max_header;
  r->buffer_size = mode == SS_PEEK_CLIENT_HELLO ? SS_TLS_RECORD_MAX + 5 : max_header;
  r->buffer = malloc(r->buffer_size);
  r->allow = allow_count > 0 ? calloc(allow_count, sizeof *allow) : NULL;
  if (r->buffer == NULL || (allow_count > 0 && r->allow == NULL)) {
    ss_header_reader_free(r);
    return ENOMEM;
  }
  if (allow_count > 0) memcpy(r->allow, allow, allow_count * sizeof *allow);
  r->allow_count = allow_count;
  r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (r->epoll_fd < 0) {
    int err = errno;
    r->epoll_fd = -1;
    ss_header_reader_free(r);
    return err;
  }
  *out = r;
  return 0;
}

void ss_header_reader_close(ss_header_reader *r) {
  if (r->epoll_fd >= 0) close(r->epoll_fd);
  r->epoll_fd = -1;
}

void ss_header_reader_free(ss_header_reader *r) {
  if (r == NULL) return;
  ss_header_reader_close(r);
  free(r->buffer);
  free(r->allow);
  free(r);
}

int ss_header_reader_fd(const ss_header_reader *r) {
  return r->epoll_fd;
}

/* The peer's address as a family and 16 bytes (IPv4-mapped IPv6 peers of a dual-stack listener as IPv4). */
static int peer_address(int fd, struct sockaddr_storage *addr) {
  socklen_t length = sizeof *addr;
  if (getpeername(fd, (struct sockaddr *)addr, &length) != 0) return errno;
  if (addr->ss_family == AF_INET6) {
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = v6->sin6_port};
      memcpy(&v4.sin_addr, v6->sin6_addr.s6_addr + 12, 4);
      memset(addr, 0, sizeof *addr);
      memcpy(addr, &v4, sizeof v4);
    }
  }
  return 0;
}

static int in_prefix(const uint8_t *address, const uint8_t *network, int bits) {
  int whole = bits / 8, rest = bits % 8;
  if (memcmp(address, network, (size_t)whole) != 0) return 0;
  if (rest == 0) return 1;
  uint8_t mask = (uint8_t)(0xFF << (8 - rest));
  return (address[whole] & mask) == (network[whole] & mask);
}

static int allowed(const ss_header_reader *r, const struct sockaddr_storage *addr) {
  int family = addr->ss_family == AF_INET ? 4 : 6;
  const uint8_t *bytes = family == 4 ? (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr
                                     : ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
  for (size_t i = 0; i < r->allow_count; i++) {
    if (r->allow[i].family == family && in_prefix(bytes, r->allow[i].address, r->allow[i].prefix)) return 1;
  }
  return 0;
}

int ss_header_reader_remove(ss_header_reader *r, int fd) {
  return epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : errno;
}

/* Writes an address as the result's FAMILY, PORT and ADDRESS words (big-endian groups, as the UDP path). */
static void write_address(int32_t *record, const struct sockaddr_storage *addr) {
  uint32_t words[SS_HEADER_ADDRESS_WORDS] = {0};
  if (addr->ss_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
    record[SS_HEADER_FAMILY] = SS_FAMILY_IPV4;
    record[SS_HEADER_PORT] = ntohs(v4->sin_port);
    words[0] = ntohl(v4->sin_addr.s_addr);
  } else {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
    record[SS_HEADER_FAMILY] = SS_FAMILY_IPV6;
    record[SS_HEADER_PORT] = ntohs(v6->sin6_port);
    for (int i = 0; i < SS_HEADER_ADDRESS_WORDS; i++) {
      uint32_t group;
      memcpy(&group, v6->sin6_addr.s6_addr + 4 * i, 4);
      words[i] = ntohl(group);
    }
  }
  memcpy(record + SS_HEADER_ADDRESS, words, sizeof words);
  ((uint32_t *)record)[SS_HEADER_HASH] = ss_address_hash(addr);
}

/* The header's source as a sockaddr, IPv4-mapped IPv6 as IPv4 (so it hashes as ss_accept.c hashes it). */
static void header_source(const ss_proxy_header *header, struct sockaddr_storage *addr) {
  memset(addr, 0, sizeof *addr);
  if (header->family == 4) {
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(header->source_port);
    memcpy(&v4->sin_addr, header->source, 4);
    return;
  }
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(header->source_port);
  memcpy(v6->sin6_addr.s6_addr, header->source, 16);
  if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = v6->sin6_port};
    memcpy(&v4.sin_addr, header->source + 12, 4);
    memset(addr, 0, sizeof *addr);
    memcpy(addr, &v4, sizeof v4);
  }
}

/* 1 when the fd is done (record written), 0 when it waits for more bytes. */
static int read_proxy(ss_header_reader *r, int fd, ssize_t peeked, int32_t *record) {
  ss_proxy_header header;
  int length = ss_proxy_parse(r->buffer, (size_t)peeked, r->max_header, &header);
  switch (length) {
  case SS_PROXY_INCOMPLETE:
    /* A full buffer that still holds no whole header can only be an oversized one. */
    if ((size_t)peeked < r->buffer_size) return 0;
    record[SS_HEADER_STATUS] = SS_HEADER_OVERSIZED;
    return 1;
  case SS_PROXY_MISSING:
    record[SS_HEADER_STATUS] = SS_HEADER_MISSING;
    return 1;
  case SS_PROXY_MALFORMED:
    record[SS_HEADER_STATUS] = SS_HEADER_MALFORMED;
    return 1;
  case SS_PROXY_OVERSIZED:
    record[SS_HEADER_STATUS] = SS_HEADER_OVERSIZED;
    return 1;
  default:
    break;
  }
  /* Consume exactly the header: the bytes are queued (we just peeked them), so this takes them all. */
  ssize_t consumed = recv(fd, r->buffer, (size_t)length, 0);
  if (consumed != length) {
    record[SS_HEADER_STATUS] = SS_HEADER_CLOSED;
    record[SS_HEADER_ERRNO] = consumed < 0 ? errno : EIO;
    return 1;
  }
  struct sockaddr_storage addr;
  if (header.local) {
    int err = peer_address(fd, &addr);
    if (err != 0) {
      record[SS_HEADER_STATUS] = SS_HEADER_CLOSED;
      record[SS_HEADER_ERRNO] = err;
      return 1;
    }
  } else {
    header_source(&header, &addr);
  }
  record[SS_HEADER_STATUS] = header.local ? SS_HEADER_LOCAL : SS_HEADER_OK;
  record[SS_HEADER_VERSION] = header.version;
  write_address(record, &addr);
  return 1;
}

static int peek_client_hello(ss_header_reader *r, ssize_t peeked, int32_t *record) {
  uint8_t name[SS_TICKET_KEY_NAME];
  int found = ss_client_hello_ticket(r->buffer, (size_t)peeked, name);
  if (found == SS_HELLO_INCOMPLETE) return 0;
  record[SS_HEADER_STATUS] = found == SS_HELLO_TICKET ? SS_HEADER_TICKET : SS_HEADER_NO_TICKET;
  /* Raw bytes: JS reads them through a Uint8Array over the same memory. */
  if (found == SS_HELLO_TICKET) memcpy(record + SS_HEADER_ADDRESS, name, SS_TICKET_KEY_NAME);
  return 1;
}

/* 1 when the fd is done (record written), 0 when it waits for more bytes. */
static int examine(ss_header_reader *r, int fd, int32_t *record) {
  memset(record, 0, SS_HEADER_WORDS * sizeof *record);
  record[SS_HEADER_FD] = fd;
  ssize_t peeked;
  do {
    peeked = recv(fd, r->buffer, r->buffer_size, MSG_PEEK);
  } while (peeked < 0 && errno == EINTR);
  if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  if (peeked <= 0) {
    /* The peer closed (or reset) before a whole header: a ClientHello peek leaves that to TLS to see. */
    if (r->mode == SS_PEEK_CLIENT_HELLO) {
      record[SS_HEADER_STATUS] = SS_HEADER_NO_TICKET;
      return 1;
    }
    record[SS_HEADER_STATUS] = SS_HEADER_CLOSED;
    record[SS_HEADER_ERRNO] = peeked < 0 ? errno : 0;
    return 1;
  }
  return r->mode == SS_READ_PROXY ? read_proxy(r, fd, peeked, record) : peek_client_hello(r, peeked, record);
}

/*
 * Most clients send their first bytes with the connection (a balancer its PROXY header, a TLS client its
 * ClientHello), so they are usually queued by the time the fd is added: examining them at once saves the
 * epoll_ctl ADD and DEL, an epoll_wait and a callback per connection. Only an fd with no whole header yet
 * joins the set; if its bytes come between the peek and the ADD, epoll reports them at once.
 */
int ss_header_reader_add(ss_header_reader *r, int fd, int32_t *record, int *status) {
  memset(record, 0, SS_HEADER_WORDS * sizeof *record);
  record[SS_HEADER_FD] = fd;
  if (r->mode == SS_READ_PROXY) {
    struct sockaddr_storage addr;
    /* A peer that reset before we looked (ENOTCONN) is gone: closed, not an error of ours. */
    if (peer_address(fd, &addr) != 0) {
      record[SS_HEADER_STATUS] = *status = SS_HEADER_CLOSED;
      return 0;
    }
    if (!allowed(r, &addr)) {
      record[SS_HEADER_STATUS] = *status = SS_HEADER_REFUSED;
      return 0;
    }
  }
  if (examine(r, fd, record)) {
    *status = record[SS_HEADER_STATUS];
    return 0;
  }
  *status = SS_HEADER_PENDING;
  struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = fd};
  return epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0 ? 0 : errno;
}

int ss_header_reader_poll(ss_header_reader *r, int32_t *out, size_t records, int *count) {
  struct epoll_event events[EVENTS_PER_POLL];
  size_t want = records < EVENTS_PER_POLL ? records : EVENTS_PER_POLL;
  *count = 0;
  int ready;
  do {
    ready = epoll_wait(r->epoll_fd, events, (int)want, 0);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return errno;
  int n = 0;
  for (int i = 0; i < ready; i++) {
    int fd = events[i].data.fd;
    int32_t *record = out + (size_t)n * SS_HEADER_WORDS;
    int done = examine(r, fd, record);
    /* EPOLLRDHUP with an incomplete header: the peer will send no more, so it is done (truncated). */
    if (!done && (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
      memset(record, 0, SS_HEADER_WORDS * sizeof *record);
      record[SS_HEADER_FD] = fd;
      record[SS_HEADER_STATUS] = r->mode == SS_PEEK_CLIENT_HELLO ? SS_HEADER_NO_TICKET : SS_HEADER_CLOSED;
      done = 1;
    }
    if (!done) continue;
    epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
    n++;
  }
  *count = n;
  return (size_t)ready == want ? 0 : EAGAIN;
}
