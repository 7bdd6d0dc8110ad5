// emu_sys: the only native code of emu. UNIX stream sockets with SCM_RIGHTS (owned by the addon, watched with
// uv_poll on the Node event loop), memfd + mmap as external ArrayBuffers, eventfd, dup/close/ioctl.
//
// Conventions:
//  - Every fd this file creates is close-on-exec and non-blocking. An fd it adopts (a peer's, received over a
//    socket) is made close-on-exec, a flag of our descriptor alone; its file status flags (O_NONBLOCK) are never
//    changed, since they live on the open file description the peer shares. I/O on such fds is non-blocking per
//    call instead: MSG_DONTWAIT on sockets, emu_efd_read_nowait/emu_efd_write_nowait on eventfds.
//  - Errors thrown to JS are built by factories that the TypeScript layer registers at load (init()), so they are
//    the package's tagged classes. Bad arguments throw SysArgumentError; failed syscalls throw SysError.
//  - Objects with a poller (socket, server, eventfd) share `pbase`: the struct lives until both the uv handle
//    has closed and the JS wrapper has been finalized. While open, a strong reference keeps the wrapper alive.
//  - Per-env state (error factories, receive buffer) lives in instance data, so worker threads each have their own.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define EMU_MAX_FDS 253 /* SCM_MAX_FD: the most fds one sendmsg can carry */
#define EMU_RECV_BUF (256 * 1024)
#define EMU_MAX_READS 64   /* recvmsg calls per wake-up before yielding to the loop (level-triggered: it comes back) */
#define EMU_MAX_ACCEPTS 64 /* accept4 calls per wake-up */
#define EMU_FLUSH_IOV 64   /* queued messages gathered into one sendmsg when flushing */
#define EMU_MAX_IOV 1024   /* IOV_MAX */
#define EMU_CTRL_SIZE CMSG_SPACE(sizeof(int) * EMU_MAX_FDS)
#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif
#ifndef EMU_MAX_MAP
#define EMU_MAX_MAP ((uint64_t)1 << 32) /* Node 20 refuses ArrayBuffers above 4 GiB */
#endif
#define EMU_MAX_SAFE 9007199254740991.0 /* Number.MAX_SAFE_INTEGER */

/* ------------------------------------------------------------------------------------------------------------- */
/* per-env state                                                                                                  */

typedef struct {
  uv_loop_t* loop;
  napi_ref sys_error; /* (errno, syscall, path?) => SysError */
  napi_ref arg_error; /* (message) => SysArgumentError */
  napi_ref sock_ctor;
  char* rbuf;
  struct {
    _Alignas(struct cmsghdr) char buf[EMU_CTRL_SIZE];
  } ctrl;
} env_data;

static env_data* emu_env_data(napi_env env) {
  void* p = NULL;
  if (napi_get_instance_data(env, &p) != napi_ok) return NULL;
  return (env_data*)p;
}

static void ed_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  env_data* ed = (env_data*)data;
  if (ed->sys_error) napi_delete_reference(env, ed->sys_error);
  if (ed->arg_error) napi_delete_reference(env, ed->arg_error);
  if (ed->sock_ctor) napi_delete_reference(env, ed->sock_ctor);
  free(ed->rbuf);
  free(ed);
}

/* ------------------------------------------------------------------------------------------------------------- */
/* errors                                                                                                         */

static void emu_throw_generic(napi_env env, const char* msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_EMU_SYS", msg);
}

static napi_value emu_napi_failed(napi_env env) {
  emu_throw_generic(env, "emu_sys: N-API call failed");
  return NULL;
}

#define NAPI(call)                                       \
  do {                                                   \
    if ((call) != napi_ok) return emu_napi_failed(env); \
  } while (0)

