// A single-producer single-consumer ring of buffer indices in a SharedArrayBuffer (DPDK's rte_ring with SP/SC
// flags): one thread enqueues, one dequeues, each from its own PacketRing object over the same memory. One
// Atomics.load and one Atomics.store per burst, none per packet.
import { PortError } from "./errors.js";

const HEAD = 0; // written by the producer
const TAIL = 16; // written by the consumer (another cache line)
const SLOTS = 128; // bytes of header

/** One end (or both) of a ring: construct one per thread with `PacketRing.from(buffer)`. */
export class PacketRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly #idx: Int32Array;
  readonly #slots: Uint32Array;
  readonly #mask: number;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.capacity = (buffer.byteLength - SLOTS) / 4;
    if (!(this.capacity >= 1 && (this.capacity & (this.capacity - 1)) === 0))
      throw new PortError("InvalidValue", `not a packet ring: ${buffer.byteLength} bytes`);
    this.#mask = this.capacity - 1;
    this.#idx = new Int32Array(buffer, 0, SLOTS / 4);
    this.#slots = new Uint32Array(buffer, SLOTS, this.capacity);
  }

  /** A ring of `size` slots (a power of two, 1..2^24). */
  static create(size: number): PacketRing {
    if (!Number.isInteger(size) || size < 1 || size > 2 ** 24 || (size & (size - 1)) !== 0)
      throw new PortError("InvalidValue", `ring size ${size} must be a power of two from 1 to ${2 ** 24}`);
    return new PacketRing(new SharedArrayBuffer(SLOTS + size * 4));
  }

  /** This thread's view of a ring made elsewhere. */
  static from(buffer: SharedArrayBuffer): PacketRing {
    return new PacketRing(buffer);
  }

  /** Puts up to n of bufs[0..n) in; returns how many fit (the rest stay the caller's). Producer side only. */
  enqueue(bufs: Uint32Array, n: number): number {
    const idx = this.#idx;
    const head = Atomics.load(idx, HEAD); // only this side writes it (maybe an earlier thread)
    const used = (head - Atomics.load(idx, TAIL)) >>> 0;
    const k = Math.min(n, this.capacity - used);
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = 0; i < k; i++) slots[(head + i) & mask] = bufs[i]!;
    Atomics.store(idx, HEAD, (head + k) | 0);
    return k;
  }

  /** Takes up to n into bufs[0..n); returns how many. Consumer side only. */
  dequeue(bufs: Uint32Array, n: number): number {
    const idx = this.#idx;
    const tail = Atomics.load(idx, TAIL); // only this side writes it (maybe an earlier thread)
    const ready = (Atomics.load(idx, HEAD) - tail) >>> 0;
    const k = Math.min(n, ready);
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = 0; i < k; i++) bufs[i] = slots[(tail + i) & mask]!;
    Atomics.store(idx, TAIL, (tail + k) | 0);
    return k;
  }

  /** Entries in the ring now. */
  count(): number {
    return (Atomics.load(this.#idx, HEAD) - Atomics.load(this.#idx, TAIL)) >>> 0;
  }
}
