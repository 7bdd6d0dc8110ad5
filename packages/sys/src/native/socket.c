// socket.c: the SocketHandle class (a UNIX stream socket owned by the addon), its poller, connect() and
// socketPair(). Sending is in socket-send.c, reading in socket-recv.c.
#include "socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void sock_release(pbase* b) {
  sock* s = (sock*)b;
  napi_env env = b->env;
  emu_sock_queue_free(s);
  if (s->on_data) napi_delete_reference(env, s->on_data);
  if (s->on_drain) napi_delete_reference(env, s->on_drain);
  if (s->on_close) napi_delete_reference(env, s->on_close);
  s->on_data = s->on_drain = s->on_close = NULL;
}

static void sock_poll_cb(uv_poll_t* h, int status, int events);

int emu_sock_update_poll(sock* s) {
  int want = 0;
  if (s->reading && !s->paused) want |= UV_READABLE;
  if (s->qhead) want |= UV_WRITABLE;
  return emu_pbase_set_events(&s->b, want, sock_poll_cb);
}

/* Records why the socket closed and tears it down; no JS call. */
void emu_sock_fail_quiet(sock* s, int kind, int err, const char* syscall) {
  if (s->b.torn) return;
  s->closed_kind = kind;
  s->closed_errno = err;
  s->closed_syscall = syscall;
  emu_pbase_teardown(&s->b, 0);
}

/* Same, then tells JS (inside a callback scope). */
void emu_sock_fail(sock* s, int kind, int err, const char* syscall) {
  if (s->b.torn) return;
  napi_env env = s->b.env;
  napi_value fn = NULL;
  if (s->on_close) napi_get_reference_value(env, s->on_close, &fn);
  emu_sock_fail_quiet(s, kind, err, syscall);
  if (fn) {
    napi_value argv[3];
    napi_create_int32(env, kind, &argv[0]);
    napi_create_int32(env, err, &argv[1]);
    napi_create_string_utf8(env, syscall ? syscall : "", NAPI_AUTO_LENGTH, &argv[2]);
    emu_call_js(env, fn, 3, argv);
  }
}

static void sock_poll_cb(uv_poll_t* h, int status, int events) {
  sock* s = (sock*)h->data;
  napi_env env = s->b.env;
  cbscope c;
  if (!emu_cb_enter(&s->b, &c)) return;
  if (status < 0) {
    /* libuv reports POLLERR as UV_EBADF and stops the handle. The peer closing with unread data sets POLLERR here,
       yet data it sent before may still be queued for us: let the syscalls tell the real story (flush: EPIPE;
       read: the remaining data, then ECONNRESET or end of stream), then fall back to SO_ERROR. */
    s->b.poll_events = 0;
    if (s->qhead) {
      int err = emu_sock_flush(s);
      if (err) emu_sock_fail(s, CLOSE_ERRNO, err, "sendmsg");
    }
    if (!s->b.torn && s->reading && !s->paused) emu_sock_read_loop(s);
    if (!s->b.torn) {
      int soerr = 0;
      socklen_t l = sizeof soerr;
      if (getsockopt(s->b.fd, SOL_SOCKET, SO_ERROR, &soerr, &l) < 0) soerr = errno;
      if (soerr) {
        emu_sock_fail(s, CLOSE_ERRNO, soerr, "poll");
      } else {
        int r = emu_sock_update_poll(s);
        if (r < 0) emu_sock_fail(s, CLOSE_ERRNO, -r, "uv_poll_start");
      }
    }
  } else {
    if ((events & UV_WRITABLE) && s->qhead) {
      int err = emu_sock_flush(s);
      if (err) {
        emu_sock_fail(s, CLOSE_ERRNO, err, "sendmsg");
      } else if (!s->qhead) {
        emu_sock_update_poll(s);
        napi_value fn = NULL;
        if (s->on_drain && napi_get_reference_value(env, s->on_drain, &fn) == napi_ok && fn)
          emu_call_js(env, fn, 0, NULL);
      }
    }
    if (!s->b.torn && (events & UV_READABLE) && s->reading && !s->paused) emu_sock_read_loop(s);
  }
  emu_cb_leave(&s->b, &c);
}

/* new SocketHandle(fd, verify): takes ownership of fd on success. verify: check it is an AF_UNIX stream socket
   and make it close-on-exec (adopt). Its O_NONBLOCK is left as the peer set it: every sendmsg/recvmsg here is
   MSG_DONTWAIT, so a blocking socket never blocks us. */