static napi_value emu_undef(napi_env env) {
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

static napi_value emu_throw_sys(napi_env env, int err, const char* syscall, const char* path) {
  napi_value e = make_sys_error(env, err, syscall, path);
  if (e)
    napi_throw(env, e);
  else
    emu_throw_generic(env, strerror(err));
  return NULL;
}

static napi_value emu_throw_arg(napi_env env, const char* fmt, ...) {
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
static int emu_call_js(napi_env env, napi_value fn, size_t argc, napi_value* argv) {
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

/* ------------------------------------------------------------------------------------------------------------- */
/* argument parsing: each returns 1 on success, or throws and returns 0                                           */

static int emu_arg_int(napi_env env, napi_value v, int64_t lo, int64_t hi, int64_t* out, const char* what) {
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

static int emu_arg_fd(napi_env env, napi_value v, int* fd, const char* what) {
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
static int emu_arg_u64(napi_env env, napi_value v, uint64_t* out, const char* what) {
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

static int emu_arg_bool(napi_env env, napi_value v, bool* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_boolean) return napi_get_value_bool(env, v, out) == napi_ok;
  *out = false;
  return 1; /* undefined and others: false */
}

/* A Uint8Array's bytes; 1 on success, else throws. */
static int emu_arg_u8(napi_env env, napi_value v, void** data, size_t* len, const char* what) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is &&
      napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) == napi_ok && type == napi_uint8_array)
    return 1;
  emu_throw_arg(env, "%s must be a Uint8Array", what);
  return 0;
}

/* A JS string into buf (at most cap-1 bytes); 1 on success, else throws. */
static int emu_arg_str(napi_env env, napi_value v, char* buf, size_t cap, const char* what) {
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
static int emu_arg_fds(napi_env env, napi_value v, int* fds, int* nfds) {
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

static void emu_close_fds(const int* fds, int n) {
  for (int i = 0; i < n; i++) close(fds[i]);
}

/* Returns a new fd to JS; closes it if even that fails, so it never leaks. */
static napi_value emu_return_fd(napi_env env, int fd) {
  napi_value v;
  if (napi_create_int32(env, fd, &v) == napi_ok) return v;
  close(fd);
  return emu_napi_failed(env);
}

/* ------------------------------------------------------------------------------------------------------------- */
/* pbase: an object with a uv_poll handle and a JS wrapper                                                        */

typedef struct pbase pbase;
struct pbase {
  napi_env env;
  env_data* ed;
  uv_poll_t poll;
  int fd;
  int owns_fd;
  int poll_events; /* events the handle is started with; 0 = stopped */
  int proxy;       /* an epoll instance watching fd, which libuv polls in its place (see emu_pbase_init), or -1 */
  uv_poll_cb proxied_cb;
  int handle_alive;
  int wrapper_alive;
  int torn; /* torn down: poller closing, fd closed (if owned), JS callbacks released */
  int in_cb;
  int actx_live;
  napi_ref self;
  napi_async_context actx;
  void (*release)(pbase*); /* deletes the subclass's JS references (called once, at teardown) */
};

static void pbase_maybe_free(pbase* b) {
  if (b->handle_alive || b->wrapper_alive) return;
  free(b);
}

static void pbase_on_closed(uv_handle_t* h) {
  pbase* b = (pbase*)h->data;
  b->handle_alive = 0;
  pbase_maybe_free(b);
}

/* finalizing: called from the wrapper's finalizer (the strong reference is gone or the env is shutting down). */
static void emu_pbase_teardown(pbase* b, int finalizing) {
  if (b->torn) return;
  b->torn = 1;
  napi_env env = b->env;
  if (b->handle_alive) {
    /* uv_close stops the poller and removes the fd from epoll (EPOLL_CTL_DEL) before we close the fd. */
    uv_close((uv_handle_t*)&b->poll, pbase_on_closed);
  }
  b->poll_events = 0;
  if (b->proxy >= 0) close(b->proxy); /* after uv_close: libuv no longer watches it */
  b->proxy = -1;
  if (b->owns_fd && b->fd >= 0) close(b->fd);
  b->fd = -1;
  if (b->release) b->release(b);
  if (!finalizing) {
    if (b->self) napi_reference_unref(env, b->self, NULL);
    if (b->actx_live && !b->in_cb) {
      napi_async_destroy(env, b->actx);
      b->actx_live = 0;
    }
  }
}

static void pbase_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  pbase* b = (pbase*)data;
  emu_pbase_teardown(b, 1);
  if (b->self) napi_delete_reference(env, b->self);
  b->self = NULL;
  b->wrapper_alive = 0;
  pbase_maybe_free(b);
}

/* An epoll instance with `fd` registered (no events yet), or -1 with errno set. */
static int proxy_create(int fd) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return -1;
  struct epoll_event ev = {.events = 0, .data = {.fd = fd}};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int err = errno;
    close(ep);
    errno = err;
    return -1;
  }
  return ep;
}

/* Initializes the poller (not started) and wraps `jsthis`. On failure throws and returns 0; b is then either
   freed or will be freed by the uv close callback, and the fd is untouched.
   proxied: the fd is a peer's (adopted). uv_poll_init would set O_NONBLOCK on it (libuv makes every polled fd
   non-blocking), which changes the open file description the peer shares; so libuv polls an epoll instance of ours
   that watches the fd (level-triggered: readable while the fd has a wanted event), and proxy_cb asks it which. */
static int emu_pbase_init(napi_env env, pbase* b, napi_value jsthis, int fd, int owns_fd, const char* name,
                          int proxied) {
  env_data* ed = emu_env_data(env);
  b->env = env;
  b->ed = ed;
  b->fd = fd;
  b->proxy = -1;
  b->owns_fd = 0; /* only once everything succeeded */
  b->poll.data = b;
  if (!ed) {
    emu_throw_generic(env, "emu_sys: not initialized");
    free(b);
    return 0;
  }
  if (proxied && (b->proxy = proxy_create(fd)) < 0) {
    emu_throw_sys(env, errno, "epoll_ctl", NULL);
    free(b);
    return 0;
  }
  int r = uv_poll_init(ed->loop, &b->poll, proxied ? b->proxy : fd);
  if (r < 0) {
    emu_throw_sys(env, -r, "uv_poll_init", NULL);
    if (b->proxy >= 0) close(b->proxy);
    free(b);
    return 0;
  }
  b->handle_alive = 1;
  napi_value resname;
  if (napi_wrap(env, jsthis, b, pbase_finalize, NULL, NULL) != napi_ok) goto fail_closing;
  b->wrapper_alive = 1;
  if (napi_create_reference(env, jsthis, 1, &b->self) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resname) != napi_ok ||
      napi_async_init(env, jsthis, resname, &b->actx) != napi_ok) {
    void* unused;
    napi_remove_wrap(env, jsthis, &unused);
    b->wrapper_alive = 0;
    if (b->self) napi_delete_reference(env, b->self);
    b->self = NULL;
    goto fail_closing;
  }
  b->actx_live = 1;
  b->owns_fd = owns_fd;
  return 1;
fail_closing:
  emu_throw_generic(env, "emu_sys: could not create the native object");
  b->torn = 1;
  uv_close((uv_handle_t*)&b->poll, pbase_on_closed); /* frees b */
  if (b->proxy >= 0) close(b->proxy);
  return 0;
}

/* The proxy's epoll instance is readable: report the fd's own events as libuv would (POLLERR: the handle stops
   and the callback gets UV_EBADF; a bare hang-up wakes every wanted event so the syscalls tell what happened). */
static void proxy_cb(uv_poll_t* h, int status, int events) {
  (void)events;
  pbase* b = (pbase*)h->data;
  if (status < 0 || b->proxy < 0) {
    b->proxied_cb(h, status, 0);
    return;
  }
  struct epoll_event ev;
  int n;
  do {
    n = epoll_wait(b->proxy, &ev, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return; /* nothing ready any more (level-triggered: it comes back) */
  if (ev.events & EPOLLERR) {
    uv_poll_stop(h);
    b->proxied_cb(h, UV_EBADF, 0);
    return;
  }
  int pe = (ev.events & EPOLLIN ? UV_READABLE : 0) | (ev.events & EPOLLOUT ? UV_WRITABLE : 0);
  if (ev.events & EPOLLHUP) pe |= b->poll_events;
  if (pe) b->proxied_cb(h, 0, pe);
}

static int emu_pbase_set_events(pbase* b, int want, uv_poll_cb cb) {
  if (b->torn) return 0;
  if (want == b->poll_events) return 0;
  int r;
  if (b->proxy >= 0) {
    struct epoll_event ev = {.events = (want & UV_READABLE ? EPOLLIN : 0) | (want & UV_WRITABLE ? EPOLLOUT : 0),
                             .data = {.fd = b->fd}};
    if (epoll_ctl(b->proxy, EPOLL_CTL_MOD, b->fd, &ev) < 0) return -errno;
    b->proxied_cb = cb;
    r = want ? uv_poll_start(&b->poll, UV_READABLE, proxy_cb) : uv_poll_stop(&b->poll);
  } else {
    r = want ? uv_poll_start(&b->poll, want, cb) : uv_poll_stop(&b->poll);
  }
  if (r == 0) b->poll_events = want;
  return r;
}

typedef struct {
  napi_handle_scope hs;
  napi_callback_scope cs;
} cbscope;

/* Enters JS from a libuv callback: one callback scope per wake-up (microtasks and nextTicks run when it closes). */
static int emu_cb_enter(pbase* b, cbscope* c) {
  napi_env env = b->env;
  if (b->torn || !b->self) return 0;
  if (napi_open_handle_scope(env, &c->hs) != napi_ok) return 0;
  napi_value res = NULL;
  if (napi_get_reference_value(env, b->self, &res) != napi_ok || res == NULL ||
      napi_open_callback_scope(env, res, b->actx, &c->cs) != napi_ok) {
    napi_close_handle_scope(env, c->hs);
    return 0;
  }
  b->in_cb++;
  return 1;
}

static void emu_cb_leave(pbase* b, cbscope* c) {
  napi_env env = b->env;
  b->in_cb--;
  napi_close_callback_scope(env, c->cs);
  if (b->torn && b->actx_live && b->in_cb == 0) {
    napi_async_destroy(env, b->actx);
    b->actx_live = 0;
  }
  napi_close_handle_scope(env, c->hs);
}

static void* emu_unwrap_this(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  napi_value jsthis;
  void* p = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &jsthis, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, jsthis, &p) != napi_ok || !p) {
    emu_throw_generic(env, "emu_sys: method called on a wrong object");
    return NULL;
  }
  return p;
}

