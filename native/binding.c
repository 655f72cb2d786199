/*
 * The N-API glue: argument checks, results as JS values, and the pollers (a uv_poll_t in the calling
 * thread's loop): the acceptor on a listening fd, the UDP batch receiver on a datagram socket, and a bare
 * readiness watcher (the hand-over channel). Context-aware: all state hangs off the handles JS holds, none is global,
 * so the addon loads in any number of worker threads.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "ss.h"

#define CALL(env, call)                                                                                  \
  do {                                                                                                   \
    if ((call) != napi_ok) return ss_throw_last_napi_error(env);                                        \
  } while (0)

/* Longer than any IPv4 or IPv6 literal, so a truncated host is never a valid address. */
#define HOST_MAX 64

static const ss_error_context no_context = {NULL, -1, -1};

/* ---- arguments ---------------------------------------------------------------------------------- */

/* Both return false so that bool helpers can `return throw_...`; napi_value functions then return NULL. */
static bool throw_type(napi_env env, const char *what, const char *expected) {
  char message[256];
  snprintf(message, sizeof message, "%s must be %s", what, expected);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return false;
}

static bool throw_range(napi_env env, const char *what, const char *expected) {
  char message[256];
  snprintf(message, sizeof message, "%s must be %s", what, expected);
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return false;
}

/* *out is NULL when the property is undefined. */
static bool optional_property(napi_env env, napi_value object, const char *name, napi_valuetype type,
                              const char *expected, napi_value *out) {
  napi_valuetype actual;
  if (napi_get_named_property(env, object, name, out) != napi_ok || napi_typeof(env, *out, &actual) != napi_ok) {
    ss_throw_last_napi_error(env);
    return false;
  }
  if (actual == napi_undefined) {
    *out = NULL;
    return true;
  }
  if (actual != type) return throw_type(env, name, expected);
  return true;
}

static bool int_option(napi_env env, napi_value object, const char *name, int32_t min, int32_t max,
                       int32_t fallback, int32_t *out) {
  napi_value value;
  double number;
  if (!optional_property(env, object, name, napi_number, "a number", &value)) return false;
  if (value == NULL) {
    *out = fallback;
    return true;
  }
  if (napi_get_value_double(env, value, &number) != napi_ok) {
    ss_throw_last_napi_error(env);
    return false;
  }
  if (!(number >= min && number <= max) || number != (int32_t)number) {
    char expected[64];
    snprintf(expected, sizeof expected, "an integer from %d to %d", min, max);
    return throw_range(env, name, expected);
  }
  *out = (int32_t)number;
  return true;
}

static bool bool_option(napi_env env, napi_value object, const char *name, int *out) {
  napi_value value;
  bool flag = false;
  if (!optional_property(env, object, name, napi_boolean, "a boolean", &value)) return false;
  if (value != NULL && napi_get_value_bool(env, value, &flag) != napi_ok) {
    ss_throw_last_napi_error(env);
    return false;
  }
  *out = flag;
  return true;
}

static bool bind_options(napi_env env, napi_value object, char host[HOST_MAX], ss_bind_options *out) {
  napi_valuetype type;
  napi_value value;
  if (napi_typeof(env, object, &type) != napi_ok || type != napi_object)
    return throw_type(env, "options", "an object");
  if (!optional_property(env, object, "host", napi_string, "an IP address string", &value)) return false;
  if (value == NULL) return throw_type(env, "host", "an IP address string");
  if (napi_get_value_string_utf8(env, value, host, HOST_MAX, NULL) != napi_ok) {
    ss_throw_last_napi_error(env);
    return false;
  }
  out->host = host;
  return int_option(env, object, "port", 0, 65535, 0, &out->port) &&
         bool_option(env, object, "reusePort", &out->reuse_port) &&
         bool_option(env, object, "ipv6Only", &out->ipv6_only);
}

static bool fd_argument(napi_env env, napi_value value, int *fd) {
  napi_valuetype type;
  double number;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) return throw_type(env, "fd", "a number");
  napi_get_value_double(env, value, &number);
  if (!(number >= 0 && number <= INT32_MAX) || number != (int32_t)number)
    return throw_range(env, "fd", "a non-negative integer");
  *fd = (int)number;
  return true;
}

static napi_value socket_result(napi_env env, const ss_socket *sock) {
  napi_value result, fd, port;
  CALL(env, napi_create_object(env, &result));
  CALL(env, napi_create_int32(env, sock->fd, &fd));
  CALL(env, napi_create_int32(env, sock->port, &port));
  CALL(env, napi_set_named_property(env, result, "fd", fd));
  CALL(env, napi_set_named_property(env, result, "port", port));
  return result;
}

/* ---- listen, udpSocket, close, dup, localPort ---------------------------------------------------- */

/* A new fd as a JS number; if even that fails, the fd is closed rather than leaked. */
static napi_value fd_result(napi_env env, int fd) {
  napi_value result;
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    close(fd);
    return ss_throw_last_napi_error(env);
  }
  return result;
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value options;
  char host[HOST_MAX];
  ss_bind_options bind;
  int32_t backlog;
  ss_socket sock;
  CALL(env, napi_get_cb_info(env, info, &argc, &options, NULL, NULL));
  if (!bind_options(env, options, host, &bind)) return NULL;
  /* 511 is Node's default: with somaxconn 4096 (Linux >= 5.4) the kernel then keeps 511 as given. */
  if (!int_option(env, options, "backlog", 1, INT32_MAX, 511, &backlog)) return NULL;
  int err = ss_listen(&bind, backlog, &sock);
  if (err != 0) return ss_throw_errno(env, err, sock.syscall, &(ss_error_context){host, bind.port, -1});
  napi_value result = socket_result(env, &sock);
  if (result == NULL) close(sock.fd);
  return result;
}

static napi_value js_udp_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value options;
  char host[HOST_MAX];
  ss_bind_options bind;
  int32_t recv_size, send_size;
  ss_socket sock;
  CALL(env, napi_get_cb_info(env, info, &argc, &options, NULL, NULL));
  if (!bind_options(env, options, host, &bind) ||
      !int_option(env, options, "recvBufferSize", 0, INT32_MAX / 2, 0, &recv_size) ||
      !int_option(env, options, "sendBufferSize", 0, INT32_MAX / 2, 0, &send_size)) {
    return NULL;
  }
  int err = ss_udp_socket(&bind, recv_size, send_size, &sock);
  if (err != 0) return ss_throw_errno(env, err, sock.syscall, &(ss_error_context){host, bind.port, -1});
  napi_value result = socket_result(env, &sock);
  if (result == NULL) close(sock.fd);
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  int fd;
  CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (!fd_argument(env, arg, &fd)) return NULL;
  int err = ss_close(fd);
  if (err != 0) return ss_throw_errno(env, err, "close", &(ss_error_context){NULL, -1, fd});
  return NULL;
}

static napi_value js_dup(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  int fd, copy;
  CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (!fd_argument(env, arg, &fd)) return NULL;
  int err = ss_dup(fd, &copy);
  if (err != 0) return ss_throw_errno(env, err, "fcntl", &(ss_error_context){NULL, -1, fd});
  return fd_result(env, copy);
}

static napi_value js_local_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, result;
  int fd, port;
  CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (!fd_argument(env, arg, &fd)) return NULL;
  int err = ss_local_port(fd, &port);
  if (err != 0) return ss_throw_errno(env, err, "getsockname", &(ss_error_context){NULL, -1, fd});
  CALL(env, napi_create_int32(env, port, &result));
  return result;
}

