// A worker's copy of what the main thread published: taken under the sequence lock whenever the generation moved,
// then applied (guest memory and the doorbell page mapped again when they changed, rings located, the RSS key made
// into tables) and acknowledged — after the acknowledgement the worker touches nothing the old generation described.
import { threadId } from "node:worker_threads";
import { type RxFilterTable, rxFilterAccepts } from "@emu/iavf-common";
import { type Mapping, mmap } from "@emu/sys";
import {
  AT,
  F_MCAST_PROMISC,
  F_UCAST_PROMISC,
  F_VLAN_FILTER,
  F_VLAN_STRIP,
  H_DB_EPOCH,
  H_DB_FD,
  H_DB_SIZE,
  H_DIRTY_ON,
  H_FILTER,
  H_GEN,
  H_HENA_HI,
  H_HENA_LO,
  H_MACS,
  H_PAIRS,
  H_READY,
  H_WAITING,
  MAX_MACS,
  MAX_PAIRS,
  MAX_WORKERS,
  Q_BASE_HI,
  Q_BASE_LO,
  Q_ENABLED,
  Q_LEN,
  Q_RX_BUF,
  Q_RX_MAX,
  RSS_KEY_BYTES,
  RSS_LUT_BYTES,
  type SharedBlocks,
  STAT,
  STAT_WORDS,
  W_ACK,
  W_BUSY,
  W_STATE,
  W_THREAD,
  wordsToNumber,
} from "../layout.js";
import { Toeplitz } from "../toeplitz.js";
import { GuestMemory, type MappingEntry, readMappings } from "./guest-memory.js";

const QUEUES = 2 * MAX_PAIRS;
/** Spins waiting for the main thread to finish a write before a burst gives up (it writes a few hundred words). */
const SPIN_LIMIT = 1_000_000;

/** One ring as this worker reaches it. */
export interface Ring {
  /**
   * The ring's descriptors, a view of guest memory as host-order 32-bit words (a DataView access costs several times
   * a typed array's); empty while the ring is not served.
   */
  words: Uint32Array;
  /** Where the view is in guest memory: its window and byte offset there (for the dirty log). */
  window: number;
  offset: number;
  len: number;
  enabled: boolean;
}

export class WorkerState implements RxFilterTable {
  readonly ctl: Int32Array;
  readonly stats: Float64Array;
  readonly slot: number;
  readonly mem = new GuestMemory();
  readonly rings: Ring[] = Array.from({ length: QUEUES }, () => ({
    words: new Uint32Array(0),
    window: 0,
    offset: 0,
    len: 0,
    enabled: false,
  }));
  /** Per queue: RX buffer bytes and longest frame. */
  readonly rxBuf = new Int32Array(QUEUES);
  readonly rxMax = new Int32Array(QUEUES);
  gen = -1;
  ready = false;
  readonly #busy: number;
  pairs = 0;
  /** The doorbell page (tails, ITRs) as 32-bit words; empty while the device has none. */
  db32 = new Uint32Array(0);
  #db: Mapping | undefined;
  #dbEpoch = -1;
  // filters
  readonly macs = new Set<number>();
  /** The last address `hasMac` found (-1: none since the table was read). */
  #lastMac = -1;
  unicastPromisc = false;
  multicastPromisc = false;
  vlanFilter = false;
  /** Whether an outer 802.1Q tag is stripped from frames for the guest (ENABLE_VLAN_STRIPPING). */
  vlanStrip = false;
  readonly vlans = new Uint32Array(128);
  // RSS
  readonly key = new Uint8Array(RSS_KEY_BYTES);
  /**
   * The guest's RSS LUT with each entry already taken modulo the queue pairs served (the RX queue a hash goes to):
   * a division per frame is slower than the rest of the steering.
   */
  readonly lut = new Uint8Array(RSS_LUT_BYTES);
  henaLo = 0;
  henaHi = 0;
  readonly toeplitz = new Toeplitz(this.key);

