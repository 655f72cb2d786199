/*
 * A stream group: the connections of one thread, each fd on its own uv_poll_t in that thread's loop, read
 * with recv straight into one slab (a JS Uint8Array over a SharedArrayBuffer) and written with writev from
 * it. Reads queue events; the group hands JS every queued event at once, in the loop's check phase (after
 * all of this turn's I/O callbacks), so JS runs once per loop turn however many connections were readable.
 * JS answers by writing bytes into the slab's output region and records into `out`, then flushes: each
 * stream gets one writev per flush (its responses corked), and what the kernel does not take waits in a
 * per-stream buffer (with POLLOUT) until it does.
 *
 * Threading: everything here runs on the thread whose loop the group lives in; nothing is shared with
 * other threads but the slab's bytes, which only this thread touches while the group lives.
 *
 * No N-API here: binding.c delivers events to JS through `deliver` and asks `can_take` before the group
 * takes bytes out of the kernel (a dying worker's loop may still turn; what it could not deliver must stay
 * queued in the kernel, as the acceptor and the UDP poller do).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ss.h"

typedef enum {
  STREAM_FREE,
  STREAM_OPEN,
  STREAM_ENDING,  /* END queued: flush what is pending, then shut the write side */
  STREAM_LINGER,  /* write side shut: read and discard until the peer closes (no RST over our response) */
  STREAM_CLOSING, /* uv_close in progress */
  STREAM_ZOMBIE,  /* closed by the group; its id is free once JS has been told (CLOSED delivered) */
} stream_state;

typedef struct ss_stream {
  uv_poll_t poll; /* first: the uv handle pointer is the stream pointer */
  ss_streams *group;
  int fd;
  int32_t id;
  stream_state state;
  int events;      /* what the poll waits for now (UV_READABLE | UV_WRITABLE), 0 when stopped */
  bool js_paused;  /* JS asked us to stop reading */
  bool eof;        /* the peer shut its write side (or an error ended reading) */
  bool failed;     /* a read or write error was reported: nothing more is read or written */
  bool was_high;   /* pending passed the high-water mark: report DRAINED when it empties */
  /* Bytes the kernel has not taken yet: pending[pending_off, pending_len). */
  uint8_t *pending;
  size_t pending_off, pending_len, pending_cap;
  /* Output records of the flush in progress, chained by index (see ss_streams_flush). */
  int32_t out_head, out_tail;
  struct ss_stream *next_touched;
} ss_stream;

struct ss_streams {
  uv_check_t check;  /* delivers the queued events once per loop turn */
  uv_idle_t kick;    /* active while events wait: the loop must not block in poll before delivering them */
  uv_loop_t *loop;
  ss_streams_config config;
  ss_streams_hooks hooks;
  ss_stream **streams; /* by id; NULL where never used */
  int32_t *free_ids;
  size_t free_count, used_ids;
  int32_t *queue; /* queued events, SS_EVENT_WORDS each */
  size_t queued, queue_cap;
  size_t in_used; /* bytes of the slab's input region taken by queued DATA events */
  int32_t *out_next; /* per out record: the next record of the same stream, -1 at the end */
  size_t out_next_cap;
  int open_handles; /* stream polls plus check and kick, until closed */
  bool closing;
  bool delivering;
};

enum { READ_ROUNDS = 4 };

static void update_interest(ss_stream *s);
static void close_stream(ss_stream *s, bool tell_js);
static void on_kick(uv_idle_t *idle);

/* ---- events -------------------------------------------------------------------------------------- */