/* ---- polled handles: the acceptor and the UDP batch receiver ----------------------------------------- */

/*
 * A poller is a uv_poll_t on an fd in the calling thread's loop that calls a JS callback with a count (or
 * a negative errno). The acceptor and the UDP batch receiver are pollers; only their readable handlers and
 * the typed arrays they write into differ.
 *
 * Ownership: the JS handle (an external) owns this memory and frees it in its finalizer. While the
 * uv_poll_t is open, `handle` is a strong reference to that external, so the memory outlives libuv's use
 * of it, and a handle JS still holds always points at live memory (stopping twice is safe).
 *
 * Every exit path goes through uv_close -> on_closed -> release: stop, or environment teardown (a worker
 * exiting), which uses an *async* cleanup hook because uv_close completes on a later loop turn and Node
 * must keep the loop and the napi_env alive until it has.
 */
typedef enum { POLLING, PAUSED, CLOSING } poller_state;

/* Typed arrays a poller writes into: the acceptor's `out`; the UDP receiver's `slab` and `meta`. */
#define POLLER_ARRAYS 2

typedef struct poller {
  uv_poll_t poll; /* first, so the uv handle pointer is the poller pointer */
  napi_env env;
  int fd;
  poller_state state;
  uv_poll_cb on_readable;
  /* Optional: releases what the poller itself owns once libuv is done with the fd (see on_closed). */
  void (*on_closed)(struct poller *p);
  napi_ref handle;
  napi_ref callback;
  napi_ref arrays[POLLER_ARRAYS]; /* NULL where unused */
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup;
} poller;

/*
 * Drops what a native handle holds in JS: its references (the handle's own last), its async context and
 * its cleanup hook. The caller has copied them out of its struct and cleared them there first: the struct
 * may be freed once the handle's reference is gone, so nothing here touches it.
 */
static void release_js(napi_env env, const napi_ref *refs, size_t count, napi_async_context async_context,
                       napi_async_cleanup_hook_handle cleanup) {
  /* At teardown this runs under Node's SealHandleScope, and napi_async_destroy creates a handle. */
  napi_handle_scope scope;
  bool scoped = napi_open_handle_scope(env, &scope) == napi_ok;
  if (async_context != NULL) napi_async_destroy(env, async_context);
  for (size_t i = 0; i < count; i++) {
    if (refs[i] != NULL) napi_delete_reference(env, refs[i]);
  }
  if (scoped) napi_close_handle_scope(env, scope);
  /* Last: during teardown this tells Node the hook has finished, after which env may go away. */
  if (cleanup != NULL) napi_remove_async_cleanup_hook(cleanup);
}

static void release(poller *p) {
  napi_ref refs[POLLER_ARRAYS + 2] = {p->callback, p->arrays[0], p->arrays[1], p->handle};
  napi_async_context async_context = p->async_context;
  napi_async_cleanup_hook_handle cleanup = p->cleanup;
  p->callback = p->handle = NULL;
  for (int i = 0; i < POLLER_ARRAYS; i++) p->arrays[i] = NULL;
  p->async_context = NULL;
  p->cleanup = NULL;
  release_js(p->env, refs, sizeof refs / sizeof refs[0], async_context, cleanup);
}

static void on_closed(uv_handle_t *handle) {
  poller *p = (poller *)handle;
  if (p->on_closed != NULL) p->on_closed(p);
  release(p);
}

static void close_poller(poller *p) {
  p->state = CLOSING;
  uv_close((uv_handle_t *)&p->poll, on_closed);
}

static void on_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  poller *p = arg;
  /* If a stop already began closing, its on_closed removes this hook, which completes it. */
  if (p->state != CLOSING) close_poller(p);
}

/*
 * Whether JS can still run in this thread. Once a worker is exiting (process.exit, terminate()) Node
 * refuses every Node-API call that could run JS, napi_strict_equals among them, while its loop may still
 * turn (its own handles close first, ours last): a poller asks before it takes anything out of the kernel,
 * so that what the dying thread could no longer deliver stays queued for the socket's next owner.
 */
static bool js_can_run(napi_env env) {
  napi_value value;
  bool equal;
  return napi_get_undefined(env, &value) == napi_ok && napi_strict_equals(env, value, value, &equal) == napi_ok;
}

/*
 * Calls callback(count) with a fresh async context so promise jobs and nextTicks queued by the callback
 * run before we return to the loop. A throw becomes an uncaught exception, exactly as a throwing
 * net.Server 'connection' listener does. Returns false only if JS could not run at all (the worker is
 * terminating): then nothing took ownership of the batch.
 */
static bool deliver(poller *p, int32_t count) {
  napi_env env = p->env;
  napi_value callback, global, argument, result, exception;
  if (napi_get_reference_value(env, p->callback, &callback) != napi_ok || napi_get_global(env, &global) != napi_ok ||
      napi_create_int32(env, count, &argument) != napi_ok) {
    return false;
  }
  if (napi_make_callback(env, p->async_context, global, callback, 1, &argument, &result) == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) return false;
  napi_get_and_clear_last_exception(env, &exception);
  napi_fatal_exception(env, exception);
  return true;
}

/*
 * On an error we stop polling and let JS resume after a back-off. uv_poll is level-triggered: whatever we
 * could not take keeps the fd readable, so leaving the poll on would wake this loop on every turn, burning
 * a core and flooding JS with errors.
 */
static void pause_poller(poller *p) {
  uv_poll_stop(&p->poll);
  p->state = PAUSED;
}

/* Before each batch: may this poller take anything out of the kernel? If not, it pauses for good. */
static bool may_take(poller *p) {
  if (js_can_run(p->env)) return true;
  pause_poller(p);
  return false;
}

/*
 * After a batch of `count` results that stopped on `err` (0: the batch filled, EAGAIN: drained): hands the
 * batch to JS, then says whether to take another. False if JS could not run (the thread is terminating:
 * the batch is lost, and polling pauses), if the callback stopped or paused us, or on an error, which
 * pauses and is delivered as -errno.
 */
static bool finish_batch(poller *p, int count, int err) {
  if (count > 0 && !deliver(p, count)) {
    pause_poller(p);
    return false;
  }
  if (p->state != POLLING || err == EAGAIN) return false;
  if (err != 0) {
    pause_poller(p);
    deliver(p, -err);
    return false;
  }
  return true;
}

/* The data pointer is re-read each batch: JS could have transferred (detached) a plain ArrayBuffer. */
static bool array_view(poller *p, int index, void **data, size_t *length) {
  napi_value array;
  napi_typedarray_type type;
  *data = NULL;
  *length = 0;
  return napi_get_reference_value(p->env, p->arrays[index], &array) == napi_ok &&
         napi_get_typedarray_info(p->env, array, &type, length, data, NULL, NULL) == napi_ok && *data != NULL;
}

/*
 * Wraps a freshly allocated poller (fd and on_readable set, the rest zero) in a JS handle and starts
 * polling. `finalize` frees it, also here on failure; returns NULL with an exception pending on failure.
 */
