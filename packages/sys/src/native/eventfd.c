// eventfd.c: eventfd functions (create, adopt a peer's, read, write) and the eventfd I/O that never blocks the
// loop, also used by the watcher (eventfd-watch.c).
#include "emu_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

/* eventfd I/O that never blocks the loop, whatever the fd's O_NONBLOCK: an adopted eventfd keeps the flags its
   sender chose (a blocking reader on the other side must stay blocking), so non-blocking is asked per call.
   Reading: preadv2(RWF_NOWAIT) with offset -1 (eventfds honour it since Linux 5.8). A kernel that refuses it
   (EOPNOTSUPP; ENOSYS or EINVAL before preadv2 or RWF_NOWAIT) is remembered, and from then on a zero-timeout poll
   comes first: then a blocking fd's read can block only if another reader (the peer) empties the counter between
   the two calls. Writing has no per-call form (eventfds have no write_iter: RWF_NOWAIT is EOPNOTSUPP on every
   kernel), so a shared fd is polled for POLLOUT first: a write of 1 then cannot block unless another writer fills
   the counter in between; a write of more than 1 can also block when the counter is within `n` of its maximum. */
static int efd_no_rwf_nowait; /* set once by any thread; a stale 0 only costs one more refused preadv2 */

static int efd_poll0(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events, .revents = 0};
  int r;
  do {
    r = poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  if (p.revents & POLLNVAL) {
    errno = EBADF;
    return -1;
  }
  if (!(p.revents & events)) {
    errno = EAGAIN;
    return -1;
  }
  return 0;
}

ssize_t emu_efd_read_nowait(int fd, uint64_t* v) {
  ssize_t r;
  if (!__atomic_load_n(&efd_no_rwf_nowait, __ATOMIC_RELAXED)) {
    struct iovec iov = {.iov_base = v, .iov_len = sizeof *v};
    do {
      r = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
    } while (r < 0 && errno == EINTR);
    if (r >= 0 || (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)) return r;
    __atomic_store_n(&efd_no_rwf_nowait, 1, __ATOMIC_RELAXED);
  }
  if (efd_poll0(fd, POLLIN) < 0) return -1;
  do {
    r = read(fd, v, sizeof *v);
  } while (r < 0 && errno == EINTR);
  return r;
}

/* shared: the fd may lack O_NONBLOCK (adopted); ours (EFD_NONBLOCK) skip the poll. */
ssize_t emu_efd_write_nowait(int fd, uint64_t n, bool shared) {
  if (shared && efd_poll0(fd, POLLOUT) < 0) return -1;
  ssize_t r;
  do {
    r = write(fd, &n, sizeof n);
  } while (r < 0 && errno == EINTR);
  return r;
}

napi_value emu_eventfd_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return emu_throw_arg(env, "initval and semaphore are required");
  int64_t init;
  if (!emu_arg_int(env, argv[0], 0, UINT32_MAX, &init, "initval")) return NULL;
  bool sem;
  emu_arg_bool(env, argv[1], &sem);
  int fd = eventfd((unsigned int)init, EFD_CLOEXEC | EFD_NONBLOCK | (sem ? EFD_SEMAPHORE : 0));
  if (fd < 0) return emu_throw_sys(env, errno, "eventfd", NULL);
  return emu_return_fd(env, fd);
}

/* eventfdAdopt(fd): checks it is an eventfd; makes it close-on-exec. Its O_NONBLOCK stays as the peer set it. */
napi_value emu_eventfd_adopt(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1) return emu_throw_arg(env, "fd is required");
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  char link[64], target[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n < 0) return emu_throw_sys(env, errno == ENOENT ? EBADF : errno, "readlink", NULL);
  target[n] = 0;
  if (strcmp(target, "anon_inode:[eventfd]") != 0)
    return emu_throw_arg(env, "fd %d is not an eventfd (%s)", fd, target);
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) return emu_throw_sys(env, errno, "fcntl", NULL);
  return emu_undef(env);
}

/* eventfdWrite(fd, count, shared?): shared = the fd may be blocking (adopted), see emu_efd_write_nowait. */
napi_value emu_eventfd_write(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return emu_throw_arg(env, "fd and count are required");
  int fd;
  uint64_t n;
  if (!emu_arg_fd(env, argv[0], &fd, "fd") || !emu_arg_u64(env, argv[1], &n, "count")) return NULL;
  if (n == UINT64_MAX) return emu_throw_arg(env, "count must be below 2^64-1");
  bool shared = false;
  if (argc > 2) emu_arg_bool(env, argv[2], &shared);
  ssize_t r = emu_efd_write_nowait(fd, n, shared);
  if (r < 0) return emu_throw_sys(env, errno, "write", NULL); /* EAGAIN: the counter would overflow */
  if (r != (ssize_t)sizeof n) return emu_throw_sys(env, EIO, "write", NULL);
  return emu_undef(env);
}

/* eventfdRead(fd) -> bigint, or null when the counter is zero */
napi_value emu_eventfd_read(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v;
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1) return emu_throw_arg(env, "fd is required");
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  uint64_t n;
  ssize_t r = emu_efd_read_nowait(fd, &n);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      NAPI(napi_get_null(env, &v));
      return v;
    }
    return emu_throw_sys(env, errno, "read", NULL);
  }
  if (r != (ssize_t)sizeof n) return emu_throw_sys(env, EIO, "read", NULL);
  NAPI(napi_create_bigint_uint64(env, n, &v));
  return v;
}
