// The guest's transmit rings, drained into packet buffers (the port's receive): descriptors from the device's head
// up to the tail the guest stored in its doorbell page; context descriptors skipped; a packet's fragments gathered up
// to its EOP and copied into one pool buffer (the one copy a NIC's DMA makes) — with the 802.1Q tag the packet's first
// DATA descriptor asked for (CMD.IL2TAG1, TCI in L2TAG1) inserted after the MAC addresses; then each descriptor that
// asked for a report (RS) gets DTYPE 0xF (DESC_DONE) written into its QW1 (§5.4) and the queue's interrupt cause is
// raised. A packet that asks for checksums (CMD.IIPT, CMD.L4T) or TCP segmentation (a TSO context descriptor before
// it) is copied at once instead and finished by tx-offload.ts, one pool buffer per segment; a TSO packet with more
// segments than the burst has room for goes out over several bursts (its progress kept with the ring's head). (L2TAG2
// insertion, by a context descriptor's IL2TAG2, belongs to VLAN_V2, which emu_iavf does not grant.) A descriptor
// that lies — an address or length outside the guest's memory, a type a TX ring cannot hold, a packet
// longer than a buffer — drops its packet and is counted; its slots are still completed, so the ring moves on.
import { TxCmd, TxCtxCmd, txCtxTsoLenOfWords, txOffsetOfWords } from "@emu/iavf-common";
import { txQueueId } from "@emu/iavf-emu";
import type { MbufPool, PortDataEnv } from "@emu/port/data";
import { MBUF_LEN, MBUF_META_WORDS, MBUF_OFF } from "@emu/port/data";
import { CopyBatch } from "@emu/sys";
import { castOf } from "../classify.js";
import { AT, Q_BAD_TAIL, Q_HEAD, Q_TSO_SENT, STAT } from "../layout.js";
import type { IrqRaiser } from "./irq.js";
import type { WorkerState } from "./state.js";
import { OFFLOAD_BITS, TxOffload } from "./tx-offload.js";

const DESC = 16;
/** A descriptor's 32-bit words: 0, 1 the buffer address, 2 QW1 low (DTYPE, CMD), 3 QW1 high (size, L2TAG1). */
const WORDS = DESC >>> 2;
const DTYPE_DATA = 0x0;
const DTYPE_CONTEXT = 0x1;
const DTYPE_DONE = 0xf;
const CMD_EOP = 0x001 << 4;
const CMD_RS = 0x002 << 4;
const CMD_IL2TAG1 = 0x008 << 4;
const CTX_TSO = TxCtxCmd.TSO << 4;
/** The inserted tag's place: after the destination and source MAC addresses. */
const TAG_AT = 12;
const TAG_BYTES = 4;
/** The shortest frame taken: an Ethernet header. */
const MIN_FRAME = 14;

/** The buffer size of the descriptor at word `o` if it is a DATA descriptor, else 0 (a context descriptor). */
function dataSize(v: Uint32Array, o: number): number {
  return (v[o + 2]! & 0xf) !== DTYPE_DATA ? 0 : (v[o + 3]! >>> 2) & 0x3fff;
}

/**
 * Finds `size` bytes at the DATA descriptor at word `o`'s buffer address (plus `skip`) in guest memory (`mem.bytes` at
 * `mem.offset` then); false when they lie outside it (an address above 2^53 included).
 */
