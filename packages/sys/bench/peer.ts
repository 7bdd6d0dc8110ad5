// One side of a two-process ping-pong over @emu/sys, spawned by bench/index.ts (fds 3 and 4 are inherited).
//   server                                 answers every whole 16-byte request with a 24-byte reply
//   client <inflight> <warmup> <window> <windows>   keeps <inflight> requests outstanding, reports rates
//   evfd-a <warmup> <window> <windows>     signals fd 3, waits on fd 4 (watch), reports rates
//   evfd-b                                 waits on fd 3, signals fd 4
// Like the C baseline: per chunk, the whole replies are counted and as many requests leave in one send().
import { EventFd, UnixSocket } from "@emu/sys";

const REQ = 16;
const REP = 24;
const [mode, ...rest] = process.argv.slice(2);
const args = rest.map(Number);

/** Calls `sample()` after a warm-up and at the end of every window; prints the rates and exits. */
function measure(count: () => number, warmupMs: number, windowMs: number, windows: number): void {
  const rates: number[] = [];
  let mark = 0;
  let t = 0;
  setTimeout(() => {
    mark = count();
    t = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      const c = count();
      rates.push(((c - mark) * 1000) / (now - t));
      mark = c;
      t = now;
      if (rates.length === windows) {
        clearInterval(timer);
        process.stdout.write(`${JSON.stringify({ rates })}\n`, () => process.exit(0));
      }
    }, windowMs);
  }, warmupMs);
}

switch (mode) {
  case "server": {
    const s = UnixSocket.adopt(3);
    const replies = new Uint8Array(4096 * REP).fill(0x5a);
    const views = Array.from({ length: 4097 }, (_, k) => replies.subarray(0, k * REP));
    let carry = 0;
    s.start({
      onData(chunk) {
        const total = carry + chunk.length;
        const k = (total / REQ) | 0;
        carry = total - k * REQ;
        if (k > 0) s.send(views[k]!);
      },
      onClose: () => process.exit(0),
    });
    break;
  }
  case "client": {
    const [inflight = 1, warmup = 300, window = 500, windows = 5] = args;
    const s = UnixSocket.adopt(3);
    const requests = new Uint8Array(64 * REQ).fill(0xa5);
    const views = Array.from({ length: 65 }, (_, k) => requests.subarray(0, k * REQ));
    let carry = 0;
    let done = 0;
    s.start({
      onData(chunk) {
        const total = carry + chunk.length;
        const k = (total / REP) | 0;
        carry = total - k * REP;
        done += k;
        if (k > 0) s.send(views[k]!);
      },
      onClose: () => process.exit(1),
    });
    s.send(views[inflight]!);
    measure(() => done, warmup, window, windows);
    break;
  }
  case "evfd-a": {
    const [warmup = 300, window = 500, windows = 5] = args;
    const toB = EventFd.adopt(3);
    const fromB = EventFd.adopt(4);
    let done = 0;
    fromB.watch(() => {
      done++;
      toB.signal();
    });
    toB.signal();
    measure(() => done, warmup, window, windows);
    break;
  }
  case "evfd-b": {
    const fromA = EventFd.adopt(3);
    const toA = EventFd.adopt(4);
    fromA.watch(() => toA.signal());
    break;
  }
  default:
    console.error(`unknown mode ${mode}`);
    process.exit(2);
}
