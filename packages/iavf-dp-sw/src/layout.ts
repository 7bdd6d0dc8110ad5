// The shared block between the provider (main thread) and the data halves (worker threads) of one emu_iavf device:
// one SharedArrayBuffer of 32-bit words. The main thread publishes what the guest configured (queues, guest memory
// files, the doorbell page, RSS, filters) under a sequence lock and, when memory or queues go away, waits for every
// worker to acknowledge the new generation; workers keep the rings' heads here (a queue may change threads), raise
// interrupt causes here, and count into per-worker statistics blocks (a second SharedArrayBuffer of float64s).

/** Queue pairs the block has room for (iavf's limit). */
export const MAX_PAIRS = 16;
/** fd-backed guest memory mappings a worker can reach; more are refused (counted as bad addresses). */
export const MAX_MAPPINGS = 64;
/** MAC filters mirrored; more are refused as the PF would run out of filters. */
export const MAX_MACS = 128;
/** Threads that can run data halves of one device at once. */
export const MAX_WORKERS = 16;

// ---- header words ----
/** Sequence lock: odd while the main thread writes, even when stable; workers ack the even values. */
export const H_GEN = 0;
/** Bumped by a worker to wake the main thread's interrupt relay. */
export const H_WAKE = 1;
/** Bitmap of emudev queue ids with an interrupt cause not yet relayed. */
export const H_CAUSES = 2;
/** Bitmap of emudev queue ids whose vector is armed (INTENA) right now, mirrored by the main thread. */
export const H_ARMED = 3;
/** 1 while the guest's configuration is usable (the device is "ready"). */
export const H_READY = 4;
export const H_PAIRS = 5;
/** The doorbell region's memfd (-1: none) and bytes. */
export const H_DB_FD = 6;
export const H_DB_SIZE = 7;
/** Bumped whenever the doorbell region is a different file (a new server), so a worker maps it again. */
export const H_DB_EPOCH = 8;
export const H_MAPPINGS = 9;
/** Filter flags (F_*) and the MAC count. */
export const H_FILTER = 10;
export const H_MACS = 11;
export const H_HENA_LO = 12;
export const H_HENA_HI = 13;
/** 1 when the main thread stops relaying (the backend is gone). */
export const H_CLOSED = 14;
/** 1 while the main thread waits for acknowledgements: a worker leaving a burst then wakes it. */
export const H_WAITING = 15;
/** 1 while DMA dirty logging is on: workers then set a bit in the dirty bitmap for each guest page they write. */
export const H_DIRTY_ON = 16;
const HEADER_WORDS = 20;

export const F_UCAST_PROMISC = 1;
export const F_MCAST_PROMISC = 2;
/** At least one VLAN was added: tagged frames need their VLAN in the set. */
export const F_VLAN_FILTER = 4;
/** ENABLE_VLAN_STRIPPING: an outer 802.1Q tag is taken out of a frame for the guest and reported in its write-back. */
export const F_VLAN_STRIP = 8;

// ---- per emudev queue (2q: RX, 2q + 1: TX), QUEUE_WORDS each ----
const QUEUE_WORDS = 16;
export const Q_BASE_LO = 0;
export const Q_BASE_HI = 1;
/** Ring length in descriptors. */
export const Q_LEN = 2;
export const Q_ENABLED = 3;
/** The MSI-X vector (-1: none). */
export const Q_VECTOR = 4;
/** The ITR interval of the queue's vector and ITR index, in µs (0: none). */
export const Q_ITR_US = 5;
/** The device's head: the next descriptor it processes (workers keep it; reset at enable). */
export const Q_HEAD = 6;
/** A spin lock for rings written by several threads (guest RX rings, filled by whoever transmits). */
export const Q_LOCK = 7;
/** RX: bytes per posted buffer and the longest frame the guest takes. */
export const Q_RX_BUF = 8;
export const Q_RX_MAX = 9;
/** RX: 1 when the guest keeps the CRC (the device then appends 4 bytes it does not have: not offered). */
export const Q_RX_KEEP_CRC = 10;
/** The last tail found beyond the ring (counted once per value), -1 none. */
export const Q_BAD_TAIL = 11;
/** TX: segments of the TSO packet at the head already sent (it goes out over several bursts); 0 with a new head. */
export const Q_TSO_SENT = 12;
/**
 * RX: the guest's tail as the device last read it (-1: not read since the head was set). The device reads the
 * doorbell again only when the descriptors this tail leaves it are too few for a burst, as a NIC fetches descriptors
 * ahead: the tail's line, written by the guest at every refill, is then not pulled across CPUs at every burst.
 */
export const Q_TAIL_SEEN = 13;
const QUEUES_AT = HEADER_WORDS;

// ---- the guest memory files, MAPPING_WORDS each ----
const MAPPING_WORDS = 10;
export const M_IOVA_LO = 0;
export const M_IOVA_HI = 1;
export const M_SIZE_LO = 2;
export const M_SIZE_HI = 3;
export const M_OFF_LO = 4;
export const M_OFF_HI = 5;
export const M_FD = 6;
/** Bit 0 readable, bit 1 writable. */
export const M_FLAGS = 7;
/** The dirty bitmap's bit of the mapping's first page (-1: beyond the bitmap, not tracked: reported whole). */
export const M_DIRTY_BIT = 8;
const MAPPINGS_AT = QUEUES_AT + 2 * MAX_PAIRS * QUEUE_WORDS;

