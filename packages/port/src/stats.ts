// Port statistics as the data path keeps them: one block of counters per queue in a SharedArrayBuffer, written only
// by the thread that serves the queue (plain stores, no lock), read by the main thread. Port totals are sums.
// A block is a 64-byte cache line, so queues served by different threads never share a line.

/** Counters (Float64Array slots) of one queue's block. */
const QUEUE_STATS_SLOTS = 8;
/** Packets received (RX) or sent (TX). */
export const STAT_PACKETS = 0;
export const STAT_BYTES = 1;
/** RX: packets received in error (bad length, a truncated file record); TX: packets the driver failed to send. */
export const STAT_ERRORS = 2;
/** RX: packets the port dropped because the queue was not polled fast enough (DPDK's imissed). */
export const STAT_MISSED = 3;
/** RX: receive attempts that found no free buffer (DPDK's rx_nombuf). */
export const STAT_NOMBUF = 4;

export interface RxQueueStats {
  readonly packets: number;
  readonly bytes: number;
  readonly errors: number;
  readonly missed: number;
  readonly nombuf: number;
}

export interface TxQueueStats {
  readonly packets: number;
  readonly bytes: number;
  readonly errors: number;
}

/** A port's counters (DPDK's rte_eth_stats), totals and per queue. */
export interface PortStats {
  readonly ipackets: number;
  readonly opackets: number;
  readonly ibytes: number;
  readonly obytes: number;
  readonly imissed: number;
  readonly ierrors: number;
  readonly oerrors: number;
  readonly rxNombuf: number;
  readonly rxQueues: readonly RxQueueStats[];
  readonly txQueues: readonly TxQueueStats[];
}

/** The counter blocks of a port: RX queues first, then TX queues. */
export class StatsBlock {
  readonly buffer: SharedArrayBuffer;
  readonly #slots: Float64Array;
  /** What `reset` saw: counters are shown relative to it (a clear never races a writer). */
  readonly #base: Float64Array;

  constructor(
    readonly rxQueues: number,
    readonly txQueues: number,
    buffer = new SharedArrayBuffer((rxQueues + txQueues) * QUEUE_STATS_SLOTS * 8),
  ) {
    this.buffer = buffer;
    this.#slots = new Float64Array(buffer);
    this.#base = new Float64Array(this.#slots.length);
  }

  /** Index of queue q's first slot (RX), for a writer's Float64Array over `buffer`. */
  static rxSlot(q: number): number {
    return q * QUEUE_STATS_SLOTS;
  }

  /** Index of TX queue q's first slot, for a port with `rxQueues` RX queues. */
  static txSlot(rxQueues: number, q: number): number {
    return (rxQueues + q) * QUEUE_STATS_SLOTS;
  }

  snapshot(): PortStats {
    const v = (i: number) => this.#slots[i]! - this.#base[i]!;
    const rxQueues: RxQueueStats[] = [];
    const txQueues: TxQueueStats[] = [];
    for (let q = 0; q < this.rxQueues; q++) {
      const s = StatsBlock.rxSlot(q);
      rxQueues.push({
        packets: v(s + STAT_PACKETS),
        bytes: v(s + STAT_BYTES),
        errors: v(s + STAT_ERRORS),
        missed: v(s + STAT_MISSED),
        nombuf: v(s + STAT_NOMBUF),
      });
    }
    for (let q = 0; q < this.txQueues; q++) {
      const s = StatsBlock.txSlot(this.rxQueues, q);
      txQueues.push({ packets: v(s + STAT_PACKETS), bytes: v(s + STAT_BYTES), errors: v(s + STAT_ERRORS) });
    }
    const sum = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
    return {
      ipackets: sum(rxQueues, (q) => q.packets),
      ibytes: sum(rxQueues, (q) => q.bytes),
      ierrors: sum(rxQueues, (q) => q.errors),
      imissed: sum(rxQueues, (q) => q.missed),
      rxNombuf: sum(rxQueues, (q) => q.nombuf),
      opackets: sum(txQueues, (q) => q.packets),
      obytes: sum(txQueues, (q) => q.bytes),
      oerrors: sum(txQueues, (q) => q.errors),
      rxQueues,
      txQueues,
    };
  }

  /** Counters read zero from now on (the writers are not touched). */
  reset(): void {
    this.#base.set(this.#slots);
  }
}
