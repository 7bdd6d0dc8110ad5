/**
 * An RX ring as the driver runs it (Linux's `iavf_alloc_rx_buffers` and `iavf_clean_rx_irq`, legacy 32-byte
 * descriptors, one buffer per frame): buffers are posted in the read format (packet address, header address 0 so DD
 * reads 0), the tail is written once per refill; a frame is taken when DD is set, with its length, packet type and —
 * when FLTSTAT says so — its RSS hash. A frame the device marked RXE, or one spread over several buffers (this driver
 * announces buffers as large as the largest frame), is dropped and its buffers are posted again at once.
 */
import { RX_DESCRIPTOR_SIZE, RxError, RxStatus, rxWords, writeRxReadWords } from "@emu/iavf-common";
import type { RingState } from "./ring-state.js";
import { ringWords, type TailWriter } from "./tx-queue.js";

const FLTSTAT_MASK = 3 << RxStatus.FLTSTAT_SHIFT;
const FLTSTAT_RSS = RxStatus.FLTSTAT_RSS_HASH << RxStatus.FLTSTAT_SHIFT;
/** A descriptor's 32-bit words: 1 the RSS hash, 2 QW1 low (status, errors), 3 QW1 high (length). */
const WORDS = RX_DESCRIPTOR_SIZE / 4;

/** What `receive` fills per frame, besides the buffer id. */
export interface RxBurstOut {
  readonly ids: Uint32Array;
  readonly lengths: Uint32Array;
  /** The RSS hash (0 when the device gave none). */
  readonly hashes?: Uint32Array;
  readonly ptypes?: Uint8Array;
}

export class RxQueue {
  /** Frames dropped since the last `takeErrors` (RXE, or spread over several buffers). */
  private errors = 0;
  /** Inside a frame spread over several buffers: its later fragments are dropped up to EOF. */
  private chained = false;

  /** The ring as host-order 32-bit words (several times faster than the DataView on the burst path). */
  private readonly words: Uint32Array;

  constructor(
    desc: DataView,
    readonly state: RingState,
    private readonly tail: TailWriter,
  ) {
    this.words = ringWords(desc);
    state.load(); // this thread takes the ring over where the last one left it
  }

  /** Slots that can take a buffer now. */
  get free(): number {
    return this.state.free;
  }

  /** Posts buffer `id` (its data room at `iova`) at next-to-use; `kick` tells the device. */
  post(id: number, iova: number): void {
    const s = this.state;
    const slot = s.ntu;
    writeRxReadWords(this.words, slot * WORDS, iova, 0);
    s.ids[slot] = id;
    s.iovas[slot] = iova;
    s.ntu = slot + 1 === s.size ? 0 : slot + 1;
  }

  /** Writes the tail (one past the last buffer posted). */
  kick(): void {
    this.state.save();
    this.tail(this.state.ntu);
  }

  /**
   * Takes up to `max` received frames: their buffers' ids, lengths (and hashes, ptypes when asked) into `out` from
   * index 0. The slots they leave are free for `post`.
   */
  receive(out: RxBurstOut, max: number): number {
    const s = this.state;
    const w = this.words;
    const { ids, lengths, hashes, ptypes } = out;
    let ntc = s.ntc;
    let n = 0;
    let reposted = false;
    while (n < max && ntc !== s.ntu) {
      const at = ntc * WORDS;
      const lo = w[at + 2]!;
      if (!rxWords.done(lo)) break;
      const status = rxWords.status(lo);
      const id = s.ids[ntc] ?? 0;
      const iova = s.iovas[ntc] ?? 0;
      ntc = ntc + 1 === s.size ? 0 : ntc + 1;
      s.ntc = ntc;
      const eof = (status & RxStatus.EOF) !== 0;
      if (!eof || this.chained || (rxWords.errors(lo) & RxError.RXE) !== 0) {
        // Dropped: the buffer goes straight back on the ring (the slot just freed makes room).
        if (eof) this.errors++;
        this.chained = !eof;
        this.post(id, iova);
        reposted = true;
        continue;
      }
      ids[n] = id;
      const hi = w[at + 3]!;
      lengths[n] = rxWords.length(hi);
      if (hashes) hashes[n] = (status & FLTSTAT_MASK) === FLTSTAT_RSS ? w[at + 1]! : 0;
      if (ptypes) ptypes[n] = rxWords.ptype(lo, hi);
      n++;
    }
    if (reposted) this.kick();
    else if (n > 0) s.save(); // an empty poll changed nothing: no store for it
    return n;
  }

  /** Frames dropped since the last call. */
  takeErrors(): number {
    const e = this.errors;
    this.errors = 0;
    return e;
  }
}
