/*
 * The N-API glue: argument checks, results as JS values, and the acceptor (a uv_poll_t on a listening fd
 * in the calling thread's loop). Context-aware: all state hangs off the handles JS holds, none is global,
 * so the addon loads in any number of worker threads.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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
  char message[128];
  snprintf(message, sizeof message, "%s must be %s", what, expected);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return false;
}

static bool throw_range(napi_env env, const char *what, const char *expected) {
  char message[128];
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
  napi_value arg, result;
  int fd, copy;
  CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (!fd_argument(env, arg, &fd)) return NULL;
  int err = ss_dup(fd, &copy);
  if (err != 0) return ss_throw_errno(env, err, "fcntl", &(ss_error_context){NULL, -1, fd});
  if (napi_create_int32(env, copy, &result) != napi_ok) {
    close(copy);
    return ss_throw_last_napi_error(env);
  }
  return result;
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

/* ---- the acceptor -------------------------------------------------------------------------------- */

/*
 * Ownership: the JS handle (an external) owns this memory and frees it in its finalizer. While the
 * uv_poll_t is open, `handle` is a strong reference to that external, so the memory outlives libuv's use
 * of it, and a handle JS still holds always points at live memory (stopAccepting twice is safe).
 *
 * Every exit path goes through uv_close -> on_closed -> release: stopAccepting, or environment teardown
 * (a worker exiting), which uses an *async* cleanup hook because uv_close completes on a later loop turn
 * and Node must keep the loop and the napi_env alive until it has.
 */
typedef enum { ACCEPTING, PAUSED, CLOSING } acceptor_state;

typedef struct acceptor {
  uv_poll_t poll; /* first, so the uv handle pointer is the acceptor pointer */
  napi_env env;
  int fd;
  acceptor_state state;
  napi_ref handle;
  napi_ref out;
  napi_ref callback;
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup;
} acceptor;

static const napi_type_tag acceptor_tag = {0x73736861726461ccULL, 0x6163636570746f72ULL};

static void finalize_acceptor(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void release(acceptor *a) {
  napi_env env = a->env;
  napi_ref refs[3] = {a->callback, a->out, a->handle};
  napi_async_context async_context = a->async_context;
  napi_async_cleanup_hook_handle cleanup = a->cleanup;
  a->callback = a->out = a->handle = NULL;
  a->async_context = NULL;
  a->cleanup = NULL;
  /* At teardown this runs under Node's SealHandleScope, and napi_async_destroy creates a handle. */
  napi_handle_scope scope;
  bool scoped = napi_open_handle_scope(env, &scope) == napi_ok;
  if (async_context != NULL) napi_async_destroy(env, async_context);
  /* `a` may be freed once refs[2] (the handle) is gone, so nothing below touches it. */
  for (int i = 0; i < 3; i++) {
    if (refs[i] != NULL) napi_delete_reference(env, refs[i]);
  }
  if (scoped) napi_close_handle_scope(env, scope);
  /* Last: during teardown this tells Node the hook has finished, after which env may go away. */
  if (cleanup != NULL) napi_remove_async_cleanup_hook(cleanup);
}

static void on_closed(uv_handle_t *handle) {
  release((acceptor *)handle);
}

static void close_acceptor(acceptor *a) {
  a->state = CLOSING;
  uv_close((uv_handle_t *)&a->poll, on_closed);
}

static void on_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  acceptor *a = arg;
  /* If stopAccepting already began closing, its on_closed removes this hook, which completes it. */
  if (a->state != CLOSING) close_acceptor(a);
}

/*
 * Calls callback(count) with a fresh async context so promise jobs and nextTicks queued by the callback
 * run before we return to the loop. A throw becomes an uncaught exception, exactly as a throwing
 * net.Server 'connection' listener does. Returns false only if JS could not run at all (the worker is
 * terminating): then nothing took ownership of the batch.
 */
static bool deliver(acceptor *a, int32_t count) {
  napi_env env = a->env;
  napi_value callback, global, argument, result, exception;
  if (napi_get_reference_value(env, a->callback, &callback) != napi_ok || napi_get_global(env, &global) != napi_ok ||
      napi_create_int32(env, count, &argument) != napi_ok) {
    return false;
  }
  if (napi_make_callback(env, a->async_context, global, callback, 1, &argument, &result) == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) return false;
  napi_get_and_clear_last_exception(env, &exception);
  napi_fatal_exception(env, exception);
  return true;
}

/*
 * On EMFILE and the like we stop polling and let JS resume after a back-off. uv_poll is level-triggered:
 * the connection we could not accept keeps the fd readable, so leaving the poll on would wake this loop
 * on every turn, burning a core and flooding JS with errors. Paused, further connections wait in the
 * kernel's backlog, which is the back-pressure we want. (libuv's spare-fd trick would instead accept and
 * drop them.)
 */
static void pause_acceptor(acceptor *a) {
  uv_poll_stop(&a->poll);
  a->state = PAUSED;
}

/* The data pointer is re-read each batch: JS could have transferred (detached) a plain ArrayBuffer. */
static bool out_pairs(acceptor *a, int32_t **out, size_t *pairs) {
  napi_value array;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_reference_value(a->env, a->out, &array) != napi_ok ||
      napi_get_typedarray_info(a->env, array, &type, &length, &data, NULL, NULL) != napi_ok || data == NULL) {
    return false;
  }
  *out = data;
  *pairs = length / 2;
  return *pairs > 0;
}

