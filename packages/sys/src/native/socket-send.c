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

/* send(data: Uint8Array | Uint8Array[], fds?: number[]) -> bufferedAmount (>= 0), or -1 when the socket is closed
   (before or by this call: then closeError() says why). Bad fds and other local errors throw, nothing sent. */
napi_value emu_sock_send(napi_env env, napi_callback_info info) {
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
