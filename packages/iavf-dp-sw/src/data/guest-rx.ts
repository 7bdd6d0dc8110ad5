// Packets for the guest (the port's transmit), delivered into its receive rings as a NIC would: each frame passes
// the MAC/VLAN filters and promiscuous modes, is classified (packet type; RSS classifier type), hashed with the
// guest's Toeplitz key when its HENA bit is set, and steered to RX queue LUT[hash & 63]; then it is copied into the
// buffers the guest posted (chained over several when longer than one, EOF on the last) and each descriptor gets the
// legacy 32-byte write-back: DD, EOF, packet type, length, UMBCAST, and on the last the RSS hash with FLTSTAT = 3.
// With VLAN stripping on (ENABLE_VLAN_STRIPPING), a frame's outer 802.1Q tag (TPID 0x8100) is left out of the copy
// and its TCI reported in the last descriptor's write-back (L2TAG1 in QW0 bits 31:16, status L2TAG1P), where Linux
// and DPDK read it; the filters, the classification and RSS see the frame as it came, tag included.
// A frame with no posted buffer, too long for the guest, or for a queue it cannot use is discarded (rx_discards); a
// posted buffer outside the guest's memory is written back with RXE and length 0 (the ring moves on) and counted.
// Several threads may transmit towards one guest RX ring: each ring is filled under its spin lock.
import { RxError, RxStatus, rxWritebackWord, writeRxWritebackBody } from "@emu/iavf-common";
import { rxQueueId } from "@emu/iavf-emu";
import type { PortDataEnv } from "@emu/port/data";
import { finishChecksums, MBUF_FLAGS, MBUF_LEN, MBUF_META_WORDS, MBUF_OFF } from "@emu/port/data";
import { CopyBatch } from "@emu/sys";
import { type Classified, classify, newClassified } from "../classify.js";
import { AT, Q_BAD_TAIL, Q_HEAD, Q_LOCK, Q_TAIL_SEEN, STAT } from "../layout.js";
import type { IrqRaiser } from "./irq.js";
import type { WorkerState } from "./state.js";

const DESC = 32;
/** The word of a descriptor holding DD (QW1 low). */
const DD_WORD = 2;
const { DD, EOF, L2TAG1P, UMBCAST_SHIFT, FLTSTAT_SHIFT, FLTSTAT_RSS_HASH } = RxStatus;
const FLTSTAT_RSS = FLTSTAT_RSS_HASH << FLTSTAT_SHIFT;
/** QRX_TAIL1(0) as a word index in the doorbell region. */
const RX_TAIL_WORD = 0x2000 >>> 2;
const LOCK_SPINS = 1_000_000;
/** `#flags` bits: UMBCAST (bits 1:0), hashed, tag stripped. */
const F_HASHED = 4;
const F_STRIPPED = 8;
/** A stripped tag: where it starts in the frame (after the MAC addresses) and its bytes. */
const TAG_AT = 12;
const TAG_BYTES = 4;

export class GuestRx {
  readonly #cls: Classified = newClassified();
  #hash = new Uint32Array(64);
  #ptype = new Uint8Array(64);
  #flags = new Uint8Array(64);
  /** The TCI of a stripped tag (valid with F_STRIPPED). */
  #tci = new Uint16Array(64);
  /** Per guest RX queue: the burst positions steered to it. */
  #groups: Uint32Array[] = [];
  readonly #counts: Int32Array;
  /** The fill's copies (pool → guest), made in one call per guest memory window before any write-back. */
  readonly #copies = new CopyBatch();
  /**
   * The fill's DD words, stored once the frames' data is in place (the rest of each write-back is written at once):
   * pairs of descriptor word index and QW1 low word.
   */
  #dd = new Uint32Array(2 * 64);
  #ddN = 0;
  /**
   * While the guest's memory is logged: (window, offset, length) of each buffer range written, marked after the copy
   * (`#dirtyN` numbers of it in use; grown, never shrunk: no allocation per burst).
   */
  #dirty = new Float64Array(3 * 64);
  #dirtyN = 0;
  /** Per guest RX queue being filled: its head and free descriptors (claim), then its head after the burst. */
  readonly #heads: Int32Array;
  readonly #avails: Int32Array;
  /** The queues claimed for the burst, in order, and where each one's DD words start in `#dd`. */
  readonly #held: Int32Array;
  readonly #ddFrom: Int32Array;

  constructor(
    private readonly s: WorkerState,
    private readonly irq: IrqRaiser,
    private readonly env: PortDataEnv,
  ) {
    const queues = s.rings.length >>> 1;
    this.#counts = new Int32Array(queues);
    this.#heads = new Int32Array(queues);
    this.#avails = new Int32Array(queues);
    this.#held = new Int32Array(queues);
    this.#ddFrom = new Int32Array(queues);
  }

