// eventfd-watch.c: the EventFdHandle class: owns an eventfd (closed by close(), or at env teardown) and watches
// it on demand, reporting each count read to JS.
#include "emu_sys.h"

#include <errno.h>
#include <stdlib.h>

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

napi_value emu_eventfd_handle_class(napi_env env) {
  napi_property_descriptor methods[] = {
      EMU_METHOD("watch", efd_watch),     EMU_METHOD("unwatch", efd_unwatch), EMU_METHOD("close", efd_close),
      EMU_METHOD("ref", emu_pbase_ref),   EMU_METHOD("unref", emu_pbase_unref),
  };
  napi_value cls;
  NAPI(napi_define_class(env, "EventFdHandle", NAPI_AUTO_LENGTH, efd_new, NULL, sizeof methods / sizeof methods[0],
                         methods, &cls));
  return cls;
}