function findBuffer(mem: WorkerState["mem"], v: Uint32Array, o: number, skip: number, size: number): boolean {
  const hi = v[o + 1]!;
  return hi < 0x20_0000 && mem.find(hi * 0x1_0000_0000 + v[o]! + skip, size, false);
}

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
  /** The TCI to insert (CMD.IL2TAG1 on the packet's first DATA descriptor), -1: none. */
  #tag = -1;
  /** The offloads asked for: the first DATA descriptor's IIPT and L4T bits (QW1 low word) and OFFSET field. */
  #ask = 0;
  #offset = 0;
  /** A TSO context descriptor's TSO_LEN (-1: none) and MSS. */
  #tsoLen = -1;
  #mss = 0;
  readonly #offload = new TxOffload();
  /** After `offloaded`: whether the packet's last segment went. */
  #whole = false;
  /**
   * What the ring's `Q_TSO_SENT` becomes at the end of the burst: the segments sent of the packet now at the head, as
   * the last `offloaded` left them; -1: not set this burst (then 0 if the head moved: a new packet is at it).
   */
  #tsoSent = -1;
  /** A context descriptor's tunnelling parameters (QW0 low word) before the packet's first DATA descriptor. */
  #tunnel = 0;
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
    this.take(Math.min(max, pending));
    const start = head;
    let got = 0;
    this.#tsoSent = -1;
    while (head !== tail && got < max) {
      // The packet's extent: [head, end) up to its EOP (or the first descriptor that is not DATA/CONTEXT).
      if (!this.extent(v, head, tail, len)) break; // unfinished: wait for the rest
      const end = this.#end;
      const tag = this.#tag;
      if (!this.#lying && (this.#ask !== 0 || this.#tsoLen >= 0)) {
        // (progress kept from an earlier burst is the first packet's: any later one starts at its first segment)
        const sent = head === start ? s.ctl[qb + Q_TSO_SENT]! : 0;
        const n = this.offloaded(v, head, end, len, sent, bufs, at + got, max - got);
        if (n < 0) {
          s.count(STAT.txErrors);
          this.env.count("ierrors", portQueue, 1);
        } else {
          got += n;
          if (!this.#whole) {
            if (n === 0) this.env.count("rxNombuf", portQueue, 1);
            break; // the rest of its segments in the next burst
          }
        }
        head = end;
        continue;
      }
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
    const reported = head !== start && this.complete(v, start, head, len, id);
    s.ctl[qb + Q_HEAD] = head;
    // A TSO packet's progress belongs to the packet at the head: kept, moved on, or gone with the packet it counted.
    if (this.#tsoSent >= 0) s.ctl[qb + Q_TSO_SENT] = this.#tsoSent;
    else if (head !== start) s.ctl[qb + Q_TSO_SENT] = 0;
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
    this.#tsoLen = -1;
    this.#tunnel = 0;
    while (i !== tail) {
      const o = i * WORDS;
      const w = v[o + 2]!;
      const dtype = w & 0xf;
      i = i + 1 === len ? 0 : i + 1;
      if (dtype === DTYPE_CONTEXT) {
        if (tag === -2) {
          this.#tunnel = v[o]!;
          if ((w & CTX_TSO) !== 0) {
            this.#tsoLen = txCtxTsoLenOfWords(w, v[o + 3]!);
            this.#mss = v[o + 3]! >>> 18;
          }
        }
        continue;
      }
      if (dtype !== DTYPE_DATA) {
        this.s.count(STAT.badType);
        lying = true;
        complete = true;
        break;
      }
      const qw1hi = v[o + 3]!;
      total += (qw1hi >>> 2) & 0x3fff;
      if (tag === -2) {
        tag = (w & CMD_IL2TAG1) === 0 ? -1 : qw1hi >>> 16;
        this.#ask = w & OFFLOAD_BITS;
        this.#offset = txOffsetOfWords(w, qw1hi);
      }
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

  /**
   * The packet [from, end) with offloads: checked, then copied at once (one pool buffer per segment, as many as `room`
   * and the pool allow) into bufs[at..) and finished (checksums, segment headers). Returns the buffers filled, -1 when
   * it lies (counted; dropped); `#whole` says whether its last segment went (else `#tsoSent` says how many did, kept
   * in the ring's `Q_TSO_SENT`, and the packet stays at the head). `sent`: the ring's `Q_TSO_SENT` as the burst found
   * it (the segments of this packet already sent, if it is a TSO packet in progress).
   */
  private offloaded(
    v: Uint32Array,
    from: number,
    end: number,
    len: number,
    sent: number,
    bufs: Uint32Array,
    at: number,
    room: number,
  ): number {
    const s = this.s;
    const o = this.#offload;
    const tag = this.#tag;
    const t = tag < 0 ? 0 : TAG_BYTES;
    const length = this.#total;
    const tsoLen = this.#tsoLen;
    const tso = tsoLen >= 0;
    this.#whole = false;
    this.#tsoSent = 0; // (a packet dropped takes any progress with it)
    if (length < MIN_FRAME) return this.refuse(STAT.badLength);
    if (!tso && length + t > this.#maxFrame) return this.refuse(STAT.oversize);
    // Tunnelled packets (outer headers described by the context descriptor, ENCAP's) are not offered: their OFFSET
    // does not say where the inner L4 header is.
    if (this.#tunnel !== 0 || !o.read(this.#ask, this.#offset, t, length, tsoLen, this.#mss, this.#maxFrame))
      return this.refuse(STAT.badOffload);
    if (!this.readable(v, from, end, len)) return this.refuse(STAT.badAddress);
    const n = o.segments;
    let k = tso ? sent : 0;
    if (k < 0 || k >= n) k = 0; // (a guest that rewrote the packet under a TSO in progress starts it again)
    const m = this.reserve(Math.min(n - k, room));
    const bytes = this.#poolBytes;
    const lead = tso ? o.header - t : length; // the packet's bytes each buffer starts with
    const sums = tso || o.l4t !== 0 || o.iipt === TxCmd.IIPT_IPV4_CSUM;
    for (let j = 0; j < m; j++, k++) {
      const buf = this.#spare[this.#spareAt++]!;
      const first = buf * this.#bufSize + this.#headroom;
      if (t === 0) this.copyOut(v, from, end, len, 0, lead, first);
      else {
        this.copyOut(v, from, end, len, 0, TAG_AT, first);
        this.insertTag(first, tag);
        this.copyOut(v, from, end, len, TAG_AT, lead - TAG_AT, first + TAG_AT + TAG_BYTES);
      }
      let size = lead + t;
      if (tso) {
        const p = o.payloadOf(k, tsoLen);
        this.copyOut(v, from, end, len, lead + k * o.mss, p, first + size);
        size += p;
        o.segment(bytes, first, size, k);
      } else o.checksum(bytes, first, size);
      const meta = buf * MBUF_META_WORDS;
      this.#meta[meta + MBUF_OFF] = this.#headroom;
      this.#meta[meta + MBUF_LEN] = size;
      s.count(STAT.txBytes, size);
      const cast = castOf(bytes, first);
      s.count(cast === 0 ? STAT.txUnicast : cast === 1 ? STAT.txMulticast : STAT.txBroadcast);
      if (sums) s.count(STAT.offloadChecksums);
      bufs[at + j] = buf;
    }
    this.#whole = k === n;
    if (tso && this.#whole) s.count(STAT.offloadTso);
    this.#tsoSent = this.#whole ? 0 : k;
    return m;
  }

  private refuse(stat: number): number {
    this.s.count(stat);
    return -1;
  }

  /** True when every DATA fragment of [from, end) lies inside the guest's memory. */
  private readable(v: Uint32Array, from: number, end: number, len: number): boolean {
    const mem = this.s.mem;
    for (let i = from; i !== end; i = i + 1 === len ? 0 : i + 1) {
      const o = i * WORDS;
      const size = dataSize(v, o);
      if (size > 0 && !findBuffer(mem, v, o, 0, size)) return false;
    }
    return true;
  }

  /** Copies bytes [src, src + n) of the packet [from, end) (checked `readable`) to `dst` in the pool, now. */
  private copyOut(v: Uint32Array, from: number, end: number, len: number, src: number, n: number, dst: number): void {
    const mem = this.s.mem;
    let pos = 0; // the packet's offset of fragment i
    for (let i = from; i !== end && n > 0; i = i + 1 === len ? 0 : i + 1) {
      const o = i * WORDS;
      const size = dataSize(v, o);
      if (src < pos + size) {
        const skip = src - pos;
        const c = Math.min(size - skip, n);
        findBuffer(mem, v, o, skip, c);
        this.#poolBytes.set(mem.bytes.subarray(mem.offset, mem.offset + c), dst);
        dst += c;
        src += c;
        n -= c;
      }
      pos += size;
    }
  }

  /** Makes sure `n` spare buffers are at hand, taking more from the pool; returns how many are (n or fewer). */
  private reserve(n: number): number {
    const have = this.#spareN - this.#spareAt;
    if (have >= n) return n;
    const need = n - have;
    if (this.#spare.length < this.#spareN + need) {
      const grown = new Uint32Array(this.#spareN + need);
      grown.set(this.#spare.subarray(0, this.#spareN));
      this.#spare = grown;
    }
    for (let k = need; k > 0; k >>>= 1)
      if (this.#pool.alloc(this.#spare, k, this.#spareN) > 0) {
        this.#spareN += k;
        break;
      }
    return Math.min(n, this.#spareN - this.#spareAt);
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
      const size = dataSize(v, o);
      if (size === 0) continue;
      if (!findBuffer(mem, v, o, 0, size)) return false;
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