static napi_value start_poller(napi_env env, poller *p, napi_finalize finalize, const napi_type_tag *tag,
                               const char *resource_name, napi_value callback, const napi_value *arrays,
                               size_t array_count) {
  napi_value handle, name;
  uv_loop_t *loop;
  p->env = env;
  p->state = CLOSING; /* until the poll is started */
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || napi_create_external(env, p, finalize, NULL, &handle) != napi_ok) {
    finalize(env, p, NULL);
    return ss_throw_last_napi_error(env);
  }
  /* From here on the handle's finalizer owns `p`. */
  bool ok = napi_type_tag_object(env, handle, tag) == napi_ok &&
            napi_create_reference(env, handle, 1, &p->handle) == napi_ok &&
            napi_create_reference(env, callback, 1, &p->callback) == napi_ok;
  for (size_t i = 0; ok && i < array_count; i++)
    ok = napi_create_reference(env, arrays[i], 1, &p->arrays[i]) == napi_ok;
  if (!ok || napi_create_string_utf8(env, resource_name, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &p->async_context) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_teardown, p, &p->cleanup) != napi_ok) {
    ss_throw_last_napi_error(env);
    release(p);
    return NULL;
  }
  int uv_err = uv_poll_init(loop, &p->poll, p->fd);
  if (uv_err != 0) {
    int fd = p->fd;
    release(p);
    return ss_throw_errno(env, -uv_err, "uv_poll_init", &(ss_error_context){NULL, -1, fd});
  }
  p->state = POLLING;
  uv_err = uv_poll_start(&p->poll, UV_READABLE, p->on_readable);
  if (uv_err != 0) {
    close_poller(p);
    return ss_throw_errno(env, -uv_err, "uv_poll_start", &(ss_error_context){NULL, -1, p->fd});
  }
  return handle;
}

/* The poller behind a JS handle, checked against `tag`; NULL with an exception pending otherwise. */
static poller *tagged_poller(napi_env env, napi_value value, const napi_type_tag *tag, const char *expected) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok) {
    ss_throw_last_napi_error(env);
    return NULL;
  }
  if (type == napi_external) napi_check_object_type_tag(env, value, tag, &tagged);
  if (!tagged) {
    throw_type(env, "handle", expected);
    return NULL;
  }
  napi_get_value_external(env, value, &data);
  return data;
}

static poller *poller_argument(napi_env env, napi_callback_info info, const napi_type_tag *tag,
                               const char *expected) {
  size_t argc = 1;
  napi_value arg;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok) {
    ss_throw_last_napi_error(env);
    return NULL;
  }
  return tagged_poller(env, arg, tag, expected);
}

static void stop_poller(poller *p) {
  if (p != NULL && p->state != CLOSING) close_poller(p);
}

/* A no-op unless paused: resuming a stopped poller, or one that polls, changes nothing. */
static napi_value resume_poller(napi_env env, poller *p) {
  if (p == NULL || p->state != PAUSED) return NULL;
  int uv_err = uv_poll_start(&p->poll, UV_READABLE, p->on_readable);
  if (uv_err != 0) return ss_throw_errno(env, -uv_err, "uv_poll_start", &(ss_error_context){NULL, -1, p->fd});
  p->state = POLLING;
  return NULL;
}

static void free_poller(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static bool typed_array_argument(napi_env env, napi_value value, napi_typedarray_type want, const char *what,
                                 const char *expected, size_t *length) {
  bool is_typed_array = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok ||
      (is_typed_array && napi_get_typedarray_info(env, value, &type, length, NULL, NULL, NULL) != napi_ok)) {
    ss_throw_last_napi_error(env);
    return false;
  }
  if (!is_typed_array || type != want) return throw_type(env, what, expected);
  return true;
}

static bool function_argument(napi_env env, napi_value value, const char *what) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) {
    ss_throw_last_napi_error(env);
    return false;
  }
  return type == napi_function || throw_type(env, what, "a function");
}

/* ---- the acceptor -------------------------------------------------------------------------------- */

/* The acceptor is a plain poller; arrays[0] is `out`. */
enum { ACCEPT_OUT = 0 };

static const napi_type_tag acceptor_tag = {0x73736861726461ccULL, 0x6163636570746f72ULL};

/* On EMFILE and the like, pausing (see pause_poller) leaves further connections waiting in the kernel's
 * backlog, which is the back-pressure we want. (libuv's spare-fd trick would instead accept and drop them.) */
static bool out_pairs(poller *a, int32_t **out, size_t *pairs) {
  void *data;
  size_t length;
  if (!array_view(a, ACCEPT_OUT, &data, &length)) return false;
  *out = data;
  *pairs = length / 2;
  return *pairs > 0;
}

/* One batch; true when the backlog may hold more and we are still accepting. */
static bool accept_batch(poller *a) {
  int32_t *out;
  size_t pairs;
  int count = 0;
  if (!out_pairs(a, &out, &pairs)) {
    pause_poller(a);
    deliver(a, -EFAULT);
    return false;
  }
  if (!may_take(a)) return false;
  int err = ss_accept_batch(a->fd, out, pairs, &count);
  /* JS stopped between the check and the callback (terminate() from another thread): nobody owns these. */
  if (count > 0 && !deliver(a, count)) {
    for (int i = 0; i < count; i++) close(out[2 * i]);
    pause_poller(a);
    return false;
  }
  /* The callback may have stopped or paused us. */
  if (a->state != POLLING || err == EAGAIN) return false;
  if (err != 0) {
    pause_poller(a);
    deliver(a, -err);
    return false;
  }
  return true;
}

static void on_acceptable(uv_poll_t *poll, int status, int events) {
  poller *a = (poller *)poll;
  (void)events;
  bool more = true;
  while (more && a->state == POLLING) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(a->env, &scope) != napi_ok) {
      pause_poller(a);
      return;
    }
    if (status < 0) {
      /* EPOLLERR: libuv reports it as UV_EBADF (a negative errno, like our counts) and stops the poll. */
      pause_poller(a);
      deliver(a, status);
      more = false;
    } else {
      more = accept_batch(a);
    }
    napi_close_handle_scope(a->env, scope);
  }
}

static napi_value js_start_accepting(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  size_t length = 0;
  int fd;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!fd_argument(env, argv[0], &fd) ||
      !typed_array_argument(env, argv[1], napi_int32_array, "out", "an Int32Array", &length)) {
    return NULL;
  }
  if (length < 2) {
    throw_range(env, "out", "an Int32Array of at least 2 elements");
    return NULL;
  }
  if (!function_argument(env, argv[2], "callback")) return NULL;
  const char *syscall;
  int err = ss_is_listening(fd, &syscall);
  if (err != 0) return ss_throw_errno(env, err, syscall, &(ss_error_context){NULL, -1, fd});

  poller *a = calloc(1, sizeof *a);
  if (a == NULL) return ss_throw_errno(env, ENOMEM, "calloc", &no_context);
  a->fd = fd;
  a->on_readable = on_acceptable;
  return start_poller(env, a, free_poller, &acceptor_tag, "sockshard:acceptor", argv[2], &argv[1], 1);
}

static napi_value js_stop_accepting(napi_env env, napi_callback_info info) {
  stop_poller(poller_argument(env, info, &acceptor_tag, "a handle returned by startAccepting"));
  return NULL;
}

static napi_value js_resume_accepting(napi_env env, napi_callback_info info) {
  return resume_poller(env, poller_argument(env, info, &acceptor_tag, "a handle returned by startAccepting"));
}

/* ---- UDP in batches ------------------------------------------------------------------------------ */

/*
 * Readiness rounds are capped: a socket that never drains (a flood) gets at most this many batches per
 * wake-up, and then the loop runs its other handles (timers, rings, other sockets) before the poll, which
 * is level-triggered, wakes it again.
 */
#define UDP_BATCHES_PER_ROUND 16