static napi_value emu_pbase_ref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  pbase* b = (pbase*)emu_unwrap_this(env, info, &argc, NULL);
  if (!b) return NULL;
  if (!b->torn) uv_ref((uv_handle_t*)&b->poll);
  return emu_undef(env);
}

static napi_value emu_pbase_unref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  pbase* b = (pbase*)emu_unwrap_this(env, info, &argc, NULL);
  if (!b) return NULL;
  if (!b->torn) uv_unref((uv_handle_t*)&b->poll);
  return emu_undef(env);
}

/* ------------------------------------------------------------------------------------------------------------- */
/* UNIX stream socket                                                                                             */

typedef struct qent {
  struct qent* next;
  char* data;
  size_t len;
  size_t off;
  int nfds; /* dup'd fds still to be sent with data[off] (only while off == 0) */
  int fds[];
} qent;

enum { CLOSE_EOF = 0, CLOSE_ERRNO = 1, CLOSE_TOO_MANY_FDS = 2 };

typedef struct {
  pbase b;
  int reading;
  int paused;
  int max_fds;
  qent* qhead;
  qent* qtail;
  size_t queued;
  int closed_kind; /* -1: open or closed locally; else CLOSE_* */
  int closed_errno;
  const char* closed_syscall;
  napi_ref on_data, on_drain, on_close;
} sock;

static void emu_sock_queue_free(sock* s) {
  qent* e = s->qhead;
  while (e) {
    qent* n = e->next;
    emu_close_fds(e->fds, e->nfds);
    free(e);
    e = n;
  }
  s->qhead = s->qtail = NULL;
  s->queued = 0;
}

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

static int emu_sock_update_poll(sock* s) {
  int want = 0;
  if (s->reading && !s->paused) want |= UV_READABLE;
  if (s->qhead) want |= UV_WRITABLE;
  return emu_pbase_set_events(&s->b, want, sock_poll_cb);
}

/* Records why the socket closed and tears it down; no JS call. */
static void emu_sock_fail_quiet(sock* s, int kind, int err, const char* syscall) {
  if (s->b.torn) return;
  s->closed_kind = kind;
  s->closed_errno = err;
  s->closed_syscall = syscall;
  emu_pbase_teardown(&s->b, 0);
}

/* Same, then tells JS (inside a callback scope). */
static void emu_sock_fail(sock* s, int kind, int err, const char* syscall) {
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

static void set_rights(struct msghdr* msg, void* ctrl, const int* fds, int nfds) {
  size_t sz = sizeof(int) * (size_t)nfds;
  memset(ctrl, 0, CMSG_SPACE(sz)); /* no uninitialised padding bytes handed to the kernel */
  msg->msg_control = ctrl;
  msg->msg_controllen = CMSG_SPACE(sz);
  struct cmsghdr* c = CMSG_FIRSTHDR(msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sz);
  memcpy(CMSG_DATA(c), fds, sz);
}

/* Sends queued data. Returns 0 (all sent, or the kernel is full) or an errno that closes the socket.
   A message carrying fds is sent by a sendmsg of its own that starts at its first byte, so the receiver gets the fds
   in the chunk where that message starts and no later message starts in that chunk; fd-less messages are gathered. */
static int emu_sock_flush(sock* s) {
  struct {
    _Alignas(struct cmsghdr) char buf[EMU_CTRL_SIZE];
  } ctrl;
  while (s->qhead) {
    struct iovec iov[EMU_FLUSH_IOV];
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    int n = 0;
    qent* e = s->qhead;
    if (e->nfds > 0) {
      iov[0].iov_base = e->data + e->off;
      iov[0].iov_len = e->len - e->off;
      n = 1;
      set_rights(&msg, ctrl.buf, e->fds, e->nfds);
    } else {
      for (; e && e->nfds == 0 && n < EMU_FLUSH_IOV; e = e->next, n++) {
        iov[n].iov_base = e->data + e->off;
        iov[n].iov_len = e->len - e->off;
      }
    }
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)n;
    ssize_t w = sendmsg(s->b.fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return 0;
      return err;
    }
    if (w == 0) return 0;
    e = s->qhead;
    if (e->nfds > 0) { /* the kernel took the fds with the first byte: our dups are no longer needed */
      emu_close_fds(e->fds, e->nfds);
      e->nfds = 0;
    }
    size_t left = (size_t)w;
    s->queued -= left;
    while (left > 0) {
      e = s->qhead;
      size_t rem = e->len - e->off;
      if (left >= rem) {
        left -= rem;
        s->qhead = e->next;
        if (!s->qhead) s->qtail = NULL;
        free(e);
      } else {
        e->off += left;
        left = 0;
      }
    }
  }
  return 0;
}

/* Queues bytes [skip, total) of the gathered iovecs, with dups of fds (nfds > 0 only when nothing was sent).
   Returns 0 or an errno (nothing queued then). */
static int sock_enqueue(sock* s, const struct iovec* iov, int niov, size_t total, size_t skip, const int* fds,
                        int nfds) {
  size_t len = total - skip;
  qent* e = (qent*)malloc(sizeof(qent) + sizeof(int) * (size_t)nfds + len);
  if (!e) return ENOMEM;
  e->next = NULL;
  e->data = (char*)(e->fds + nfds);
  e->len = len;
  e->off = 0;
  e->nfds = 0;
  for (int i = 0; i < nfds; i++) {
    int d = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
    if (d < 0) {
      int err = errno;
      emu_close_fds(e->fds, e->nfds);
      free(e);
      return err;
    }
    e->fds[e->nfds++] = d;
  }
  char* p = e->data;
  for (int i = 0; i < niov; i++) {
    size_t l = iov[i].iov_len;
    const char* src = (const char*)iov[i].iov_base;
    if (skip >= l) {
      skip -= l;
      continue;
    }
    memcpy(p, src + skip, l - skip);
    p += l - skip;
    skip = 0;
  }
  if (s->qtail)
    s->qtail->next = e;
  else
    s->qhead = e;
  s->qtail = e;
  s->queued += len;
  return 0;
}

