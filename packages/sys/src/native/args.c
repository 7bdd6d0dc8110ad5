// args.c: parsing JS arguments into C values; each parser returns 1 on success, or throws and returns 0.
#include "emu_sys.h"

#include <limits.h>
#include <string.h>

#define EMU_MAX_SAFE 9007199254740991.0 /* Number.MAX_SAFE_INTEGER */

int emu_arg_int(napi_env env, napi_value v, int64_t lo, int64_t hi, int64_t* out, const char* what) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok) {
    if (t == napi_number) {
      double d;
      napi_get_value_double(env, v, &d);
      if (d == d && d >= (double)lo && d <= (double)hi && d == (double)(int64_t)d) {
        *out = (int64_t)d;
        return 1;
      }
    } else if (t == napi_bigint) {
      int64_t x;
      bool lossless;
      if (napi_get_value_bigint_int64(env, v, &x, &lossless) == napi_ok && lossless && x >= lo && x <= hi) {
        *out = x;
        return 1;
      }
    }
  }
  emu_throw_arg(env, "%s must be an integer in [%lld, %lld]", what, (long long)lo, (long long)hi);
  return 0;
}

int emu_arg_fd(napi_env env, napi_value v, int* fd, const char* what) {
  int64_t x;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    emu_throw_arg(env, "%s must be a file descriptor (a non-negative integer number)", what);
    return 0;
  }
  if (!emu_arg_int(env, v, 0, INT_MAX, &x, what)) return 0;
  *fd = (int)x;
  return 1;
}

/* Non-negative 64-bit value from a safe-integer number or a bigint. */
int emu_arg_u64(napi_env env, napi_value v, uint64_t* out, const char* what) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok) {
    if (t == napi_number) {
      double d;
      napi_get_value_double(env, v, &d);
      if (d == d && d >= 0 && d <= EMU_MAX_SAFE && d == (double)(uint64_t)d) {
        *out = (uint64_t)d;
        return 1;
      }
    } else if (t == napi_bigint) {
      bool lossless;
      if (napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok && lossless) return 1;
    }
  }
  emu_throw_arg(env, "%s must be a non-negative integer (number up to 2^53-1, or bigint up to 2^64-1)", what);
  return 0;
}

int emu_arg_bool(napi_env env, napi_value v, bool* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_boolean) return napi_get_value_bool(env, v, out) == napi_ok;
  *out = false;
  return 1; /* undefined and others: false */
}

/* A Uint8Array's bytes; 1 on success, else throws. */
int emu_arg_u8(napi_env env, napi_value v, void** data, size_t* len, const char* what) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is &&
      napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) == napi_ok && type == napi_uint8_array)
    return 1;
  emu_throw_arg(env, "%s must be a Uint8Array", what);
  return 0;
}

/* A JS string into buf (at most cap-1 bytes); 1 on success, else throws. */
int emu_arg_str(napi_env env, napi_value v, char* buf, size_t cap, const char* what) {
  napi_valuetype t;
  size_t len = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    emu_throw_arg(env, "%s must be a string", what);
    return 0;
  }
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return 0;
  if (len == 0 || len >= cap) {
    emu_throw_arg(env, "%s must be 1 to %zu bytes long (UTF-8), got %zu", what, cap - 1, len);
    return 0;
  }
  napi_get_value_string_utf8(env, v, buf, cap, &len);
  if (strlen(buf) != len) {
    emu_throw_arg(env, "%s must not contain NUL characters", what);
    return 0;
  }
  return 1;
}

/* fds from a JS array (or undefined/null: none). 1 on success, else throws. */
int emu_arg_fds(napi_env env, napi_value v, int* fds, int* nfds) {
  napi_valuetype t;
  *nfds = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_undefined || t == napi_null) return 1;
  bool is = false;
  if (napi_is_array(env, v, &is) != napi_ok || !is) {
    emu_throw_arg(env, "fds must be an array of file descriptors");
    return 0;
  }
  uint32_t n;
  napi_get_array_length(env, v, &n);
  if (n > EMU_MAX_FDS) {
    emu_throw_arg(env, "at most %d fds can be sent with one message, got %u", EMU_MAX_FDS, n);
    return 0;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, v, i, &e) != napi_ok) return 0;
    if (!emu_arg_fd(env, e, &fds[i], "each fd")) return 0;
  }
  *nfds = (int)n;
  return 1;
}
