// The trapped-register-access client of the server benchmark (bench/index.ts builds it with cc into a temp dir):
// what a VMM does for a guest's MMIO access to a BAR that is not mmapped, reduced to the wire. It connects to a
// vfio-user server, sends VERSION, then 4-byte REGION_READs of config space (region 7, offset 0) and checks every
// reply (a REGION_READ reply, no error, in msg_id order, 36 bytes, the same 4 bytes every time).
//
//   region-client rate <socket> <inflight> <warmup_ms> <window_ms> <windows>
//     keeps <inflight> requests outstanding: one new request per reply, each in a write() of its own as soon as its
//     reply is checked (as independent vCPUs would); prints {"rates":[<replies per second, one per window>]} (the
//     clock starts after VERSION).
//   region-client count <socket> <inflight> <n>
//     the same for exactly <n> requests, then waits for the last reply; prints {"messages":n,"seconds":s}.
//
// It waits as the raw baseline (`pingpong sock-epoll` of @emu/sys's benchmark) does: epoll_wait, then a
// non-blocking read, so the client's own cost is the baseline's and the difference is the server's.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HDR 16
#define CMD_VERSION 1
#define CMD_REGION_READ 9
#define FLAG_REPLY 0x1
#define FLAG_ERROR 0x20
#define CONFIG_REGION 7
#define REQ (HDR + 16)
#define REP (REQ + 4)
#define MAX_INFLIGHT 256
#define MAXW 64

static int fd = -1, ep = -1;
static unsigned char in[1 << 16];
static size_t have;
static uint16_t next_id = 1, want_id = 1;
static uint32_t first_data;
static int have_first;

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void bad(const char* what, unsigned v) {
  fprintf(stderr, "region-client: %s (%u)\n", what, v);
  exit(1);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint16_t get16(const unsigned char* p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const unsigned char* p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void put16(unsigned char* p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char* p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }

static void header(unsigned char* p, uint16_t id, uint16_t cmd, uint32_t size) {
  memset(p, 0, HDR);
  put16(p, id);
  put16(p + 2, cmd);
  put32(p + 4, size);
}

static void write_all(const unsigned char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

/* epoll_wait, then one non-blocking read appended to `in`. */
static void read_some(void) {
  for (;;) {
    struct epoll_event e;
    if (epoll_wait(ep, &e, 1, -1) < 0 && errno != EINTR) die("epoll_wait");
    ssize_t r = read(fd, in + have, sizeof in - have);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r < 0) die("read");
    if (r == 0) bad("the server closed the connection", 0);
    have += (size_t)r;
    return;
  }
}

static void connect_to(const char* path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) bad("socket path too long", 0);
  strcpy(a.sun_path, path);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr*)&a, sizeof a) < 0) die("connect");
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event e = {.events = EPOLLIN, .data = {.fd = fd}};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) die("epoll_ctl");
}

/* VERSION 0.1 with empty capabilities; waits for the reply (whatever version it names) and checks it is one. */
static void version(void) {
  static const char caps[] = "{\"capabilities\":{}}";
  unsigned char m[HDR + 4 + sizeof caps];
  header(m, 0, CMD_VERSION, sizeof m);
  put16(m + HDR, 0);
  put16(m + HDR + 2, 1);
  memcpy(m + HDR + 4, caps, sizeof caps);
  write_all(m, sizeof m);
  for (;;) {
    read_some();
    if (have < HDR) continue;
    uint32_t size = get32(in + 4);
    if (size < HDR || size > sizeof in) bad("bad VERSION reply size", size);
    if (have < size) continue;
    if (get16(in + 2) != CMD_VERSION || (get32(in + 8) & (FLAG_REPLY | FLAG_ERROR)) != FLAG_REPLY)
      bad("VERSION refused, errno", get32(in + 12));
    memmove(in, in + size, have - size);
    have -= size;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
    return;
  }
}

