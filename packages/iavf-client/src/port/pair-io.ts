/**
 * One queue pair of `net_iavf_client` with packet buffers of the port's pool, zero copy: the pool's memfd is
 * DMA-mapped into the device at `base`, so buffer b's data room is at IOVA base + b * bufSize + headroom and a packet
 * is sent from where it lies. Used by the worker threads that forward (bursts) and by the control half (the first
 * RX posting, a restart after a reset while no thread serves the pair, handing every buffer back at stop).
 */
import { TX_MAX_BUF_SIZE } from "@emu/iavf-common";
import {
  MBUF_FLAGS,
  MBUF_HASH,
  MBUF_LEN,
  MBUF_META_WORDS,
  MBUF_OFF,
  MBUF_TSO,
  type MbufPool,
  txTsoMss,
} from "@emu/port/data";
import type { RingState } from "../datapath/ring-state.js";
import type { RxQueue } from "../datapath/rx-queue.js";
import { descriptorsFor, type TxQueue } from "../datapath/tx-queue.js";
import { offloadCmd, offloadOffset, prepareTso, TSO_MSS_MAX, TSO_MSS_MIN, tsoCmd, tsoHeader } from "./tx-offload.js";

/** Buffers posted (and TX completions reclaimed) per refill. */
const BATCH = 32;

export class PairIo {
  private readonly spare = new Uint32Array(BATCH * 2);
  private readonly lengths = new Uint32Array(1024);
  private readonly hashes = new Uint32Array(1024);
  /** Buffers the pool could not give for RX refills since the count was last taken. */
  nombuf = 0;

  constructor(
    private readonly rx: RxQueue | undefined,
    private readonly tx: TxQueue | undefined,
    private readonly pool: MbufPool,
    private readonly base: number,
  ) {}

  get rxState(): RingState | undefined {
    return this.rx?.state;
  }

  get txState(): RingState | undefined {
    return this.tx?.state;
  }

  /** Fills the RX ring's free slots with fresh buffers (whole batches; the rest when the pool is short) and kicks. */
  refill(): void {
    const rx = this.rx;
    if (rx === undefined) return;
    const pool = this.pool;
    const bs = pool.bufSize;
    const hr = pool.headroom;
    let posted = 0;
    for (let want = Math.min(rx.free, BATCH); want > 0; want = Math.min(rx.free, BATCH)) {
      if (pool.alloc(this.spare, want) === 0) {
        this.nombuf += want;
        break;
      }
      for (let i = 0; i < want; i++) {
        const b = this.spare[i] ?? 0;
        rx.post(b, this.base + b * bs + hr);
      }
      posted += want;
    }
    if (posted > 0) rx.kick();
  }

  /** Starts the RX ring over after a reset: the buffers it held are posted again from slot 0. */
  restartRx(): void {
    const rx = this.rx;
    if (rx === undefined) return;
    const s = rx.state;
    const n = s.restart();
    for (let i = 0; i < n; i++) rx.post(s.ids[i] ?? 0, s.iovas[i] ?? 0);
    this.refill();
  }

  /** Starts the TX ring over after a reset: what it held is lost to the device, its buffers go back to the pool. */
  restartTx(): void {
    const tx = this.tx;
    if (tx === undefined) return;
    const s = tx.state;
    const n = s.restart();
    this.pool.free(s.ids, n);
  }

  /** Receives up to n frames into bufs (metadata set: offset = headroom, length, RSS hash), then refills. */
  rxBurst(bufs: Uint32Array, n: number): number {
    const rx = this.rx as RxQueue;
    const max = Math.min(n, this.lengths.length);
    const k = rx.receive({ ids: bufs, lengths: this.lengths, hashes: this.hashes }, max);
    const meta = this.pool.meta;
    const hr = this.pool.headroom;
    for (let i = 0; i < k; i++) {
      const m = (bufs[i] ?? 0) * MBUF_META_WORDS;
      meta[m + MBUF_OFF] = hr;
      meta[m + MBUF_LEN] = this.lengths[i] ?? 0;
      meta[m + MBUF_HASH] = this.hashes[i] ?? 0;
    }
    if (rx.free >= BATCH || (k > 0 && rx.free === rx.state.size - 1)) this.refill();
    return k;
  }

  /** Frames the RX ring dropped since the last call. */
  takeRxErrors(): number {
    return this.rx?.takeErrors() ?? 0;
  }

  /**
   * Reclaims finished packets, then puts bufs[0..k) on the TX ring (one tail write); returns k. A packet longer than
   * one descriptor carries, or asking for segmentation (MBUF_TSO), goes as a TSO packet: a context descriptor and its
   * buffer in chunks; one that cannot (no segmentation asked, or no TCP checksum request) ends the burst there.
   */
  txBurst(bufs: Uint32Array, n: number): number {
    const tx = this.tx as TxQueue;
    this.reclaim();
    const meta = this.pool.meta;
    const bs = this.pool.bufSize;
    let free = tx.free;
    let k = 0;
    for (; k < n && free > 0; k++) {
      const b = bufs[k] ?? 0;
      const m = b * MBUF_META_WORDS;
      const off = b * bs + (meta[m + MBUF_OFF] ?? 0);
      const len = meta[m + MBUF_LEN] ?? 0;
      const flags = meta[m + MBUF_FLAGS] ?? 0;
      const mss = txTsoMss(meta[m + MBUF_TSO] ?? 0);
      if (flags === 0 && len <= TX_MAX_BUF_SIZE) {
        tx.post(b, this.base + off, len);
        free--;
        continue;
      }
      // A checksum request: the device fills the checksums in (net_iavfbe does; a VF does).
      const cmd = offloadCmd(flags);
      const offset = cmd === 0 ? 0 : offloadOffset(flags, this.pool.bytes, off, len);
      if (mss === 0 && len <= TX_MAX_BUF_SIZE) {
        tx.post(b, this.base + off, len, cmd, offset);
        free--;
        continue;
      }
      const header = tsoHeader(flags, meta[m + MBUF_TSO] ?? 0);
      // Too long for one descriptor and not to be cut, or an MSS a VF does not take: not sent (the caller drops it).
      if (header === 0 || header >= len || mss < TSO_MSS_MIN || mss > TSO_MSS_MAX) break;
      const need = descriptorsFor(len, true);
      if (need > free) break;
      prepareTso(this.pool.bytes, off, len, flags);
      tx.postTso(b, this.base + off, len, header, mss, tsoCmd(cmd), offset);
      free -= need;
    }
    if (k > 0) tx.kick();
    return k;
  }

  /** Hands the buffers of sent packets back to the pool. */
  reclaim(): void {
    const tx = this.tx;
    if (tx === undefined) return;
    for (;;) {
      const c = tx.clean(this.spare, 0);
      if (c > 0) this.pool.free(this.spare, c);
      if (c < this.spare.length) return;
    }
  }

  /** Every buffer the rings hold goes back to the pool (the queues are disabled: the device touches them no more). */
  release(): void {
    for (const q of [this.rx, this.tx]) {
      if (q === undefined) continue;
      const n = q.state.restart();
      this.pool.free(q.state.ids, n);
    }
  }
}