static void emu_sock_read_loop(sock* s) {
  napi_env env = s->b.env;
  env_data* ed = s->b.ed;
  napi_value on_data = NULL;
  if (!s->on_data || napi_get_reference_value(env, s->on_data, &on_data) != napi_ok || !on_data) return;
  int fds[EMU_MAX_FDS + 8];
  for (int i = 0; i < EMU_MAX_READS; i++) {
    if (s->b.torn || !s->reading || s->paused) return;
    struct iovec iov = {ed->rbuf, EMU_RECV_BUF};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ed->ctrl.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)s->max_fds);
    ssize_t n = recvmsg(s->b.fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      emu_sock_fail(s, CLOSE_ERRNO, err, "recvmsg");
      return;
    }
    int nfds = 0;
    if (msg.msg_controllen > 0) {
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t j = 0; j < k; j++) {
          int fd;
          memcpy(&fd, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
          if (nfds < (int)(sizeof fds / sizeof fds[0]))
            fds[nfds++] = fd;
          else
            close(fd); /* cannot happen: the control buffer holds at most max_fds */
        }
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
      /* More fds than max_fds: the kernel discarded the rest; close the ones that arrived, and the socket. */
      emu_close_fds(fds, nfds);
      emu_sock_fail(s, CLOSE_TOO_MANY_FDS, 0, "recvmsg");
      return;
    }
    if (n == 0) {
      emu_close_fds(fds, nfds);
      emu_sock_fail(s, CLOSE_EOF, 0, "recvmsg");
      return;
    }
    napi_handle_scope hs;
    if (napi_open_handle_scope(env, &hs) != napi_ok) {
      emu_close_fds(fds, nfds);
      emu_sock_fail(s, CLOSE_ERRNO, ENOMEM, "recvmsg");
      return;
    }
    napi_value argv[2], ab;
    void* data = NULL;
    int ok = napi_create_arraybuffer(env, (size_t)n, &data, &ab) == napi_ok;
    if (ok) {
      memcpy(data, ed->rbuf, (size_t)n);
      ok = napi_create_typedarray(env, napi_uint8_array, (size_t)n, ab, 0, &argv[0]) == napi_ok;
    }
    if (ok && nfds > 0) {
      ok = napi_create_array_with_length(env, (size_t)nfds, &argv[1]) == napi_ok;
      for (int j = 0; ok && j < nfds; j++) {
        napi_value v;
        ok = napi_create_int32(env, fds[j], &v) == napi_ok && napi_set_element(env, argv[1], (uint32_t)j, v) == napi_ok;
      }
    } else if (ok) {
      argv[1] = emu_undef(env);
    }
    if (!ok) {
      emu_close_fds(fds, nfds);
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value exc;
        napi_get_and_clear_last_exception(env, &exc);
      }
      napi_close_handle_scope(env, hs);
      emu_sock_fail(s, CLOSE_ERRNO, ENOMEM, "recvmsg");
      return;
    }
    /* From here the fds belong to JS. */
    int completed = emu_call_js(env, on_data, 2, argv);
    napi_close_handle_scope(env, hs);
    if (!completed) return;
    /* A short read without fds means the kernel queue was empty at that moment (a stream recvmsg only stops early
       after an skb carrying fds): skip the recvmsg that would return EAGAIN. The poller is level-triggered. */
    if ((size_t)n < EMU_RECV_BUF && nfds == 0) return;
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

/* send(data: Uint8Array | Uint8Array[], fds?: number[]) -> bufferedAmount (>= 0), or -1 when the socket is closed
   (before or by this call: then closeError() says why). Bad fds and other local errors throw, nothing sent. */
static napi_value emu_sock_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, argv);
  if (!s) return NULL;
  if (argc < 1) return emu_throw_arg(env, "data is required");
  struct iovec iov_small[8];
  struct iovec* iov = iov_small;
  napi_value parts_small[8];
  napi_value* parts = parts_small;
  uint32_t nparts = 1;
  int niov = 0;
  size_t total = 0;
  napi_value result = NULL;
  int fds[EMU_MAX_FDS];
  int nfds = 0;
  bool is_arr = false;
  napi_is_array(env, argv[0], &is_arr);
  if (is_arr) {
    NAPI(napi_get_array_length(env, argv[0], &nparts));
    if (nparts > EMU_MAX_IOV) return emu_throw_arg(env, "at most %d buffers per message, got %u", EMU_MAX_IOV, nparts);
    if (nparts > 8) {
      parts = (napi_value*)malloc(sizeof(napi_value) * nparts);
      iov = (struct iovec*)malloc(sizeof(struct iovec) * nparts);
      if (!parts || !iov) {
        emu_throw_sys(env, ENOMEM, "malloc", NULL);
        goto out;
      }
    }
    for (uint32_t i = 0; i < nparts; i++)
      if (napi_get_element(env, argv[0], i, &parts[i]) != napi_ok) goto out;
  } else {
    parts[0] = argv[0];
  }
  if (argc > 1 && !emu_arg_fds(env, argv[1], fds, &nfds)) goto out;
  /* Only now take the data pointers: fetching array elements and fds may run JS (accessor elements) that could
     detach a part's buffer and free its memory. From here to sendmsg/enqueue no JS runs. */
  for (uint32_t i = 0; i < nparts; i++) {
    void* d;
    size_t l;
    if (!emu_arg_u8(env, parts[i], &d, &l, is_arr ? "each part of data" : "data (a Uint8Array or an array of them)"))
      goto out;
    if (l == 0) continue;
    iov[niov].iov_base = d;
    iov[niov].iov_len = l;
    niov++;
    total += l;
  }
  if (total == 0 && nfds > 0) {
    emu_throw_arg(env, "fds need at least one byte of data (the kernel drops fds sent with zero bytes)");
    goto out;
  }
  if (s->b.torn) {
    napi_create_int32(env, -1, &result);
    goto out;
  }
  if (total == 0) {
    napi_create_double(env, (double)s->queued, &result);
    goto out;
  }
  size_t sent = 0;
  int fds_sent = 0;
  if (!s->qhead) {
    struct msghdr msg;
    struct {
      _Alignas(struct cmsghdr) char buf[EMU_CTRL_SIZE];
    } ctrl;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)niov;
    if (nfds > 0) set_rights(&msg, ctrl.buf, fds, nfds);
    ssize_t w;
    do {
      w = sendmsg(s->b.fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
      int err = errno;
      if (err == EPIPE || err == ECONNRESET || err == ENOTCONN) {
        emu_sock_fail_quiet(s, CLOSE_ERRNO, err, "sendmsg");
        napi_create_int32(env, -1, &result);
        goto out;
      }
      if (err != EAGAIN && err != EWOULDBLOCK) {
        emu_throw_sys(env, err, "sendmsg", NULL);
        goto out;
      }
      w = 0;
    }
    sent = (size_t)w;
    fds_sent = w > 0;
    if (sent == total) {
      napi_create_double(env, 0, &result);
      goto out;
    }
  }
  int err = sock_enqueue(s, iov, niov, total, sent, fds, fds_sent ? 0 : nfds);
  if (err) {
    if (sent > 0) {
      /* Part of this message is in the kernel already; without the rest the stream is corrupt. */
      emu_sock_fail_quiet(s, CLOSE_ERRNO, err, "sendmsg");
      napi_create_int32(env, -1, &result);
    } else {
      emu_throw_sys(env, err, err == ENOMEM ? "malloc" : "fcntl", NULL);
    }
    goto out;
  }
  int r = emu_sock_update_poll(s);
  if (r < 0) {
    emu_sock_fail_quiet(s, CLOSE_ERRNO, -r, "uv_poll_start");
    napi_create_int32(env, -1, &result);
    goto out;
  }
  napi_create_double(env, (double)s->queued, &result);