static napi_value sock_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], jsthis;
  NAPI(napi_get_cb_info(env, info, &argc, argv, &jsthis, NULL));
  if (argc < 1) return emu_throw_arg(env, "fd is required");
  int fd;
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  bool verify = false;
  if (argc > 1) emu_arg_bool(env, argv[1], &verify);
  if (verify) {
    int type = 0, domain = 0;
    socklen_t l1 = sizeof type, l2 = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) < 0) {
      int err = errno;
      if (err == ENOTSOCK) return emu_throw_arg(env, "fd %d is not a socket", fd);
      return emu_throw_sys(env, err, "getsockopt", NULL);
    }
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l2) < 0) return emu_throw_sys(env, errno, "getsockopt", NULL);
    if (domain != AF_UNIX || type != SOCK_STREAM)
      return emu_throw_arg(env, "fd %d is not an AF_UNIX SOCK_STREAM socket (domain %d, type %d)", fd, domain, type);
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) return emu_throw_sys(env, errno, "fcntl", NULL);
  }
  sock* s = (sock*)calloc(1, sizeof(sock));
  if (!s) return emu_throw_sys(env, ENOMEM, "malloc", NULL);
  s->closed_kind = -1;
  s->max_fds = EMU_MAX_FDS;
  s->b.release = sock_release;
  if (!emu_pbase_init(env, &s->b, jsthis, fd, 1, "emu.UnixSocket", verify)) return NULL;
  return jsthis;
}

/* setCallbacks(onData(chunk, fds|undefined), onDrain(), onClose(kind, errno, syscall)) */
static napi_value sock_set_callbacks(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, argv);
  if (!s) return NULL;
  if (s->b.torn) return emu_undef(env);
  napi_ref* refs[3] = {&s->on_data, &s->on_drain, &s->on_close};
  for (size_t i = 0; i < 3; i++) {
    napi_valuetype t = napi_undefined;
    if (i < argc) napi_typeof(env, argv[i], &t);
    if (t != napi_function) return emu_throw_arg(env, "callbacks must be functions");
  }
  for (size_t i = 0; i < 3; i++) {
    if (*refs[i]) napi_delete_reference(env, *refs[i]);
    *refs[i] = NULL;
    NAPI(napi_create_reference(env, argv[i], 1, refs[i]));
  }
  return emu_undef(env);
}

/* start(maxRecvFds): begin reading. */
static napi_value sock_start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, argv);
  if (!s) return NULL;
  int64_t maxfds = EMU_MAX_FDS;
  if (argc > 0 && !emu_arg_int(env, argv[0], 0, EMU_MAX_FDS, &maxfds, "maxRecvFds")) return NULL;
  if (s->b.torn) return emu_undef(env);
  s->max_fds = (int)maxfds;
  s->reading = 1;
  int r = emu_sock_update_poll(s);
  if (r < 0) return emu_throw_sys(env, -r, "uv_poll_start", NULL);
  return emu_undef(env);
}

static napi_value sock_set_paused(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, argv);
  if (!s) return NULL;
  bool paused = false;
  if (argc > 0) emu_arg_bool(env, argv[0], &paused);
  if (s->b.torn) return emu_undef(env);
  s->paused = paused;
  int r = emu_sock_update_poll(s);
  if (r < 0) return emu_throw_sys(env, -r, "uv_poll_start", NULL);
  return emu_undef(env);
}

/* external() -> an External of this socket for sendPrefix (held by the JS object that holds this handle, so it
   never outlives the native struct: that lives until the handle is finalized). */
static napi_value sock_external(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, NULL);
  if (!s) return NULL;
  napi_value v;
  NAPI(napi_create_external(env, s, NULL, NULL, &v));
  return v;
}

static napi_value sock_buffered(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, NULL);
  if (!s) return NULL;
  napi_value v;
  NAPI(napi_create_double(env, (double)s->queued, &v));
  return v;
}

static napi_value sock_get_fd(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, NULL);
  if (!s) return NULL;
  napi_value v;
  NAPI(napi_create_int32(env, s->b.torn ? -1 : s->b.fd, &v));
  return v;
}

static napi_value sock_is_closed(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, NULL);
  if (!s) return NULL;
  napi_value v;
  NAPI(napi_get_boolean(env, s->b.torn != 0, &v));
  return v;
}

