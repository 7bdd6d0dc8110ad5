// fd.c: plain fd functions (close, dup, ioctl, read/write that report EAGAIN) and the fd helpers the other files share.
#include "emu_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

void emu_close_fds(const int* fds, int n) {
  for (int i = 0; i < n; i++) close(fds[i]);
}

/* Returns a new fd to JS; closes it if even that fails, so it never leaks. */
napi_value emu_return_fd(napi_env env, int fd) {
  napi_value v;
  if (napi_create_int32(env, fd, &v) == napi_ok) return v;
  close(fd);
  return emu_napi_failed(env);
}

napi_value emu_close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1) return emu_throw_arg(env, "fd is required");
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  if (close(fd) < 0 && errno != EINTR) return emu_throw_sys(env, errno, "close", NULL); /* EINTR: Linux closed it */
  return emu_undef(env);
}

napi_value emu_dup_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1) return emu_throw_arg(env, "fd is required");
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return emu_throw_sys(env, errno, "fcntl", NULL);
  return emu_return_fd(env, d);
}

/* ioctl(fd, request, arg?) */
napi_value emu_ioctl(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], v;
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return emu_throw_arg(env, "fd and request are required");
  int fd;
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  int64_t req;
  if (!emu_arg_int(env, argv[1], INT32_MIN, UINT32_MAX, &req, "request")) return NULL;
  unsigned long request = (unsigned long)(uint32_t)req; /* some VFIO requests exceed 2^31 */
  unsigned long arg = 0;
  napi_valuetype t = napi_undefined;
  if (argc > 2) napi_typeof(env, argv[2], &t);
  bool is_ta = false;
  if (argc > 2) napi_is_typedarray(env, argv[2], &is_ta);
  if (is_ta) {
    void* data;
    size_t len;
    if (!emu_arg_u8(env, argv[2], &data, &len, "arg")) return NULL;
    unsigned dir = _IOC_DIR(request), size = _IOC_SIZE(request);
    if (dir != _IOC_NONE && size > len)
      return emu_throw_arg(env, "ioctl request 0x%lx needs a %u-byte argument; the Uint8Array has %zu bytes", request,
                           size, len);
    arg = (unsigned long)data;
  } else if (t == napi_number || t == napi_bigint) {
    uint64_t x;
    if (!emu_arg_u64(env, argv[2], &x, "arg")) return NULL;
    arg = (unsigned long)x;
  } else if (t != napi_undefined) {
    return emu_throw_arg(env, "arg must be a Uint8Array (passed by pointer), a number or a bigint (passed by value)");
  }
  int r;
  do {
    r = ioctl(fd, request, arg);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return emu_throw_sys(env, errno, "ioctl", NULL);
  NAPI(napi_create_int32(env, r, &v));
  return v;
}

/* The [offset, offset + length) window of a Uint8Array argument (argv[1..3]); 1 on success, else throws. */
static int io_window(napi_env env, size_t argc, napi_value* argv, char** at, size_t* n) {
  void* data;
  size_t len;
  if (!emu_arg_u8(env, argv[1], &data, &len, "buffer")) return 0;
  int64_t off = 0, cnt = -1;
  napi_valuetype t = napi_undefined;
  if (argc > 2) napi_typeof(env, argv[2], &t);
  if (t != napi_undefined && !emu_arg_int(env, argv[2], 0, (int64_t)len, &off, "offset")) return 0;
  t = napi_undefined;
  if (argc > 3) napi_typeof(env, argv[3], &t);
  if (t != napi_undefined && !emu_arg_int(env, argv[3], 0, (int64_t)len, &cnt, "length")) return 0;
  if (cnt < 0) cnt = (int64_t)len - off;
  if (off + cnt > (int64_t)len) {
    emu_throw_arg(env, "offset %lld + length %lld is beyond the buffer's %zu bytes", (long long)off, (long long)cnt,
                  len);
    return 0;
  }
  *at = (char*)data + off;
  *n = (size_t)cnt;
  return 1;
}

/*
 * readFd(fd, buffer, offset?, length?) / writeFd(...): one read(2) or write(2) into/from a window of a Uint8Array.
 * Returns the byte count (0 from read: end of file), or -1 when a non-blocking fd has nothing to give or take now
 * (EAGAIN): a poll loop asks again without an exception per empty poll. Other errors throw SysError.
 */
static napi_value rw_fd(napi_env env, napi_callback_info info, int writing) {
  size_t argc = 4;
  napi_value argv[4], v;
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return emu_throw_arg(env, "fd and buffer are required");
  int fd;
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  char* at;
  size_t n;
  if (!io_window(env, argc, argv, &at, &n)) return NULL;
  ssize_t r;
  do {
    r = writing ? write(fd, at, n) : read(fd, at, n);
  } while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return emu_throw_sys(env, errno, writing ? "write" : "read", NULL);
  NAPI(napi_create_int32(env, r < 0 ? -1 : (int32_t)r, &v));
  return v;
}

napi_value emu_read_fd(napi_env env, napi_callback_info info) {
  return rw_fd(env, info, 0);
}

napi_value emu_write_fd(napi_env env, napi_callback_info info) {
  return rw_fd(env, info, 1);
}
