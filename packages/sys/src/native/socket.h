// socket.h: the UNIX stream socket handle, shared by socket.c (the class), socket-send.c and socket-recv.c.
#ifndef EMU_SOCKET_H
#define EMU_SOCKET_H

#include "emu_sys.h"

/* A queued message (or what is left of it), with the fds that go with its first byte. */
typedef struct qent {
  struct qent* next;
  char* data;
  size_t len;
  size_t off;
  int nfds; /* dup'd fds still to be sent with data[off] (only while off == 0) */
  int fds[];
} qent;

/* Why a socket closed, as onClose and closeError() report it (CloseKind in the TypeScript layer). */
enum { CLOSE_EOF = 0, CLOSE_ERRNO = 1, CLOSE_TOO_MANY_FDS = 2 };

typedef struct {
  pbase b;
  int reading;
  int paused;
  int max_fds;
  qent* qhead;
  qent* qtail;
  size_t queued;
  int answered;    /* a send() went out during the onData call in progress (read-after-answer, socket-recv.c) */
  int speculating; /* the recvmsg in progress is such a read after answering */
  int spec_backoff; /* after one found nothing: answers to skip before the next try (spec_skip counts them down) */
  int spec_skip;
  int closed_kind; /* -1: open or closed locally; else CLOSE_* */
  int closed_errno;
  const char* closed_syscall;
  napi_ref on_data, on_drain, on_close;
} sock;

/* socket.c */
int emu_sock_update_poll(sock* s);
void emu_sock_fail_quiet(sock* s, int kind, int err, const char* syscall);
void emu_sock_fail(sock* s, int kind, int err, const char* syscall);

/* socket-send.c */
void emu_sock_queue_free(sock* s);
int emu_sock_flush(sock* s);
napi_value emu_sock_send(napi_env env, napi_callback_info info);

/* socket-recv.c */
void emu_sock_read_loop(sock* s);

#endif
