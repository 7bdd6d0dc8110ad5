// The packet-buffer pool (DPDK's mbuf mempool): fixed-size buffers whose bytes live in a memfd that every thread of
// the process maps itself, and whose bookkeeping (free stack, per-buffer metadata) lives in a SharedArrayBuffer.
// A packet is handed over by reference — its buffer index; offset and length are the buffer's metadata — and never
// copied inside the process. Each thread's pool object keeps a cache of free indices (as DPDK's per-lcore mempool
// cache does), so the shared stack and its lock are touched once per many packets.
import { randomUUID } from "node:crypto";
import { closeFd, MAX_MAPPING_LENGTH, type Mapping, memfdCreate, mmap, pageSize } from "@emu/sys";
import { PortError } from "./errors.js";

/** Metadata words per buffer in `MbufPool.meta` (buffer i's words start at i * MBUF_META_WORDS). */
export const MBUF_META_WORDS = 8;
/** Where the packet starts, counted from the start of the buffer (the headroom after `alloc`). */
export const MBUF_OFF = 0;
/** The packet's length in bytes. */
export const MBUF_LEN = 1;
/** An RSS hash a receiving port may set (0 when none). */
export const MBUF_HASH = 2;
/** Driver-defined flags (packet type, offload results) and the transmit checksum request (offload.ts); 0 after `alloc`. */
export const MBUF_FLAGS = 3;
/** The transmit segmentation request (TSO: MSS and the L4 header's length, offload.ts); 0 after `alloc`. */
export const MBUF_TSO = 4;

// Control words (Int32Array over the SharedArrayBuffer); the free stack starts a cache line later.
const LOCK = 0; // 0 free, 1 held, 2 held with waiters
const TOP = 1; // free indices on the stack
const STACK = 16;

/** What a thread needs to use a pool made elsewhere in the process: structured-cloneable. */
export interface MbufPoolDescription {
  /** Unique per pool: ports that exchange buffers check that they share one. */
  readonly id: string;
  readonly name: string;
  /** The memfd holding the buffers' bytes (fd numbers are process-wide: a worker maps the same file). */
  readonly fd: number;
  /** Bytes of the memfd (count * bufSize, rounded up to a page). */
  readonly size: number;
  readonly count: number;
  /** Bytes per buffer: headroom + data room. */
  readonly bufSize: number;
  readonly headroom: number;
  /** Free stack and metadata. */
  readonly control: SharedArrayBuffer;
}

export interface MbufPoolOptions {
  /** Buffers in the pool. */
  readonly count: number;
  /** Bytes a packet may use (default 2048, as RTE_MBUF_DEFAULT_DATAROOM). */
  readonly dataRoom?: number;
  /** Bytes reserved before each packet (default 128, as RTE_PKTMBUF_HEADROOM). */
  readonly headroom?: number;
}

export interface MbufCacheOptions {
  /** Free indices this thread keeps to itself (default 512). Bursts up to half of it are served from the cache. */
  readonly cacheSize?: number;
}

/**
 * A pool of packet buffers, as one thread sees it. `create` makes one (the owner closes it); `attach` maps one made
 * elsewhere in the process (a worker thread, from `describe()`).
 *
 * Hot-path access is by index into `bytes` and `meta`: packet i occupies
 * `bytes[i * bufSize + meta[i * MBUF_META_WORDS + MBUF_OFF] ...]` for `meta[i * MBUF_META_WORDS + MBUF_LEN]` bytes.
 */
export class MbufPool {
  readonly id: string;
  readonly name: string;
  readonly count: number;
  readonly bufSize: number;
  readonly headroom: number;
  readonly dataRoom: number;
  /** Every buffer's bytes: buffer i starts at i * bufSize. */
  readonly bytes: Uint8Array;
  /** MBUF_META_WORDS words per buffer. */
  readonly meta: Uint32Array;
  readonly #desc: MbufPoolDescription;
  readonly #ctl: Int32Array;
  readonly #stack: Uint32Array;
  readonly #cache: Uint32Array;
  #cached = 0;
  readonly #mapping: Mapping;
  readonly #owner: boolean;
  #closed = false;

