// errors.c: throwing SysError and SysArgumentError (built by the factories init() registered, so they are the
// package's tagged classes), generic N-API failures, and calling JS from a libuv callback.
#include "emu_sys.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void emu_throw_generic(napi_env env, const char* msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_EMU_SYS", msg);
}

napi_value emu_napi_failed(napi_env env) {
  emu_throw_generic(env, "emu_sys: N-API call failed");
  return NULL;
}

napi_value emu_undef(napi_env env) {
  napi_value u = NULL;
  napi_get_undefined(env, &u);
  return u;
}

/* Builds a SysError through the JS factory (errno is passed in: N-API calls may clobber errno). */
static napi_value make_sys_error(napi_env env, int err, const char* syscall, const char* path) {
  env_data* ed = emu_env_data(env);
  napi_value fn = NULL, argv[3], res = NULL;
  if (ed && ed->sys_error && napi_get_reference_value(env, ed->sys_error, &fn) == napi_ok && fn) {
    napi_create_int32(env, err, &argv[0]);
    napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &argv[1]);
    if (path)
      napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &argv[2]);
    else
      argv[2] = emu_undef(env);
    if (napi_call_function(env, emu_undef(env), fn, 3, argv, &res) == napi_ok) return res;
    return NULL;
  }
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value m;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok) return NULL;
  napi_create_error(env, NULL, m, &res);
  return res;
}

napi_value emu_throw_sys(napi_env env, int err, const char* syscall, const char* path) {
  napi_value e = make_sys_error(env, err, syscall, path);
  if (e)
    napi_throw(env, e);
  else
    emu_throw_generic(env, strerror(err));
  return NULL;
}

napi_value emu_throw_arg(napi_env env, const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  env_data* ed = emu_env_data(env);
  napi_value fn = NULL, m, res;
  if (ed && ed->arg_error && napi_get_reference_value(env, ed->arg_error, &fn) == napi_ok && fn &&
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) == napi_ok &&
      napi_call_function(env, emu_undef(env), fn, 1, &m, &res) == napi_ok) {
    napi_throw(env, res);
    return NULL;
  }
  napi_throw_type_error(env, "ERR_EMU_SYS_ARGUMENT", msg);
  return NULL;
}

/* Calls fn; an exception becomes an uncaught exception of the process (as with any event-loop callback).
   Returns 1 when the call completed normally. */
int emu_call_js(napi_env env, napi_value fn, size_t argc, napi_value* argv) {
  napi_status st = napi_call_function(env, emu_undef(env), fn, argc, argv, NULL);
  if (st == napi_ok) return 1;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  return 0;
}
