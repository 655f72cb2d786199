#define _GNU_SOURCE
#include <errno.h>
#include <time.h> /* before linux/errqueue.h, which uses struct timespec */
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "ss.h"

/* A pending error met on recv before a datagram: retried at most this often per call, then left to the poll. */
#define PEER_ERROR_RETRIES 8
/* Error-queue entries read per POLLERR (IP_RECVERR sockets only); the poll reports again if more are left. */
#define ERROR_QUEUE_DRAIN 64
/* sendmmsg's arrays live on the stack in chunks of this many datagrams (about 7 KiB). */
#define SEND_CHUNK 64

struct ss_udp_receiver {
  size_t capacity;
  struct mmsghdr *msgs;
  struct iovec *iovs;
  /* Big enough for either family; recvmmsg reports the real length, so a larger one is never cut unseen. */
  struct sockaddr_in6 *addrs;
};

size_t ss_udp_stride(size_t max_datagram) {
  return (max_datagram + 7) & ~(size_t)7;
}

ss_udp_receiver *ss_udp_receiver_new(size_t batch) {
  /* One allocation: the struct, then the three arrays in order of decreasing alignment. */
  size_t bytes = sizeof(ss_udp_receiver) + batch * (sizeof(struct mmsghdr) + sizeof(struct iovec) +
                                                    sizeof(struct sockaddr_in6));
  ss_udp_receiver *r = calloc(1, bytes);
  if (r == NULL) return NULL;
  r->capacity = batch;
  r->msgs = (struct mmsghdr *)(r + 1);
  r->iovs = (struct iovec *)(r->msgs + batch);
  r->addrs = (struct sockaddr_in6 *)(r->iovs + batch);
  return r;
}

void ss_udp_receiver_free(ss_udp_receiver *receiver) {
  free(receiver);
}

int ss_udp_check_socket(int fd, const char **syscall) {
  int type = 0, domain = 0;
  socklen_t len = sizeof type;
  *syscall = "getsockopt";
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return errno;
  len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return errno;
  /* A stream socket would "receive" byte runs with no peer address: refuse it at start, not per batch. */
  return type == SOCK_DGRAM && (domain == AF_INET || domain == AF_INET6) ? 0 : EPROTOTYPE;
}

/*
 * Errors the kernel converts from an ICMP report (icmp_err_convert, icmpv6_err_convert) and keeps as the
 * socket's pending error: they concern some earlier datagram and peer, not the socket. Linux keeps them
 * only for connected sockets, or for any socket with IP_RECVERR; the next recv or send then fails with the
 * error once, and the one after that works again.
 */
static int is_peer_error(int err) {
  switch (err) {
  case ECONNREFUSED:
  case EHOSTUNREACH:
  case ENETUNREACH:
  case EHOSTDOWN:
  case ENONET:
  case ENOPROTOOPT:
  case EPROTO:
  case EMSGSIZE:
  case EOPNOTSUPP:
  case EACCES:
    return 1;
  default:
    return 0;
  }
}

static void count_peer_error(int32_t *meta, int err) {
  if (meta == NULL) return;
  /* Through the unsigned type (allowed to alias int32_t) so the count wraps instead of overflowing. */
  ((uint32_t *)meta)[SS_META_RECV_ICMP_ERRORS]++;
  meta[SS_META_RECV_ICMP_LAST_ERRNO] = err;
}

static void write_peer(int32_t *record, const struct sockaddr_in6 *addr, socklen_t len) {
  uint32_t *words = (uint32_t *)&record[SS_DGRAM_ADDRESS];
  if (addr->sin6_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
    record[SS_DGRAM_FAMILY] = SS_FAMILY_IPV4;
    record[SS_DGRAM_PORT] = ntohs(v4->sin_port);
    words[0] = ntohl(v4->sin_addr.s_addr);
    words[1] = words[2] = words[3] = 0;
  } else if (addr->sin6_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    record[SS_DGRAM_FAMILY] = SS_FAMILY_IPV6;
    record[SS_DGRAM_PORT] = ntohs(addr->sin6_port);
    for (int i = 0; i < SS_DGRAM_ADDRESS_WORDS; i++) {
      uint32_t group;
      memcpy(&group, &addr->sin6_addr.s6_addr[4 * i], sizeof group);
      words[i] = ntohl(group);
    }
  } else {
    record[SS_DGRAM_FAMILY] = 0;
    record[SS_DGRAM_PORT] = 0;
    words[0] = words[1] = words[2] = words[3] = 0;
  }
}

