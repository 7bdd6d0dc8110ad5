// The guest's transmit rings, drained into packet buffers (the port's receive): descriptors from the device's head
// up to the tail the guest stored in its doorbell page; context descriptors skipped; a packet's fragments gathered up
// to its EOP and copied into one pool buffer (the one copy a NIC's DMA makes) — with the 802.1Q tag the packet's first
// DATA descriptor asked for (CMD.IL2TAG1, TCI in L2TAG1) inserted after the MAC addresses; then each descriptor that
// asked for a report (RS) gets DTYPE 0xF (DESC_DONE) written into its QW1 (§5.4) and the queue's interrupt cause is
// raised. (L2TAG2 insertion, by a context descriptor's IL2TAG2, belongs to VLAN_V2, which emu_iavf does not grant:
// context descriptors are skipped.) A
// descriptor that lies — an address or length outside the guest's memory, a type a TX ring cannot hold, a packet
// longer than a buffer — drops its packet and is counted; its slots are still completed, so the ring moves on.
import { txQueueId } from "@emu/iavf-emu";
import type { MbufPool, PortDataEnv } from "@emu/port/data";
import { MBUF_LEN, MBUF_META_WORDS, MBUF_OFF } from "@emu/port/data";
import { CopyBatch } from "@emu/sys";
import { castOf } from "../classify.js";
import { AT, Q_BAD_TAIL, Q_HEAD, STAT } from "../layout.js";
import type { IrqRaiser } from "./irq.js";
import { touchDescriptors } from "./prefetch.js";
import type { WorkerState } from "./state.js";

const DESC = 16;
/** A descriptor's 32-bit words: 0, 1 the buffer address, 2 QW1 low (DTYPE, CMD), 3 QW1 high (size, L2TAG1). */
const WORDS = DESC >>> 2;
const DTYPE_DATA = 0x0;
const DTYPE_CONTEXT = 0x1;
const DTYPE_DONE = 0xf;
const CMD_EOP = 0x001 << 4;
const CMD_RS = 0x002 << 4;
const CMD_IL2TAG1 = 0x008 << 4;
/** The inserted tag's place: after the destination and source MAC addresses. */
const TAG_AT = 12;
const TAG_BYTES = 4;
/** The shortest frame taken: an Ethernet header. */
const MIN_FRAME = 14;

export class GuestTx {
  readonly #pool: MbufPool;
  readonly #meta: Uint32Array;
  readonly #poolBytes: Uint8Array;
  readonly #bufSize: number;
  readonly #headroom: number;
  readonly #maxFrame: number;
  /** Buffers taken from the pool for this burst, ahead of the packets (one pool access per burst). */
  #spare = new Uint32Array(64);
  #spareAt = 0;
  #spareN = 0;
  /** What `extent` found. */
  #end = 0;
  #total = 0;
  #lying = false;
  /** Where the descriptor prefetch's reads go. */
  sink = 0;
  /** The TCI to insert (CMD.IL2TAG1 on the packet's first DATA descriptor), -1: none. */
  #tag = -1;
  /** The burst's copies (guest → pool), made in one call before any descriptor is completed. */
  readonly #copies = new CopyBatch();

  constructor(
    private readonly s: WorkerState,
    private readonly irq: IrqRaiser,
    private readonly env: PortDataEnv,
  ) {
    this.#pool = env.pool;
    this.#meta = env.pool.meta;
    this.#poolBytes = env.pool.bytes;
    this.#bufSize = env.pool.bufSize;
    this.#headroom = env.pool.headroom;
    this.#maxFrame = Math.min(env.pool.dataRoom, 0x3fff);
  }