  private constructor(desc: MbufPoolDescription, owner: boolean, cache: MbufCacheOptions) {
    const cacheSize = cache.cacheSize ?? 512;
    if (!Number.isInteger(cacheSize) || cacheSize < 2 || cacheSize > 65536)
      throw new PortError("InvalidValue", `mbuf cache size ${cacheSize} must be 2..65536`);
    this.#desc = desc;
    this.id = desc.id;
    this.name = desc.name;
    this.count = desc.count;
    this.bufSize = desc.bufSize;
    this.headroom = desc.headroom;
    this.dataRoom = desc.bufSize - desc.headroom;
    this.#owner = owner;
    this.#mapping = mmap(desc.fd, 0, desc.size);
    this.bytes = new Uint8Array(this.#mapping.buffer);
    this.#ctl = new Int32Array(desc.control, 0, STACK);
    this.#stack = new Uint32Array(desc.control, STACK * 4, desc.count);
    this.meta = new Uint32Array(desc.control, (STACK + desc.count) * 4, desc.count * MBUF_META_WORDS);
    this.#cache = new Uint32Array(cacheSize);
  }

  /** Makes a pool: a memfd of count buffers, all free. */
  static create(name: string, options: MbufPoolOptions, cache: MbufCacheOptions = {}): MbufPool {
    const { count } = options;
    const dataRoom = options.dataRoom ?? 2048;
    const headroom = options.headroom ?? 128;
    if (!Number.isInteger(count) || count < 1 || count >= 2 ** 31)
      throw new PortError("InvalidValue", `mbuf pool ${name}: count ${count} must be a positive integer`);
    if (!Number.isInteger(dataRoom) || dataRoom < 64 || dataRoom > 65535)
      throw new PortError("InvalidValue", `mbuf pool ${name}: data room ${dataRoom} must be 64..65535`);
    if (!Number.isInteger(headroom) || headroom < 0 || headroom > 1024)
      throw new PortError("InvalidValue", `mbuf pool ${name}: headroom ${headroom} must be 0..1024`);
    const bufSize = dataRoom + headroom;
    const size = Math.ceil((count * bufSize) / pageSize) * pageSize;
    if (size > MAX_MAPPING_LENGTH)
      throw new PortError(
        "InvalidValue",
        `mbuf pool ${name}: ${count} buffers of ${bufSize} bytes exceed ${MAX_MAPPING_LENGTH} bytes`,
      );
    const control = new SharedArrayBuffer((STACK + count + count * MBUF_META_WORDS) * 4);
    const stack = new Uint32Array(control, STACK * 4, count);
    // Lowest indices on top, so a fresh pool hands out buffers from the start of the file.
    for (let i = 0; i < count; i++) stack[i] = count - 1 - i;
    new Int32Array(control)[TOP] = count;
    const fd = memfdCreate(`mbuf-pool:${name}`, size);
    try {
      return new MbufPool({ id: randomUUID(), name, fd, size, count, bufSize, headroom, control }, true, cache);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  /** This thread's view of a pool made elsewhere in the process (maps its memfd). */
  static attach(desc: MbufPoolDescription, cache: MbufCacheOptions = {}): MbufPool {
    return new MbufPool(desc, false, cache);
  }

  describe(): MbufPoolDescription {
    return this.#desc;
  }

  /** The memfd of the buffers' bytes (e.g. to DMA-map it into a device). Owned by the pool's creator. */
  get fd(): number {
    return this.#desc.fd;
  }

  /**
   * Takes n buffers into bufs[at..at+n): all or none (returns n or 0). Each starts empty: offset = headroom,
   * length 0, hash and flags 0.
   */
  alloc(bufs: Uint32Array, n: number, at = 0): number {
    const cache = this.#cache;
    if (n > cache.length >> 1) return this.#allocDirect(bufs, n, at);
    if (n > this.#cached) {
      this.#refill(n);
      if (n > this.#cached) return 0;
    }
    const meta = this.meta;
    const hr = this.headroom;
    let c = this.#cached;
    for (let i = 0; i < n; i++) {
      const b = cache[--c]!;
      bufs[at + i] = b;
      const m = b * MBUF_META_WORDS;
      meta[m] = hr;
      meta[m + 1] = 0;
      meta[m + 2] = 0;
      meta[m + 3] = 0;
      meta[m + 4] = 0;
    }
    this.#cached = c;
    return n;
  }

  /** Returns bufs[from..from+n) to the pool. An index out of range throws (nothing of this call is freed then). */
  free(bufs: Uint32Array, n: number, from = 0): void {
    const cache = this.#cache;
    const count = this.count;
    for (let i = 0; i < n; i++)
      if (bufs[from + i]! >= count)
        throw new PortError("InvalidValue", `mbuf pool ${this.name}: no buffer ${bufs[from + i]} (it has ${count})`);
    if (n > cache.length >> 1) {
      this.#pushShared(bufs, from, n);
      return;
    }
    if (this.#cached + n > cache.length) this.#spill(this.#cached + n - (cache.length >> 1));
    let c = this.#cached;
    for (let i = 0; i < n; i++) cache[c++] = bufs[from + i]!;
    this.#cached = c;
  }

  /** Returns one buffer. */
  freeOne(buf: number): void {
    if (!(buf >= 0 && buf < this.count))
      throw new PortError("InvalidValue", `mbuf pool ${this.name}: no buffer ${buf} (it has ${this.count})`);
    if (this.#cached === this.#cache.length) this.#spill(this.#cache.length >> 1);
    this.#cache[this.#cached++] = buf;
  }

  /** Free buffers this thread can see: on the shared stack plus in its own cache. */
  available(): number {
    return Atomics.load(this.#ctl, TOP) + this.#cached;
  }

  /** Gives this thread's cached buffers back to the shared stack (before a thread stops using the pool). */
  flush(): void {
    if (this.#cached > 0) this.#spill(this.#cached);
  }

  /** Byte offset in `bytes` of packet `buf`'s first byte. */
  offset(buf: number): number {
    return buf * this.bufSize + this.meta[buf * MBUF_META_WORDS + MBUF_OFF]!;
  }

  length(buf: number): number {
    return this.meta[buf * MBUF_META_WORDS + MBUF_LEN]!;
  }

  /** Sets packet `buf`'s length (and where it starts, from the buffer's start): both within the buffer. */
  setPacket(buf: number, length: number, off = this.headroom): void {
    if (!(buf >= 0 && buf < this.count))
      throw new PortError("InvalidValue", `mbuf pool ${this.name}: no buffer ${buf}`);
    if (!(Number.isInteger(off) && Number.isInteger(length) && off >= 0 && length >= 0 && off + length <= this.bufSize))
      throw new PortError(
        "InvalidValue",
        `packet at ${off} of ${length} bytes does not fit a ${this.bufSize}-byte buffer`,
      );
    const m = buf * MBUF_META_WORDS;
    this.meta[m + MBUF_OFF] = off;
    this.meta[m + MBUF_LEN] = length;
  }

  /** A view of packet `buf`'s bytes (allocates a view: for tests and slow paths; hot code indexes `bytes`). */
  packet(buf: number): Uint8Array {
    const at = this.offset(buf);
    return this.bytes.subarray(at, at + this.length(buf));
  }

  /** Flushes this thread's cache and unmaps; the creator also closes the memfd. Idempotent; unmaps even if the flush throws. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.flush();
    } finally {
      this.#mapping.unmap();
      if (this.#owner) closeFd(this.#desc.fd);
    }
  }

  #refill(n: number): void {
    const cache = this.#cache;
    const want = Math.min((cache.length >> 1) + n - this.#cached, cache.length - this.#cached);
    this.#lock();
    const top = this.#ctl[TOP]!;
    const k = Math.min(want, top);
    const stack = this.#stack;
    let c = this.#cached;
    for (let i = top - 1; i >= top - k; i--) cache[c++] = stack[i]!;
    this.#ctl[TOP] = top - k;
    this.#unlock();
    this.#cached = c;
  }

  #spill(k: number): void {
    const cache = this.#cache;
    this.#lock();
    const top = this.#ctl[TOP]!;
    if (top + k > this.count) {
      this.#unlock();
      throw new PortError("Pool", `mbuf pool ${this.name}: more buffers freed than it holds (one freed twice?)`);
    }
    const stack = this.#stack;
    const c = this.#cached;
    for (let i = 0; i < k; i++) stack[top + i] = cache[c - k + i]!;
    this.#ctl[TOP] = top + k;
    this.#unlock();
    this.#cached = c - k;
  }

  #allocDirect(bufs: Uint32Array, n: number, at: number): number {
    this.#lock();
    const top = this.#ctl[TOP]!;
    if (top < n) {
      this.#unlock();
      return 0;
    }
    for (let i = 0; i < n; i++) bufs[at + i] = this.#stack[top - 1 - i]!;
    this.#ctl[TOP] = top - n;
    this.#unlock();
    const meta = this.meta;
    for (let i = 0; i < n; i++) {
      const m = bufs[at + i]! * MBUF_META_WORDS;
      meta[m] = this.headroom;
      meta[m + 1] = 0;
      meta[m + 2] = 0;
      meta[m + 3] = 0;
      meta[m + 4] = 0;
    }
    return n;
  }

  #pushShared(bufs: Uint32Array, from: number, n: number): void {
    this.#lock();
    const top = this.#ctl[TOP]!;
    if (top + n > this.count) {
      this.#unlock();
      throw new PortError("Pool", `mbuf pool ${this.name}: more buffers freed than it holds (one freed twice?)`);
    }
    for (let i = 0; i < n; i++) this.#stack[top + i] = bufs[from + i]!;
    this.#ctl[TOP] = top + n;
    this.#unlock();
  }

  // A futex-style mutex (0 free, 1 held, 2 held with waiters): a short spin, then Atomics.wait.
  #lock(): void {
    const c = this.#ctl;
    if (Atomics.compareExchange(c, LOCK, 0, 1) === 0) return;
    for (let i = 0; i < 100; i++)
      if (Atomics.load(c, LOCK) === 0 && Atomics.compareExchange(c, LOCK, 0, 1) === 0) return;
    while (Atomics.exchange(c, LOCK, 2) !== 0) Atomics.wait(c, LOCK, 2, 10);
  }

  #unlock(): void {
    if (Atomics.exchange(this.#ctl, LOCK, 0) === 2) Atomics.notify(this.#ctl, LOCK, 1);
  }
}