/* arrays[0] is the slab, arrays[1] the meta array. */
enum { UDP_SLAB = 0, UDP_META = 1 };

typedef struct udp_batch {
  poller base; /* first, so the uv handle pointer is the udp_batch pointer too */
  ss_udp_receiver *receiver;
  size_t max_datagram;
  size_t batch;
} udp_batch;

static const napi_type_tag udp_batch_tag = {0x73736861726461ccULL, 0x7564702d62617463ULL};

static void free_udp_batch(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  udp_batch *u = data;
  ss_udp_receiver_free(u->receiver);
  free(u);
}

static size_t udp_slab_bytes(size_t max_datagram, size_t batch) {
  return batch * ss_udp_stride(max_datagram);
}

static size_t udp_meta_words(size_t records) {
  return SS_META_HEADER_WORDS + records * SS_DGRAM_WORDS;
}

/* Both re-read per batch and re-checked: a resizable ArrayBuffer may have shrunk, a plain one been detached. */
static bool udp_views(udp_batch *u, uint8_t **slab, int32_t **meta) {
  void *slab_data, *meta_data;
  size_t slab_length, meta_length;
  if (!array_view(&u->base, UDP_SLAB, &slab_data, &slab_length) ||
      !array_view(&u->base, UDP_META, &meta_data, &meta_length) ||
      slab_length < udp_slab_bytes(u->max_datagram, u->batch) || meta_length < udp_meta_words(u->batch)) {
    return false;
  }
  *slab = slab_data;
  *meta = meta_data;
  return true;
}

/* One batch; true when the socket may hold more and we are still polling. */
static bool udp_recv_batch(udp_batch *u) {
  poller *p = &u->base;
  uint8_t *slab;
  int32_t *meta;
  int count = 0;
  if (!udp_views(u, &slab, &meta)) {
    pause_poller(p);
    deliver(p, -EFAULT);
    return false;
  }
  if (!may_take(p)) return false;
  int err = ss_udp_recv_batch(u->receiver, p->fd, slab, u->max_datagram, meta, &count);
  /* Terminated from another thread since the check: this one batch is lost, so just stop. */
  return finish_batch(p, count, err);
}

/*
 * libuv turns POLLERR into status UV_EBADF and stops the poll. On a UDP socket POLLERR usually means a
 * pending ICMP report (connected sockets, IP_RECVERR): take it, count it, poll on. Only a pending error
 * that is not about a peer, or a poll that will not restart, pauses with -errno.
 */
static bool udp_recover(udp_batch *u) {
  poller *p = &u->base;
  uint8_t *slab;
  int32_t *meta = NULL;
  if (!udp_views(u, &slab, &meta)) meta = NULL;
  int err = ss_udp_take_error(p->fd, meta);
  if (err == 0) {
    int uv_err = uv_poll_start(&p->poll, UV_READABLE, p->on_readable);
    if (uv_err == 0) return true;
    err = -uv_err;
  }
  pause_poller(p);
  deliver(p, -err);
  return false;
}

static void on_udp_readable(uv_poll_t *poll, int status, int events) {
  udp_batch *u = (udp_batch *)poll;
  poller *p = &u->base;
  (void)events;
  for (int round = 0; round < UDP_BATCHES_PER_ROUND && p->state == POLLING; round++) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(p->env, &scope) != napi_ok) {
      pause_poller(p);
      return;
    }
    bool more = status < 0 ? udp_recover(u) : udp_recv_batch(u);
    status = 0;
    napi_close_handle_scope(p->env, scope);
    if (!more) break;
  }
}

static bool int_argument(napi_env env, napi_value value, const char *what, int32_t min, int32_t max,
                         int32_t *out) {
  napi_valuetype type;
  double number;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) return throw_type(env, what, "a number");
  napi_get_value_double(env, value, &number);
  if (!(number >= min && number <= max) || number != (int32_t)number) {
    char expected[64];
    snprintf(expected, sizeof expected, "an integer from %d to %d", min, max);
    return throw_range(env, what, expected);
  }
  *out = (int32_t)number;
  return true;
}

static napi_value js_start_udp_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  size_t slab_length = 0, meta_length = 0;
  int32_t max_datagram, batch;
  int fd;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!fd_argument(env, argv[0], &fd) ||
      !typed_array_argument(env, argv[1], napi_uint8_array, "slab", "a Uint8Array", &slab_length) ||
      !typed_array_argument(env, argv[2], napi_int32_array, "meta", "an Int32Array", &meta_length) ||
      !int_argument(env, argv[3], "maxDatagram", 1, SS_UDP_MAX_DATAGRAM, &max_datagram) ||
      !int_argument(env, argv[4], "batch", 1, SS_UDP_MAX_BATCH, &batch) ||
      !function_argument(env, argv[5], "callback")) {
    return NULL;
  }
  char expected[96];
  if (slab_length < udp_slab_bytes((size_t)max_datagram, (size_t)batch)) {
    snprintf(expected, sizeof expected, "a Uint8Array of at least %zu bytes (batch * stride)",
             udp_slab_bytes((size_t)max_datagram, (size_t)batch));
    throw_range(env, "slab", expected);
    return NULL;
  }
  if (meta_length < udp_meta_words((size_t)batch)) {
    snprintf(expected, sizeof expected, "an Int32Array of at least %zu elements", udp_meta_words((size_t)batch));
    throw_range(env, "meta", expected);
    return NULL;
  }
  const char *syscall;
  int err = ss_udp_check_socket(fd, &syscall);
  if (err != 0) return ss_throw_errno(env, err, syscall, &(ss_error_context){NULL, -1, fd});

  udp_batch *u = calloc(1, sizeof *u);
  if (u != NULL) u->receiver = ss_udp_receiver_new((size_t)batch);
  if (u == NULL || u->receiver == NULL) {
    free(u);
    return ss_throw_errno(env, ENOMEM, "calloc", &no_context);
  }
  u->base.fd = fd;
  u->base.on_readable = on_udp_readable;
  u->max_datagram = (size_t)max_datagram;
  u->batch = (size_t)batch;
  return start_poller(env, &u->base, free_udp_batch, &udp_batch_tag, "sockshard:udp-batch", argv[5], &argv[1], 2);
}

static napi_value js_stop_udp_batch(napi_env env, napi_callback_info info) {
  stop_poller(poller_argument(env, info, &udp_batch_tag, "a handle returned by startUdpBatch"));
  return NULL;
}

static napi_value js_resume_udp_batch(napi_env env, napi_callback_info info) {
  return resume_poller(env, poller_argument(env, info, &udp_batch_tag, "a handle returned by startUdpBatch"));
}

/* Every record is checked before anything is sent, so a bad one never leaves a batch half sent. */
static bool check_send_records(napi_env env, const int32_t *meta, size_t count, size_t slab_length) {
  for (size_t i = 0; i < count; i++) {
    const int32_t *record = meta + SS_META_HEADER_WORDS + i * SS_DGRAM_WORDS;
    int64_t offset = record[SS_DGRAM_OFFSET], length = record[SS_DGRAM_LENGTH];
    int32_t family = record[SS_DGRAM_FAMILY], port = record[SS_DGRAM_PORT];
    const char *expected = NULL;
    if (offset < 0 || length < 0 || offset + length > (int64_t)slab_length) {
      expected = "within the slab (0 <= offset, 0 <= length, offset + length <= slab.length)";
    } else if (family != SS_FAMILY_IPV4 && family != SS_FAMILY_IPV6) {
      expected = "of family 4 or 6";
    } else if (port < 0 || port > 65535) {
      expected = "of a port from 0 to 65535";
    }
    if (expected != NULL) {
      char what[48];
      snprintf(what, sizeof what, "meta record %zu", i);
      return throw_range(env, what, expected);
    }
  }
  return true;
}

