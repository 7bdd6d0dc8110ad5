// socket-recv.c: reading a SocketHandle: recvmsg with SCM_RIGHTS into the per-env receive buffer, each chunk (its
// place there, or a buffer of its own when big, and the fds that came with it) handed to onData.
#include "socket.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define EMU_MAX_READS 64 /* recvmsg calls per wake-up before yielding to the loop (level-triggered: it comes back) */

/* The fds a received message carried (SCM_RIGHTS, close-on-exec by MSG_CMSG_CLOEXEC), at most cap: their count. */
static int take_fds(struct msghdr* msg, int* fds, int cap) {
  int nfds = 0;
  if (msg->msg_controllen == 0) return 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t j = 0; j < k; j++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
      if (nfds < cap)
        fds[nfds++] = fd;
      else
        close(fd); /* cannot happen: the control buffer holds at most max_fds */
    }
  }
  return nfds;
}

/* The receive buffer: one ArrayBuffer per env that every socket reads into, handed to JS with each chunk and
   valid only during that call (reads never nest: they run from poll callbacks only). Memory reused chunk after chunk
   stays in the CPU's cache, and nothing is allocated per chunk. Replaced if JS detached it (a transferred buffer is
   never written again). 1, or 0 when an N-API call failed. */
static int rbuf_get(napi_env env, env_data* ed, napi_value* ab) {
  if (ed->rbuf) {
    bool detached = true;
    if (napi_get_reference_value(env, ed->rbuf, ab) == napi_ok && *ab &&
        napi_is_detached_arraybuffer(env, *ab, &detached) == napi_ok && !detached)
      return 1;
    napi_delete_reference(env, ed->rbuf);
    ed->rbuf = NULL;
  }
  void* data = NULL;
  if (napi_create_arraybuffer(env, EMU_RECV_BUF, &data, ab) != napi_ok) return 0;
  if (napi_create_reference(env, *ab, 1, &ed->rbuf) != napi_ok) return 0;
  ed->rbuf_data = (char*)data;
  return 1;
}

/* onData's arguments: the receive buffer (or the chunk's own buffer), the chunk's offset and length in it, the fds
   (or undefined). 1, or 0 when an N-API call failed. */
static int chunk_args(napi_env env, napi_value buf, size_t at, size_t n, const int* fds, int nfds, napi_value* argv) {
  argv[0] = buf;
  if (napi_create_uint32(env, (uint32_t)at, &argv[1]) != napi_ok ||
      napi_create_uint32(env, (uint32_t)n, &argv[2]) != napi_ok)
    return 0;
  if (nfds == 0) {
    argv[3] = emu_undef(env);
    return 1;
  }
  if (napi_create_array_with_length(env, (size_t)nfds, &argv[3]) != napi_ok) return 0;
  for (int j = 0; j < nfds; j++) {
    napi_value v;
    if (napi_create_int32(env, fds[j], &v) != napi_ok || napi_set_element(env, argv[3], (uint32_t)j, v) != napi_ok)
      return 0;
  }
  return 1;
}

/* A failed N-API call while reading: the pending exception (if any) is dropped, the fds closed, the socket failed. */
static void read_failed(sock* s, const int* fds, int nfds) {
  napi_env env = s->b.env;
  emu_close_fds(fds, nfds);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
  }
  emu_sock_fail(s, CLOSE_ERRNO, ENOMEM, "recvmsg");
}

/* Read after answering: the queue was empty at the last read, but onData sent something since, and a request-reply
   peer may have replied already (on one CPU the send usually hands it the CPU until it has). Reading once more then
   saves a poll wake-up and its epoll_wait. A try that finds nothing backs off: the next 2, 4, ... 64 answers do not
   try, so a peer on another CPU, whose reply is not there yet, costs at most one recvmsg per few answers. 1 to read. */
static int read_after_answer(sock* s) {
  if (!s->answered) return 0;
  if (s->spec_skip > 0) {
    s->spec_skip--;
    return 0;
  }
  s->speculating = 1;
  return 1;
}

