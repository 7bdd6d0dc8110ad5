// listener.c: the ServerHandle class, a listening UNIX socket: bind (replacing a stale socket file), listen,
// accept on the poller into SocketHandles.
#include "emu_sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EMU_MAX_ACCEPTS 64 /* accept4 calls per wake-up */

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

/* A failed syscall, to throw as a SysError. */
typedef struct {
  int err;
  const char* syscall;
  const char* path;
} failure;

static int set_failure(failure* f, int err, const char* syscall, const char* path) {
  f->err = err;
  f->syscall = syscall;
  f->path = path;
  return 0;
}

/* bind found path in use: removes the socket file there if nobody listens on it (a stale one). 1 to bind again, or 0
   with *f set. */
static int remove_if_stale(const struct sockaddr_un* sun, const char* path, failure* f) {
  struct stat st;
  if (lstat(path, &st) < 0) return errno == ENOENT ? 1 : set_failure(f, errno, "lstat", path);
  if (!S_ISSOCK(st.st_mode)) return set_failure(f, EEXIST, "bind", path); /* not a socket: never replaced */
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) return set_failure(f, errno, "socket", NULL);
  int r;
  do {
    r = connect(probe, (const struct sockaddr*)sun, sizeof *sun);
  } while (r < 0 && errno == EINTR);
  int err = r < 0 ? errno : 0;
  close(probe);
  if (r == 0 || err == EAGAIN) /* someone accepts (or will: backlog full) */
    return set_failure(f, EADDRINUSE, "bind", path);
  if (err == ENOENT) return 1;
  if (err != ECONNREFUSED) return set_failure(f, err, "connect", path);
  /* Stale: nobody listens. Remove it, unless it was replaced in the meantime. */
  struct stat st2;
  if (lstat(path, &st2) == 0 && st2.st_dev == st.st_dev && st2.st_ino == st.st_ino && unlink(path) < 0 &&
      errno != ENOENT)
    return set_failure(f, errno, "unlink", path);
  return 1;
}

/* Binds fd to path, replacing a stale socket file (3 tries). 1, or 0 with *f set. */
static int bind_replacing_stale(int fd, const struct sockaddr_un* sun, const char* path, failure* f) {
  for (int attempt = 0; attempt < 3; attempt++) {
    if (bind(fd, (const struct sockaddr*)sun, sizeof *sun) == 0) return 1;
    if (errno != EADDRINUSE) return set_failure(f, errno, "bind", path);
    if (!remove_if_stale(sun, path, f)) return 0;
  }
  return set_failure(f, EADDRINUSE, "bind", path);
}

/* Gives the bound socket file at path its mode (the umask may have removed bits) and listens. *st: that file.
   1, or 0 with *f set. */
static int listen_at(int fd, const char* path, mode_t mode, int backlog, struct stat* st, failure* f) {
  if (lstat(path, st) < 0) return set_failure(f, errno, "lstat", path);
  if ((st->st_mode & 07777) != mode && chmod(path, mode) < 0) return set_failure(f, errno, "chmod", path);
  if (listen(fd, backlog) < 0) return set_failure(f, errno, "listen", path);
  return 1;
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
  failure f;
  if (!bind_replacing_stale(fd, &sun, path, &f)) {
    close(fd);
    return emu_throw_sys(env, f.err, f.syscall, f.path);
  }
  struct stat st;
  if (!listen_at(fd, path, (mode_t)mode, (int)backlog, &st, &f)) {
    close(fd);
    unlink(path);
    return emu_throw_sys(env, f.err, f.syscall, f.path);
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

napi_value emu_server_class(napi_env env) {
  napi_property_descriptor methods[] = {
      EMU_METHOD("start", server_start),
      EMU_METHOD("close", server_close),
      EMU_METHOD("ref", emu_pbase_ref),
      EMU_METHOD("unref", emu_pbase_unref),
  };
  napi_value cls;
  NAPI(napi_define_class(env, "ServerHandle", NAPI_AUTO_LENGTH, server_new, NULL, sizeof methods / sizeof methods[0],
                         methods, &cls));
  return cls;
}
