// socket-recv.c: reading a SocketHandle: recvmsg with SCM_RIGHTS into the per-env buffer, each chunk (and the
// fds that came with it) handed to onData.
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

/* onData's arguments: a copy of the chunk, and the fds (or undefined). 1, or 0 when an N-API call failed. */
static int chunk_args(napi_env env, const char* buf, size_t n, const int* fds, int nfds, napi_value* argv) {
  napi_value ab;
  void* data = NULL;
  if (napi_create_arraybuffer(env, n, &data, &ab) != napi_ok) return 0;
  memcpy(data, buf, n);
  if (napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &argv[0]) != napi_ok) return 0;
  if (nfds == 0) {
    argv[1] = emu_undef(env);
    return 1;
  }
  if (napi_create_array_with_length(env, (size_t)nfds, &argv[1]) != napi_ok) return 0;
  for (int j = 0; j < nfds; j++) {
    napi_value v;
    if (napi_create_int32(env, fds[j], &v) != napi_ok || napi_set_element(env, argv[1], (uint32_t)j, v) != napi_ok)
      return 0;
  }
  return 1;
}

/* Hands the chunk in the receive buffer and its fds to onData. 1 to read on; 0 to stop: onData threw, or the
   socket failed (then the fds are closed). */
static int deliver(sock* s, napi_value on_data, size_t n, const int* fds, int nfds) {
  napi_env env = s->b.env;
  napi_handle_scope hs;
  if (napi_open_handle_scope(env, &hs) != napi_ok) {
    emu_close_fds(fds, nfds);
    emu_sock_fail(s, CLOSE_ERRNO, ENOMEM, "recvmsg");
    return 0;
  }
  napi_value argv[2];
  if (!chunk_args(env, s->b.ed->rbuf, n, fds, nfds, argv)) {
    emu_close_fds(fds, nfds);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
    }
    napi_close_handle_scope(env, hs);
    emu_sock_fail(s, CLOSE_ERRNO, ENOMEM, "recvmsg");
    return 0;
  }
  /* From here the fds belong to JS. */
  int completed = emu_call_js(env, on_data, 2, argv);
  napi_close_handle_scope(env, hs);
  return completed;
}

/* Reads while data comes (at most EMU_MAX_READS chunks), each chunk to onData, until the socket would block, is
   paused or stopped, or closes (then onClose says why). */
void emu_sock_read_loop(sock* s) {
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
    int nfds = take_fds(&msg, fds, (int)(sizeof fds / sizeof fds[0]));
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
    if (!deliver(s, on_data, (size_t)n, fds, nfds)) return;
    /* A short read without fds means the kernel queue was empty at that moment (a stream recvmsg only stops early
       after an skb carrying fds): skip the recvmsg that would return EAGAIN. The poller is level-triggered. */
    if ((size_t)n < EMU_RECV_BUF && nfds == 0) return;
  }
}
