/**
 * A growable byte buffer that whole frames are written into in place, back to back, to leave in one send: the
 * zero-allocation encoders (`appendRegionReadReply`, `appendDmaReadRequest`, …) append to it, `append` copies a frame
 * encoded elsewhere. One per socket direction; never shared between connections (no module-level arena).
 *
 * ```ts
 * const out = new FrameArena();
 * appendRegionReadReply(out, msgId, offset, region, data); // for every request of a chunk
 * socket.send(out.take()); // one sendmsg; the socket copies what the kernel does not take at once
 * ```
 */
export class FrameArena {
  /** The buffer; frames occupy [0, length). Replaced when it grows: read it after {@link reserve}. */
  bytes: Uint8Array;
  /** A DataView over all of {@link bytes} (replaced with it). */
  view: DataView;
  /** Bytes written. */
  length = 0;
  private readonly initial: number;

  /** `capacity`: the starting size; a buffer grown past 16 × that by a burst is dropped again by {@link take}. */
  constructor(capacity = 65536) {
    this.initial = Math.max(64, capacity | 0);
    this.bytes = new Uint8Array(this.initial);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for `n` more bytes at the end and counts them as written; returns where they start. */
  reserve(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.bytes.length) this.grow(need);
    this.length = need;
    return at;
  }

  /** Copies a whole frame (or several) to the end. */
  append(frame: Uint8Array): void {
    const at = this.reserve(frame.length);
    this.bytes.set(frame, at);
  }

  /**
   * The bytes written (a view, valid until the next write) and an empty arena. Hand the view to a send that copies or
   * finishes with it before anything is appended again.
   */
  take(): Uint8Array {
    const out = this.bytes.subarray(0, this.length);
    this.clear();
    return out;
  }

  /**
   * Empties the arena (a buffer grown past 16 × its starting size is dropped). For a sender that sends
   * [0, {@link length}) of {@link bytes} itself (without the view `take` makes), once that send has copied or
   * finished with them.
   */
  clear(): void {
    this.length = 0;
    if (this.bytes.length > this.initial * 16) {
      this.bytes = new Uint8Array(this.initial);
      this.view = new DataView(this.bytes.buffer);
    }
  }

  /** Copies `count` bytes of `src` from `from` to `at` of {@link bytes} (reserved already), without a view of `src`. */
  copyIn(at: number, src: Uint8Array, from: number, count: number): void {
    const bytes = this.bytes;
    if (count <= 32) for (let i = 0; i < count; i++) bytes[at + i] = src[from + i] as number;
    else bytes.set(src.subarray(from, from + count), at);
  }

  private grow(need: number): void {
    let cap = this.bytes.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }
}