static bool queue_event(ss_streams *g, int32_t type, int32_t id, int32_t a, int32_t b) {
  if (g->queued == g->queue_cap) {
    size_t cap = g->queue_cap == 0 ? 256 : g->queue_cap * 2;
    int32_t *queue = realloc(g->queue, cap * SS_EVENT_WORDS * sizeof *queue);
    if (queue == NULL) return false;
    g->queue = queue;
    g->queue_cap = cap;
  }
  int32_t *event = g->queue + g->queued * SS_EVENT_WORDS;
  event[SS_EVENT_TYPE] = type;
  event[SS_EVENT_ID] = id;
  event[SS_EVENT_A] = a;
  event[SS_EVENT_B] = b;
  g->queued++;
  /* Queued outside the poll phase (a flush from a timer, a close callback): do not sleep on it. */
  if (!g->closing && !g->delivering) uv_idle_start(&g->kick, on_kick);
  return true;
}

static void free_id(ss_streams *g, int32_t id) {
  ss_stream *s = g->streams[id];
  s->state = STREAM_FREE;
  g->free_ids[g->free_count++] = id;
}

/*
 * Hands JS the queued events, at most `max_events` at a time. JS may queue more while it runs (a flush
 * that meets a reset): those stay for the next round. Slots of streams whose CLOSED was delivered are
 * freed here, after JS has been told, so an id is never reused while JS may still hold it.
 */
static void deliver_queue(ss_streams *g) {
  if (g->delivering) return;
  g->delivering = true;
  while (g->queued > 0 && !g->closing) {
    size_t count = g->queued < g->config.max_events ? g->queued : g->config.max_events;
    memcpy(g->config.events, g->queue, count * SS_EVENT_WORDS * sizeof *g->queue);
    if (!g->hooks.deliver(g, (int)count, g->hooks.arg)) {
      /* JS can no longer run: nothing will read these bytes; stop taking more. */
      g->queued = 0;
      break;
    }
    for (size_t i = 0; i < count; i++) {
      const int32_t *event = g->queue + i * SS_EVENT_WORDS;
      if (event[SS_EVENT_TYPE] == SS_EV_CLOSED) free_id(g, event[SS_EVENT_ID]);
    }
    g->queued -= count;
    memmove(g->queue, g->queue + count * SS_EVENT_WORDS, g->queued * SS_EVENT_WORDS * sizeof *g->queue);
  }
  /* Every DATA event has been delivered (the loop above ends with an empty queue): the input region is free. */
  if (g->queued == 0) g->in_used = 0;
  g->delivering = false;
  uv_idle_stop(&g->kick);
}

static void on_check(uv_check_t *check) {
  ss_streams *g = (ss_streams *)check;
  if (g->queued > 0) deliver_queue(g);
}

static void on_kick(uv_idle_t *idle) {
  (void)idle; /* only its being active matters: uv_run does not block in poll while an idle handle runs */
}

/* A stream that is going away must not have events delivered after it: JS forgot it already. */
static void drop_events(ss_streams *g, int32_t id) {
  for (size_t i = 0; i < g->queued; i++) {
    int32_t *event = g->queue + i * SS_EVENT_WORDS;
    if (event[SS_EVENT_ID] == id) event[SS_EVENT_TYPE] = SS_EV_NONE;
  }
}

/* ---- reading ------------------------------------------------------------------------------------- */

static int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err != 0 ? err : EIO;
}

static void fail(ss_stream *s, int err) {
  if (s->failed) return;
  s->failed = true;
  s->eof = true;
  queue_event(s->group, SS_EV_ERROR, s->id, err, 0);
  update_interest(s);
}