  /** Takes up to `max` packets of guest TX queue `q` into bufs[at..); returns how many. */
  drain(q: number, portQueue: number, bufs: Uint32Array, at: number, max: number): number {
    const s = this.s;
    const id = txQueueId(q);
    const ring = s.rings[id]!;
    const v = ring.words;
    if (v.length === 0) return 0;
    const len = ring.len;
    const tail = s.db32[id >>> 1] ?? 0; // QTX_TAIL1(q) = 4q: word q of the TX page
    const qb = AT.queue(id);
    if (tail >= len) {
      if (s.ctl[qb + Q_BAD_TAIL] !== tail) {
        s.ctl[qb + Q_BAD_TAIL] = tail;
        s.count(STAT.badTail);
        s.count(STAT.txErrors);
        this.env.count("ierrors", portQueue, 1);
      }
      return 0;
    }
    let head = s.ctl[qb + Q_HEAD]!;
    if (head >= len) head = 0;
    if (head === tail) return 0;
    const pending = (tail - head + len) % len;
    this.sink ^= touchDescriptors(v, head, Math.min(pending, max), len, DESC);
    this.take(Math.min(max, pending));
    const first = head;
    let got = 0;
    while (head !== tail && got < max) {
      // The packet's extent: [head, end) up to its EOP (or the first descriptor that is not DATA/CONTEXT).
      if (!this.extent(v, head, tail, len)) break; // unfinished: wait for the rest
      const end = this.#end;
      const tag = this.#tag;
      // The frame as it leaves: the guest's bytes and the tag the device inserts (a frame the tag makes longer than a
      // pool buffer is dropped as oversize, never written past the buffer).
      const total = tag < 0 ? this.#total : this.#total + TAG_BYTES;
      let lying = this.#lying;
      let buf = -1;
      if (!lying && (this.#total < MIN_FRAME || total > this.#maxFrame)) {
        s.count(total > this.#maxFrame ? STAT.oversize : STAT.badLength);
        lying = true;
      }
      if (!lying) {
        if (this.#spareAt === this.#spareN) {
          this.env.count("rxNombuf", portQueue, 1);
          break; // no buffer: leave the packet for the next burst
        }
        buf = this.#spare[this.#spareAt]!;
        const planned = this.#copies.pending;
        if (!this.gather(v, head, end, len, buf, tag < 0 ? -1 : TAG_AT)) {
          this.#copies.rewind(planned); // (copies already run for another window only touched this spare buffer)
          buf = -1;
          lying = true;
          s.count(STAT.badAddress);
        }
      }
      head = end;
      if (lying) {
        s.count(STAT.txErrors);
        this.env.count("ierrors", portQueue, 1);
        continue;
      }
      const m = buf * MBUF_META_WORDS;
      this.#meta[m + MBUF_OFF] = this.#headroom;
      this.#meta[m + MBUF_LEN] = total;
      const first = buf * this.#bufSize + this.#headroom;
      if (tag >= 0) this.insertTag(first, tag);
      s.count(STAT.txBytes, total);
      const cast = castOf(this.#poolBytes, first);
      s.count(cast === 0 ? STAT.txUnicast : cast === 1 ? STAT.txMulticast : STAT.txBroadcast);
      this.#spareAt++;
      bufs[at + got++] = buf;
    }
    // The data is in the pool before the guest learns (DESC_DONE) that it may reuse its buffers.
    this.#copies.run();
    this.giveBack();
    const reported = head !== first && this.complete(v, first, head, len, id);
    s.ctl[qb + Q_HEAD] = head;
    if (reported) this.irq.raise(id);
    return got;
  }

  /**
   * Finds the packet starting at `head`: sets `#end` (one past its last descriptor), `#total` (bytes) and `#lying`
   * (a descriptor of another type, or an EOP that never comes in a full ring). False: unfinished, wait for more.
   */
  private extent(v: Uint32Array, head: number, tail: number, len: number): boolean {
    let i = head;
    let total = 0;
    let complete = false;
    let lying = false;
    let tag = -2; // -2: no DATA descriptor seen yet
    while (i !== tail) {
      const o = i * WORDS;
      const w = v[o + 2]!;
      const dtype = w & 0xf;
      i = i + 1 === len ? 0 : i + 1;
      if (dtype === DTYPE_CONTEXT) continue;
      if (dtype !== DTYPE_DATA) {
        this.s.count(STAT.badType);
        lying = true;
        complete = true;
        break;
      }
      const qw1hi = v[o + 3]!;
      total += (qw1hi >>> 2) & 0x3fff;
      if (tag === -2) tag = (w & CMD_IL2TAG1) === 0 ? -1 : qw1hi >>> 16;
      if ((w & CMD_EOP) !== 0) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      if ((tail - head + len) % len !== len - 1) return false;
      this.s.count(STAT.badLength);
      lying = true;
    }
    this.#end = i;
    this.#total = total;
    this.#lying = lying;
    this.#tag = tag < 0 ? -1 : tag;
    return true;
  }

  /** Takes up to `want` buffers from the pool (fewer if it runs short). */
  private take(want: number): void {
    if (this.#spare.length < want) this.#spare = new Uint32Array(want);
    this.#spareAt = 0;
    this.#spareN = 0;
    for (let n = want; n > 0 && this.#spareN === 0; n >>>= 1)
      if (this.#pool.alloc(this.#spare, n) > 0) this.#spareN = n;
  }

  /** Returns the buffers the burst did not use. */
  private giveBack(): void {
    if (this.#spareAt < this.#spareN) this.#pool.free(this.#spare, this.#spareN - this.#spareAt, this.#spareAt);
    this.#spareAt = 0;
    this.#spareN = 0;
  }

  /**
   * Plans the copy of the DATA fragments of [from, end) into buffer `buf`, leaving a 4-byte gap for a tag after the
   * first `gap` bytes (-1: none); false when one lies outside the guest's memory.
   */
  private gather(v: Uint32Array, from: number, end: number, len: number, buf: number, gap: number): boolean {
    const mem = this.s.mem;
    let dst = buf * this.#bufSize + this.#headroom;
    for (let i = from; i !== end; i = i + 1 === len ? 0 : i + 1) {
      const o = i * WORDS;
      if ((v[o + 2]! & 0xf) !== DTYPE_DATA) continue;
      const size = (v[o + 3]! >>> 2) & 0x3fff;
      if (size === 0) continue;
      const hi = v[o + 1]!;
      if (hi >= 0x20_0000) return false;
      if (!mem.find(hi * 0x1_0000_0000 + v[o]!, size, false)) return false;
      if (gap < 0 || gap >= size) {
        this.#copies.add(this.#poolBytes, dst, mem.bytes, mem.offset, size);
        dst += size;
        gap -= size; // (an untagged packet's stays negative)
      } else {
        // The fragment holding the tag's place: the bytes before it, then the rest after the 4-byte gap.
        if (gap > 0) this.#copies.add(this.#poolBytes, dst, mem.bytes, mem.offset, gap);
        this.#copies.add(this.#poolBytes, dst + gap + TAG_BYTES, mem.bytes, mem.offset + gap, size - gap);
        dst += size + TAG_BYTES;
        gap = -1;
      }
    }
    return true;
  }

  /** Writes the 802.1Q tag (TPID 0x8100, `tci`) into the gap `gather` left in the frame at `first` of the pool. */
  private insertTag(first: number, tci: number): void {
    const b = this.#poolBytes;
    const at = first + TAG_AT;
    b[at] = 0x81;
    b[at + 1] = 0x00;
    b[at + 2] = (tci >>> 8) & 0xff;
    b[at + 3] = tci & 0xff;
  }

  /** Writes DESC_DONE into the DATA descriptors of [from, end) that carry RS; true if there was one. */
  private complete(v: Uint32Array, from: number, end: number, len: number, id: number): boolean {
    let any = false;
    for (let i = from; i !== end; i = i + 1 === len ? 0 : i + 1) {
      const o = i * WORDS + 2;
      const w = v[o]!;
      if ((w & 0xf) === DTYPE_DATA && (w & CMD_RS) !== 0) {
        v[o] = w | DTYPE_DONE;
        if (this.s.mem.logging) this.s.ringWritten(id, o * 4, 4);
        any = true;
      }
    }
    return any;
  }
}
