/**
 * A data ring's software state, kept in a SharedArrayBuffer so that whichever thread serves the queue (the driver's
 * own thread, or one forwarding thread after another) carries on where the last one stopped: next-to-use and
 * next-to-clean, the buffer id and IOVA behind each slot, and a generation that the control side bumps when the rings
 * were set up again (a reset) — the serving thread then starts its ring over. A pause is acknowledged: the serving
 * thread marks each burst (`enter`/`leave`), so the control side knows when the burst under way is over (`quiesce`).
 */

/** Words of the header (Int32Array indices). */
const NTU = 0;
const NTC = 1;
/** Bumped by the control side when the device's rings were set up again (after a reset). */
const GEN = 2;
/** The generation the serving thread last set its ring up for. */
const SYNCED = 3;
/** Non-zero while the control side resets the VF: the serving thread leaves the ring alone. */
const PAUSED = 4;
/** Bumped when the doorbell moved to another file (a migration); the serving thread maps DB_FD … again. */
const DB_EPOCH = 5;
const DB_FD = 6;
const DB_OFFSET = 7;
const DB_LENGTH = 8;
const DB_AT = 9;
/** 1 while the serving thread is inside a burst of this ring (`enter` … `leave`). */
const BUSY = 10;
const HEADER_BYTES = 64;

/** Atomics.waitAsync (ES2024; Node 16+): not in the library typings this tree compiles against. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number, t: number): { async: boolean; value: Promise<unknown> | string };
  }
).waitAsync;

/** The id of a slot that holds no buffer of its own (a TX context descriptor, or a packet's descriptors but its last). */
export const NO_BUFFER = 0xffff_ffff;

/** Where a doorbell register lives: `length` bytes of `fd` from `offset` (page aligned), the register `at` bytes in. */
export interface DoorbellWindow {
  readonly fd: number;
  readonly offset: number;
  readonly length: number;
  readonly at: number;
}

export class RingState {
  /** The slot the next buffer goes to (the tail the device is told). */
  ntu: number;
  /** The oldest slot the device may still own. */
  ntc: number;
  readonly size: number;
  readonly buffer: SharedArrayBuffer;
  /** Buffer id behind each slot. */
  readonly ids: Uint32Array;
  /** IOVA of each slot's buffer (RX: re-posted as it was when a frame is dropped). */
  readonly iovas: Float64Array;
  private readonly header: Int32Array;

  private constructor(buffer: SharedArrayBuffer, size: number) {
    this.buffer = buffer;
    this.size = size;
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.ids = new Uint32Array(buffer, HEADER_BYTES, size);
    this.iovas = new Float64Array(buffer, HEADER_BYTES + Math.ceil((size * 4) / 8) * 8, size);
    this.ntu = 0;
    this.ntc = 0;
    this.load();
  }

  /** Reads next-to-use and next-to-clean from shared memory (a thread taking the ring over does, before using it). */
  load(): void {
    this.ntu = Atomics.load(this.header, NTU);
    this.ntc = Atomics.load(this.header, NTC);
  }

  /** A fresh state for a ring of `size` slots. */
  static create(size: number): RingState {
    const bytes = HEADER_BYTES + Math.ceil((size * 4) / 8) * 8 + size * 8;
    return new RingState(new SharedArrayBuffer(bytes), size);
  }