static napi_value js_send_udp_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  napi_typedarray_type type;
  size_t slab_length = 0, meta_length = 0;
  void *slab = NULL, *meta = NULL;
  int32_t count;
  int fd;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!fd_argument(env, argv[0], &fd) ||
      !typed_array_argument(env, argv[1], napi_uint8_array, "slab", "a Uint8Array", &slab_length) ||
      !typed_array_argument(env, argv[2], napi_int32_array, "meta", "an Int32Array", &meta_length) ||
      !int_argument(env, argv[3], "count", 0, INT32_MAX, &count)) {
    return NULL;
  }
  CALL(env, napi_get_typedarray_info(env, argv[1], &type, &slab_length, &slab, NULL, NULL));
  CALL(env, napi_get_typedarray_info(env, argv[2], &type, &meta_length, &meta, NULL, NULL));
  if (meta == NULL || meta_length < udp_meta_words((size_t)count)) {
    throw_range(env, "meta", "an Int32Array holding the header and `count` records");
    return NULL;
  }
  if (!check_send_records(env, meta, (size_t)count, slab_length)) return NULL;
  /* An empty or detached slab has no data pointer; its records (checked above) are all empty. */
  static const uint8_t empty[1];
  size_t done = ss_udp_send_batch(fd, slab != NULL ? slab : empty, meta, (size_t)count);
  int32_t stop = ((int32_t *)meta)[SS_META_SEND_STOP_ERRNO];
  /* A full buffer is back-pressure for JS to handle; a socket that cannot send at all is an error. */
  if (stop != 0 && stop != EAGAIN && stop != ENOBUFS)
    return ss_throw_errno(env, stop, "sendmmsg", &(ss_error_context){NULL, -1, fd});
  CALL(env, napi_create_int32(env, (int32_t)done, &result));
  return result;
}

/* ---- stream groups: a thread's TCP connections (ss_streams.c) ------------------------------------- */

/*
 * The JS handle (an external) owns this struct; while the group is open `handle` is a strong reference to
 * it, so it outlives libuv's use. The ss_streams inside is freed once every uv handle of it has closed
 * (stop, or the environment's teardown through an async cleanup hook, as pollers do).
 */
enum { GROUP_SLAB = 0, GROUP_EVENTS = 1, GROUP_OUT = 2, GROUP_PENDING = 3, GROUP_ARRAYS = 4 };

typedef struct stream_group {
  napi_env env;
  ss_streams *streams; /* NULL once closed */
  bool stopping;
  napi_ref handle;
  napi_ref callback;
  napi_ref arrays[GROUP_ARRAYS];
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup;
} stream_group;

static const napi_type_tag stream_group_tag = {0x73736861726461ccULL, 0x73747265616d7367ULL};

static bool group_deliver(ss_streams *streams, int count, void *arg) {
  (void)streams;
  stream_group *g = arg;
  napi_env env = g->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return false;
  napi_value callback, global, argument, result, exception;
  bool ok = napi_get_reference_value(env, g->callback, &callback) == napi_ok &&
            napi_get_global(env, &global) == napi_ok && napi_create_int32(env, count, &argument) == napi_ok;
  if (ok && napi_make_callback(env, g->async_context, global, callback, 1, &argument, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    ok = pending;
    if (pending) {
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
  napi_close_handle_scope(env, scope);
  return ok;
}

static bool group_can_take(void *arg) {
  return js_can_run(((stream_group *)arg)->env);
}

static void group_release(stream_group *g) {
  napi_ref refs[GROUP_ARRAYS + 2] = {g->callback, g->arrays[0], g->arrays[1], g->arrays[2], g->arrays[3], g->handle};
  napi_async_context async_context = g->async_context;
  napi_async_cleanup_hook_handle cleanup = g->cleanup;
  g->callback = g->handle = NULL;
  for (int i = 0; i < GROUP_ARRAYS; i++) g->arrays[i] = NULL;
  g->async_context = NULL;
  g->cleanup = NULL;
  release_js(g->env, refs, sizeof refs / sizeof refs[0], async_context, cleanup);
}

static void group_closed(void *arg) {
  stream_group *g = arg;
  ss_streams_free(g->streams);
  g->streams = NULL;
  group_release(g);
}

static void group_stop(stream_group *g) {
  if (g->streams == NULL || g->stopping) return;
  g->stopping = true;
  ss_streams_close(g->streams);
}

static void group_on_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  group_stop(arg);
}

static void free_group(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* An Int32Array or Uint8Array over a SharedArrayBuffer: its memory cannot be detached or shrink. */
static bool shared_array(napi_env env, napi_value value, napi_typedarray_type want, const char *what,
                         const char *expected, void **data, size_t *length) {
  napi_value buffer;
  napi_typedarray_type type;
  bool is_typed_array = false, is_plain = true;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok) {
    ss_throw_last_napi_error(env);
    return false;
  }
  if (is_typed_array && (napi_get_typedarray_info(env, value, &type, length, data, &buffer, NULL) != napi_ok ||
                         napi_is_arraybuffer(env, buffer, &is_plain) != napi_ok)) {
    ss_throw_last_napi_error(env);
    return false;
  }
  if (!is_typed_array || type != want || is_plain || *data == NULL) return throw_type(env, what, expected);
  return true;
}

static stream_group *group_argument(napi_env env, napi_value arg) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, arg, &type) == napi_ok && type == napi_external)
    napi_check_object_type_tag(env, arg, &stream_group_tag, &tagged);
  if (!tagged) {
    throw_type(env, "handle", "a handle returned by startStreams");
    return NULL;
  }
  napi_get_value_external(env, arg, &data);
  return data;
}

/* (handle, id?) arguments; *s is NULL for an id the group does not know (closed meanwhile): a no-op. */
static stream_group *group_call(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    ss_throw_last_napi_error(env);
    return NULL;
  }
  return group_argument(env, argv[0]);
}

static bool id_argument(napi_env env, napi_value value, int32_t *id) {
  return int_argument(env, value, "id", 0, INT32_MAX, id);
}

