/**
 * `net_iavf_client`'s data half, in a forwarding thread: maps the rings of the queues it serves and their doorbell page
 * from the files the control half named, and moves packets with the port's own pool buffers (zero copy; see `PairIo`).
 * A ring the control half marked paused (a reset, or a migration handing the doorbells over) is left alone, and a burst
 * under way when the pause came tells the control half when it is over (`RingState.enter`/`leave`); a ring whose
 * generation moved (the reset is done) is started over before it is used.
 */
import type { PortDataDriver, PortDataEnv } from "@emu/port/data";
import type { RingState } from "../datapath/ring-state.js";
import type { RxQueue } from "../datapath/rx-queue.js";
import { type OpenedRing, openRxRing, openTxRing, type RingShare } from "../datapath/share.js";
import type { TxQueue } from "../datapath/tx-queue.js";
import { PairIo } from "./pair-io.js";

/** What the control half hands to the threads. */
export interface IavfClientParams {
  readonly pairs: readonly { readonly rx: RingShare; readonly tx: RingShare }[];
  /** IOVA of the pool's first byte (the pool's memfd is DMA-mapped there). */
  readonly poolIova: number;
}

export function openPortData(params: unknown, env: PortDataEnv): PortDataDriver {
  const { pairs, poolIova } = params as IavfClientParams;
  const opened: OpenedRing<RxQueue | TxQueue>[] = [];
  const rx: (PairIo | undefined)[] = [];
  const tx: (PairIo | undefined)[] = [];
  try {
    for (const q of env.servedRx) {
      const r = openRxRing((pairs[q] as { rx: RingShare }).rx);
      opened.push(r);
      rx[q] = new PairIo(r.queue, undefined, env.pool, poolIova);
    }
    for (const q of env.servedTx) {
      const t = openTxRing((pairs[q] as { tx: RingShare }).tx);
      opened.push(t);
      tx[q] = new PairIo(undefined, t.queue, env.pool, poolIova);
    }
  } catch (e) {
    for (const o of opened) o.close();
    throw e;
  }
  return {
    rxBurst(queue, bufs, n) {
      const io = rx[queue] as PairIo;
      const state = io.rxState as RingState;
      if (!state.enter()) return 0;
      try {
        if (state.stale) io.restartRx();
        const k = io.rxBurst(bufs, n);
        const errors = io.takeRxErrors();
        if (errors > 0) env.count("ierrors", queue, errors);
        if (io.nombuf > 0) {
          env.count("rxNombuf", queue, io.nombuf);
          io.nombuf = 0;
        }
        return k;
      } finally {
        state.leave();
      }
    },
    txBurst(queue, bufs, n) {
      const io = tx[queue] as PairIo;
      const state = io.txState as RingState;
      if (!state.enter()) return 0;
      try {
        if (state.stale) io.restartTx();
        return io.txBurst(bufs, n);
      } finally {
        state.leave();
      }
    },
    close() {
      for (const io of tx) io?.reclaim();
      for (const o of opened) o.close();
    },
  };
}
