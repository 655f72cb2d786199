#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ss.h"

/* Control-message room for SS_SCM_MAX_FDS descriptors, aligned as cmsghdr wants it. */
typedef union {
  char bytes[CMSG_SPACE(sizeof(int) * SS_SCM_MAX_FDS)];
  struct cmsghdr align;
} fd_control;

int ss_send_fds(int fd, const void *data, size_t length, const int *fds, size_t count, size_t *sent) {
  if (count > SS_SCM_MAX_FDS) return EINVAL;
  struct iovec iov = {(void *)data, length};
  struct msghdr msg = {0};
  fd_control control;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (count > 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
  }
  /* MSG_NOSIGNAL: a peer that has gone away is EPIPE here, not a SIGPIPE that ends the process. */
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EWOULDBLOCK ? EAGAIN : errno;
  *sent = (size_t)n;
  return 0;
}

/* Closes the descriptors a message brought, for the cases where nobody may keep them. */
static void close_received(int *fds, size_t count) {
  for (size_t i = 0; i < count; i++) close(fds[i]);
}

int ss_recv_fds(int fd, void *data, size_t capacity, int *fds, size_t max_fds, size_t *length, size_t *count) {
  struct iovec iov = {data, capacity};
  struct msghdr msg = {0};
  fd_control control;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof control.bytes;
  *length = 0;
  *count = 0;
  ssize_t n;
  /* MSG_CMSG_CLOEXEC: received descriptors are close-on-exec from their first instant, like every fd here. */
  do {
    n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EWOULDBLOCK ? EAGAIN : errno;
  size_t received = 0, surplus = 0;
  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t in_message = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *incoming = (int *)CMSG_DATA(cmsg);
    for (size_t i = 0; i < in_message; i++) {
      /* More than the caller has room for: keep none of the surplus open in this process. */
      if (received < max_fds) {
        fds[received++] = incoming[i];
      } else {
        close(incoming[i]);
        surplus++;
      }
    }
  }
  /*
   * A message cut short (data or descriptors that did not fit) is refused whole, its descriptors closed:
   * the caller would otherwise act on half an offer. MSG_CTRUNC means the kernel already closed some fds.
   */
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || surplus > 0) {
    close_received(fds, received);
    return EMSGSIZE;
  }
  *length = (size_t)n;
  *count = received;
  return 0;
}
