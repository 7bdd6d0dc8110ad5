// poll-base.c: pbase, the base of the objects with a poller (socket, server, eventfd): a uv_poll handle on the
// Node event loop and a JS wrapper. The struct lives until both the handle has closed and the wrapper has been
// finalized; while open, a strong reference keeps the wrapper alive.
#include "emu_sys.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

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
void emu_pbase_teardown(pbase* b, int finalizing) {
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
int emu_pbase_init(napi_env env, pbase* b, napi_value jsthis, int fd, int owns_fd, const char* name,
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

int emu_pbase_set_events(pbase* b, int want, uv_poll_cb cb) {
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

/* Enters JS from a libuv callback: one callback scope per wake-up (microtasks and nextTicks run when it closes). */
int emu_cb_enter(pbase* b, cbscope* c) {
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

void emu_cb_leave(pbase* b, cbscope* c) {
  napi_env env = b->env;
  b->in_cb--;
  napi_close_callback_scope(env, c->cs);
  if (b->torn && b->actx_live && b->in_cb == 0) {
    napi_async_destroy(env, b->actx);
    b->actx_live = 0;
  }
  napi_close_handle_scope(env, c->hs);
}

void* emu_unwrap_this(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  napi_value jsthis;
  void* p = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &jsthis, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, jsthis, &p) != napi_ok || !p) {
    emu_throw_generic(env, "emu_sys: method called on a wrong object");
    return NULL;
  }
  return p;
}

napi_value emu_pbase_ref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  pbase* b = (pbase*)emu_unwrap_this(env, info, &argc, NULL);
  if (!b) return NULL;
  if (!b->torn) uv_ref((uv_handle_t*)&b->poll);
  return emu_undef(env);
}

napi_value emu_pbase_unref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  pbase* b = (pbase*)emu_unwrap_this(env, info, &argc, NULL);
  if (!b) return NULL;
  if (!b->torn) uv_unref((uv_handle_t*)&b->poll);
  return emu_undef(env);
}