// ---- filters and RSS ----
/** MAC filters: two words each (the high 16 bits, the low 32). */
const MACS_AT = MAPPINGS_AT + MAX_MAPPINGS * MAPPING_WORDS;
/** VLAN ids added: a 4096-bit set. */
const VLANS_AT = MACS_AT + 2 * MAX_MACS;
export const RSS_KEY_BYTES = 52;
export const RSS_LUT_BYTES = 64;
const KEY_AT = VLANS_AT + 4096 / 32;
const LUT_AT = KEY_AT + RSS_KEY_BYTES / 4;

// ---- worker slots ----
const WORKER_WORDS = 4;
/** 0 free, 1 taken. */
export const W_STATE = 0;
/** The last generation the worker has applied (it touches nothing published before it). */
export const W_ACK = 1;
/** The worker's threadId (the main thread never waits for itself). */
export const W_THREAD = 2;
/**
 * 1 while the worker is inside a burst. It is set before the worker reads the generation and cleared after its last
 * access, so a worker found outside a burst after a publish will see the new generation before it touches anything.
 */
export const W_BUSY = 3;
const WORKERS_AT = LUT_AT + RSS_LUT_BYTES / 4;
const TOTAL_WORDS = WORKERS_AT + MAX_WORKERS * WORKER_WORDS;

// ---- statistics (float64 per worker slot) ----
/**
 * Counters a worker adds to, per slot: the VF's `eth_stats` as the guest sees them (its TX is our receive), then the
 * provider's own reasons for dropping. The main thread sums the slots and hands the VF's part to `nic.addStats`.
 */
export const STAT = {
  /** Guest TX (what the data path received from the guest). */
  txBytes: 0,
  txUnicast: 1,
  txMulticast: 2,
  txBroadcast: 3,
  /** Guest TX descriptors dropped: bad address, length, packet too long or unfinished. */
  txErrors: 4,
  /** Guest RX (what the data path delivered to the guest). */
  rxBytes: 5,
  rxUnicast: 6,
  rxMulticast: 7,
  rxBroadcast: 8,
  /** Frames for the guest dropped: no posted buffer, a bad descriptor, or too long. */
  rxDiscards: 9,
  // the provider's own reasons
  badAddress: 10,
  badLength: 11,
  badTail: 12,
  badRing: 13,
  noDescriptor: 14,
  filtered: 15,
  oversize: 16,
  /** A TX descriptor of a type a TX ring cannot hold (not DATA or CONTEXT). */
  badType: 17,
  /** A TX packet whose checksum or TSO request does not fit it (header lengths, TSO_LEN, MSS). */
  badOffload: 18,
  /** Guest TX frames (TSO segments one by one) whose checksums the data path filled in; packets it segmented (TSO). */
  offloadChecksums: 19,
  offloadTso: 20,
} as const;
export const STAT_WORDS = 24;

export type StatName = keyof typeof STAT;

/** Offsets of the parts of the block, in words. */
export const AT = {
  queue: (id: number): number => QUEUES_AT + id * QUEUE_WORDS,
  mapping: (i: number): number => MAPPINGS_AT + i * MAPPING_WORDS,
  mac: (i: number): number => MACS_AT + 2 * i,
  vlans: VLANS_AT,
  key: KEY_AT,
  lut: LUT_AT,
  worker: (slot: number): number => WORKERS_AT + slot * WORKER_WORDS,
} as const;

/** The granule of the dirty bitmap (the DMA page size; a client's log page size is a multiple of it). */
export const DIRTY_PAGE = 4096;
/** Bits of the dirty bitmap: 2^23 pages, 32 GiB of guest memory (the pages are only committed once written). */
export const DIRTY_BITS = 1 << 23;

/** What crosses to a worker (structured-cloneable). */
export interface SharedBlocks {
  readonly control: SharedArrayBuffer;
  readonly stats: SharedArrayBuffer;
  /** The dirty bitmap: bit b = a page the workers wrote while logging (mapping i's pages from its M_DIRTY_BIT). */
  readonly dirty: SharedArrayBuffer;
}

export function createBlocks(): SharedBlocks {
  const control = new SharedArrayBuffer(TOTAL_WORDS * 4);
  const stats = new SharedArrayBuffer(MAX_WORKERS * STAT_WORDS * 8);
  const dirty = new SharedArrayBuffer(DIRTY_BITS / 8);
  const w = new Int32Array(control);
  w[H_DB_FD] = -1;
  for (let id = 0; id < 2 * MAX_PAIRS; id++) {
    w[AT.queue(id) + Q_VECTOR] = -1;
    w[AT.queue(id) + Q_BAD_TAIL] = -1;
    w[AT.queue(id) + Q_TAIL_SEEN] = -1;
  }
  return { control, stats, dirty };
}

/** Two words (lo, hi) as a number when it is below 2^53, else -1 (out of the data path's reach). */
export function wordsToNumber(lo: number, hi: number): number {
  const h = hi >>> 0;
  return h >= 0x20_0000 ? -1 : h * 0x1_0000_0000 + (lo >>> 0);
}
