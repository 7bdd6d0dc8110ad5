/**
 * The driver's own packet I/O, for programs that use `IavfDriver` directly: per queue pair, packet buffers carved from
 * its DMA memory (one per RX and TX descriptor), RX buffers posted whenever the rings are (re)configured, bursts that
 * copy packets in and out of those buffers, and waiting for a frame by the queue's MSI-X vector (interrupt mode, the
 * vector re-armed with DYN_CTLN1 INTENA as Linux's NAPI does when it completes) or by polling. A port that brings its
 * own buffers (`net_iavf_client`, zero copy) uses the same ring code from worker threads instead (see `share.ts`).
 */
import { DynCtl, vfintDynCtln1 } from "@emu/iavf-common";
import type { Bar0 } from "./bar0.js";
import { RingState } from "./datapath/ring-state.js";
import { RxQueue } from "./datapath/rx-queue.js";
import { TxQueue } from "./datapath/tx-queue.js";
import type { DmaPool, DmaRegion } from "./dma-pool.js";
import { IavfClientError } from "./errors.js";
import type { QueuePair, Ring } from "./queues.js";

/** A received frame, copied out of the driver's buffer (which went straight back on the ring). */
export interface RxFrame {
  readonly data: Uint8Array;
  /** Packet type from the descriptor (the legacy ptype table). */
  readonly ptype: number;
  /** RSS hash, when the device computed one (else 0). */
  readonly rssHash: number;
}

interface PairPath {
  readonly pair: QueuePair;
  readonly tx: TxQueue;
  readonly rx: RxQueue;
  readonly buffers: DmaRegion;
  /** Free buffer ids (a stack). */
  readonly free: Uint32Array;
  top: number;
  rxErrors: number;
  waiters: (() => void)[];
}

const BURST = 64;

export class DataPath {
  private readonly pairs: PairPath[] = [];
  private readonly scratch = {
    ids: new Uint32Array(BURST),
    lengths: new Uint32Array(BURST),
    hashes: new Uint32Array(BURST),
    ptypes: new Uint8Array(BURST),
  };

  private constructor(
    private readonly bar: Bar0,
    private readonly bufSize: number,
    private readonly interrupts: () => boolean,
    private readonly running: () => boolean,
  ) {}

  /** Carves `rxSize + txSize` buffers of `bufSize` bytes per pair from the driver's DMA pool. */
  static async create(
    ctx: { readonly pool: DmaPool; readonly bar: Bar0; readonly irqs: unknown },
    pairs: readonly QueuePair[],
    bufSize: number,
    hooks: { readonly running: () => boolean; readonly report: (e: unknown) => void },
  ): Promise<DataPath> {
    const { pool, bar } = ctx;
    const report = hooks.report;
    const dp = new DataPath(bar, bufSize, () => ctx.irqs !== undefined, hooks.running);
    for (const pair of pairs) {
      const count = pair.rx.size + pair.tx.size;
      const buffers = await pool.alloc(count * bufSize);
      const free = Uint32Array.from({ length: count }, (_, i) => count - 1 - i);
      const tail = (ring: Ring) => (v: number) => ring.writeTail(v)?.catch(report);
      dp.pairs.push({
        pair,
        tx: new TxQueue(pair.tx.view, RingState.create(pair.tx.size), tail(pair.tx)),
        rx: new RxQueue(pair.rx.view, RingState.create(pair.rx.size), tail(pair.rx)),
        buffers,
        free,
        top: count,
        rxErrors: 0,
        waiters: [],
      });
    }
    return dp;
  }

  /**
   * The rings were zeroed and configured again (bring-up, reset): every buffer is the driver's again, the rings start
   * at slot 0, and each RX ring gets every buffer it can hold (tail written).
   */
  restart(): void {
    for (const p of this.pairs) {
      const count = p.free.length;
      for (let i = 0; i < count; i++) p.free[i] = count - 1 - i;
      p.top = count;
      p.tx.state.restart();
      p.rx.state.restart();
      this.refill(p);
    }
  }

  private path(q: number): PairPath {
    const p = this.pairs[q];
    if (p === undefined)
      throw new IavfClientError("InvalidArgument", `no queue pair ${q} (${this.pairs.length} configured)`);
    return p;
  }

  private iova(p: PairPath, id: number): number {
    return Number(p.buffers.iova) + id * this.bufSize;
  }

  private refill(p: PairPath): void {
    let posted = 0;
    while (p.rx.free > 0 && p.top > 0) {
      const id = p.free[--p.top] ?? 0;
      p.rx.post(id, this.iova(p, id));
      posted++;
    }
    if (posted > 0) p.rx.kick();
  }