  private grow(n: number): void {
    if (this.#hash.length >= n && this.#groups.length > 0 && this.#groups[0]!.length >= n) return;
    const size = Math.max(n, this.#hash.length);
    this.#hash = new Uint32Array(size);
    this.#ptype = new Uint8Array(size);
    this.#flags = new Uint8Array(size);
    this.#tci = new Uint16Array(size);
    this.#groups = Array.from({ length: this.#counts.length }, () => new Uint32Array(size));
  }

  /** Delivers bufs[0..n) to the guest (all are taken: delivered or dropped); the caller frees them. */
  deliver(portQueue: number, bufs: Uint32Array, n: number): void {
    const s = this.s;
    this.grow(n);
    const pool = this.env.pool;
    const meta = pool.meta;
    const bytes = pool.bytes;
    const bufSize = pool.bufSize;
    const pairs = s.pairs;
    const counts = this.#counts;
    const strip = s.vlanStrip;
    // The per-frame arrays in locals: a private field read in the loop is a property load each time.
    const hashes = this.#hash;
    const ptypes = this.#ptype;
    const flagsOf = this.#flags;
    const tcis = this.#tci;
    const groups = this.#groups;
    const cls = this.#cls;
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const b = bufs[i]!;
      const at = b * bufSize + meta[b * MBUF_META_WORDS + MBUF_OFF]!;
      const len = meta[b * MBUF_META_WORDS + MBUF_LEN]!;
      // A checksum left to the port (e.g. by a kernel behind net_tap with offload=1) is finished: the guest gets
      // frames as a wire carries them (it is told nothing of checksums: L3L4P stays 0).
      const request = meta[b * MBUF_META_WORDS + MBUF_FLAGS]!;
      if (request !== 0) finishChecksums(bytes, at, len, request);
      const c = classify(bytes, at, len, cls);
      if (len < 14 || !s.accepts(bytes, at, c.vlan)) {
        s.count(STAT.filtered);
        continue;
      }
      let q = 0;
      let flags = c.cast;
      if (c.addrLen > 0 && (s.hashes(c.pctype) || s.hashes(c.pctypeAlt))) {
        const h = s.toeplitz.hash(bytes, c.addrAt, c.addrLen, c.portsAt, c.portsLen);
        hashes[i] = h;
        flags |= F_HASHED;
        q = s.lut[h & 63]!; // (reduced modulo the pairs when the LUT was read)
      }
      // Stripping takes an outer 802.1Q tag only (an 802.1ad S-tag stays: VLAN_V2's outer stripping is not granted).
      if (strip && c.vlan !== undefined && bytes[c.tagAt] === 0x81 && bytes[c.tagAt + 1] === 0x00) {
        flags |= F_STRIPPED;
        tcis[i] = (bytes[c.tagAt + 2]! << 8) | bytes[c.tagAt + 3]!;
      }
      ptypes[i] = c.ptype;
      flagsOf[i] = flags;
      const k = counts[q]!;
      groups[q]![k] = i;
      counts[q] = k + 1;
    }
    this.fill(portQueue, bufs, pairs);
  }

  /**
   * Fills the guest RX queues the burst was steered to, in phases across them: every ring is claimed first (lock,
   * tail, head), then each ring's frames are planned (copies, write-back bodies), the copies of all rings made in one
   * call, and last each ring's DD words stored, its head saved and its lock released. Locks are taken in queue order.
   */
  private fill(portQueue: number, bufs: Uint32Array, pairs: number): void {
    const s = this.s;
    const counts = this.#counts;
    const heads = this.#heads;
    const avails = this.#avails;
    const held = this.#held;
    let nHeld = 0;
    /** Rings whose frames were planned (their `#ddFrom` is this burst's). */
    let planned = 0;
    try {
      for (let q = 0; q < pairs; q++) {
        const k = counts[q]!;
        if (k === 0) continue;
        if (!this.claim(q, portQueue, k)) continue;
        held[nHeld++] = q;
      }
      for (let h = 0; h < nHeld; h++) {
        const q = held[h]!;
        const id = rxQueueId(q);
        const ring = s.rings[id]!;
        const w = ring.words;
        const len = ring.len;
        const group = this.#groups[q]!;
        let head = heads[q]!;
        let avail = avails[q]!;
        this.#ddFrom[h] = this.#ddN;
        for (let j = 0; j < counts[q]!; j++) {
          const i = group[j]!;
          const need = this.need(id, bufs[i]!, (this.#flags[i]! & F_STRIPPED) === 0 ? 0 : TAG_BYTES);
          if (need < 0) {
            s.count(STAT.oversize);
            s.count(STAT.rxDiscards);
            continue;
          }
          if (need > avail) {
            s.count(STAT.noDescriptor);
            s.count(STAT.rxDiscards);
            continue;
          }
          const used = this.write(w, head, len, id, bufs[i]!, i, portQueue);
          head += used; // used ≤ len: wrapped without a division
          if (head >= len) head -= len;
          avail -= used;
        }
        heads[q] = head;
        planned++;
      }
      // The data first, then the DD words: a guest polling DD finds its frame and the rest of its write-back there.
      this.#copies.run();
      // Pages are logged dirty once written: marked before, a report collected in between would clear the mark
      // before the bytes landed, and the page would be copied stale.
      const dirty = this.#dirty;
      for (let d = 0; d < this.#dirtyN; d += 3) s.mem.written(dirty[d]!, dirty[d + 1]!, dirty[d + 2]!);
      for (let h = 0; h < nHeld; h++) {
        const q = held[h]!;
        const id = rxQueueId(q);
        const from = this.#ddFrom[h]!;
        const to = h + 1 < nHeld ? this.#ddFrom[h + 1]! : this.#ddN;
        this.writeBacks(s.rings[id]!.words, id, from, to);
        s.ctl[AT.queue(id) + Q_HEAD] = heads[q]!;
      }
    } finally {
      const written = this.#ddN;
      this.#dirtyN = 0;
      this.#copies.rewind(0);
      this.#ddN = 0;
      for (let h = 0; h < nHeld; h++) {
        const id = rxQueueId(held[h]!);
        Atomics.store(s.ctl, AT.queue(id) + Q_LOCK, 0);
        const to = h + 1 < planned ? this.#ddFrom[h + 1]! : written;
        if (h < planned && to > this.#ddFrom[h]!) this.irq.raise(id); // a ring whose frames all dropped: no raise
      }
    }
  }

  /**
   * Takes guest RX queue `q` for `k` frames: its lock, its tail (checked), its head and free descriptors (into
   * `#heads`/`#avails`). False (the frames counted as discarded, the lock not held): the guest does not own the
   * ring, another thread kept it, or its tail lies.
   */
  private claim(q: number, portQueue: number, k: number): boolean {
    const s = this.s;
    const id = rxQueueId(q);
    const ring = s.rings[id]!;
    if (ring.words.length === 0) {
      if (!ring.enabled) s.count(STAT.noDescriptor, k); // a ring the guest does not own was counted when found
      s.count(STAT.rxDiscards, k);
      return false;
    }
    const qb = AT.queue(id);
    if (!this.lock(qb + Q_LOCK)) {
      s.count(STAT.noDescriptor, k);
      s.count(STAT.rxDiscards, k);
      return false;
    }
    const len = ring.len;
    let head = s.ctl[qb + Q_HEAD]!;
    if (head >= len) head = 0;
    // The tail last read, while it leaves enough for the burst (the guest only moves it forward).
    const seen = s.ctl[qb + Q_TAIL_SEEN]!;
    let avail = seen < 0 || seen >= len ? 0 : (seen - head + len) % len;
    if (avail < k) {
      const tail = s.db32[RX_TAIL_WORD + q] ?? 0;
      if (tail >= len) {
        const reported = s.ctl[qb + Q_BAD_TAIL] === tail;
        s.ctl[qb + Q_BAD_TAIL] = tail;
        s.ctl[qb + Q_TAIL_SEEN] = -1;
        Atomics.store(s.ctl, qb + Q_LOCK, 0); // released before anything that could throw: the ring is not held
        if (!reported) {
          s.count(STAT.badTail);
          this.env.count("oerrors", portQueue, 1);
        }
        s.count(STAT.rxDiscards, k);
        return false;
      }
      s.ctl[qb + Q_TAIL_SEEN] = tail;
      avail = (tail - head + len) % len;
    }
    this.#heads[q] = head;
    this.#avails[q] = avail;
    return true;
  }

  /** Descriptors a packet needs on queue `id` with `cut` of its bytes left out, or -1: longer than the guest takes. */
  private need(id: number, buf: number, cut: number): number {
    const len = this.env.pool.meta[buf * MBUF_META_WORDS + MBUF_LEN]! - cut;
    const bufLen = this.s.rxBuf[id]!;
    if (len > this.s.rxMax[id]! || bufLen <= 0) return -1;
    return len <= bufLen ? 1 : Math.ceil(len / bufLen);
  }

  /** Writes one packet from `head`; returns the descriptors used (all, or up to a lying one). */
  private write(w: Uint32Array, head: number, ringLen: number, id: number, buf: number, i: number, pq: number): number {
    const s = this.s;
    const pool = this.env.pool;
    const m = buf * MBUF_META_WORDS;
    const flags = this.#flags[i]!;
    const stripped = (flags & F_STRIPPED) !== 0;
    const len = stripped ? pool.meta[m + MBUF_LEN]! - TAG_BYTES : pool.meta[m + MBUF_LEN]!;
    let src = buf * pool.bufSize + pool.meta[m + MBUF_OFF]!;
    const bufLen = s.rxBuf[id]!;
    const ptype = this.#ptype[i]!;
    const status0 = DD | ((flags & 3) << UMBCAST_SHIFT);
    /** Bytes of the frame until the stripped tag (-1: none, or passed). */
    let gap = stripped ? TAG_AT : -1;
    let left = len;
    let d = head;
    let used = 0;
    while (left > 0) {
      const o = d * (DESC >>> 2);
      const n = Math.min(left, bufLen);
      const last = n === left;
      const hi = w[o + 1]!;
      used++;
      if (hi >= 0x20_0000 || !s.mem.find(hi * 0x1_0000_0000 + w[o]!, n, true)) {
        this.writeBack(w, o, DD | EOF, RxError.RXE, 0, 0, 0, 0);
        s.count(STAT.badAddress);
        s.count(STAT.rxDiscards);
        this.env.count("oerrors", pq, 1);
        return used;
      }
      if (gap < 0 || gap >= n) {
        this.#copies.add(s.mem.bytes, s.mem.offset, pool.bytes, src, n);
        src += n;
        gap -= n; // (an untagged frame's stays negative)
      } else {
        // The buffer the tag would fall in: the bytes before it, then the rest of the frame after it.
        if (gap > 0) this.#copies.add(s.mem.bytes, s.mem.offset, pool.bytes, src, gap);
        this.#copies.add(s.mem.bytes, s.mem.offset + gap, pool.bytes, src + gap + TAG_BYTES, n - gap);
        src += n + TAG_BYTES;
        gap = -1;
      }
      if (s.mem.logging) this.dirtied(s.mem.window, s.mem.offset, n);
      const hashed = last && (flags & F_HASHED) !== 0;
      const tagged = last && stripped;
      const status = status0 | (last ? EOF : 0) | (hashed ? FLTSTAT_RSS : 0) | (tagged ? L2TAG1P : 0);
      this.writeBack(w, o, status, 0, ptype, n, hashed ? this.#hash[i]! : 0, tagged ? this.#tci[i]! : 0);
      left -= n;
      d = d + 1 === ringLen ? 0 : d + 1;
    }
    s.count(STAT.rxBytes, len);
    s.count(flags & 2 ? STAT.rxBroadcast : flags & 1 ? STAT.rxMulticast : STAT.rxUnicast);
    return used;
  }

  /** Records a buffer range written (window, offset, length) for the dirty log, marked once the copies ran. */
  private dirtied(window: number, offset: number, length: number): void {
    let d = this.#dirty;
    if (this.#dirtyN + 3 > d.length) {
      const bigger = new Float64Array(d.length * 2);
      bigger.set(d);
      this.#dirty = d = bigger;
    }
    d[this.#dirtyN] = window;
    d[this.#dirtyN + 1] = offset;
    d[this.#dirtyN + 2] = length;
    this.#dirtyN += 3;
  }

  /**
   * Writes the write-back of the descriptor at word `o` of the ring but its DD word, which `writeBacks` stores once
   * the burst's frames are in place. The body goes straight into the ring in a few word stores; a DD word stored
   * last is what a guest polling it acts on.
   */
  private writeBack(
    w: Uint32Array,
    o: number,
    status: number,
    errors: number,
    ptype: number,
    length: number,
    hash: number,
    l2tag1: number,
  ): void {
    let dd = this.#dd;
    const at = this.#ddN * 2;
    if (at + 2 > dd.length) {
      const bigger = new Uint32Array(dd.length * 2);
      bigger.set(dd);
      this.#dd = dd = bigger;
    }
    writeRxWritebackBody(w, o, ptype, length, l2tag1, hash);
    dd[at] = o;
    dd[at + 1] = rxWritebackWord(status, errors, ptype);
    this.#ddN++;
  }

  /** Stores the queued DD words [from, to) of ring `id`, in ring order. */
  private writeBacks(w: Uint32Array, id: number, from: number, to: number): void {
    const dd = this.#dd;
    const logging = this.s.mem.logging;
    for (let k = from; k < to; k++) {
      const o = dd[2 * k]!;
      w[o + DD_WORD] = dd[2 * k + 1]!;
      if (logging) this.s.ringWritten(id, o * 4, DESC);
    }
  }

  private lock(word: number): boolean {
    const ctl = this.s.ctl;
    for (let i = 0; i < LOCK_SPINS; i++) if (Atomics.compareExchange(ctl, word, 0, 1) === 0) return true;
    return false;
  }
}
