// socket-send.c: send() on a SocketHandle: one sendmsg when nothing is queued, else a queue flushed when the
// socket is writable. fds travel with the first byte of their message (SCM_RIGHTS).
#include "socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define EMU_FLUSH_IOV 64 /* queued messages gathered into one sendmsg when flushing */
#define EMU_MAX_IOV 1024 /* IOV_MAX */

void emu_sock_queue_free(sock* s) {
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
int emu_sock_flush(sock* s) {
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

/* send()'s arguments: the parts' bytes (empty parts left out) and the fds. */
typedef struct {
  struct iovec iov_small[8];
  struct iovec* iov;
  napi_value parts_small[8];
  napi_value* parts;
  uint32_t nparts;
  int niov;
  size_t total;
  int fds[EMU_MAX_FDS];
  int nfds;
} send_args;

static void send_args_free(send_args* a) {
  if (a->iov != a->iov_small) free(a->iov);
  if (a->parts != a->parts_small) free(a->parts);
}

/* data's parts: an array's elements, or data itself. 1, or 0 (thrown, or an element getter threw). */
static int send_args_parts(napi_env env, napi_value data, bool is_arr, send_args* a) {
  if (!is_arr) {
    a->parts[0] = data;
    return 1;
  }
  if (napi_get_array_length(env, data, &a->nparts) != napi_ok) {
    emu_napi_failed(env);
    return 0;
  }
  if (a->nparts > EMU_MAX_IOV) {
    emu_throw_arg(env, "at most %d buffers per message, got %u", EMU_MAX_IOV, a->nparts);
    return 0;
  }
  if (a->nparts > 8) {
    a->parts = (napi_value*)malloc(sizeof(napi_value) * a->nparts);
    a->iov = (struct iovec*)malloc(sizeof(struct iovec) * a->nparts);
    if (!a->parts || !a->iov) {
      emu_throw_sys(env, ENOMEM, "malloc", NULL);
      return 0;
    }
  }
  for (uint32_t i = 0; i < a->nparts; i++)
    if (napi_get_element(env, data, i, &a->parts[i]) != napi_ok) return 0;
  return 1;
}

/* Parses send()'s arguments into a (send_args_free is needed whatever the outcome). 1, or 0 when it threw. */
static int send_args_parse(napi_env env, size_t argc, napi_value* argv, send_args* a) {
  a->iov = a->iov_small;
  a->parts = a->parts_small;
  a->nparts = 1;
  a->niov = 0;
  a->total = 0;
  a->nfds = 0;
  bool is_arr = false;
  napi_is_array(env, argv[0], &is_arr);
  if (!send_args_parts(env, argv[0], is_arr, a)) return 0;
  if (argc > 1 && !emu_arg_fds(env, argv[1], a->fds, &a->nfds)) return 0;
  /* Only now take the data pointers: fetching array elements and fds may run JS (accessor elements) that could
     detach a part's buffer and free its memory. From here to sendmsg/enqueue no JS runs. */
  for (uint32_t i = 0; i < a->nparts; i++) {
    void* d;
    size_t l;
    if (!emu_arg_u8(env, a->parts[i], &d, &l, is_arr ? "each part of data" : "data (a Uint8Array or an array of them)"))
      return 0;
    if (l == 0) continue;
    a->iov[a->niov].iov_base = d;
    a->iov[a->niov].iov_len = l;
    a->niov++;
    a->total += l;
  }
  if (a->total == 0 && a->nfds > 0) {
    emu_throw_arg(env, "fds need at least one byte of data (the kernel drops fds sent with zero bytes)");
    return 0;
  }
  return 1;
}

/* One sendmsg of the whole message, never blocking: the bytes the kernel took (0 when it is full), or -errno. */
static ssize_t send_now(sock* s, struct iovec* iov, int niov, const int* fds, int nfds) {
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
  if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  return w;
}

/* send()'s results: -1 (the socket is closed) or bufferedAmount. */
static napi_value send_closed(napi_env env) {
  napi_value v = NULL;
  napi_create_int32(env, -1, &v);
  return v;
}

static napi_value send_buffered(napi_env env, size_t queued) {
  napi_value v = NULL;
  napi_create_double(env, (double)queued, &v);
  return v;
}

/* Sends what the kernel takes now when nothing is queued, and queues the rest. send()'s result, or NULL (thrown). */
static napi_value send_message(napi_env env, sock* s, send_args* a) {
  if (s->b.torn) return send_closed(env);
  if (a->total == 0) return send_buffered(env, s->queued);
  size_t sent = 0;
  int fds_sent = 0;
  if (!s->qhead) {
    ssize_t w = send_now(s, a->iov, a->niov, a->fds, a->nfds);
    if (w < 0) {
      int err = (int)-w;
      if (err == EPIPE || err == ECONNRESET || err == ENOTCONN) {
        emu_sock_fail_quiet(s, CLOSE_ERRNO, err, "sendmsg");
        return send_closed(env);
      }
      return emu_throw_sys(env, err, "sendmsg", NULL);
    }
    sent = (size_t)w;
    fds_sent = w > 0;
    if (w > 0) s->answered = 1;
    if (sent == a->total) return send_buffered(env, 0);
  }
  int err = sock_enqueue(s, a->iov, a->niov, a->total, sent, a->fds, fds_sent ? 0 : a->nfds);
  if (err) {
    if (sent == 0) return emu_throw_sys(env, err, err == ENOMEM ? "malloc" : "fcntl", NULL);
    /* Part of this message is in the kernel already; without the rest the stream is corrupt. */
    emu_sock_fail_quiet(s, CLOSE_ERRNO, err, "sendmsg");
    return send_closed(env);
  }
  int r = emu_sock_update_poll(s);
  if (r < 0) {
    emu_sock_fail_quiet(s, CLOSE_ERRNO, -r, "uv_poll_start");
    return send_closed(env);
  }
  return send_buffered(env, s->queued);
}

/* send(data: Uint8Array | Uint8Array[], fds?: number[]) -> bufferedAmount (>= 0), or -1 when the socket is closed
   (before or by this call: then closeError() says why). Bad fds and other local errors throw, nothing sent. */
napi_value emu_sock_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  sock* s = (sock*)emu_unwrap_this(env, info, &argc, argv);
  if (!s) return NULL;
  if (argc < 1) return emu_throw_arg(env, "data is required");
  send_args a;
  napi_value result = NULL;
  if (send_args_parse(env, argc, argv, &a)) result = send_message(env, s, &a);
  send_args_free(&a);
  return result;
}

/* sendPrefix(socket: External, data: Uint8Array, length) -> as send(data.subarray(0, length)). The hot send of a
   sender that fills a reused buffer: the socket comes as the External that external() gave (no unwrap), the bytes
   as a buffer and a length (no view made per send). */
napi_value emu_sock_send_prefix(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* p = NULL;
  if (argc < 3 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p)
    return emu_throw_arg(env, "sendPrefix(socket, data, length)");
  sock* s = (sock*)p;
  send_args a;
  a.iov = a.iov_small;
  a.parts = a.parts_small;
  a.nparts = 1;
  a.niov = 0;
  a.total = 0;
  a.nfds = 0;
  void* d;
  size_t l;
  int64_t n;
  if (!emu_arg_u8(env, argv[1], &d, &l, "data")) return NULL;
  if (!emu_arg_int(env, argv[2], 0, (int64_t)l, &n, "length")) return NULL;
  if (n > 0) {
    a.iov[0].iov_base = d;
    a.iov[0].iov_len = (size_t)n;
    a.niov = 1;
    a.total = (size_t)n;
  }
  return send_message(env, s, &a);
}

