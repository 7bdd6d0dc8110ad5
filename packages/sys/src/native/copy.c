// copy.c: many small copies between two byte arrays in one call, for packet data paths (a NIC's DMA of a burst).
// JavaScript can copy only by making a view per range and calling TypedArray.set on it; for 64-byte packets that
// costs more than the copy. One call here moves a whole burst: ranges checked against both arrays first, then copied.
#include "emu_sys.h"

#include <string.h>

static int typed_bytes(napi_env env, napi_value v, uint8_t** data, size_t* len, const char* what) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    emu_throw_arg(env, "%s must be a Uint8Array", what);
    return 0;
  }
  napi_typedarray_type type;
  void* p;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, &p, &ab, &off) != napi_ok || type != napi_uint8_array) {
    emu_throw_arg(env, "%s must be a Uint8Array", what);
    return 0;
  }
  *data = p;
  return 1;
}

/* copyRanges(dst: Uint8Array, src: Uint8Array, plan: Uint32Array, n): for i < n, plan[3i..3i+3) = dst offset, src
   offset, length. Nothing is copied unless every range lies inside both arrays. */
napi_value emu_copy_ranges(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return emu_throw_arg(env, "copyRanges takes dst, src, plan and a count");
  uint8_t *dst, *src;
  size_t dlen, slen;
  if (!typed_bytes(env, argv[0], &dst, &dlen, "dst") || !typed_bytes(env, argv[1], &src, &slen, "src")) return NULL;
  bool is = false;
  napi_typedarray_type type;
  size_t plen, off;
  void* pp;
  napi_value ab;
  if (napi_is_typedarray(env, argv[2], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, argv[2], &type, &plen, &pp, &ab, &off) != napi_ok || type != napi_uint32_array)
    return emu_throw_arg(env, "plan must be a Uint32Array");
  int64_t n;
  if (!emu_arg_int(env, argv[3], 0, (int64_t)(plen / 3), &n, "count")) return NULL;
  const uint32_t* plan = pp;
  for (int64_t i = 0; i < n; i++) {
    uint64_t d = plan[3 * i], s = plan[3 * i + 1], l = plan[3 * i + 2];
    if (d + l > dlen || s + l > slen)
      return emu_throw_arg(env, "range %lld (dst %llu, src %llu, %llu bytes) lies outside the arrays", (long long)i,
                           (unsigned long long)d, (unsigned long long)s, (unsigned long long)l);
  }
  for (int64_t i = 0; i < n; i++) memmove(dst + plan[3 * i], src + plan[3 * i + 1], plan[3 * i + 2]);
  return emu_undef(env);
}