  private reclaim(p: PairPath): void {
    const out = this.scratch.ids;
    for (;;) {
      const n = p.tx.clean(out, 0);
      for (let i = 0; i < n; i++) p.free[p.top++] = out[i] ?? 0;
      if (n < out.length) return;
    }
  }

  /**
   * Copies `packets` into free buffers of queue pair `q` and puts them on its TX ring (one tail write); returns how
   * many were taken (fewer when the ring or the buffers are full; 0 while the driver is not running).
   */
  txBurst(q: number, packets: readonly Uint8Array[]): number {
    const p = this.path(q);
    if (!this.running()) return 0;
    this.reclaim(p);
    let n = 0;
    for (const pkt of packets) {
      if (pkt.length === 0 || pkt.length > this.bufSize) {
        throw new IavfClientError("InvalidArgument", `a packet of ${pkt.length} bytes (1..${this.bufSize})`);
      }
      if (p.tx.free === 0 || p.top === 0) break;
      const id = p.free[--p.top] ?? 0;
      const at = id * this.bufSize;
      p.buffers.bytes.set(pkt, at);
      p.tx.post(id, this.iova(p, id), pkt.length);
      n++;
    }
    if (n > 0) p.tx.kick();
    return n;
  }

  /** Takes up to `max` frames from RX ring `q` (copied out), then posts the buffers again. */
  rxBurst(q: number, max = 32): RxFrame[] {
    const p = this.path(q);
    if (!this.running()) return [];
    const s = this.scratch;
    const frames: RxFrame[] = [];
    while (frames.length < max) {
      const n = p.rx.receive(s, Math.min(BURST, max - frames.length));
      for (let i = 0; i < n; i++) {
        const id = s.ids[i] ?? 0;
        const at = id * this.bufSize;
        frames.push({
          data: p.buffers.bytes.slice(at, at + (s.lengths[i] ?? 0)),
          ptype: s.ptypes[i] ?? 0,
          rssHash: s.hashes[i] ?? 0,
        });
        p.free[p.top++] = id;
      }
      if (n === 0) break;
    }
    p.rxErrors += p.rx.takeErrors();
    this.refill(p);
    return frames;
  }

  /** Frames dropped on RX ring `q` (RXE or spread over several buffers). */
  rxErrors(q: number): number {
    return this.path(q).rxErrors;
  }

  /** Packets on TX ring `q` the device has not completed yet. */
  txPending(q: number): number {
    const p = this.path(q);
    this.reclaim(p);
    return p.tx.state.inFlight;
  }

  /** Whether RX ring `q` has a frame ready (DD on next-to-clean). */
  rxReady(q: number): boolean {
    const p = this.path(q);
    const s = p.rx.state;
    if (s.ntc === s.ntu) return false;
    const lo = p.pair.rx.view.getUint32(s.ntc * p.pair.rx.descriptorSize + 8, true);
    return (lo & 1) !== 0;
  }

  /**
   * Resolves true once RX ring `q` has a frame, false after `timeoutMs`. With interrupts, the pair's vector is armed
   * (DYN_CTLN1 = INTENA | ITR_INDX none) and its interrupt ends the wait; without, the ring is polled. Firing clears
   * INTENA, and the pair's vector also fires for TX completions: a wake with no frame re-arms before it waits again
   * (else the frame's interrupt would be held by the clear INTENA until the timeout). The waiter is in place before
   * the arming write, so an interrupt the write lets through at once (a held cause) still wakes it.
   */
  async waitRx(q: number, timeoutMs = 1000): Promise<boolean> {
    const p = this.path(q);
    const interrupts = this.interrupts();
    const end = Date.now() + timeoutMs;
    while (!this.rxReady(q)) {
      const left = end - Date.now();
      if (left <= 0) return false;
      let wake = (): void => {};
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      // With interrupts the vector wakes us; the timer is the timeout (and, polling, the poll period).
      const timer = setTimeout(wake, interrupts ? left : Math.min(left, 1));
      try {
        if (interrupts) {
          p.waiters.push(wake);
          await this.bar.write(vfintDynCtln1(p.pair.vector - 1), DynCtl.INTENA | DynCtl.ITR_INDX_MASK);
          if (this.rxReady(q)) return true;
        }
        await woken;
      } finally {
        clearTimeout(timer);
        const i = p.waiters.indexOf(wake);
        if (i >= 0) p.waiters.splice(i, 1);
      }
    }
    return true;
  }

  /** Queue vector `vector` fired: wake whoever waits on its pairs. */
  interrupt(vector: number): void {
    for (const p of this.pairs) {
      if (p.pair.vector !== vector) continue;
      const w = p.waiters.splice(0);
      for (const f of w) f();
    }
  }

  /** Wakes every waiter (close, reset). */
  wakeAll(): void {
    for (const p of this.pairs) for (const f of p.waiters.splice(0)) f();
  }
}