out:
  if (iov != iov_small) free(iov);
  if (parts != parts_small) free(parts);
  return result;
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

static napi_value emu_sock_object_new(napi_env env, int fd) {
  env_data* ed = emu_env_data(env);
  napi_value ctor, argv[2], obj;
  if (!ed || !ed->sock_ctor || napi_get_reference_value(env, ed->sock_ctor, &ctor) != napi_ok)
    return emu_napi_failed(env);
  NAPI(napi_create_int32(env, fd, &argv[0]));
  NAPI(napi_get_boolean(env, false, &argv[1]));
  if (napi_new_instance(env, ctor, 2, argv, &obj) != napi_ok) return NULL;
  return obj;
}

static int emu_fill_sun(napi_env env, napi_value v, struct sockaddr_un* sun, char* path, size_t cap) {
  memset(sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  if (!emu_arg_str(env, v, path, cap < sizeof sun->sun_path ? cap : sizeof sun->sun_path, "path")) return 0;
  memcpy(sun->sun_path, path, strlen(path));
  return 1;
}

/* connect(path) -> SocketHandle. Throws SysError (EAGAIN when the listener's backlog is full: retry). */
static napi_value emu_connect(napi_env env, napi_callback_info info) {
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
static napi_value emu_socket_pair(napi_env env, napi_callback_info info) {
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

/* ------------------------------------------------------------------------------------------------------------- */
/* listening server                                                                                               */

typedef struct {
  pbase b;
  char path[sizeof(((struct sockaddr_un*)0)->sun_path)];
  dev_t dev;
  ino_t ino;
  int accepting;
  napi_ref on_conn, on_error;
} server;

static void server_release(pbase* b) {
  server* v = (server*)b;
  if (v->on_conn) napi_delete_reference(b->env, v->on_conn);
  if (v->on_error) napi_delete_reference(b->env, v->on_error);
  v->on_conn = v->on_error = NULL;
}

static void server_poll_cb(uv_poll_t* h, int status, int events) {
  (void)events;
  server* v = (server*)h->data;
  napi_env env = v->b.env;
  cbscope c;
  if (!emu_cb_enter(&v->b, &c)) return;
  napi_value on_conn = NULL, on_error = NULL;
  if (v->on_conn) napi_get_reference_value(env, v->on_conn, &on_conn);
  if (v->on_error) napi_get_reference_value(env, v->on_error, &on_error);
  int err = 0;
  if (status < 0) { /* libuv reports POLLERR as UV_EBADF and stops the handle: ask the socket */
    socklen_t l = sizeof err;
    v->b.poll_events = 0;
    if (getsockopt(v->b.fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0) err = errno;
    if (!err) {
      int r = emu_pbase_set_events(&v->b, UV_READABLE, server_poll_cb);
      if (r < 0) err = -r;
    }
  }
  for (int i = 0; !err && status >= 0 && i < EMU_MAX_ACCEPTS && !v->b.torn && v->accepting; i++) {
    int fd = accept4(v->b.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      if (e == EINTR || e == ECONNABORTED || e == EPROTO) continue;
      err = e;
      break;
    }
    napi_handle_scope hs;
    if (napi_open_handle_scope(env, &hs) != napi_ok) {
      close(fd);
      break;
    }
    napi_value obj = emu_sock_object_new(env, fd);
    if (!obj) {
      close(fd);
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value exc;
        napi_get_and_clear_last_exception(env, &exc);
        napi_fatal_exception(env, exc);
      }
      napi_close_handle_scope(env, hs);
      break;
    }
    int ok = on_conn ? emu_call_js(env, on_conn, 1, &obj) : 0;
    if (!on_conn) { /* cannot happen: start() sets it */
      void* p = NULL;
      if (napi_unwrap(env, obj, &p) == napi_ok && p) emu_pbase_teardown((pbase*)p, 0);
    }
    napi_close_handle_scope(env, hs);
    if (!ok) break;
  }
  if (err && !v->b.torn) {
    /* EMFILE, ENFILE, ENOBUFS, ENOMEM...: stop accepting (the level-triggered poller would spin); JS decides when
       to resume. */
    v->accepting = 0;
    emu_pbase_set_events(&v->b, 0, server_poll_cb);
    if (on_error) {
      napi_value e;
      napi_create_int32(env, err, &e);
      emu_call_js(env, on_error, 1, &e);
    }
  }
  emu_cb_leave(&v->b, &c);
}

/* new ServerHandle(path, mode, backlog): binds (replacing a stale socket file) and listens; not yet accepting. */
static napi_value server_new(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], jsthis;
  NAPI(napi_get_cb_info(env, info, &argc, argv, &jsthis, NULL));
  if (argc < 3) return emu_throw_arg(env, "path, mode and backlog are required");
  struct sockaddr_un sun;
  char path[sizeof sun.sun_path];
  if (!emu_fill_sun(env, argv[0], &sun, path, sizeof path)) return NULL;
  int64_t mode, backlog;
  if (!emu_arg_int(env, argv[1], 0, 0777, &mode, "mode")) return NULL;
  if (!emu_arg_int(env, argv[2], 1, 65535, &backlog, "backlog")) return NULL;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return emu_throw_sys(env, errno, "socket", NULL);
  /* The socket file takes its mode from the socket inode (minus the umask) at bind: never more open than asked. */
  if (fchmod(fd, (mode_t)mode) < 0) {
    int err = errno;
    close(fd);
    return emu_throw_sys(env, err, "fchmod", NULL);
  }
  int bound = 0;
  for (int attempt = 0; attempt < 3 && !bound; attempt++) {
    if (bind(fd, (struct sockaddr*)&sun, sizeof sun) == 0) {
      bound = 1;
      break;
    }
    int err = errno;
    if (err != EADDRINUSE) {
      close(fd);
      return emu_throw_sys(env, err, "bind", path);
    }
    struct stat st;
    if (lstat(path, &st) < 0) {
      err = errno;
      if (err == ENOENT) continue;
      close(fd);
      return emu_throw_sys(env, err, "lstat", path);
    }
    if (!S_ISSOCK(st.st_mode)) {
      close(fd);
      return emu_throw_sys(env, EEXIST, "bind", path); /* not a socket: never replaced */
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0) {
      err = errno;
      close(fd);
      return emu_throw_sys(env, err, "socket", NULL);
    }
    int r;
    do {
      r = connect(probe, (struct sockaddr*)&sun, sizeof sun);
    } while (r < 0 && errno == EINTR);
    err = r < 0 ? errno : 0;
    close(probe);
    if (r == 0 || err == EAGAIN) { /* someone accepts (or will: backlog full) */
      close(fd);
      return emu_throw_sys(env, EADDRINUSE, "bind", path);
    }
    if (err == ENOENT) continue;
    if (err != ECONNREFUSED) {
      close(fd);
      return emu_throw_sys(env, err, "connect", path);
    }
    /* Stale: nobody listens. Remove it, unless it was replaced in the meantime. */
    struct stat st2;
    if (lstat(path, &st2) == 0 && st2.st_dev == st.st_dev && st2.st_ino == st.st_ino && unlink(path) < 0 &&
        errno != ENOENT) {
      err = errno;
      close(fd);
      return emu_throw_sys(env, err, "unlink", path);
    }
  }
  if (!bound) {
    close(fd);
    return emu_throw_sys(env, EADDRINUSE, "bind", path);
  }
  struct stat st;
  const char* failed = NULL;
  if (lstat(path, &st) < 0)
    failed = "lstat";
  else if ((st.st_mode & 07777) != (mode_t)mode && chmod(path, (mode_t)mode) < 0) /* umask removed bits: add them */
    failed = "chmod";
  else if (listen(fd, (int)backlog) < 0)
    failed = "listen";
  if (failed) {
    int err = errno;
    close(fd);
    unlink(path);
    return emu_throw_sys(env, err, failed, path);
  }
  server* v = (server*)calloc(1, sizeof(server));
  if (!v) {
    close(fd);
    unlink(path);
    return emu_throw_sys(env, ENOMEM, "malloc", NULL);
  }
  memcpy(v->path, path, sizeof v->path);
  v->dev = st.st_dev;
  v->ino = st.st_ino;
  v->b.release = server_release;
  if (!emu_pbase_init(env, &v->b, jsthis, fd, 1, "emu.UnixServer", 0)) {
    close(fd);
    unlink(path);
    return NULL;
  }
  return jsthis;
}

/* start(onConnection(handle), onError(errno)) / resume */
static napi_value server_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  server* v = (server*)emu_unwrap_this(env, info, &argc, argv);
  if (!v) return NULL;
  if (v->b.torn) return emu_undef(env);
  if (argc >= 2) {
    napi_valuetype t0, t1;
    napi_typeof(env, argv[0], &t0);
    napi_typeof(env, argv[1], &t1);
    if (t0 != napi_function || t1 != napi_function) return emu_throw_arg(env, "callbacks must be functions");
    if (v->on_conn) napi_delete_reference(env, v->on_conn);
    if (v->on_error) napi_delete_reference(env, v->on_error);
    v->on_conn = v->on_error = NULL;
    NAPI(napi_create_reference(env, argv[0], 1, &v->on_conn));
    NAPI(napi_create_reference(env, argv[1], 1, &v->on_error));
  }
  if (!v->on_conn) return emu_throw_arg(env, "start needs callbacks");
  v->accepting = 1;
  int r = emu_pbase_set_events(&v->b, UV_READABLE, server_poll_cb);
  if (r < 0) return emu_throw_sys(env, -r, "uv_poll_start", NULL);
  return emu_undef(env);
}

/* close(unlink) */
static napi_value server_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  server* v = (server*)emu_unwrap_this(env, info, &argc, argv);
  if (!v) return NULL;
  bool do_unlink = true;
  if (argc > 0) emu_arg_bool(env, argv[0], &do_unlink);
  if (v->b.torn) return emu_undef(env);
  emu_pbase_teardown(&v->b, 0);
  if (do_unlink) {
    struct stat st;
    /* Only our own socket file: a later server may have replaced it. */
    if (lstat(v->path, &st) == 0 && st.st_dev == v->dev && st.st_ino == v->ino) unlink(v->path);
  }
  return emu_undef(env);
}

