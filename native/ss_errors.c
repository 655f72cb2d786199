#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "ss.h"

static void set_string(napi_env env, napi_value object, const char *name, const char *value) {
  napi_value v;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, object, name, v);
}

static void set_int(napi_env env, napi_value object, const char *name, int value) {
  napi_value v;
  if (napi_create_int32(env, value, &v) == napi_ok) napi_set_named_property(env, object, name, v);
}

/*
 * The brand that src/errors.ts checks in `SockshardError[Symbol.hasInstance]`, so these errors are members
 * of the family without the TS wrapper re-wrapping them. Set like `Object.defineProperty(e, brand,
 * { value: true })`: not enumerable, writable or configurable.
 */
static void set_brand(napi_env env, napi_value error) {
  napi_value brand, yes;
  if (node_api_symbol_for(env, "sockshard.error", NAPI_AUTO_LENGTH, &brand) != napi_ok) return;
  if (napi_get_boolean(env, true, &yes) != napi_ok) return;
  napi_property_descriptor property = {NULL, brand, NULL, NULL, NULL, yes, napi_default, NULL};
  napi_define_properties(env, error, 1, &property);
}

/*
 * Node's shape for system errors: `code` is the errno name, `errno` the negative libuv number (what
 * Node's own net and fs errors carry, and what the accept callback reports), plus `syscall`, `address`,
 * `port` and `fd` where known; the message reads like Node's: `bind EADDRINUSE: address already in use
 * 127.0.0.1:7000`.
 */
napi_value ss_throw_errno(napi_env env, int err, const char *syscall, const ss_error_context *context) {
  /* The _r variants: uv_err_name leaks a malloc'd string for an errno libuv does not know. */
  char code[32], description[80];
  uv_err_name_r(-err, code, sizeof code);
  uv_strerror_r(-err, description, sizeof description);
  char detail[128] = ""; /* room for a Unix socket path (107 bytes) */
  if (context->address != NULL && context->port < 0) {
    /* A Unix socket's path: no port. */
    snprintf(detail, sizeof detail, " %s", context->address);
  } else if (context->address != NULL && strchr(context->address, ':') != NULL) {
    snprintf(detail, sizeof detail, " [%s]:%d", context->address, context->port);
  } else if (context->address != NULL) {
    snprintf(detail, sizeof detail, " %s:%d", context->address, context->port);
  } else if (context->fd >= 0) {
    snprintf(detail, sizeof detail, " (fd %d)", context->fd);
  }
  char message[256];
  snprintf(message, sizeof message, "%s %s: %s%s", syscall, code, description, detail);

  napi_value code_value, message_value, error;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value) != napi_ok ||
      napi_create_error(env, code_value, message_value, &error) != napi_ok) {
    return ss_throw_last_napi_error(env);
  }
  /* The class src/errors.ts gives these (`instanceof SyscallError` holds by brand and shape, see there). */
  set_string(env, error, "name", "SyscallError");
  set_int(env, error, "errno", -err);
  set_string(env, error, "syscall", syscall);
  if (context->address != NULL) set_string(env, error, "address", context->address);
  if (context->port >= 0) set_int(env, error, "port", context->port);
  if (context->fd >= 0) set_int(env, error, "fd", context->fd);
  set_brand(env, error);
  napi_throw(env, error);
  return NULL;
}

/* A failed N-API call that left no exception (out of memory, wrong argument type) becomes one. */
napi_value ss_throw_last_napi_error(napi_env env) {
  /* First: every N-API call, napi_is_exception_pending included, resets the last error info. */
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  const char *message = info != NULL && info->error_message != NULL ? info->error_message : "N-API call failed";
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  napi_throw_error(env, "ERR_NATIVE", message);
  return NULL;
}