static napi_value js_start_streams(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], handle, name;
  ss_streams_config config = {0};
  void *slab, *events, *out, *pending;
  size_t slab_length, events_length, out_length, pending_length;
  int32_t in_bytes, read_bytes, high_water;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!shared_array(env, argv[0], napi_uint8_array, "slab", "a Uint8Array over a SharedArrayBuffer", &slab,
                    &slab_length) ||
      !shared_array(env, argv[1], napi_int32_array, "events", "an Int32Array over a SharedArrayBuffer", &events,
                    &events_length) ||
      !shared_array(env, argv[2], napi_int32_array, "out", "an Int32Array over a SharedArrayBuffer", &out,
                    &out_length) ||
      !shared_array(env, argv[3], napi_int32_array, "pending", "an Int32Array over a SharedArrayBuffer", &pending,
                    &pending_length) ||
      !int_option(env, argv[4], "inBytes", 1, INT32_MAX, 0, &in_bytes) ||
      !int_option(env, argv[4], "readBytes", 1, INT32_MAX, 65536, &read_bytes) ||
      !int_option(env, argv[4], "highWater", 0, INT32_MAX, 65536, &high_water) ||
      !function_argument(env, argv[5], "callback")) {
    return NULL;
  }
  if ((size_t)in_bytes > slab_length || read_bytes > in_bytes) {
    throw_range(env, "inBytes", "at most slab.length, and at least readBytes");
    return NULL;
  }
  if (events_length < SS_EVENT_WORDS || out_length < SS_OUT_HEADER_WORDS + SS_OUT_WORDS || pending_length == 0) {
    throw_range(env, "events, out and pending", "room for one event, one out record and one stream");
    return NULL;
  }
  config.slab = slab;
  config.slab_bytes = slab_length;
  config.in_bytes = (size_t)in_bytes;
  config.read_bytes = (size_t)read_bytes;
  config.events = events;
  config.max_events = events_length / SS_EVENT_WORDS;
  config.out = out;
  config.out_words = out_length;
  config.pending = pending;
  config.max_streams = pending_length;
  config.high_water = (size_t)high_water;

  uv_loop_t *loop;
  stream_group *g = calloc(1, sizeof *g);
  if (g == NULL) return ss_throw_errno(env, ENOMEM, "calloc", &no_context);
  g->env = env;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok ||
      napi_create_external(env, g, free_group, NULL, &handle) != napi_ok) {
    free(g);
    return ss_throw_last_napi_error(env);
  }
  bool ok = napi_type_tag_object(env, handle, &stream_group_tag) == napi_ok &&
            napi_create_reference(env, handle, 1, &g->handle) == napi_ok &&
            napi_create_reference(env, argv[5], 1, &g->callback) == napi_ok;
  for (int i = 0; ok && i < GROUP_ARRAYS; i++) ok = napi_create_reference(env, argv[i], 1, &g->arrays[i]) == napi_ok;
  if (!ok || napi_create_string_utf8(env, "sockshard:streams", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &g->async_context) != napi_ok ||
      napi_add_async_cleanup_hook(env, group_on_teardown, g, &g->cleanup) != napi_ok) {
    ss_throw_last_napi_error(env);
    group_release(g);
    return NULL;
  }
  ss_streams_hooks hooks = {group_deliver, group_can_take, group_closed, g};
  g->streams = ss_streams_new(loop, &config, &hooks);
  if (g->streams == NULL) {
    group_release(g);
    return ss_throw_errno(env, ENOMEM, "calloc", &no_context);
  }
  return handle;
}

static napi_value js_streams_add(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  int fd;
  int32_t id;
  stream_group *g = group_call(env, info, 2, argv);
  if (g == NULL || !fd_argument(env, argv[1], &fd)) return NULL;
  if (g->streams == NULL || g->stopping) return ss_throw_errno(env, EBADF, "streamsAdd", &(ss_error_context){NULL, -1, fd});
  int err = ss_streams_add(g->streams, fd, &id);
  if (err != 0) return ss_throw_errno(env, err, "uv_poll_init", &(ss_error_context){NULL, -1, fd});
  CALL(env, napi_create_int32(env, id, &result));
  return result;
}

static napi_value js_streams_flush(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  stream_group *g = group_call(env, info, 1, argv);
  if (g != NULL && g->streams != NULL && !g->stopping) ss_streams_flush(g->streams);
  return NULL;
}

/* Flushes the out records first (order), then writes `bytes` (any Uint8Array) to the stream. */
static napi_value js_streams_write(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t id;
  size_t length = 0;
  void *data = NULL;
  napi_typedarray_type type;
  stream_group *g = group_call(env, info, 3, argv);
  if (g == NULL || !id_argument(env, argv[1], &id) ||
      !typed_array_argument(env, argv[2], napi_uint8_array, "bytes", "a Uint8Array", &length)) {
    return NULL;
  }
  CALL(env, napi_get_typedarray_info(env, argv[2], &type, &length, &data, NULL, NULL));
  if (g->streams != NULL && !g->stopping && length > 0 && data != NULL)
    ss_streams_write(g->streams, id, data, length);
  return NULL;
}

static napi_value js_streams_pause(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t id;
  bool paused = false;
  stream_group *g = group_call(env, info, 3, argv);
  if (g == NULL || !id_argument(env, argv[1], &id)) return NULL;
  if (napi_get_value_bool(env, argv[2], &paused) != napi_ok) {
    throw_type(env, "paused", "a boolean");
    return NULL;
  }
  if (g->streams != NULL && !g->stopping) ss_streams_pause(g->streams, id, paused);
  return NULL;
}

static napi_value js_streams_destroy(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t id;
  stream_group *g = group_call(env, info, 2, argv);
  if (g == NULL || !id_argument(env, argv[1], &id)) return NULL;
  if (g->streams != NULL && !g->stopping) ss_streams_destroy(g->streams, id);
  return NULL;
}

static napi_value js_stop_streams(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  stream_group *g = group_call(env, info, 1, argv);
  if (g != NULL) group_stop(g);
  return NULL;
}

/* ---- header readers: PROXY protocol headers and ClientHello peeks ---------------------------------- */

/* As for UDP: a flood of ready connections gets this many batches per wake-up, then the loop runs on. */
#define HEADER_BATCHES_PER_ROUND 16

/* arrays[0] is `out`. */
enum { HEADER_OUT = 0 };

/* Allowlist entries as JS writes them: family, prefix bits, two zero bytes, 16 address bytes. */
enum { ALLOW_ENTRY_BYTES = 20 };

typedef struct header_poller {
  poller base; /* first, so the uv handle pointer is the header_poller pointer too */
  ss_header_reader *reader;
} header_poller;

static const napi_type_tag header_reader_tag = {0x73736861726461ccULL, 0x6865616465722d72ULL};

static void free_header_poller(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  header_poller *h = data;
  ss_header_reader_free(h->reader);
  free(h);
}

/* The epoll fd closes as soon as libuv has let go of it, not whenever the handle is collected. */
static void close_header_reader(poller *p) {
  ss_header_reader_close(((header_poller *)p)->reader);
}

/* One batch; true when more may be ready and we are still polling. */
static bool header_batch(header_poller *h) {
  poller *p = &h->base;
  void *data;
  size_t length;
  if (!array_view(p, HEADER_OUT, &data, &length) || length < SS_HEADER_WORDS) {
    pause_poller(p);
    deliver(p, -EFAULT);
    return false;
  }
  if (!may_take(p)) return false;
  int count = 0;
  int err = ss_header_reader_poll(h->reader, data, length / SS_HEADER_WORDS, &count);
  /* Terminated since the check: the fds are owned by the thread's sockets (shard) or it is going away. */
  return finish_batch(p, count, err);
}

static void on_headers_ready(uv_poll_t *poll, int status, int events) {
  header_poller *h = (header_poller *)poll;
  poller *p = &h->base;
  (void)events;
  for (int round = 0; round < HEADER_BATCHES_PER_ROUND && p->state == POLLING; round++) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(p->env, &scope) != napi_ok) {
      pause_poller(p);
      return;
    }
    bool more;
    if (status < 0) {
      pause_poller(p);
      deliver(p, status);
      more = false;
    } else {
      more = header_batch(h);
    }
    napi_close_handle_scope(p->env, scope);
    if (!more) break;
  }
}