static void spec_missed(sock* s) {
  s->spec_backoff = s->spec_backoff < 2 ? 2 : s->spec_backoff >= 32 ? 64 : s->spec_backoff * 2;
  s->spec_skip = s->spec_backoff;
}

/* One recvmsg into the receive buffer, the chunk (and its fds) to onData. 1 to read on; 0 to stop: it would
   block, the queue is known empty, the socket failed or closed (onClose says why), or onData threw. */
static int read_one(sock* s, napi_value on_data, int* fds, int fds_cap) {
  napi_env env = s->b.env;
  env_data* ed = s->b.ed;
  napi_value buf;
  if (!rbuf_get(env, ed, &buf)) {
    read_failed(s, fds, 0);
    return 0;
  }
  struct iovec iov = {ed->rbuf_data, EMU_RECV_BUF};
  struct msghdr msg;
  ssize_t n;
  do {
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ed->ctrl.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)s->max_fds);
    n = recvmsg(s->b.fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  int speculative = s->speculating;
  s->speculating = 0;
  if (n < 0) {
    int err = errno;
    if (err != EAGAIN && err != EWOULDBLOCK) emu_sock_fail(s, CLOSE_ERRNO, err, "recvmsg");
    else if (speculative) spec_missed(s);
    return 0;
  }
  if (speculative) s->spec_backoff = 0;
  int nfds = take_fds(&msg, fds, fds_cap);
  if (msg.msg_flags & MSG_CTRUNC) {
    /* More fds than max_fds: the kernel discarded the rest; close the ones that arrived, and the socket. */
    emu_close_fds(fds, nfds);
    emu_sock_fail(s, CLOSE_TOO_MANY_FDS, 0, "recvmsg");
    return 0;
  }
  if (n == 0) {
    emu_close_fds(fds, nfds);
    emu_sock_fail(s, CLOSE_EOF, 0, "recvmsg");
    return 0;
  }
  if ((size_t)n >= EMU_OWN_CHUNK) {
    /* A big chunk (bulk data: DMA, migration) gets a buffer of its own: a frame that is the whole chunk can then be
       kept without another copy, and the copy costs little beside the bytes themselves. */
    void* own = NULL;
    if (napi_create_arraybuffer(env, (size_t)n, &own, &buf) != napi_ok) {
      read_failed(s, fds, nfds);
      return 0;
    }
    memcpy(own, ed->rbuf_data, (size_t)n);
  }
  napi_value argv[4];
  if (!chunk_args(env, buf, 0, (size_t)n, fds, nfds, argv)) {
    read_failed(s, fds, nfds);
    return 0;
  }
  /* From here the fds belong to JS. */
  s->answered = 0;
  if (!emu_call_js(env, on_data, 4, argv)) return 0;
  /* A short read without fds means the kernel queue was empty at that moment (a stream recvmsg only stops early
     after an skb carrying fds): skip the recvmsg that would return EAGAIN. The poller is level-triggered. */
  if ((size_t)n == EMU_RECV_BUF || nfds > 0) return 1;
  return read_after_answer(s);
}

/* Reads while data comes (at most EMU_MAX_READS chunks), each chunk to onData, until the socket would block, is
   paused or stopped, or closes (then onClose says why). */
void emu_sock_read_loop(sock* s) {
  napi_env env = s->b.env;
  napi_value on_data = NULL;
  if (!s->on_data || napi_get_reference_value(env, s->on_data, &on_data) != napi_ok || !on_data) return;
  int fds[EMU_MAX_FDS + 8];
  /* No handle scope per chunk (N-API allocates one on the heap): the few handles of at most EMU_MAX_READS chunks
     stay in the wake-up's scope (emu_cb_enter) until it closes. */
  for (int i = 0; i < EMU_MAX_READS; i++) {
    if (s->b.torn || !s->reading || s->paused) return;
    if (!read_one(s, on_data, fds, (int)(sizeof fds / sizeof fds[0]))) return;
  }
}