/* ------------------------------------------------------------------------------------------------------------- */
/* eventfd handle: owns the fd (closed by close(), or at env teardown), watches it on demand                      */

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

static ssize_t emu_efd_read_nowait(int fd, uint64_t* v) {
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
static ssize_t emu_efd_write_nowait(int fd, uint64_t n, bool shared) {
  if (shared && efd_poll0(fd, POLLOUT) < 0) return -1;
  ssize_t r;
  do {
    r = write(fd, &n, sizeof n);
  } while (r < 0 && errno == EINTR);
  return r;
}

typedef struct {
  pbase b;
  napi_ref on_count, on_error;
} efd;

static void efd_drop_callbacks(efd* w) {
  napi_env env = w->b.env;
  if (w->on_count) napi_delete_reference(env, w->on_count);
  if (w->on_error) napi_delete_reference(env, w->on_error);
  w->on_count = w->on_error = NULL;
}

static void efd_release(pbase* b) { efd_drop_callbacks((efd*)b); }

static void efd_poll_cb(uv_poll_t* h, int status, int events) {
  (void)events;
  efd* w = (efd*)h->data;
  napi_env env = w->b.env;
  cbscope c;
  if (!emu_cb_enter(&w->b, &c)) return;
  int err = status < 0 ? -status : 0;
  if (err) w->b.poll_events = 0; /* libuv stopped the handle */
  if (!err) {
    uint64_t v;
    ssize_t r = emu_efd_read_nowait(w->b.fd, &v);
    if (r == (ssize_t)sizeof v) {
      /* One read per wake-up (semaphore mode: 1); the poller is level-triggered and comes back for more. */
      napi_value fn = NULL, arg;
      if (w->on_count && napi_get_reference_value(env, w->on_count, &fn) == napi_ok && fn &&
          napi_create_bigint_uint64(env, v, &arg) == napi_ok)
        emu_call_js(env, fn, 1, &arg);
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      /* another reader took it */
    } else {
      err = r < 0 ? errno : EIO;
    }
  }
  if (err && !w->b.torn && w->on_count) {
    /* Stop watching (the fd stays open: it is the EventFd's), then report. */
    napi_value fn = NULL;
    if (w->on_error) napi_get_reference_value(env, w->on_error, &fn);
    emu_pbase_set_events(&w->b, 0, efd_poll_cb);
    efd_drop_callbacks(w);
    if (fn) {
      napi_value e;
      napi_create_int32(env, err, &e);
      emu_call_js(env, fn, 1, &e);
    }
  }
  emu_cb_leave(&w->b, &c);
}

/* new EventFdHandle(fd, adopted): takes ownership of an eventfd (checked by the caller). adopted: a peer's, whose
   flags are never changed (polled through a proxy, see emu_pbase_init). */
static napi_value efd_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], jsthis;
  NAPI(napi_get_cb_info(env, info, &argc, argv, &jsthis, NULL));
  if (argc < 1) return emu_throw_arg(env, "fd is required");
  int fd;
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  bool adopted = false;
  if (argc > 1) emu_arg_bool(env, argv[1], &adopted);
  efd* w = (efd*)calloc(1, sizeof(efd));
  if (!w) return emu_throw_sys(env, ENOMEM, "malloc", NULL);
  w->b.release = efd_release;
  if (!emu_pbase_init(env, &w->b, jsthis, fd, 1, "emu.EventFd", adopted)) return NULL;
  return jsthis;
}