/* One batch; true when the backlog may hold more and we are still accepting. */
static bool accept_batch(acceptor *a) {
  int32_t *out;
  size_t pairs;
  int count = 0;
  if (!out_pairs(a, &out, &pairs)) {
    pause_acceptor(a);
    deliver(a, -EFAULT);
    return false;
  }
  int err = ss_accept_batch(a->fd, out, pairs, &count);
  if (count > 0 && !deliver(a, count)) {
    for (int i = 0; i < count; i++) close(out[2 * i]);
    pause_acceptor(a);
    return false;
  }
  /* The callback may have stopped or paused us. */
  if (a->state != ACCEPTING || err == EAGAIN) return false;
  if (err != 0) {
    pause_acceptor(a);
    deliver(a, -err);
    return false;
  }
  return true;
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  acceptor *a = (acceptor *)poll;
  (void)events;
  bool more = true;
  while (more && a->state == ACCEPTING) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(a->env, &scope) != napi_ok) {
      pause_acceptor(a);
      return;
    }
    if (status < 0) {
      /* EPOLLERR: libuv reports it as UV_EBADF (a negative errno, like our counts) and stops the poll. */
      pause_acceptor(a);
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
  napi_value argv[3], handle, name;
  napi_valuetype type;
  napi_typedarray_type array_type;
  size_t length;
  bool is_typed_array;
  uv_loop_t *loop;
  int fd;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!fd_argument(env, argv[0], &fd)) return NULL;
  CALL(env, napi_is_typedarray(env, argv[1], &is_typed_array));
  if (is_typed_array) CALL(env, napi_get_typedarray_info(env, argv[1], &array_type, &length, NULL, NULL, NULL));
  if (!is_typed_array || array_type != napi_int32_array) {
    throw_type(env, "out", "an Int32Array");
    return NULL;
  }
  if (length < 2) {
    throw_range(env, "out", "an Int32Array of at least 2 elements");
    return NULL;
  }
  CALL(env, napi_typeof(env, argv[2], &type));
  if (type != napi_function) {
    throw_type(env, "callback", "a function");
    return NULL;
  }
  const char *syscall;
  int err = ss_is_listening(fd, &syscall);
  if (err != 0) return ss_throw_errno(env, err, syscall, &(ss_error_context){NULL, -1, fd});
  CALL(env, napi_get_uv_event_loop(env, &loop));

  acceptor *a = calloc(1, sizeof *a);
  if (a == NULL) return ss_throw_errno(env, ENOMEM, "calloc", &no_context);
  a->env = env;
  a->fd = fd;
  a->state = CLOSING; /* until the poll is started */
  if (napi_create_external(env, a, finalize_acceptor, NULL, &handle) != napi_ok) {
    free(a);
    return ss_throw_last_napi_error(env);
  }
  /* From here on the handle's finalizer owns `a`. */
  if (napi_type_tag_object(env, handle, &acceptor_tag) != napi_ok ||
      napi_create_reference(env, handle, 1, &a->handle) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &a->out) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &a->callback) != napi_ok ||
      napi_create_string_utf8(env, "sockshard:acceptor", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &a->async_context) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_teardown, a, &a->cleanup) != napi_ok) {
    ss_throw_last_napi_error(env);
    release(a);
    return NULL;
  }
  int uv_err = uv_poll_init(loop, &a->poll, fd);
  if (uv_err != 0) {
    release(a);
    return ss_throw_errno(env, -uv_err, "uv_poll_init", &(ss_error_context){NULL, -1, fd});
  }
  a->state = ACCEPTING;
  uv_err = uv_poll_start(&a->poll, UV_READABLE, on_readable);
  if (uv_err != 0) {
    close_acceptor(a);
    return ss_throw_errno(env, -uv_err, "uv_poll_start", &(ss_error_context){NULL, -1, fd});
  }
  return handle;
}

static acceptor *acceptor_argument(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || napi_typeof(env, arg, &type) != napi_ok) {
    ss_throw_last_napi_error(env);
    return NULL;
  }
  if (type == napi_external) napi_check_object_type_tag(env, arg, &acceptor_tag, &tagged);
  if (!tagged) {
    throw_type(env, "handle", "a handle returned by startAccepting");
    return NULL;
  }
  napi_get_value_external(env, arg, &data);
  return data;
}

static napi_value js_stop_accepting(napi_env env, napi_callback_info info) {
  acceptor *a = acceptor_argument(env, info);
  if (a != NULL && a->state != CLOSING) close_acceptor(a);
  return NULL;
}

static napi_value js_resume_accepting(napi_env env, napi_callback_info info) {
  acceptor *a = acceptor_argument(env, info);
  if (a == NULL || a->state != PAUSED) return NULL;
  int uv_err = uv_poll_start(&a->poll, UV_READABLE, on_readable);
  if (uv_err != 0) return ss_throw_errno(env, -uv_err, "uv_poll_start", &(ss_error_context){NULL, -1, a->fd});
  a->state = ACCEPTING;
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
  };
  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok)
    return NULL;
  return exports;
}
