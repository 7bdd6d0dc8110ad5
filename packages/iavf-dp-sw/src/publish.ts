// The main thread's side of the shared block: what the guest configured, written under the sequence lock, and the
// handshake that makes a change safe to follow with an unmap — the new generation is published, then every worker
// that runs the device's data path (except this thread) must acknowledge it before the call returns, so none still
// touches the memory, fd or ring the change removed. The wait is bounded; a worker that does not answer in time is
// reported (its own mappings keep the memory it reads valid: it cannot crash, only act on a stale table).
import { threadId } from "node:worker_threads";
import { AT, H_GEN, H_WAITING, MAX_WORKERS, type SharedBlocks, W_ACK, W_BUSY, W_STATE, W_THREAD } from "./layout.js";

/** How long an unmap waits for the workers' acknowledgements. */
const ACK_TIMEOUT_MS = 2000;

export class Publisher {
  readonly ctl: Int32Array;
  /** Waits that ran out of time. */
  timeouts = 0;

  constructor(blocks: SharedBlocks) {
    this.ctl = new Int32Array(blocks.control);
  }

  /**
   * Runs `write` as one change of the block (workers see all of it or none of it). With `quiesce`, returns only once
   * every worker applied it (or after `timeoutMs`: false).
   */
  publish(write: (ctl: Int32Array) => void, quiesce: boolean, timeoutMs = ACK_TIMEOUT_MS): boolean {
    const ctl = this.ctl;
    Atomics.add(ctl, H_GEN, 1); // odd: being written
    try {
      write(ctl);
    } finally {
      Atomics.add(ctl, H_GEN, 1); // even: stable
    }
    return quiesce ? this.waitAcks(Atomics.load(ctl, H_GEN), timeoutMs) : true;
  }

  /** Threads running the data path now (other than this one). */
  workers(): number {
    let n = 0;
    for (let s = 0; s < MAX_WORKERS; s++) if (this.active(s)) n++;
    return n;
  }

  private active(slot: number): boolean {
    const w = AT.worker(slot);
    return Atomics.load(this.ctl, w + W_STATE) === 1 && Atomics.load(this.ctl, w + W_THREAD) !== threadId;
  }

  private waitAcks(gen: number, timeoutMs: number): boolean {
    const ctl = this.ctl;
    const deadline = performance.now() + timeoutMs;
    Atomics.store(ctl, H_WAITING, 1);
    try {
      for (let s = 0; s < MAX_WORKERS; s++) {
        const w = AT.worker(s);
        for (;;) {
          if (!this.active(s)) break;
          const ack = Atomics.load(ctl, w + W_ACK);
          // Done: it applied the generation, or it is between bursts (it reads the generation before anything else).
          if (ack - gen >= 0 || Atomics.load(ctl, w + W_BUSY) === 0) break;
          const left = deadline - performance.now();
          if (left <= 0) {
            this.timeouts++;
            return false;
          }
          Atomics.wait(ctl, w + W_ACK, ack, Math.min(left, 5)); // woken by an ack, a burst's end or a worker leaving
        }
      }
      return true;
    } finally {
      Atomics.store(ctl, H_WAITING, 0);
    }
  }
}
