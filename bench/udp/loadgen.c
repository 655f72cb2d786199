/*
 * UDP echo load generator for bench/udp.ts: closed loop, batched with sendmmsg/recvmmsg, so that it is
 * not the bottleneck (a Node client would be: ~10 us of CPU per datagram against ~1 us here).
 *
 *   loadgen HOST PORTS(comma-separated) SIZE SECONDS WINDOW FLOWS_PER_PORT
 *
 * Each flow is its own socket (its own 4-tuple, so SO_REUSEPORT servers see several flows) that keeps
 * WINDOW datagrams in flight: every reply lets it send one more. A flow that hears nothing for 20 ms
 * counts what it had in flight as lost and sends a fresh window. Each datagram carries the flow's
 * sequence number, checked on the way back. Prints one JSON line, with the CPU time it used itself.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOWS 256
#define BATCH 64
#define MAX_SIZE 2048
#define STALL_NS 20000000LL

struct flow {
  int fd;
  uint32_t next_seq;
  int in_flight;
  long long last_reply_ns;
};

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int send_some(struct flow *flow, int count, int size, long long *sent) {
  static char bufs[BATCH][MAX_SIZE];
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  if (count > BATCH) count = BATCH;
  for (int i = 0; i < count; i++) {
    uint32_t seq = flow->next_seq + (uint32_t)i;
    memset(bufs[i], 'x', (size_t)size);
    memcpy(bufs[i], &seq, sizeof seq);
    iovs[i].iov_base = bufs[i];
    iovs[i].iov_len = (size_t)size;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = sendmmsg(flow->fd, msgs, (unsigned)count, MSG_DONTWAIT);
  if (n < 0) return 0;
  flow->next_seq += (uint32_t)n;
  flow->in_flight += n;
  *sent += n;
  return n;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: loadgen HOST PORTS SIZE SECONDS WINDOW FLOWS_PER_PORT\n");
    return 2;
  }
  const char *host = argv[1];
  int size = atoi(argv[3]);
  double seconds = atof(argv[4]);
  int window = atoi(argv[5]);
  int per_port = atoi(argv[6]);
  if (size < 4 || size > MAX_SIZE || window < 1 || per_port < 1) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  int ports[64];
  int nports = 0;
  for (char *p = strtok(argv[2], ","); p != NULL && nports < 64; p = strtok(NULL, ",")) ports[nports++] = atoi(p);

  struct flow flows[MAX_FLOWS];
  struct pollfd pfds[MAX_FLOWS];
  int nflows = 0;
  int v6 = strchr(host, ':') != NULL;
  for (int p = 0; p < nports; p++) {
    for (int f = 0; f < per_port && nflows < MAX_FLOWS; f++) {
      int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      int rcvbuf = 4 << 20;
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
      struct sockaddr_storage addr;
      socklen_t len;
      memset(&addr, 0, sizeof addr);
      if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)ports[p]);
        inet_pton(AF_INET6, host, &a->sin6_addr);
        len = sizeof *a;
      } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)ports[p]);
        inet_pton(AF_INET, host, &a->sin_addr);
        len = sizeof *a;
      }
      if (connect(fd, (struct sockaddr *)&addr, len) != 0) {
        perror("connect");
        return 1;
      }
      flows[nflows] = (struct flow){.fd = fd, .next_seq = 0, .in_flight = 0, .last_reply_ns = now_ns()};
      pfds[nflows] = (struct pollfd){.fd = fd, .events = POLLIN};
      nflows++;
    }
  }

  long long sent = 0, received = 0, lost = 0, bad = 0, refused = 0;
  long long start = now_ns();
  long long end = start + (long long)(seconds * 1e9);
  for (int i = 0; i < nflows; i++) send_some(&flows[i], window, size, &sent);

  static char rbufs[BATCH][MAX_SIZE];
  struct mmsghdr rmsgs[BATCH];
  struct iovec riovs[BATCH];
  long long t;
  while ((t = now_ns()) < end) {
    int ready = poll(pfds, (nfds_t)nflows, 5);
    for (int i = 0; i < nflows; i++) {
      struct flow *flow = &flows[i];
      if (ready > 0 && (pfds[i].revents & (POLLIN | POLLERR))) {
        for (;;) {
          for (int k = 0; k < BATCH; k++) {
            riovs[k].iov_base = rbufs[k];
            riovs[k].iov_len = MAX_SIZE;
            memset(&rmsgs[k], 0, sizeof rmsgs[k]);
            rmsgs[k].msg_hdr.msg_iov = &riovs[k];
            rmsgs[k].msg_hdr.msg_iovlen = 1;
          }
          int n = recvmmsg(flow->fd, rmsgs, BATCH, MSG_DONTWAIT, NULL);
          if (n < 0) {
            if (errno == ECONNREFUSED) refused++;
            break;
          }
          for (int k = 0; k < n; k++) {
            if ((int)rmsgs[k].msg_len < size - 1) bad++; /* servers may prefix a byte; never shorter */
          }
          received += n;
          flow->in_flight -= n;
          if (flow->in_flight < 0) flow->in_flight = 0;
          flow->last_reply_ns = t;
          send_some(flow, n, size, &sent);
          if (n < BATCH) break;
        }
      }
      if (t - flow->last_reply_ns > STALL_NS) {
        lost += flow->in_flight;
        flow->in_flight = 0;
        flow->last_reply_ns = t;
        send_some(flow, window, size, &sent);
      }
    }
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  /* What is still in flight at the end is neither received nor lost: report it apart. */
  long long in_flight = 0;
  for (int i = 0; i < nflows; i++) in_flight += flows[i].in_flight;
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  printf("{\"seconds\":%.3f,\"sent\":%lld,\"received\":%lld,\"lost\":%lld,\"inFlight\":%lld,\"short\":%lld,"
         "\"refused\":%lld,\"flows\":%d,\"cpuSeconds\":%.4f}\n",
         elapsed, sent, received, lost, in_flight, bad, refused, nflows, cpu);
  return 0;
}