int ss_udp_recv_batch(ss_udp_receiver *r, int fd, uint8_t *slab, size_t max_datagram, int32_t *meta,
                      int *count) {
  size_t stride = ss_udp_stride(max_datagram);
  size_t batch = r->capacity;
  *count = 0;
  /* Re-aimed every call: the slab's data pointer is re-read per batch, and the kernel rewrites the lengths. */
  for (size_t i = 0; i < batch; i++) {
    r->iovs[i].iov_base = slab + i * stride;
    r->iovs[i].iov_len = max_datagram;
    struct msghdr *h = &r->msgs[i].msg_hdr;
    h->msg_name = &r->addrs[i];
    h->msg_namelen = sizeof r->addrs[i];
    h->msg_iov = &r->iovs[i];
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
  }
  int received;
  for (int retries = 0;;) {
    /*
     * MSG_TRUNC as a flag makes msg_len the datagram's real length (Linux, for datagram sockets), so JS
     * can tell how far over the limit a dropped datagram was; msg_flags still says whether it was cut.
     */
    received = recvmmsg(fd, r->msgs, (unsigned int)batch, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (received >= 0) break;
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return EAGAIN;
    if (!is_peer_error(err)) return err;
    count_peer_error(meta, err);
    /* Each failure consumed one pending error; more only if ICMP keeps arriving. Then let the poll call again. */
    if (++retries > PEER_ERROR_RETRIES) return EAGAIN;
  }
  for (int i = 0; i < received; i++) {
    int32_t *record = meta + SS_META_HEADER_WORDS + (size_t)i * SS_DGRAM_WORDS;
    const struct msghdr *h = &r->msgs[i].msg_hdr;
    size_t length = r->msgs[i].msg_len;
    record[SS_DGRAM_OFFSET] = (int32_t)((size_t)i * stride);
    record[SS_DGRAM_LENGTH] = (int32_t)length;
    record[SS_DGRAM_FLAGS] = (h->msg_flags & MSG_TRUNC) || length > max_datagram ? SS_DGRAM_TRUNCATED : 0;
    write_peer(record, &r->addrs[i], h->msg_namelen);
  }
  *count = received;
  /*
   * A short batch means the queue was empty (or an error stopped it, which the kernel keeps pending and
   * the poll reports next), so skip the recvmmsg that would only say EAGAIN: at low rates that halves the
   * syscalls. uv_poll is level-triggered, so a datagram that arrived meanwhile wakes it again.
   */
  return (size_t)received < batch ? EAGAIN : 0;
}

/* Reads the error queue of an IP_RECVERR socket, counting what it finds as peer errors. */
static void drain_error_queue(int fd, int32_t *meta) {
  int drained = 0;
  while (drained < ERROR_QUEUE_DRAIN) {
    union {
      struct cmsghdr align;
      char bytes[CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6))];
    } control;
    /* The payload (the datagram the ICMP report quotes) is not wanted: it arrives cut to 0 bytes. */
    struct msghdr h = {.msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
    if (recvmsg(fd, &h, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    drained++;
    int err = ECONNREFUSED;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c != NULL; c = CMSG_NXTHDR(&h, c)) {
      if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
          (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
        struct sock_extended_err ee;
        memcpy(&ee, CMSG_DATA(c), sizeof ee);
        err = (int)ee.ee_errno;
      }
    }
    count_peer_error(meta, err);
  }
}

int ss_udp_take_error(int fd, int32_t *meta) {
  int err = 0;
  socklen_t len = sizeof err;
  /* Reading SO_ERROR clears it, so the poll stops reporting the condition. */
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  if (err != 0 && !is_peer_error(err)) return err;
  if (err != 0) count_peer_error(meta, err);
  /*
   * Finding nothing is fine: a send from another callback of the same loop turn may have consumed the
   * error first. The poll reports POLLERR only while an error or the error queue is pending, so this
   * cannot spin.
   */
  drain_error_queue(fd, meta);
  return 0;
}

/* The destination of one send record; the record was checked (family 4 or 6, port 0-65535) by the caller. */
static socklen_t destination(const int32_t *record, struct sockaddr_in6 *out) {
  const uint32_t *words = (const uint32_t *)&record[SS_DGRAM_ADDRESS];
  memset(out, 0, sizeof *out);
  if (record[SS_DGRAM_FAMILY] == SS_FAMILY_IPV4) {
    /* An IPv4 destination works on a dual-stack IPv6 socket too: Linux's udpv6_sendmsg hands it to IPv4. */
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)record[SS_DGRAM_PORT]);
    v4->sin_addr.s_addr = htonl(words[0]);
    return sizeof *v4;
  }
  out->sin6_family = AF_INET6;
  out->sin6_port = htons((uint16_t)record[SS_DGRAM_PORT]);
  for (int i = 0; i < SS_DGRAM_ADDRESS_WORDS; i++) {
    uint32_t group = htonl(words[i]);
    memcpy(&out->sin6_addr.s6_addr[4 * i], &group, sizeof group);
  }
  return sizeof *out;
}

