// The raw @emu/sys ping-pong of the foundation benchmark, as functions both processes use, shared by every benchmark
// that reports a ratio to it (packages/sys/bench, packages/vfio-user-client/bench):
// the client keeps <inflight> fixed-size requests outstanding; per chunk received it counts the whole replies and
// sends as many requests in one send(); the server answers every whole request with a fixed-size reply, all the
// replies of a chunk in one send(). No framing, no allocation per message. Its C twin and the other C programs of the
// benchmarks: c-programs.ts.
export { buildC, hasTaskset, PINGPONG_C, pinned, runJson } from "./c-programs.js";

/** The part of @emu/sys's UnixSocket the ping-pong uses (structural, so this kit does not depend on @emu/sys). */
export interface PingPongSocket {
  start(handlers: { onData(chunk: Uint8Array, fds: number[]): void; onClose(err?: unknown): void }): void;
  send(data: Uint8Array): unknown;
}

export interface Rates {
  /** Messages (round trips) per second, one figure per window. */
  readonly rates: number[];
}

/** Samples `count()` after a warm-up and at the end of every window. */
export function measure(count: () => number, warmupMs: number, windowMs: number, windows: number): Promise<Rates> {
  return new Promise((resolve) => {
    const rates: number[] = [];
    setTimeout(() => {
      let mark = count();
      let t = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        const c = count();
        rates.push(((c - mark) * 1000) / (now - t));
        mark = c;
        t = now;
        if (rates.length === windows) {
          clearInterval(timer);
          resolve({ rates });
        }
      }, windowMs);
    }, warmupMs);
  });
}

export function rawServer(s: PingPongSocket, req: number, rep: number, onClose: () => void): void {
  const replies = new Uint8Array(Math.min(4096 * rep, 64 * 1048576)).fill(0x5a);
  const maxK = Math.floor(replies.length / rep);
  const views: Uint8Array[] = [];
  let carry = 0;
  s.start({
    onData(chunk) {
      const total = carry + chunk.length;
      let k = (total / req) | 0;
      carry = total - k * req;
      while (k > 0) {
        const n = Math.min(k, maxK);
        let v = views[n];
        if (v === undefined) {
          v = replies.subarray(0, n * rep);
          views[n] = v;
        }
        s.send(v);
        k -= n;
      }
    },
    onClose,
  });
}

/**
 * The client side; the warm-up starts with the first reply, not before: a peer still starting (a node process loading
 * its modules takes a second on a busy machine) would otherwise leave empty windows that lower the baseline.
 */
export async function rawClient(
  s: PingPongSocket,
  req: number,
  rep: number,
  inflight: number,
  timing: { warmupMs: number; windowMs: number; windows: number },
): Promise<Rates> {
  const requests = new Uint8Array(Math.max(64, inflight) * req).fill(0xa5);
  const views: Uint8Array[] = [];
  const view = (k: number): Uint8Array => (views[k] ??= requests.subarray(0, k * req));
  let carry = 0;
  let done = 0;
  let answered: () => void = () => undefined;
  const firstReply = new Promise<void>((resolve) => {
    answered = resolve;
  });
  s.start({
    onData(chunk) {
      const total = carry + chunk.length;
      const k = (total / rep) | 0;
      carry = total - k * rep;
      done += k;
      if (k > 0) {
        answered();
        s.send(view(k));
      }
    },
    onClose: () => undefined,
  });
  s.send(view(inflight));
  await firstReply;
  return measure(() => done, timing.warmupMs, timing.windowMs, timing.windows);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
