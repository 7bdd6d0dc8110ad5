import { native } from "./internal/native.js";

/**
 * Copies many ranges from `src` to `dst` in one call: for i < count, `plan[3i + 2]` bytes from `src[plan[3i + 1]]`
 * to `dst[plan[3i]]` (memmove: overlap allowed). Nothing is copied unless every range lies inside both arrays
 * (SysArgumentError otherwise). For packet bursts: JavaScript copies a range only through a view made for it plus
 * TypedArray.set, which costs several times a 64-byte copy.
 */
export function copyRanges(dst: Uint8Array, src: Uint8Array, plan: Uint32Array, count: number): void {
  native.copyRanges(dst, src, plan, count);
}

/**
 * Ranges collected for `copyRanges` calls: `add` them as a burst is walked, `run` when the burst is done (and before
 * anything that announces the copies, such as a descriptor write-back). A range between other arrays than the pending
 * ones first runs those (a burst that moves to another guest memory window). Offsets are below 2^32 (an ArrayBuffer
 * is at most 4 GiB here); `copyRanges` bound-checks them. No allocation once grown.
 */
export class CopyBatch {
  #plan = new Uint32Array(3 * 64);
  #count = 0;
  #dst: Uint8Array | undefined;
  #src: Uint8Array | undefined;

  /** Ranges waiting for `run`. */
  get pending(): number {
    return this.#count;
  }

  /** Plans the copy of `length` bytes from `src[srcOffset]` to `dst[dstOffset]`. */
  add(dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, length: number): void {
    if (dst !== this.#dst || src !== this.#src) {
      this.run();
      this.#dst = dst;
      this.#src = src;
    }
    let p = this.#plan;
    const at = this.#count * 3;
    if (at + 3 > p.length) {
      const bigger = new Uint32Array(p.length * 2);
      bigger.set(p);
      this.#plan = p = bigger;
    }
    p[at] = dstOffset;
    p[at + 1] = srcOffset;
    p[at + 2] = length;
    this.#count++;
  }

  /** Copies the pending ranges and empties the batch (also when the copy throws). */
  run(): void {
    const n = this.#count;
    this.#count = 0;
    if (n > 0) native.copyRanges(this.#dst!, this.#src!, this.#plan, n);
  }

  /** Forgets the ranges added since the batch had `pending` of them (a packet found to lie half-way). */
  rewind(pending: number): void {
    if (pending >= 0 && pending < this.#count) this.#count = pending;
  }
}