/* watch(onCount(bigint), onError(errno)) */
static napi_value efd_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  efd* w = (efd*)emu_unwrap_this(env, info, &argc, argv);
  if (!w) return NULL;
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined;
  if (argc >= 2) {
    napi_typeof(env, argv[0], &t0);
    napi_typeof(env, argv[1], &t1);
  }
  if (t0 != napi_function || t1 != napi_function) return emu_throw_arg(env, "callbacks must be functions");
  if (w->b.torn) return emu_throw_sys(env, EBADF, "watch", NULL);
  efd_drop_callbacks(w);
  NAPI(napi_create_reference(env, argv[0], 1, &w->on_count));
  NAPI(napi_create_reference(env, argv[1], 1, &w->on_error));
  int r = emu_pbase_set_events(&w->b, UV_READABLE, efd_poll_cb);
  if (r < 0) {
    efd_drop_callbacks(w);
    return emu_throw_sys(env, -r, "uv_poll_start", NULL);
  }
  return emu_undef(env);
}

static napi_value efd_unwatch(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  efd* w = (efd*)emu_unwrap_this(env, info, &argc, NULL);
  if (!w) return NULL;
  emu_pbase_set_events(&w->b, 0, efd_poll_cb);
  if (!w->b.torn) efd_drop_callbacks(w);
  return emu_undef(env);
}

static napi_value efd_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  efd* w = (efd*)emu_unwrap_this(env, info, &argc, NULL);
  if (!w) return NULL;
  emu_pbase_teardown(&w->b, 0);
  return emu_undef(env);
}

/* ------------------------------------------------------------------------------------------------------------- */
/* plain fd functions                                                                                             */

static napi_value emu_close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1) return emu_throw_arg(env, "fd is required");
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  if (close(fd) < 0 && errno != EINTR) return emu_throw_sys(env, errno, "close", NULL); /* EINTR: Linux closed it */
  return emu_undef(env);
}

static napi_value emu_dup_fd(napi_env env, napi_callback_info info) {
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
static napi_value emu_ioctl(napi_env env, napi_callback_info info) {
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

/* memfdCreate(name, size: bigint) -> fd */
static napi_value emu_memfd_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return emu_throw_arg(env, "name and size are required");
  char name[250];
  if (!emu_arg_str(env, argv[0], name, sizeof name, "name")) return NULL;
  uint64_t size;
  if (!emu_arg_u64(env, argv[1], &size, "size")) return NULL;
  if (size > (uint64_t)INT64_MAX) return emu_throw_arg(env, "size is too large");
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return emu_throw_sys(env, errno, "memfd_create", NULL);
  int r;
  do {
    r = size > 0 ? ftruncate(fd, (off_t)size) : 0;
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int err = errno;
    close(fd);
    return emu_throw_sys(env, err, "ftruncate", NULL);
  }
  return emu_return_fd(env, fd);
}

static napi_value emu_ftruncate(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return emu_throw_arg(env, "fd and size are required");
  int fd;
  uint64_t size;
  if (!emu_arg_fd(env, argv[0], &fd, "fd") || !emu_arg_u64(env, argv[1], &size, "size")) return NULL;
  if (size > (uint64_t)INT64_MAX) return emu_throw_arg(env, "size is too large");
  int r;
  do {
    r = ftruncate(fd, (off_t)size);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return emu_throw_sys(env, errno, "ftruncate", NULL);
  return emu_undef(env);
}

static napi_value emu_file_size(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v;
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1) return emu_throw_arg(env, "fd is required");
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) return emu_throw_sys(env, errno, "fstat", NULL);
  NAPI(napi_create_bigint_int64(env, (int64_t)st.st_size, &v));
  return v;
}

/* ------------------------------------------------------------------------------------------------------------- */
/* mmap                                                                                                           */

typedef struct {
  void* addr;
  size_t len;
  int unmapped;
  int in_create;
  int finalized_in_create;
} mapping;

/* Runs when the ArrayBuffer's memory is released: after GC, or after unmap() detached it (then already unmapped).
   Node 20 also calls it synchronously when creating the external ArrayBuffer fails: emu_mmap then owns `m`. */
static void mapping_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  mapping* m = (mapping*)hint;
  if (!m->unmapped) {
    munmap(m->addr, m->len);
    m->unmapped = 1;
  }
  if (m->in_create) {
    m->finalized_in_create = 1;
    return;
  }
  free(m);
}

/* mmap(fd, offset: bigint, length: number, writable: boolean) -> [ArrayBuffer, handle, address: bigint] */
static napi_value emu_mmap(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return emu_throw_arg(env, "fd, offset, length and access are required");
  int fd;
  uint64_t off, len;
  bool writable;
  if (!emu_arg_fd(env, argv[0], &fd, "fd") || !emu_arg_u64(env, argv[1], &off, "offset") ||
      !emu_arg_u64(env, argv[2], &len, "length"))
    return NULL;
  emu_arg_bool(env, argv[3], &writable);
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  if (off % page != 0)
    return emu_throw_arg(env, "offset %llu is not a multiple of the page size (%llu)", (unsigned long long)off,
                         (unsigned long long)page);
  if (len == 0 || len > EMU_MAX_MAP)
    return emu_throw_arg(env, "length must be 1 to %llu bytes (Node 20 refuses larger ArrayBuffers: use mmapWindows)",
                         (unsigned long long)EMU_MAX_MAP);
  if (off > (uint64_t)INT64_MAX - len) return emu_throw_arg(env, "offset + length overflows");
  /* Touching a page beyond the end of a file raises SIGBUS: refuse such mappings of regular files (memfds
     included). Device fds (e.g. VFIO regions) have no meaningful size and are not checked. */
  struct stat fst;
  if (fstat(fd, &fst) < 0) return emu_throw_sys(env, errno, "fstat", NULL);
  if (S_ISREG(fst.st_mode) && off + len > (uint64_t)fst.st_size)
    return emu_throw_arg(env,
                         "offset %llu + length %llu is beyond the end of the file (%lld bytes): touching it would "
                         "raise SIGBUS",
                         (unsigned long long)off, (unsigned long long)len, (long long)fst.st_size);
  void* addr = mmap(NULL, (size_t)len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, (off_t)off);
  if (addr == MAP_FAILED) return emu_throw_sys(env, errno, "mmap", NULL);
  mapping* m = (mapping*)calloc(1, sizeof(mapping));
  if (!m) {
    munmap(addr, (size_t)len);
    return emu_throw_sys(env, ENOMEM, "malloc", NULL);
  }
  m->addr = addr;
  m->len = (size_t)len;
  m->in_create = 1;
  napi_value ab, handle, arr;
  napi_status st = napi_create_external_arraybuffer(env, addr, (size_t)len, mapping_finalize, m, &ab);
  m->in_create = 0;
  if (st != napi_ok) {
    if (!m->unmapped) munmap(addr, (size_t)len);
    m->unmapped = 1;
    /* If the finalizer already ran (Node 20: synchronously), it left m to us; if it may still run later, it will
       free m then (a few bytes leak if it never does). */
    if (m->finalized_in_create) free(m);
    return emu_napi_failed(env);
  }
  /* From here the ArrayBuffer owns the mapping; the handle only points at it (no finalizer). */
  napi_value address;
  NAPI(napi_create_external(env, m, NULL, NULL, &handle));
  NAPI(napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)addr, &address));
  NAPI(napi_create_array_with_length(env, 3, &arr));
  NAPI(napi_set_element(env, arr, 0, ab));
  NAPI(napi_set_element(env, arr, 1, handle));
  NAPI(napi_set_element(env, arr, 2, address));
  return arr;
}

