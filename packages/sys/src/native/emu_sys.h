// emu_sys.h: what the files of the @emu/sys addon share. Internal to the addon (the JS API is defined in module.c);
// every .c file includes it first, as it sets _GNU_SOURCE. A shared function is named emu_*; the rest is static.
//
// The only native code of emu: UNIX stream sockets with SCM_RIGHTS (owned by the addon, watched with uv_poll on the
// Node event loop), memfd + mmap as external ArrayBuffers, eventfd, dup/close/ioctl. One file per concept:
//   errors.c         throwing SysError / SysArgumentError, calling JS from the loop
//   args.c           argument parsing
//   poll-base.c      pbase: an object with a uv_poll handle and a JS wrapper
//   socket.c         the SocketHandle class, connect(), socketPair()  (socket.h: what socket*.c share)
//   socket-send.c    send(): the send queue and its flushing
//   socket-recv.c    reading: recvmsg with SCM_RIGHTS, chunks to JS
//   listener.c       the ServerHandle class: bind (replacing a stale socket file), listen, accept
//   eventfd-watch.c  the EventFdHandle class: an owned eventfd, watched on demand
//   eventfd.c        eventfd create/adopt/read/write, and I/O that never blocks on a peer's eventfd
//   fd.c             close, dup, ioctl, read/write that report EAGAIN as -1
//   memory.c         memfd, ftruncate, file size, mmap/unmap as ArrayBuffers
//   module.c         per-env state, init() and the module's exports
//
// Conventions:
//  - Every fd the addon creates is close-on-exec and non-blocking. An fd it adopts (a peer's, received over a
//    socket) is made close-on-exec, a flag of our descriptor alone; its file status flags (O_NONBLOCK) are never
//    changed, since they live on the open file description the peer shares. I/O on such fds is non-blocking per
//    call instead: MSG_DONTWAIT on sockets, emu_efd_read_nowait/emu_efd_write_nowait on eventfds.
//  - Errors thrown to JS are built by factories that the TypeScript layer registers at load (init()), so they are
//    the package's tagged classes. Bad arguments throw SysArgumentError; failed syscalls throw SysError.
//  - Objects with a poller (socket, server, eventfd) share `pbase`: the struct lives until both the uv handle
//    has closed and the JS wrapper has been finalized. While open, a strong reference keeps the wrapper alive.
//  - Per-env state (error factories, receive buffer) lives in instance data, so worker threads each have their own.
#ifndef EMU_SYS_H
#define EMU_SYS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <node_api.h>
#include <uv.h>

#define EMU_MAX_FDS 253 /* SCM_MAX_FD: the most fds one sendmsg can carry */
#define EMU_RECV_BUF (256 * 1024) /* the receive buffer: the most one recvmsg reads (socket-recv.c) */
#define EMU_OWN_CHUNK (16 * 1024)  /* a chunk this big gets a buffer of its own (socket-recv.c) */
#define EMU_CTRL_SIZE CMSG_SPACE(sizeof(int) * EMU_MAX_FDS)

/* ------------------------------------------------------------------------------------------------------------- */
/* per-env state (module.c)                                                                                       */

typedef struct {
  uv_loop_t* loop;
  napi_ref sys_error; /* (errno, syscall, path?) => SysError */
  napi_ref arg_error; /* (message) => SysArgumentError */
  napi_ref sock_ctor;
  napi_ref rbuf; /* the receive buffer (an ArrayBuffer of EMU_RECV_BUF) every socket of this env reads into, or NULL */
  char* rbuf_data;
  struct {
    _Alignas(struct cmsghdr) char buf[EMU_CTRL_SIZE];
  } ctrl;
} env_data;

env_data* emu_env_data(napi_env env);

/* ------------------------------------------------------------------------------------------------------------- */
/* errors (errors.c)                                                                                              */