/* LINGER: our response is out and our write side shut; whatever the peer still sends is dropped. */
static void linger_read(ss_stream *s) {
  uint8_t sink[4096];
  for (;;) {
    ssize_t n = recv(s->fd, sink, sizeof sink, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close_stream(s, true);
    return;
  }
}

static void read_stream(ss_stream *s) {
  ss_streams *g = s->group;
  if (!g->hooks.can_take(g->hooks.arg)) {
    /* The thread is dying: leave the bytes in the kernel and stop waking for them. */
    s->js_paused = true;
    update_interest(s);
    return;
  }
  for (int round = 0; round < READ_ROUNDS && s->state == STREAM_OPEN && !s->js_paused && !s->eof; round++) {
    size_t space = g->config.in_bytes - g->in_used;
    if (space < g->config.read_bytes) {
      deliver_queue(g);
      if (s->state != STREAM_OPEN || s->js_paused) return;
      space = g->config.in_bytes - g->in_used;
      if (space < g->config.read_bytes) return; /* still busy (delivering re-entered): next turn */
    }
    size_t want = g->config.read_bytes;
    ssize_t n = recv(s->fd, g->config.slab + g->in_used, want, 0);
    if (n > 0) {
      if (!queue_event(g, SS_EV_DATA, s->id, (int32_t)g->in_used, (int32_t)n)) {
        fail(s, ENOMEM);
        return;
      }
      /* 8-byte aligned, as the ring's records are: JS may lay typed views over what it reads. */
      g->in_used += ((size_t)n + 7) & ~(size_t)7;
      if ((size_t)n < want) return; /* the kernel had no more: wait for the next readiness */
      continue;
    }
    if (n == 0) {
      s->eof = true;
      queue_event(g, SS_EV_EOF, s->id, 0, 0);
      update_interest(s);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    fail(s, errno);
    return;
  }
}

/* ---- writing ------------------------------------------------------------------------------------- */

static bool keep_pending(ss_stream *s, const uint8_t *data, size_t len) {
  if (len == 0) return true;
  size_t used = s->pending_len - s->pending_off;
  if (s->pending_off > 0 && s->pending_off >= used) {
    memmove(s->pending, s->pending + s->pending_off, used);
    s->pending_len = used;
    s->pending_off = 0;
  }
  if (s->pending_len + len > s->pending_cap) {
    size_t cap = s->pending_cap == 0 ? 16384 : s->pending_cap;
    while (cap < s->pending_len + len) cap *= 2;
    uint8_t *grown = realloc(s->pending, cap);
    if (grown == NULL) return false;
    s->pending = grown;
    s->pending_cap = cap;
  }
  memcpy(s->pending + s->pending_len, data, len);
  s->pending_len += len;
  return true;
}

static size_t pending_bytes(const ss_stream *s) {
  return s->pending_len - s->pending_off;
}

static void publish_pending(ss_stream *s) {
  size_t bytes = pending_bytes(s);
  if (bytes > s->group->config.high_water) s->was_high = true;
  if (s->group->config.pending != NULL)
    s->group->config.pending[s->id] = bytes > INT32_MAX ? INT32_MAX : (int32_t)bytes;
}

/* Writes iov (nothing pending before it); keeps what the kernel did not take. False: a write error. */
static bool write_iov(ss_stream *s, struct iovec *iov, int count) {
  size_t total = 0;
  for (int i = 0; i < count; i++) total += iov[i].iov_len;
  ssize_t n;
  do {
    n = writev(s->fd, iov, count);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      fail(s, errno);
      return false;
    }
    n = 0;
  }
  if ((size_t)n == total) return true;
  size_t skip = (size_t)n;
  for (int i = 0; i < count; i++) {
    if (skip >= iov[i].iov_len) {
      skip -= iov[i].iov_len;
      continue;
    }
    if (!keep_pending(s, (const uint8_t *)iov[i].iov_base + skip, iov[i].iov_len - skip)) {
      fail(s, ENOMEM);
      return false;
    }
    skip = 0;
  }
  return true;
}

static void shut_write_side(ss_stream *s) {
  shutdown(s->fd, SHUT_WR);
  s->state = STREAM_LINGER;
  update_interest(s);
  /* The peer may have closed already (EOF seen): then there is nothing to linger for. */
  if (s->eof) close_stream(s, true);
}

/* POLLOUT: the kernel takes more of what is pending. */
static void write_pending(ss_stream *s) {
  while (pending_bytes(s) > 0) {
    ssize_t n = send(s->fd, s->pending + s->pending_off, pending_bytes(s), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      fail(s, errno);
      return;
    }
    s->pending_off += (size_t)n;
  }
  if (pending_bytes(s) == 0) {
    s->pending_off = s->pending_len = 0;
    if (s->was_high) {
      s->was_high = false;
      queue_event(s->group, SS_EV_DRAINED, s->id, 0, 0);
    }
  }
  publish_pending(s);
  if (pending_bytes(s) == 0 && s->state == STREAM_ENDING) {
    shut_write_side(s);
    return;
  }
  update_interest(s);
}

static bool writable_state(const ss_stream *s) {
  return (s->state == STREAM_OPEN) && !s->failed;
}

/*
 * The out records of one flush, in order: [id, offset, length, flags] after SS_OUT_HEADER_WORDS header
 * words (word 0: how many). Records are chained per stream, then each stream gets one writev of all of its
 * records (at most IOV_MAX at a time), so a batch of pipelined responses leaves in one system call.
 */
void ss_streams_flush(ss_streams *g) {
  int32_t *out = g->config.out;
  int32_t count = out[SS_OUT_COUNT];
  if (count <= 0) return;
  out[SS_OUT_COUNT] = 0;
  size_t max = (g->config.out_words - SS_OUT_HEADER_WORDS) / SS_OUT_WORDS;
  if ((size_t)count > max) count = (int32_t)max;
  if ((size_t)count > g->out_next_cap) {
    int32_t *next = realloc(g->out_next, (size_t)count * sizeof *next);
    if (next == NULL) return;
    g->out_next = next;
    g->out_next_cap = (size_t)count;
  }
  ss_stream *touched = NULL;
  size_t slab_bytes = g->config.slab_bytes;
  for (int32_t i = 0; i < count; i++) {
    const int32_t *record = out + SS_OUT_HEADER_WORDS + i * SS_OUT_WORDS;
    int32_t id = record[SS_OUT_ID];
    g->out_next[i] = -1;
    if (id < 0 || (size_t)id >= g->used_ids) continue;
    ss_stream *s = g->streams[id];
    if (s == NULL || !writable_state(s)) continue;
    int64_t offset = record[SS_OUT_OFFSET], length = record[SS_OUT_LENGTH];
    if (offset < 0 || length < 0 || offset + length > (int64_t)slab_bytes) continue;
    if (s->out_head < 0) {
      s->out_head = i;
      s->next_touched = touched;
      touched = s;
    } else {
      g->out_next[s->out_tail] = i;
    }
    s->out_tail = i;
  }
  struct iovec iov[64];
  for (ss_stream *s = touched; s != NULL; s = s->next_touched) {
    bool end = false, ok = true;
    int n = 0;
    for (int32_t i = s->out_head; i >= 0 && ok; i = g->out_next[i]) {
      const int32_t *record = out + SS_OUT_HEADER_WORDS + i * SS_OUT_WORDS;
      if (record[SS_OUT_FLAGS] & SS_OUT_END) end = true;
      if (record[SS_OUT_LENGTH] == 0) continue;
      uint8_t *data = g->config.slab + record[SS_OUT_OFFSET];
      size_t len = (size_t)record[SS_OUT_LENGTH];
      if (pending_bytes(s) > 0) {
        /* Order: behind what the kernel has not taken yet. */
        if (n > 0) ok = write_iov(s, iov, n);
        n = 0;
        if (ok && !keep_pending(s, data, len)) {
          fail(s, ENOMEM);
          ok = false;
        }
        continue;
      }
      iov[n].iov_base = data;
      iov[n].iov_len = len;
      if (++n == (int)(sizeof iov / sizeof iov[0])) {
        ok = write_iov(s, iov, n);
        n = 0;
      }
    }
    if (ok && n > 0) ok = write_iov(s, iov, n);
    s->out_head = s->out_tail = -1;
    if (!ok || s->failed) continue;
    publish_pending(s);
    if (end) s->state = STREAM_ENDING;
    if (pending_bytes(s) == 0 && end) shut_write_side(s);
    else update_interest(s);
  }
}

int ss_streams_write(ss_streams *g, int32_t id, const uint8_t *data, size_t len) {
  ss_streams_flush(g);
  ss_stream *s = ss_streams_get(g, id);
  if (s == NULL) return EBADF;
  if (!writable_state(s)) return s->failed ? EPIPE : EBADF;
  if (pending_bytes(s) > 0) {
    if (!keep_pending(s, data, len)) fail(s, ENOMEM);
  } else {
    struct iovec iov = {(void *)data, len};
    write_iov(s, &iov, 1);
  }
  if (!s->failed) {
    publish_pending(s);
    update_interest(s);
  }
  return 0;
}

/* ---- poll interest and lifetime ------------------------------------------------------------------ */

static void on_stream_event(uv_poll_t *poll, int status, int events) {
  ss_stream *s = (ss_stream *)poll;
  if (status < 0) {
    /* EPOLLERR: libuv stops the poll and reports UV_EBADF; the socket's own error says what happened. */
    s->events = 0;
    if (s->state == STREAM_LINGER || s->state == STREAM_ENDING) close_stream(s, true);
    else fail(s, socket_error(s->fd));
    return;
  }
  if ((events & UV_WRITABLE) && pending_bytes(s) > 0) write_pending(s);
  if (!(events & UV_READABLE)) return;
  if (s->state == STREAM_LINGER) linger_read(s);
  else if (s->state == STREAM_OPEN || s->state == STREAM_ENDING) read_stream(s);
}

static void update_interest(ss_stream *s) {
  int want = 0;
  ss_streams *g = s->group;
  if (s->state == STREAM_LINGER) {
    want = UV_READABLE;
  } else if (s->state == STREAM_OPEN || s->state == STREAM_ENDING) {
    if (!s->failed && pending_bytes(s) > 0) want |= UV_WRITABLE;
    /* Back-pressure: a peer that does not read its responses is not read from either. */
    if (s->state == STREAM_OPEN && !s->js_paused && !s->eof && !s->failed && pending_bytes(s) <= g->config.high_water)
      want |= UV_READABLE;
  }
  if (want == s->events) return;
  if (want == 0) {
    uv_poll_stop(&s->poll);
  } else if (uv_poll_start(&s->poll, want, on_stream_event) != 0) {
    want = 0;
    fail(s, EBADF);
  }
  s->events = want;
}

static void on_stream_closed(uv_handle_t *handle) {
  ss_stream *s = (ss_stream *)handle;
  ss_streams *g = s->group;
  close(s->fd);
  free(s->pending);
  s->pending = NULL;
  s->pending_off = s->pending_len = s->pending_cap = 0;
  if (g->config.pending != NULL) g->config.pending[s->id] = 0;
  bool tell_js = s->state == STREAM_ZOMBIE;
  g->open_handles--;
  if (g->closing) {
    if (g->open_handles == 0) g->hooks.closed(g->hooks.arg);
    return;
  }
  if (tell_js) queue_event(g, SS_EV_CLOSED, s->id, 0, 0);
  else free_id(g, s->id);
}

/* tell_js: the group closed it on its own (after END, or lingering done), so JS hears CLOSED. */
static void close_stream(ss_stream *s, bool tell_js) {
  if (s->state == STREAM_CLOSING || s->state == STREAM_ZOMBIE || s->state == STREAM_FREE) return;
  drop_events(s->group, s->id);
  s->state = tell_js ? STREAM_ZOMBIE : STREAM_CLOSING;
  s->events = 0;
  uv_close((uv_handle_t *)&s->poll, on_stream_closed);
}

ss_stream *ss_streams_get(ss_streams *g, int32_t id) {
  if (id < 0 || (size_t)id >= g->used_ids) return NULL;
  ss_stream *s = g->streams[id];
  if (s == NULL || s->state == STREAM_FREE || s->state == STREAM_CLOSING || s->state == STREAM_ZOMBIE) return NULL;
  return s;
}

int ss_streams_add(ss_streams *g, int fd, int32_t *id_out) {
  if (g->closing) return EBADF;
  int32_t id;
  if (g->free_count > 0) {
    id = g->free_ids[--g->free_count];
  } else {
    if (g->used_ids == g->config.max_streams) return EMFILE;
    id = (int32_t)g->used_ids++;
    g->streams[id] = calloc(1, sizeof(ss_stream));
    if (g->streams[id] == NULL) {
      g->used_ids--;
      return ENOMEM;
    }
  }
  ss_stream *s = g->streams[id];
  memset(s, 0, sizeof *s);
  s->group = g;
  s->fd = fd;
  s->id = id;
  s->out_head = s->out_tail = -1;
  int err = uv_poll_init(g->loop, &s->poll, fd);
  if (err != 0) {
    free_id(g, id);
    return -err;
  }
  /* As Node's HTTP server does: a response written in pieces must not wait 40 ms for an ACK. */
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  s->state = STREAM_OPEN;
  g->open_handles++;
  if (g->config.pending != NULL) g->config.pending[id] = 0;
  update_interest(s);
  *id_out = id;
  return 0;
}

void ss_streams_pause(ss_streams *g, int32_t id, bool paused) {
  ss_stream *s = ss_streams_get(g, id);
  if (s == NULL) return;
  s->js_paused = paused;
  update_interest(s);
}

void ss_streams_destroy(ss_streams *g, int32_t id) {
  ss_stream *s = ss_streams_get(g, id);
  if (s != NULL) close_stream(s, false);
}

static void on_group_handle_closed(uv_handle_t *handle) {
  ss_streams *g = handle->data;
  if (--g->open_handles == 0) g->hooks.closed(g->hooks.arg);
}

ss_streams *ss_streams_new(uv_loop_t *loop, const ss_streams_config *config, const ss_streams_hooks *hooks) {
  ss_streams *g = calloc(1, sizeof *g);
  if (g == NULL) return NULL;
  g->loop = loop;
  g->config = *config;
  g->hooks = *hooks;
  g->streams = calloc(config->max_streams, sizeof *g->streams);
  g->free_ids = calloc(config->max_streams, sizeof *g->free_ids);
  if (g->streams == NULL || g->free_ids == NULL) {
    free(g->streams);
    free(g->free_ids);
    free(g);
    return NULL;
  }
  uv_check_init(loop, &g->check);
  uv_idle_init(loop, &g->kick);
  g->check.data = g->kick.data = g;
  /* Neither keeps the loop alive on its own: the streams' polls do, as sockets do. */
  uv_unref((uv_handle_t *)&g->check);
  uv_unref((uv_handle_t *)&g->kick);
  uv_check_start(&g->check, on_check);
  g->open_handles = 2;
  return g;
}

/* Closes every stream (their pending output is dropped) and the group's own handles; hooks.closed last. */
void ss_streams_close(ss_streams *g) {
  if (g->closing) return;
  g->closing = true;
  for (size_t id = 0; id < g->used_ids; id++) {
    ss_stream *s = g->streams[id];
    if (s != NULL && s->state != STREAM_FREE && s->state != STREAM_CLOSING && s->state != STREAM_ZOMBIE) {
      s->state = STREAM_CLOSING;
      uv_close((uv_handle_t *)&s->poll, on_stream_closed);
    }
  }
  uv_close((uv_handle_t *)&g->check, on_group_handle_closed);
  uv_close((uv_handle_t *)&g->kick, on_group_handle_closed);
}

void ss_streams_free(ss_streams *g) {
  for (size_t id = 0; id < g->used_ids; id++) free(g->streams[id]);
  free(g->streams);
  free(g->free_ids);
  free(g->queue);
  free(g->out_next);
  free(g);
}