/* unmap(handle, arrayBuffer): munmap now and detach the ArrayBuffer (views then have length 0). The caller
   guarantees it is called at most once per mapping (m may be freed by the detach). */
static napi_value emu_unmap(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return emu_throw_arg(env, "handle and buffer are required");
  napi_valuetype t;
  bool is_ab = false;
  void* p = NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || !p ||
      napi_is_arraybuffer(env, argv[1], &is_ab) != napi_ok || !is_ab)
    return emu_throw_arg(env, "not a mapping");
  /* A detached buffer may mean m is already freed: check that before touching m. While the buffer is attached,
     its finalizer has not run, so m is alive. */
  bool detached = false;
  if (napi_is_detached_arraybuffer(env, argv[1], &detached) != napi_ok || detached)
    return emu_throw_arg(env, "mapping already unmapped (its ArrayBuffer is detached)");
  mapping* m = (mapping*)p;
  void* data = NULL;
  size_t len = 0;
  NAPI(napi_get_arraybuffer_info(env, argv[1], &data, &len));
  if (m->unmapped || data != m->addr || len != m->len)
    return emu_throw_arg(env, "buffer does not belong to this mapping");
  if (munmap(m->addr, m->len) < 0) return emu_throw_sys(env, errno, "munmap", NULL);
  m->unmapped = 1;
  /* No JS runs between munmap and detach. The detach may release the backing store and run the finalizer. */
  NAPI(napi_detach_arraybuffer(env, argv[1]));
  return emu_undef(env);
}

/* ------------------------------------------------------------------------------------------------------------- */
/* eventfd                                                                                                        */

static napi_value emu_eventfd_create(napi_env env, napi_callback_info info) {
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
static napi_value emu_eventfd_adopt(napi_env env, napi_callback_info info) {
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
static napi_value emu_eventfd_write(napi_env env, napi_callback_info info) {
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
static napi_value emu_eventfd_read(napi_env env, napi_callback_info info) {
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

/* ------------------------------------------------------------------------------------------------------------- */
/* module                                                                                                         */

/* init(sysErrorFactory, argErrorFactory): called once by the TypeScript loader. */
static napi_value f_init(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  env_data* ed = emu_env_data(env);
  if (!ed) return emu_napi_failed(env);
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined;
  if (argc >= 2) {
    napi_typeof(env, argv[0], &t0);
    napi_typeof(env, argv[1], &t1);
  }
  if (t0 != napi_function || t1 != napi_function) return emu_throw_arg(env, "init needs two functions");
  if (ed->sys_error) napi_delete_reference(env, ed->sys_error);
  if (ed->arg_error) napi_delete_reference(env, ed->arg_error);
  ed->sys_error = ed->arg_error = NULL;
  NAPI(napi_create_reference(env, argv[0], 1, &ed->sys_error));
  NAPI(napi_create_reference(env, argv[1], 1, &ed->arg_error));
  return emu_undef(env);
}

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

static napi_value Init(napi_env env, napi_value exports) {
  env_data* ed = (env_data*)calloc(1, sizeof(env_data));
  if (!ed) return emu_napi_failed(env);
  ed->rbuf = (char*)malloc(EMU_RECV_BUF);
  if (!ed->rbuf || napi_get_uv_event_loop(env, &ed->loop) != napi_ok) {
    free(ed->rbuf);
    free(ed);
    return emu_napi_failed(env);
  }
  if (napi_set_instance_data(env, ed, ed_finalize, NULL) != napi_ok) {
    free(ed->rbuf);
    free(ed);
    return emu_napi_failed(env);
  }

  napi_property_descriptor sock_methods[] = {
      METHOD("setCallbacks", sock_set_callbacks), METHOD("start", sock_start),
      METHOD("setPaused", sock_set_paused),       METHOD("send", emu_sock_send),
      METHOD("bufferedAmount", sock_buffered),    METHOD("fd", sock_get_fd),
      METHOD("isClosed", sock_is_closed),         METHOD("closeError", sock_close_error),
      METHOD("close", sock_close),                METHOD("ref", emu_pbase_ref),
      METHOD("unref", emu_pbase_unref),
  };
  napi_value sock_cls;
  NAPI(napi_define_class(env, "SocketHandle", NAPI_AUTO_LENGTH, sock_new, NULL,
                         sizeof sock_methods / sizeof sock_methods[0], sock_methods, &sock_cls));
  NAPI(napi_create_reference(env, sock_cls, 1, &ed->sock_ctor));

  napi_property_descriptor server_methods[] = {
      METHOD("start", server_start),
      METHOD("close", server_close),
      METHOD("ref", emu_pbase_ref),
      METHOD("unref", emu_pbase_unref),
  };
  napi_value server_cls;
  NAPI(napi_define_class(env, "ServerHandle", NAPI_AUTO_LENGTH, server_new, NULL,
                         sizeof server_methods / sizeof server_methods[0], server_methods, &server_cls));

  napi_property_descriptor efd_methods[] = {
      METHOD("watch", efd_watch), METHOD("unwatch", efd_unwatch), METHOD("close", efd_close),
      METHOD("ref", emu_pbase_ref),   METHOD("unref", emu_pbase_unref),
  };
  napi_value efd_cls;
  NAPI(napi_define_class(env, "EventFdHandle", NAPI_AUTO_LENGTH, efd_new, NULL,
                         sizeof efd_methods / sizeof efd_methods[0], efd_methods, &efd_cls));

  napi_value page;
  NAPI(napi_create_double(env, (double)sysconf(_SC_PAGESIZE), &page));

  napi_property_descriptor props[] = {
      METHOD("init", f_init),
      METHOD("connect", emu_connect),
      METHOD("socketPair", emu_socket_pair),
      METHOD("closeFd", emu_close_fd),
      METHOD("dupFd", emu_dup_fd),
      METHOD("ioctl", emu_ioctl),
      METHOD("memfdCreate", emu_memfd_create),
      METHOD("ftruncate", emu_ftruncate),
      METHOD("fileSize", emu_file_size),
      METHOD("mmap", emu_mmap),
      METHOD("unmap", emu_unmap),
      METHOD("eventfdCreate", emu_eventfd_create),
      METHOD("eventfdAdopt", emu_eventfd_adopt),
      METHOD("eventfdWrite", emu_eventfd_write),
      METHOD("eventfdRead", emu_eventfd_read),
      {"SocketHandle", NULL, NULL, NULL, NULL, sock_cls, napi_enumerable, NULL},
      {"ServerHandle", NULL, NULL, NULL, NULL, server_cls, napi_enumerable, NULL},
      {"EventFdHandle", NULL, NULL, NULL, NULL, efd_cls, napi_enumerable, NULL},
      {"pageSize", NULL, NULL, NULL, NULL, page, napi_enumerable, NULL},
  };
  NAPI(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