/* k REGION_READ requests (4 bytes of config space at 0) in one write (k > 1 only to start). */
static void send_reads(int k) {
  static unsigned char out[MAX_INFLIGHT * REQ];
  for (int i = 0; i < k; i++) {
    unsigned char* p = out + (size_t)i * REQ;
    header(p, next_id++, CMD_REGION_READ, REQ);
    memset(p + HDR, 0, 16); /* offset 0 */
    put32(p + HDR + 8, CONFIG_REGION);
    put32(p + HDR + 12, 4);
  }
  write_all(out, (size_t)k * REQ);
}

/* Reads one chunk; checks and consumes its whole replies, sending one new request for each of the first `renew`
   as soon as it is checked; returns how many replies. */
static int take_replies(long renew) {
  read_some();
  size_t at = 0;
  int k = 0;
  while (have - at >= HDR) {
    const unsigned char* p = in + at;
    uint32_t size = get32(p + 4);
    if (have - at < size && size <= REP) break;
    if (get16(p + 2) != CMD_REGION_READ) bad("reply to another command", get16(p + 2));
    if (get32(p + 8) & FLAG_ERROR) bad("REGION_READ failed, errno", get32(p + 12));
    if (size != REP) bad("bad REGION_READ reply size", size);
    if (get16(p) != want_id) bad("reply out of order, msg_id", get16(p));
    if (get32(p + HDR + 12) != 4) bad("bad reply count", get32(p + HDR + 12));
    uint32_t data = get32(p + HDR + 16);
    if (!have_first) {
      first_data = data;
      have_first = 1;
    } else if (data != first_data) {
      bad("config space changed under us", data);
    }
    want_id++;
    at += size;
    if (k++ < renew) send_reads(1);
  }
  memmove(in, in + at, have - at);
  have -= at;
  return k;
}

static void print_rates(const double* rates, int n) {
  printf("{\"rates\":[");
  for (int i = 0; i < n; i++) printf("%s%.0f", i ? "," : "", rates[i]);
  printf("]}\n");
}

static void rate(int inflight, double warmup, double window, int windows) {
  double rates[MAXW];
  uint64_t done = 0, mark = 0;
  send_reads(inflight);
  double tmark = now_s() + warmup;
  int w = -1;
  for (;;) {
    int k = take_replies(MAX_INFLIGHT);
    done += (uint64_t)k;
    double t = now_s();
    if (t >= tmark) {
      if (w >= 0) rates[w] = (double)(done - mark) / (t - tmark + window);
      w++;
      mark = done;
      tmark = t + window;
      if (w == windows) break;
    }
  }
  print_rates(rates, windows);
}

static void count(int inflight, long n) {
  long sent = inflight < n ? inflight : n, done = 0;
  double t0 = now_s();
  send_reads((int)sent);
  while (done < n) {
    int k = take_replies(n - sent);
    done += k;
    sent += n - sent < k ? n - sent : k;
  }
  printf("{\"messages\":%ld,\"seconds\":%.6f}\n", n, now_s() - t0);
}

int main(int argc, char** argv) {
  if (argc >= 7 && strcmp(argv[1], "rate") == 0) {
    int inflight = atoi(argv[3]), windows = atoi(argv[6]);
    if (inflight < 1 || inflight > MAX_INFLIGHT || windows < 1 || windows > MAXW) return 2;
    connect_to(argv[2]);
    version();
    rate(inflight, atof(argv[4]) / 1e3, atof(argv[5]) / 1e3, windows);
    return 0;
  }
  if (argc >= 5 && strcmp(argv[1], "count") == 0) {
    int inflight = atoi(argv[3]);
    long n = atol(argv[4]);
    if (inflight < 1 || inflight > MAX_INFLIGHT || n < 1) return 2;
    connect_to(argv[2]);
    version();
    count(inflight, n);
    return 0;
  }
  fprintf(stderr, "usage: region-client rate <socket> <inflight> <warmup_ms> <window_ms> <windows>\n"
                  "       region-client count <socket> <inflight> <n>\n");
  return 2;
}