  /** This thread's view of a state made elsewhere (`buffer` of another RingState). */
  static attach(buffer: SharedArrayBuffer, size: number): RingState {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_BYTES + size * 12)
      throw new RangeError(`a ring state of ${size} slots needs a larger SharedArrayBuffer`);
    return new RingState(buffer, size);
  }

  /** Slots holding a buffer the device owns or has not handed back yet. */
  get inFlight(): number {
    return (this.ntu - this.ntc + this.size) % this.size;
  }

  /** Slots that can take a buffer (one always stays empty: tail = head means an empty ring). */
  get free(): number {
    return this.size - 1 - this.inFlight;
  }

  /** Writes next-to-use and next-to-clean back to shared memory (at the end of each burst). */
  save(): void {
    Atomics.store(this.header, NTU, this.ntu);
    Atomics.store(this.header, NTC, this.ntc);
  }

  /**
   * Starts the ring over (the device's head is 0 again); returns how many buffers were in flight (ids[0..n), iovas
   * beside). The slots are read before any is written: packed in place, a ring that had wrapped (next-to-clean after
   * next-to-use) overwrote its first slots before reading them, freeing some buffers twice and losing others.
   */
  restart(): number {
    const ids: number[] = [];
    const iovas: number[] = [];
    for (let i = this.ntc; i !== this.ntu; i = (i + 1) % this.size) {
      const id = this.ids[i] ?? 0;
      if (id === NO_BUFFER) continue;
      ids.push(id);
      iovas.push(this.iovas[i] ?? 0);
    }
    const n = ids.length;
    this.ids.set(ids);
    this.iovas.set(iovas);
    this.ntu = 0;
    this.ntc = 0;
    this.save();
    Atomics.store(this.header, SYNCED, Atomics.load(this.header, GEN));
    return n;
  }

  /** Control side: the device's rings were set up again; the serving thread restarts its ring at its next burst. */
  bumpGeneration(): void {
    Atomics.add(this.header, GEN, 1);
  }

  /** Whether the ring must be restarted before it is used (a reset happened since it was set up). */
  get stale(): boolean {
    return Atomics.load(this.header, GEN) !== Atomics.load(this.header, SYNCED);
  }

  /** 0 until the doorbell moved; then bumped at each move. */
  get doorbellEpoch(): number {
    return Atomics.load(this.header, DB_EPOCH);
  }

  /** The doorbell's window since the last move (meaningful once `doorbellEpoch` is not 0). */
  doorbellWindow(): DoorbellWindow {
    const h = this.header;
    return { fd: h[DB_FD] ?? -1, offset: h[DB_OFFSET] ?? 0, length: h[DB_LENGTH] ?? 0, at: h[DB_AT] ?? 0 };
  }

  /** Control side: the ring's doorbell is now in `w` (a migration); the serving thread maps it at its next tail write. */
  moveDoorbell(w: DoorbellWindow): void {
    const h = this.header;
    h[DB_FD] = w.fd;
    h[DB_OFFSET] = w.offset;
    h[DB_LENGTH] = w.length;
    h[DB_AT] = w.at;
    Atomics.add(h, DB_EPOCH, 1);
  }

  get paused(): boolean {
    return Atomics.load(this.header, PAUSED) !== 0;
  }

  /**
   * Serving thread, before a burst: false when the ring is paused (leave it alone); true otherwise, and the thread is
   * then inside the burst until `leave()`. Busy is stored before paused is read, and the control side stores paused
   * before it reads busy (both sequentially consistent): either the burst sees the pause or `quiesce` sees the burst.
   */
  enter(): boolean {
    Atomics.store(this.header, BUSY, 1);
    if (Atomics.load(this.header, PAUSED) === 0) return true;
    this.leave();
    return false;
  }

  /** Serving thread, after a burst `enter` let in: it acknowledges a pause that came meanwhile. */
  leave(): void {
    Atomics.store(this.header, BUSY, 0);
    if (Atomics.load(this.header, PAUSED) !== 0) Atomics.notify(this.header, BUSY);
  }

  /**
   * Control side, once `paused` is set: resolves true when no thread is inside a burst of this ring (the one that was
   * finished it), false if one still is after `timeoutMs`.
   */
  async quiesce(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (Atomics.load(this.header, BUSY) === 0) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      const w = waitAsync(this.header, BUSY, 1, left);
      if (w.async) await w.value;
    }
  }

  set paused(on: boolean) {
    Atomics.store(this.header, PAUSED, on ? 1 : 0);
  }
}
