// net_iavfbe's data half, built in each thread that forwards: it joins the device's shared block (a worker slot),
// maps guest memory and the doorbell page itself, and moves packets. Port RX queue p drains the guest's TX queues
// q ≡ p (mod the port's RX queues); any port TX queue delivers to the guest's RX queues by RSS.
import type { PortDataDriver, PortDataEnv } from "@emu/port/data";
import type { SharedBlocks } from "../layout.js";
import { GuestRx } from "./guest-rx.js";
import { GuestTx } from "./guest-tx.js";
import { IrqRaiser } from "./irq.js";
import { WorkerState } from "./state.js";

/** What the control half hands a thread (structured-cloneable). */
export interface IavfbeParams {
  readonly blocks: SharedBlocks;
  readonly device: string;
}

export function openPortData(params: unknown, env: PortDataEnv): PortDataDriver {
  const { blocks } = params as IavfbeParams;
  const s = new WorkerState(blocks);
  const irq = new IrqRaiser(s);
  const tx = new GuestTx(s, irq, env);
  const rx = new GuestRx(s, irq, env);
  /** Per port RX queue, the next guest TX queue to start from (round robin over its share). */
  const start = new Int32Array(env.rxQueues);
  let closed = false;
  const rxBurst = (queue: number, bufs: Uint32Array, n: number): number => {
    irq.poll();
    if (!s.ready || n <= 0) return 0;
    const step = env.rxQueues;
    const share = Math.ceil((s.pairs - queue) / step);
    if (share <= 0) return 0;
    let got = 0;
    const first = start[queue]! % share;
    for (let k = 0; k < share && got < n; k++) {
      const q = queue + ((first + k) % share) * step;
      got += tx.drain(q, queue, bufs, got, n - got);
    }
    start[queue] = (first + 1) % share;
    return got;
  };
  const txBurst = (queue: number, bufs: Uint32Array, n: number): number => {
    irq.poll();
    if (!s.ready || n <= 0) return 0;
    rx.deliver(queue, bufs, n);
    env.pool.free(bufs, n);
    return n;
  };
  return {
    rxBurst(queue, bufs, n) {
      if (closed) return 0;
      try {
        return s.enter() ? rxBurst(queue, bufs, n) : 0;
      } finally {
        s.leave();
      }
    },
    txBurst(queue, bufs, n) {
      if (closed) return 0;
      try {
        return s.enter() ? txBurst(queue, bufs, n) : 0;
      } finally {
        s.leave();
      }
    },
    flush() {
      if (closed) return;
      try {
        if (s.enter()) irq.poll();
      } finally {
        s.leave();
      }
    },
    close() {
      if (closed) return;
      closed = true;
      s.close();
    },
  };
}
