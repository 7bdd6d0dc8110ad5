// Baseline for the @emu/sys benchmark: the same ping-pongs in plain C, blocking syscalls, no allocation.
//
//   pingpong sock|sock-epoll <inflight> <warmup_ms> <window_ms> <windows> [client_cpu server_cpu]
//     socketpair + fork. The client keeps <inflight> 16-byte requests outstanding; for every chunk it reads it
//     counts whole 24-byte replies and writes as many new requests in one write(). The server answers every whole
//     16-byte request it reads with a 24-byte reply, all replies of one read in one write().
//   pingpong evfd|evfd-epoll <warmup_ms> <window_ms> <windows> [a_cpu b_cpu]
//     two eventfds + fork: A writes 1 to the first and blocks reading the second; B the reverse.
//
// The -epoll variants wait in epoll_wait and then read without blocking, as an event loop (libuv, so Node and the
// addon) does; the plain variants block in read(). On a VM the two can differ a lot across CPUs (see README).
//
// Prints one JSON line: {"rates":[<completed round trips per second, one per window>]}.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQ 16
#define REP 24
#define MAXW 64

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void pin(const char* cpu) {
  if (!cpu) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(atoi(cpu), &set);
  if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
}

static int use_epoll; /* wait in epoll_wait, then read without blocking */
static int ep = -1;

static void setup_wait(int fd) {
  if (!use_epoll) return;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
  if (ep < 0 && (ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
  struct epoll_event e = {.events = EPOLLIN, .data = {.fd = fd}};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) die("epoll_ctl");
}

/* read() that waits like the configured mode: blocking, or epoll_wait + non-blocking read. */
static ssize_t wait_read(int fd, void* buf, size_t n) {
  for (;;) {
    if (use_epoll) {
      struct epoll_event e;
      if (epoll_wait(ep, &e, 1, -1) < 0 && errno != EINTR) die("epoll_wait");
    }
    ssize_t r = read(fd, buf, n);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    return r;
  }
}

static void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      exit(0); /* the other side is gone */
    }
    p += w;
    n -= (size_t)w;
  }
}

static void print_rates(const double* rates, int n) {
  printf("{\"rates\":[");
  for (int i = 0; i < n; i++) printf("%s%.0f", i ? "," : "", rates[i]);
  printf("]}\n");
  fflush(stdout);
}

static void sock_server(int fd) {
  static char in[65536], out[(65536 / REQ + 1) * REP];
  size_t carry = 0;
  memset(out, 0x5a, sizeof out);
  setup_wait(fd);
  for (;;) {
    ssize_t n = wait_read(fd, in, sizeof in);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      exit(0);
    }
    size_t total = carry + (size_t)n;
    size_t k = total / REQ;
    carry = total % REQ;
    if (k) write_all(fd, out, k * REP);
  }
}

static void sock_client(int fd, int inflight, double warmup, double window, int windows) {
  static char in[65536], out[64 * REQ];
  double rates[MAXW];
  memset(out, 0xa5, sizeof out);
  size_t carry = 0;
  uint64_t done = 0, mark = 0;
  setup_wait(fd);
  write_all(fd, out, (size_t)inflight * REQ);
  double t0 = now_s(), tmark = t0 + warmup;
  int w = -1;
  for (;;) {
    ssize_t n = wait_read(fd, in, sizeof in);
    if (n <= 0) die("read");
    size_t total = carry + (size_t)n;
    size_t k = total / REP;
    carry = total % REP;
    done += k;
    double t = now_s();
    if (t >= tmark) {
      if (w >= 0) rates[w] = (double)(done - mark) / (t - tmark + window);
      w++;
      mark = done;
      tmark = t + window;
      if (w == windows) break;
    }
    if (k) write_all(fd, out, k * REQ);
  }
  print_rates(rates, windows);
}

static void evfd_b(int a2b, int b2a) {
  uint64_t v;
  setup_wait(a2b);
  for (;;) {
    if (wait_read(a2b, &v, sizeof v) != sizeof v) exit(0);
    v = 1;
    if (write(b2a, &v, sizeof v) != sizeof v) exit(0);
  }
}

static void evfd_a(int a2b, int b2a, double warmup, double window, int windows) {
  double rates[MAXW];
  uint64_t v = 1, done = 0, mark = 0;
  double tmark = now_s() + warmup;
  int w = -1;
  setup_wait(b2a);
  for (;;) {
    if (write(a2b, &v, sizeof v) != sizeof v) die("write");
    if (wait_read(b2a, &v, sizeof v) != sizeof v) die("read");
    done++;
    if ((done & 255) == 0) {
      double t = now_s();
      if (t >= tmark) {
        if (w >= 0) rates[w] = (double)(done - mark) / (t - tmark + window);
        w++;
        mark = done;
        tmark = t + window;
        if (w == windows) break;
      }
    }
  }
  print_rates(rates, windows);
}

int main(int argc, char** argv) {
  use_epoll = argc > 1 && strstr(argv[1], "-epoll") != NULL;
  if (argc >= 6 && strncmp(argv[1], "sock", 4) == 0) {
    int inflight = atoi(argv[2]), windows = atoi(argv[5]);
    if (inflight < 1 || inflight > 64 || windows < 1 || windows > MAXW) return 2;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      close(sv[0]);
      pin(argc > 7 ? argv[7] : NULL);
      sock_server(sv[1]);
    }
    close(sv[1]);
    pin(argc > 6 ? argv[6] : NULL);
    sock_client(sv[0], inflight, atof(argv[3]) / 1e3, atof(argv[4]) / 1e3, windows);
    close(sv[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
  }
  if (argc >= 5 && strncmp(argv[1], "evfd", 4) == 0) {
    int windows = atoi(argv[4]);
    if (windows < 1 || windows > MAXW) return 2;
    int a2b = eventfd(0, EFD_CLOEXEC), b2a = eventfd(0, EFD_CLOEXEC);
    if (a2b < 0 || b2a < 0) die("eventfd");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      pin(argc > 6 ? argv[6] : NULL);
      evfd_b(a2b, b2a);
    }
    pin(argc > 5 ? argv[5] : NULL);
    evfd_a(a2b, b2a, atof(argv[2]) / 1e3, atof(argv[3]) / 1e3, windows);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
  }
  fprintf(stderr, "usage: pingpong sock|sock-epoll <inflight> <warmup_ms> <window_ms> <windows> [cpu cpu]\n"
                  "       pingpong evfd|evfd-epoll <warmup_ms> <window_ms> <windows> [cpu cpu]\n");
  return 2;
}