size_t ss_udp_send_batch(int fd, const uint8_t *slab, int32_t *meta, size_t count) {
  struct mmsghdr msgs[SEND_CHUNK];
  struct iovec iovs[SEND_CHUNK];
  struct sockaddr_in6 addrs[SEND_CHUNK];
  int32_t sent = 0, failed = 0, first_errno = 0, stop_errno = 0, icmp_errors = 0;
  uint32_t sent_bytes = 0; /* wraps like any counter; JS reads it with `>>> 0` */
  bool retried = false;
  size_t done = 0;
  while (done < count) {
    size_t n = count - done < SEND_CHUNK ? count - done : SEND_CHUNK;
    memset(msgs, 0, n * sizeof msgs[0]);
    for (size_t i = 0; i < n; i++) {
      const int32_t *record = meta + SS_META_HEADER_WORDS + (done + i) * SS_DGRAM_WORDS;
      iovs[i].iov_base = (void *)(slab + record[SS_DGRAM_OFFSET]);
      iovs[i].iov_len = (size_t)record[SS_DGRAM_LENGTH];
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = destination(record, &addrs[i]);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int result = sendmmsg(fd, msgs, (unsigned int)n, MSG_DONTWAIT);
    if (result > 0) {
      for (int i = 0; i < result; i++) sent_bytes += (uint32_t)iovs[i].iov_len;
      done += (size_t)result;
      sent += result;
      retried = false;
      continue;
    }
    /*
     * sendmmsg stops at the first datagram that fails and, if some went before it, returns their count and
     * drops the error: so an error is only ever seen here, for datagram `done`, on the next call.
     */
    int err = errno;
    if (err == EINTR) continue;
    /* A full buffer stops the batch for JS to retry; so does a socket that cannot send anything at all. */
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == EBADF || err == ENOTSOCK) {
      stop_errno = err == EWOULDBLOCK ? EAGAIN : err;
      break;
    }
    /*
     * UDP never refuses a send by itself: ECONNREFUSED is a pending ICMP report about an earlier datagram
     * (sock_alloc_send_pskb returns it instead of sending), now cleared. This datagram was not sent, so try
     * it again, once.
     */
    if (err == ECONNREFUSED && !retried) {
      icmp_errors++;
      retried = true;
      continue;
    }
    /* An error of this datagram alone (EMSGSIZE, EACCES, ENETUNREACH, EAFNOSUPPORT, ...): skip it. */
    meta[SS_META_HEADER_WORDS + done * SS_DGRAM_WORDS + SS_DGRAM_FLAGS] = err;
    failed++;
    if (first_errno == 0) first_errno = err;
    done++;
    retried = false;
  }
  meta[SS_META_SEND_SENT] = sent;
  meta[SS_META_SEND_FAILED] = failed;
  meta[SS_META_SEND_FIRST_ERRNO] = first_errno;
  meta[SS_META_SEND_STOP_ERRNO] = stop_errno;
  meta[SS_META_SEND_ICMP_ERRORS] = icmp_errors;
  ((uint32_t *)meta)[SS_META_SEND_SENT_BYTES] = sent_bytes;
  return done;
}