static bool allow_argument(napi_env env, napi_value value, ss_cidr **out, size_t *count) {
  size_t length = 0;
  void *data = NULL;
  napi_typedarray_type type;
  *out = NULL;
  *count = 0;
  if (!typed_array_argument(env, value, napi_uint8_array, "allow", "a Uint8Array", &length)) return false;
  if (length % ALLOW_ENTRY_BYTES != 0)
    return throw_range(env, "allow", "a Uint8Array of 20-byte entries");
  if (length == 0) return true;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok) {
    ss_throw_last_napi_error(env);
    return false;
  }
  size_t entries = length / ALLOW_ENTRY_BYTES;
  ss_cidr *cidrs = calloc(entries, sizeof *cidrs);
  if (cidrs == NULL) {
    ss_throw_errno(env, ENOMEM, "calloc", &no_context);
    return false;
  }
  const uint8_t *bytes = data;
  for (size_t i = 0; i < entries; i++) {
    const uint8_t *entry = bytes + i * ALLOW_ENTRY_BYTES;
    int family = entry[0], prefix = entry[1];
    if ((family != 4 && family != 6) || prefix > (family == 4 ? 32 : 128)) {
      free(cidrs);
      return throw_range(env, "allow", "entries of family 4 or 6 with a prefix that fits the family");
    }
    cidrs[i].family = family;
    cidrs[i].prefix = prefix;
    memcpy(cidrs[i].address, entry + 4, 16);
  }
  *out = cidrs;
  *count = entries;
  return true;
}

/* startHeaderReader(mode, maxHeader, allow, out, callback) */
static napi_value js_start_header_reader(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  size_t length = 0;
  int32_t mode, max_header;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!int_argument(env, argv[0], "mode", SS_READ_PROXY, SS_PEEK_CLIENT_HELLO, &mode) ||
      !int_argument(env, argv[1], "maxHeader", 107, 65535 + 16, &max_header) ||
      !typed_array_argument(env, argv[3], napi_int32_array, "out", "an Int32Array", &length) ||
      !function_argument(env, argv[4], "callback")) {
    return NULL;
  }
  if (length < SS_HEADER_WORDS) {
    throw_range(env, "out", "an Int32Array of at least one record (HEADER_WORDS)");
    return NULL;
  }
  ss_cidr *allow;
  size_t allow_count;
  if (!allow_argument(env, argv[2], &allow, &allow_count)) return NULL;
  header_poller *h = calloc(1, sizeof *h);
  if (h == NULL) {
    free(allow);
    return ss_throw_errno(env, ENOMEM, "calloc", &no_context);
  }
  int err = ss_header_reader_new(mode, (size_t)max_header, allow, allow_count, &h->reader);
  free(allow);
  if (err != 0) {
    free(h);
    return ss_throw_errno(env, err, "epoll_create1", &no_context);
  }
  h->base.fd = ss_header_reader_fd(h->reader);
  h->base.on_readable = on_headers_ready;
  h->base.on_closed = close_header_reader;
  return start_poller(env, &h->base, free_header_poller, &header_reader_tag, "sockshard:header-reader", argv[4],
                      &argv[3], 1);
}

static header_poller *header_poller_argument(napi_env env, napi_value value) {
  return (header_poller *)tagged_poller(env, value, &header_reader_tag, "a handle returned by startHeaderReader");
}

/* addHeaderFd(handle, fd, record): HEADER_PENDING (added), or the result, also written to `record`. */
static napi_value js_add_header_fd(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  int fd, status;
  size_t length = 0;
  void *record = NULL;
  napi_typedarray_type type;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  header_poller *h = header_poller_argument(env, argv[0]);
  if (h == NULL || !fd_argument(env, argv[1], &fd) ||
      !typed_array_argument(env, argv[2], napi_int32_array, "record", "an Int32Array", &length)) {
    return NULL;
  }
  if (length < SS_HEADER_WORDS) {
    throw_range(env, "record", "an Int32Array of at least one record (HEADER_WORDS)");
    return NULL;
  }
  CALL(env, napi_get_typedarray_info(env, argv[2], &type, &length, &record, NULL, NULL));
  if (h->base.state == CLOSING) return ss_throw_errno(env, EBADF, "epoll_ctl", &(ss_error_context){NULL, -1, fd});
  int err = ss_header_reader_add(h->reader, fd, record, &status);
  if (err != 0) return ss_throw_errno(env, err, "epoll_ctl", &(ss_error_context){NULL, -1, fd});
  CALL(env, napi_create_int32(env, status, &result));
  return result;
}

/* removeHeaderFd(handle, fd): stops waiting for it (a timeout); the fd stays open, the caller's to close. */
static napi_value js_remove_header_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int fd;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  header_poller *h = header_poller_argument(env, argv[0]);
  if (h == NULL || !fd_argument(env, argv[1], &fd)) return NULL;
  /* Already gone from the set (its result came, or it was closed, which removes it): nothing to do. */
  if (h->base.state != CLOSING) ss_header_reader_remove(h->reader, fd);
  return NULL;
}

static napi_value js_stop_header_reader(napi_env env, napi_callback_info info) {
  stop_poller(poller_argument(env, info, &header_reader_tag, "a handle returned by startHeaderReader"));
  return NULL;
}

/* ---- hand-over: Unix SEQPACKET sockets, descriptors over them, inherited sockets described ----------- */

/* sun_path's size: a longer path is refused (ENAMETOOLONG) by ss_unix.c, so one more byte tells it apart. */
#define UNIX_PATH_MAX 109

static bool path_argument(napi_env env, napi_value value, char path[UNIX_PATH_MAX]) {
  napi_valuetype type;
  size_t length = 0;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) return throw_type(env, "path", "a string");
  if (napi_get_value_string_utf8(env, value, path, UNIX_PATH_MAX, &length) != napi_ok) {
    ss_throw_last_napi_error(env);
    return false;
  }
  return true;
}

static napi_value js_unix_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[UNIX_PATH_MAX];
  int32_t backlog;
  int fd;
  const char *syscall;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!path_argument(env, argv[0], path) || !int_argument(env, argv[1], "backlog", 1, INT32_MAX, &backlog))
    return NULL;
  int err = ss_unix_listen(path, backlog, &fd, &syscall);
  if (err != 0) return ss_throw_errno(env, err, syscall, &(ss_error_context){path, -1, -1});
  return fd_result(env, fd);
}

static napi_value js_unix_connect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  char path[UNIX_PATH_MAX];
  int fd;
  const char *syscall;
  CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (!path_argument(env, arg, path)) return NULL;
  int err = ss_unix_connect(path, &fd, &syscall);
  if (err != 0) return ss_throw_errno(env, err, syscall, &(ss_error_context){path, -1, -1});
  return fd_result(env, fd);
}

static napi_value js_send_fds(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  bool is_array = false;
  uint32_t count = 0;
  int fd, fds[SS_SCM_MAX_FDS];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!fd_argument(env, argv[0], &fd) ||
      !typed_array_argument(env, argv[1], napi_uint8_array, "data", "a Uint8Array", &length))
    return NULL;
  CALL(env, napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL));
  /* An empty message would read as the peer's shutdown on the other side. */
  if (length == 0 || data == NULL) {
    throw_range(env, "data", "at least one byte");
    return NULL;
  }
  CALL(env, napi_is_array(env, argv[2], &is_array));
  if (!is_array) {
    throw_type(env, "fds", "an array of fds");
    return NULL;
  }
  CALL(env, napi_get_array_length(env, argv[2], &count));
  if (count > SS_SCM_MAX_FDS) {
    throw_range(env, "fds", "at most 253 fds (SCM_MAX_FD)");
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    CALL(env, napi_get_element(env, argv[2], i, &element));
    if (!fd_argument(env, element, &fds[i])) return NULL;
  }
  size_t sent = 0;
  int err = ss_send_fds(fd, data, length, fds, count, &sent);
  if (err != 0) return ss_throw_errno(env, err, "sendmsg", &(ss_error_context){NULL, -1, fd});
  CALL(env, napi_create_uint32(env, (uint32_t)sent, &result));
  return result;
}

