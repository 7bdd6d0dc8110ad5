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
 * Ranges collected for one `copyRanges` call: `add` them as a burst is walked, `run` when the burst is done (and
 * before anything that announces the copies, such as a descriptor write-back). Offsets are below 2^32 (an
 * ArrayBuffer is at most 4 GiB here); the arrays passed to `run` bound-check them. No allocation once grown.
 */
export class CopyBatch {
  #plan = new Uint32Array(3 * 64);
  #count = 0;

  /** Ranges waiting for `run`. */
  get pending(): number {
    return this.#count;
  }

  add(dstOffset: number, srcOffset: number, length: number): void {
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

  /** Copies the pending ranges from `src` to `dst` and empties the batch (also when the copy throws). */
  run(dst: Uint8Array, src: Uint8Array): void {
    const n = this.#count;
    this.#count = 0;
    if (n > 0) native.copyRanges(dst, src, this.#plan, n);
  }

  /** Forgets the ranges added since the batch had `pending` of them (a packet found to lie half-way). */
  rewind(pending: number): void {
    if (pending >= 0 && pending < this.#count) this.#count = pending;
  }
}