void emu_throw_generic(napi_env env, const char* msg);
napi_value emu_napi_failed(napi_env env);
napi_value emu_undef(napi_env env);
napi_value emu_throw_sys(napi_env env, int err, const char* syscall, const char* path);
napi_value emu_throw_arg(napi_env env, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
int emu_call_js(napi_env env, napi_value fn, size_t argc, napi_value* argv);

/* In a function returning napi_value, with `env` in scope: a failed N-API call throws and returns NULL. */
#define NAPI(call)                                       \
  do {                                                   \
    if ((call) != napi_ok) return emu_napi_failed(env); \
  } while (0)

/* One method of a class or module, for napi_define_class / napi_define_properties. */
#define EMU_METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

/* ------------------------------------------------------------------------------------------------------------- */
/* argument parsing (args.c): each returns 1 on success, or throws and returns 0                                  */

int emu_arg_int(napi_env env, napi_value v, int64_t lo, int64_t hi, int64_t* out, const char* what);
int emu_arg_fd(napi_env env, napi_value v, int* fd, const char* what);
int emu_arg_u64(napi_env env, napi_value v, uint64_t* out, const char* what);
int emu_arg_bool(napi_env env, napi_value v, bool* out);
int emu_arg_u8(napi_env env, napi_value v, void** data, size_t* len, const char* what);
int emu_arg_str(napi_env env, napi_value v, char* buf, size_t cap, const char* what);
int emu_arg_fds(napi_env env, napi_value v, int* fds, int* nfds);

/* ------------------------------------------------------------------------------------------------------------- */
/* pbase: an object with a uv_poll handle and a JS wrapper (poll-base.c)                                          */

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

typedef struct {
  napi_handle_scope hs;
  napi_callback_scope cs;
} cbscope;

int emu_pbase_init(napi_env env, pbase* b, napi_value jsthis, int fd, int owns_fd, const char* name, int proxied);
void emu_pbase_teardown(pbase* b, int finalizing);
int emu_pbase_set_events(pbase* b, int want, uv_poll_cb cb);
int emu_cb_enter(pbase* b, cbscope* c);
void emu_cb_leave(pbase* b, cbscope* c);
void* emu_unwrap_this(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv);
napi_value emu_pbase_ref(napi_env env, napi_callback_info info);
napi_value emu_pbase_unref(napi_env env, napi_callback_info info);

/* ------------------------------------------------------------------------------------------------------------- */
/* classes: each defines its JS class, or throws and returns NULL                                                 */

napi_value emu_socket_class(napi_env env);         /* SocketHandle (socket.c) */
napi_value emu_server_class(napi_env env);         /* ServerHandle (listener.c) */
napi_value emu_eventfd_handle_class(napi_env env); /* EventFdHandle (eventfd-watch.c) */

napi_value emu_sock_object_new(napi_env env, int fd);
int emu_fill_sun(napi_env env, napi_value v, struct sockaddr_un* sun, char* path, size_t cap);

/* ------------------------------------------------------------------------------------------------------------- */
/* module functions (JS callbacks)                                                                                */

napi_value emu_connect(napi_env env, napi_callback_info info);     /* socket.c */
napi_value emu_socket_pair(napi_env env, napi_callback_info info); /* socket.c */
napi_value emu_sock_send_prefix(napi_env env, napi_callback_info info); /* socket-send.c */

napi_value emu_close_fd(napi_env env, napi_callback_info info); /* fd.c */
napi_value emu_dup_fd(napi_env env, napi_callback_info info);
napi_value emu_ioctl(napi_env env, napi_callback_info info);
napi_value emu_read_fd(napi_env env, napi_callback_info info);
napi_value emu_write_fd(napi_env env, napi_callback_info info);

napi_value emu_memfd_create(napi_env env, napi_callback_info info); /* memory.c */
napi_value emu_ftruncate(napi_env env, napi_callback_info info);
napi_value emu_file_size(napi_env env, napi_callback_info info);
napi_value emu_mmap(napi_env env, napi_callback_info info);
napi_value emu_unmap(napi_env env, napi_callback_info info);

napi_value emu_eventfd_create(napi_env env, napi_callback_info info); /* eventfd.c */
napi_value emu_eventfd_adopt(napi_env env, napi_callback_info info);
napi_value emu_eventfd_write(napi_env env, napi_callback_info info);
napi_value emu_eventfd_read(napi_env env, napi_callback_info info);

napi_value emu_set_thread_affinity(napi_env env, napi_callback_info info); /* thread.c */
napi_value emu_thread_affinity(napi_env env, napi_callback_info info);
napi_value emu_copy_ranges(napi_env env, napi_callback_info info); /* copy.c */

/* ------------------------------------------------------------------------------------------------------------- */
/* fds (fd.c) and eventfd I/O (eventfd.c)                                                                         */

void emu_close_fds(const int* fds, int n);
napi_value emu_return_fd(napi_env env, int fd);
ssize_t emu_efd_read_nowait(int fd, uint64_t* v);
ssize_t emu_efd_write_nowait(int fd, uint64_t n, bool shared);

#endif