static napi_value js_recv_fds(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, value, list;
  napi_typedarray_type type;
  size_t capacity = 0, length = 0, count = 0;
  void *data = NULL;
  int fd, fds[SS_SCM_MAX_FDS];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!fd_argument(env, argv[0], &fd) ||
      !typed_array_argument(env, argv[1], napi_uint8_array, "buffer", "a Uint8Array", &capacity))
    return NULL;
  CALL(env, napi_get_typedarray_info(env, argv[1], &type, &capacity, &data, NULL, NULL));
  if (capacity == 0 || data == NULL) {
    throw_range(env, "buffer", "at least one byte");
    return NULL;
  }
  int err = ss_recv_fds(fd, data, capacity, fds, SS_SCM_MAX_FDS, &length, &count);
  if (err == EAGAIN) {
    CALL(env, napi_get_null(env, &result));
    return result;
  }
  if (err != 0) return ss_throw_errno(env, err, "recvmsg", &(ss_error_context){NULL, -1, fd});
  /* From here the descriptors are ours: on any failure below, close them rather than leak them. */
  bool ok = napi_create_object(env, &result) == napi_ok && napi_create_uint32(env, (uint32_t)length, &value) == napi_ok &&
            napi_set_named_property(env, result, "length", value) == napi_ok &&
            napi_create_array_with_length(env, count, &list) == napi_ok;
  for (size_t i = 0; ok && i < count; i++) {
    ok = napi_create_int32(env, fds[i], &value) == napi_ok && napi_set_element(env, list, (uint32_t)i, value) == napi_ok;
  }
  if (ok) ok = napi_set_named_property(env, result, "fds", list) == napi_ok;
  if (!ok) {
    for (size_t i = 0; i < count; i++) close(fds[i]);
    return ss_throw_last_napi_error(env);
  }
  return result;
}

static const char *socket_type_name(int type) {
  switch (type) {
  case SOCK_STREAM:
    return "stream";
  case SOCK_DGRAM:
    return "dgram";
  case SOCK_SEQPACKET:
    return "seqpacket";
  case SOCK_RAW:
    return "raw";
  default:
    return "other";
  }
}

static const char *family_name(int family) {
  switch (family) {
  case AF_INET:
    return "ipv4";
  case AF_INET6:
    return "ipv6";
  case AF_UNIX:
    return "unix";
  default:
    return "other";
  }
}

static napi_value js_describe_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, result, value;
  int fd;
  const char *syscall;
  ss_socket_description description;
  CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (!fd_argument(env, arg, &fd)) return NULL;
  int err = ss_describe_socket(fd, &description, &syscall);
  if (err != 0) return ss_throw_errno(env, err, syscall, &(ss_error_context){NULL, -1, fd});
  CALL(env, napi_create_object(env, &result));
  CALL(env, napi_create_string_utf8(env, socket_type_name(description.type), NAPI_AUTO_LENGTH, &value));
  CALL(env, napi_set_named_property(env, result, "type", value));
  CALL(env, napi_create_string_utf8(env, family_name(description.family), NAPI_AUTO_LENGTH, &value));
  CALL(env, napi_set_named_property(env, result, "family", value));
  CALL(env, napi_get_boolean(env, description.listening != 0, &value));
  CALL(env, napi_set_named_property(env, result, "listening", value));
  CALL(env, napi_get_boolean(env, description.reuse_port != 0, &value));
  CALL(env, napi_set_named_property(env, result, "reusePort", value));
  CALL(env, napi_create_string_utf8(env, description.address, NAPI_AUTO_LENGTH, &value));
  CALL(env, napi_set_named_property(env, result, "address", value));
  CALL(env, napi_create_int32(env, description.port, &value));
  CALL(env, napi_set_named_property(env, result, "port", value));
  return result;
}

/* ---- readiness watcher -------------------------------------------------------------------------- */

/*
 * A plain poller that only says "readable" (callback(0)) and leaves the reading to JS, for low-rate
 * channels such as the hand-over's Unix socket. Level-triggered: the callback must read until the fd would
 * block (or stop the watch), or it is called again on the next turn of the loop.
 */
static const napi_type_tag watch_tag = {0x73736861726461ccULL, 0x7761746368657273ULL};

static void on_watched(uv_poll_t *poll, int status, int events) {
  poller *p = (poller *)poll;
  (void)events;
  napi_handle_scope scope;
  if (napi_open_handle_scope(p->env, &scope) != napi_ok) {
    pause_poller(p);
    return;
  }
  if (status < 0) {
    pause_poller(p);
    deliver(p, status);
  } else if (may_take(p)) {
    deliver(p, 0);
  }
  napi_close_handle_scope(p->env, scope);
}

static napi_value js_watch_readable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int fd;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!fd_argument(env, argv[0], &fd) || !function_argument(env, argv[1], "callback")) return NULL;
  poller *p = calloc(1, sizeof *p);
  if (p == NULL) return ss_throw_errno(env, ENOMEM, "calloc", &no_context);
  p->fd = fd;
  p->on_readable = on_watched;
  return start_poller(env, p, free_poller, &watch_tag, "sockshard:watch", argv[1], NULL, 0);
}

static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  stop_poller(poller_argument(env, info, &watch_tag, "a handle returned by watchReadable"));
  return NULL;
}

/* ---- module ------------------------------------------------------------------------------------- */

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSocket", NULL, js_udp_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dup", NULL, js_dup, NULL, NULL, NULL, napi_enumerable, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_enumerable, NULL},
      {"startAccepting", NULL, js_start_accepting, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stopAccepting", NULL, js_stop_accepting, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resumeAccepting", NULL, js_resume_accepting, NULL, NULL, NULL, napi_enumerable, NULL},
      {"startUdpBatch", NULL, js_start_udp_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stopUdpBatch", NULL, js_stop_udp_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resumeUdpBatch", NULL, js_resume_udp_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendUdpBatch", NULL, js_send_udp_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"startStreams", NULL, js_start_streams, NULL, NULL, NULL, napi_enumerable, NULL},
      {"streamsAdd", NULL, js_streams_add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"streamsFlush", NULL, js_streams_flush, NULL, NULL, NULL, napi_enumerable, NULL},
      {"streamsWrite", NULL, js_streams_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"streamsPause", NULL, js_streams_pause, NULL, NULL, NULL, napi_enumerable, NULL},
      {"streamsDestroy", NULL, js_streams_destroy, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stopStreams", NULL, js_stop_streams, NULL, NULL, NULL, napi_enumerable, NULL},
      {"startHeaderReader", NULL, js_start_header_reader, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addHeaderFd", NULL, js_add_header_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"removeHeaderFd", NULL, js_remove_header_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stopHeaderReader", NULL, js_stop_header_reader, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixListen", NULL, js_unix_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixConnect", NULL, js_unix_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendFds", NULL, js_send_fds, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recvFds", NULL, js_recv_fds, NULL, NULL, NULL, napi_enumerable, NULL},
      {"describeSocket", NULL, js_describe_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watchReadable", NULL, js_watch_readable, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unwatch", NULL, js_unwatch, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok)
    return NULL;
  return exports;
}