/* closeError() -> [kind, errno, syscall] when the socket was closed by EOF or an error, else undefined. */
static napi_value sock_close_error(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, NULL);
  if (!s) return NULL;
  if (s->closed_kind < 0) return emu_undef(env);
  napi_value arr, v;
  NAPI(napi_create_array_with_length(env, 3, &arr));
  NAPI(napi_create_int32(env, s->closed_kind, &v));
  NAPI(napi_set_element(env, arr, 0, v));
  NAPI(napi_create_int32(env, s->closed_errno, &v));
  NAPI(napi_set_element(env, arr, 1, v));
  NAPI(napi_create_string_utf8(env, s->closed_syscall ? s->closed_syscall : "", NAPI_AUTO_LENGTH, &v));
  NAPI(napi_set_element(env, arr, 2, v));
  return arr;
}

static napi_value sock_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, NULL);
  if (!s) return NULL;
  emu_pbase_teardown(&s->b, 0); /* idempotent; drops queued data and closes its dup'd fds */
  return emu_undef(env);
}

napi_value emu_sock_object_new(napi_env env, int fd) {
  env_data* ed = emu_env_data(env);
  napi_value ctor, argv[2], obj;
  if (!ed || !ed->sock_ctor || napi_get_reference_value(env, ed->sock_ctor, &ctor) != napi_ok)
    return emu_napi_failed(env);
  NAPI(napi_create_int32(env, fd, &argv[0]));
  NAPI(napi_get_boolean(env, false, &argv[1]));
  if (napi_new_instance(env, ctor, 2, argv, &obj) != napi_ok) return NULL;
  return obj;
}

int emu_fill_sun(napi_env env, napi_value v, struct sockaddr_un* sun, char* path, size_t cap) {
  memset(sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  if (!emu_arg_str(env, v, path, cap < sizeof sun->sun_path ? cap : sizeof sun->sun_path, "path")) return 0;
  memcpy(sun->sun_path, path, strlen(path));
  return 1;
}

/* connect(path) -> SocketHandle. Throws SysError (EAGAIN when the listener's backlog is full: retry). */
napi_value emu_connect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return emu_throw_arg(env, "path is required");
  struct sockaddr_un sun;
  char path[sizeof sun.sun_path];
  if (!emu_fill_sun(env, argv[0], &sun, path, sizeof path)) return NULL;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return emu_throw_sys(env, errno, "socket", NULL);
  int r;
  do {
    r = connect(fd, (struct sockaddr*)&sun, sizeof sun);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int err = errno;
    close(fd);
    return emu_throw_sys(env, err, "connect", path);
  }
  napi_value obj = emu_sock_object_new(env, fd);
  if (!obj) close(fd);
  return obj;
}

/* pair() -> [SocketHandle, SocketHandle] */
napi_value emu_socket_pair(napi_env env, napi_callback_info info) {
  (void)info;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
    return emu_throw_sys(env, errno, "socketpair", NULL);
  napi_value a = emu_sock_object_new(env, sv[0]);
  if (!a) {
    close(sv[0]);
    close(sv[1]);
    return NULL;
  }
  napi_value b = emu_sock_object_new(env, sv[1]);
  if (!b) {
    close(sv[1]);
    void* p = NULL;
    if (napi_unwrap(env, a, &p) == napi_ok && p) emu_pbase_teardown((pbase*)p, 0);
    return NULL;
  }
  napi_value arr;
  NAPI(napi_create_array_with_length(env, 2, &arr));
  NAPI(napi_set_element(env, arr, 0, a));
  NAPI(napi_set_element(env, arr, 1, b));
  return arr;
}

napi_value emu_socket_class(napi_env env) {
  napi_property_descriptor methods[] = {
      EMU_METHOD("setCallbacks", sock_set_callbacks), EMU_METHOD("start", sock_start),
      EMU_METHOD("setPaused", sock_set_paused),       EMU_METHOD("send", emu_sock_send),
      EMU_METHOD("bufferedAmount", sock_buffered),    EMU_METHOD("fd", sock_get_fd),
      EMU_METHOD("isClosed", sock_is_closed),         EMU_METHOD("closeError", sock_close_error),
      EMU_METHOD("close", sock_close),                EMU_METHOD("ref", emu_pbase_ref),
      EMU_METHOD("unref", emu_pbase_unref),           EMU_METHOD("external", sock_external),
  };
  napi_value cls;
  NAPI(napi_define_class(env, "SocketHandle", NAPI_AUTO_LENGTH, sock_new, NULL, sizeof methods / sizeof methods[0],
                         methods, &cls));
  return cls;
}
