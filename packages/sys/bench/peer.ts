// One side of a two-process ping-pong over @emu/sys, spawned by bench/index.ts (fds 3 and 4 are inherited).
//   server                                 answers every whole 16-byte request with a 24-byte reply
//   client <inflight> <warmup> <window> <windows>   keeps <inflight> requests outstanding, reports rates
//   evfd-a <warmup> <window> <windows>     signals fd 3, waits on fd 4 (watch), reports rates
//   evfd-b                                 waits on fd 3, signals fd 4
// The socket modes are @emu/bench-kit's raw ping-pong, the one other benchmarks compare with; like the C baseline:
// per chunk, the whole replies are counted and as many requests leave in one send().
import { measure, type Rates, rawClient, rawServer } from "@emu/bench-kit";
import { EventFd, UnixSocket } from "@emu/sys";

const REQ = 16;
const REP = 24;
const [mode, ...rest] = process.argv.slice(2);
const args = rest.map(Number);

/** Prints the rates for the parent (bench/index.ts) and exits. */
function report(r: Rates): void {
  process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0));
}

switch (mode) {
  case "server":
    rawServer(UnixSocket.adopt(3), REQ, REP, () => process.exit(0));
    break;
  case "client": {
    const [inflight = 1, warmupMs = 300, windowMs = 500, windows = 5] = args;
    const r = await rawClient(UnixSocket.adopt(3), REQ, REP, inflight, { warmupMs, windowMs, windows });
    report(r);
    break;
  }
  case "evfd-a": {
    const [warmup = 300, window = 500, windows = 5] = args;
    const toB = EventFd.adopt(3);
    const fromB = EventFd.adopt(4);
    let done = 0;
    let answered: () => void = () => undefined;
    const firstAnswer = new Promise<void>((resolve) => {
      answered = resolve;
    });
    fromB.watch(() => {
      done++;
      answered();
      toB.signal();
    });
    toB.signal();
    await firstAnswer; // the warm-up starts once B is up, as in rawClient
    report(await measure(() => done, warmup, window, windows));
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