  constructor(blocks: SharedBlocks) {
    this.ctl = new Int32Array(blocks.control);
    let slot = -1;
    for (let s = 0; s < MAX_WORKERS && slot < 0; s++)
      if (Atomics.compareExchange(this.ctl, AT.worker(s) + W_STATE, 0, 1) === 0) slot = s;
    if (slot < 0) throw new Error(`more than ${MAX_WORKERS} threads run this device's data path`);
    this.slot = slot;
    this.#busy = AT.worker(slot) + W_BUSY;
    Atomics.store(this.ctl, this.#busy, 0);
    Atomics.store(this.ctl, AT.worker(slot) + W_THREAD, threadId);
    this.stats = new Float64Array(blocks.stats, slot * STAT_WORDS * 8, STAT_WORDS);
    this.mem.setDirtyBitmap(new Int32Array(blocks.dirty));
  }

  /** Records a descriptor write-back of ring `id` (`length` bytes at byte `at` of the ring) while logging. */
  ringWritten(id: number, at: number, length: number): void {
    const r = this.rings[id]!;
    this.mem.written(r.window, r.offset + at, length);
  }

  count(stat: number, n = 1): void {
    this.stats[stat] = this.stats[stat]! + n;
  }

  /**
   * Enters a burst: marks the worker busy, then makes sure the published state is the one applied (syncing if it
   * moved). False: the main thread is mid-write; try the next burst. Pair with `leave()` in every case.
   */
  enter(): boolean {
    Atomics.store(this.ctl, this.#busy, 1);
    return Atomics.load(this.ctl, H_GEN) === this.gen || this.sync();
  }

  /** Leaves a burst: from here the main thread need not wait for this worker (it syncs at its next `enter`). */
  leave(): void {
    const ctl = this.ctl;
    Atomics.store(ctl, this.#busy, 0);
    if (ctl[H_WAITING] === 1) Atomics.notify(ctl, this.#busy - W_BUSY + W_ACK);
  }

  private sync(): boolean {
    const ctl = this.ctl;
    for (let spins = 0; spins < SPIN_LIMIT; spins++) {
      const g = Atomics.load(ctl, H_GEN);
      if ((g & 1) === 1) continue;
      const snap = this.read();
      if (Atomics.load(ctl, H_GEN) !== g) continue;
      this.apply(snap);
      this.gen = g;
      const ack = AT.worker(this.slot) + W_ACK;
      Atomics.store(ctl, ack, g);
      Atomics.notify(ctl, ack);
      return true;
    }
    return false;
  }

  /** Everything of the published state that is not plain per-queue words (read under the lock). */
  private read(): { table: MappingEntry[]; dbFd: number; dbSize: number; dbEpoch: number } {
    const c = this.ctl;
    this.ready = c[H_READY] === 1;
    this.mem.logging = c[H_DIRTY_ON] === 1;
    this.pairs = Math.min(c[H_PAIRS]!, MAX_PAIRS);
    for (let id = 0; id < QUEUES; id++) {
      const q = AT.queue(id);
      const r = this.rings[id]!;
      r.enabled = c[q + Q_ENABLED] === 1;
      r.len = c[q + Q_LEN]!;
      this.rxBuf[id] = c[q + Q_RX_BUF]!;
      this.rxMax[id] = c[q + Q_RX_MAX]!;
    }
    const f = c[H_FILTER]!;
    this.unicastPromisc = (f & F_UCAST_PROMISC) !== 0;
    this.multicastPromisc = (f & F_MCAST_PROMISC) !== 0;
    this.vlanFilter = (f & F_VLAN_FILTER) !== 0;
    this.vlanStrip = (f & F_VLAN_STRIP) !== 0;
    this.macs.clear();
    this.#lastMac = -1;
    const n = Math.min(c[H_MACS]!, MAX_MACS);
    for (let i = 0; i < n; i++) this.macs.add((c[AT.mac(i)]! & 0xffff) * 2 ** 32 + (c[AT.mac(i) + 1]! >>> 0));
    this.vlans.set(new Uint32Array(c.buffer, c.byteOffset + AT.vlans * 4, 128));
    this.henaLo = c[H_HENA_LO]! >>> 0;
    this.henaHi = c[H_HENA_HI]! >>> 0;
    const key = new Uint8Array(c.buffer, c.byteOffset + AT.key * 4, RSS_KEY_BYTES);
    let keyChanged = false;
    for (let i = 0; i < RSS_KEY_BYTES; i++) if (key[i] !== this.key[i]) keyChanged = true;
    if (keyChanged) this.key.set(key);
    const lut = new Uint8Array(c.buffer, c.byteOffset + AT.lut * 4, RSS_LUT_BYTES);
    for (let i = 0; i < RSS_LUT_BYTES; i++) this.lut[i] = this.pairs > 0 ? lut[i]! % this.pairs : 0;
    if (keyChanged) this.toeplitz.setKey(this.key);
    return { table: readMappings(c), dbFd: c[H_DB_FD]!, dbSize: c[H_DB_SIZE]!, dbEpoch: c[H_DB_EPOCH]! };
  }

  private apply(s: { table: MappingEntry[]; dbFd: number; dbSize: number; dbEpoch: number }): void {
    this.mem.apply(s.table, false);
    if (s.dbEpoch !== this.#dbEpoch) {
      this.#db?.unmap();
      this.#db = undefined;
      this.db32 = new Uint32Array(0);
      this.#dbEpoch = s.dbEpoch;
      if (s.dbFd >= 0 && s.dbSize >= 4) {
        try {
          this.#db = mmap(s.dbFd, 0, s.dbSize, "rw");
          this.db32 = new Uint32Array(this.#db.buffer, 0, s.dbSize >>> 2);
        } catch {
          this.db32 = new Uint32Array(0);
        }
      }
    }
    for (let id = 0; id < QUEUES; id++) this.locate(id);
  }

  /** Finds queue `id`'s ring in guest memory; a ring the guest does not own is counted and left unserved. */
  private locate(id: number): void {
    const r = this.rings[id]!;
    r.words = new Uint32Array(0);
    if (!r.enabled || r.len <= 0) return;
    const q = AT.queue(id);
    const base = wordsToNumber(this.ctl[q + Q_BASE_LO]!, this.ctl[q + Q_BASE_HI]!);
    const bytes = r.len * (id % 2 === 0 ? 32 : 16);
    // A ring off a 4-byte boundary cannot be read as words (a NIC takes the base in 128-byte units: no guest's is).
    if (base < 0 || base % 4 !== 0 || !this.mem.find(base, bytes, true)) {
      this.count(STAT.badRing);
      return;
    }
    const at = this.mem.bytes.byteOffset + this.mem.offset;
    r.words = new Uint32Array(this.mem.bytes.buffer, at, bytes >>> 2);
    r.window = this.mem.window;
    r.offset = this.mem.offset;
  }

  /** Whether the filters let a frame to the MAC at bytes[at] with VLAN `vlan` through (`rxFilterAccepts`). */
  accepts(b: Uint8Array, at: number, vlan: number | undefined): boolean {
    return rxFilterAccepts(this, b, at, vlan);
  }

  hasMac(mac: number): boolean {
    // A burst is mostly one destination: the last address found saves hashing a 48-bit number per frame.
    if (mac === this.#lastMac) return true;
    if (!this.macs.has(mac)) return false;
    this.#lastMac = mac;
    return true;
  }

  passesVlan(vlan: number): boolean {
    return !this.vlanFilter || (this.vlans[vlan >>> 5]! & (1 << (vlan & 31))) !== 0;
  }

  /** Whether HENA enables hashing classifier type `pctype` (-1: never). */
  hashes(pctype: number): boolean {
    if (pctype < 0) return false;
    return pctype < 32 ? (this.henaLo & (1 << pctype)) !== 0 : (this.henaHi & (1 << (pctype - 32))) !== 0;
  }

  /** Leaves the device: mappings dropped, the slot freed (its counters stay for the main thread to read). */
  close(): void {
    this.mem.unmapAll();
    this.#db?.unmap();
    this.#db = undefined;
    this.db32 = new Uint32Array(0);
    Atomics.store(this.ctl, AT.worker(this.slot) + W_THREAD, 0);
    Atomics.store(this.ctl, AT.worker(this.slot) + W_STATE, 0);
    Atomics.notify(this.ctl, AT.worker(this.slot) + W_ACK);
  }
}
