import { dirtyBitmapSize, markPageDirty } from "@emu/vfio-user-proto";

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * DMA dirty-page logging (DEVICE_FEATURE DMA_LOGGING_START/STOP/REPORT). Pages are tracked at the page size chosen
 * at START; a REPORT at another power-of-two page size sets a bit for every report page that overlaps a dirty
 * tracked page, then clears what it reported (as the kernel and libvfio-user do).
 *
 * What is logged: writes the device makes to fd-backed (mmapped) DMA memory through the server's DMA API. Writes
 * that go to the client as DMA_WRITE messages are the client's own writes and are not logged here.
 */
export class DirtyLog {
  readonly pageSize: bigint;
  private readonly shift: bigint;
  /** Empty = log everything. */
  private readonly ranges: readonly { readonly iova: bigint; readonly end: bigint }[];
  private readonly dirty = new Set<bigint>();

  constructor(pageSize: bigint, ranges: readonly { readonly iova: bigint; readonly length: bigint }[]) {
    this.pageSize = pageSize;
    let s = 0n;
    while (1n << s < pageSize) s++;
    this.shift = s;
    this.ranges = ranges.map((r) => ({ iova: r.iova, end: r.iova + r.length }));
  }

  /** Marks [iova, iova + length) written. */
  mark(iova: bigint, length: bigint): void {
    if (length <= 0n) return;
    const end = iova + length;
    if (this.ranges.length === 0) {
      this.markRaw(iova, end);
      return;
    }
    for (const r of this.ranges) {
      const s = max(iova, r.iova);
      const e = min(end, r.end);
      if (s < e) this.markRaw(s, e);
    }
  }

  private markRaw(start: bigint, end: bigint): void {
    const first = start >> this.shift;
    const last = (end - 1n) >> this.shift;
    for (let p = first; p <= last; p++) this.dirty.add(p);
  }

  /**
   * The bitmap of [iova, iova + length) at `pageSize` (a power of two): u64 little-endian words, bit i = page i,
   * bits past the range zero. Clears the tracked pages it reported.
   */
  report(iova: bigint, length: bigint, pageSize: bigint): Uint8Array {
    const out = new Uint8Array(dirtyBitmapSize(length, pageSize));
    if (this.dirty.size === 0 || length === 0n) return out;
    const end = iova + length;
    const cleared: bigint[] = [];
    for (const p of this.dirty) {
      const ps = p << this.shift;
      const pe = ps + this.pageSize;
      if (pe <= iova || ps >= end) continue;
      const s = max(ps, iova);
      const e = min(pe, end);
      const firstBit = (s - iova) / pageSize;
      const lastBit = (e - 1n - iova) / pageSize;
      for (let b = firstBit; b <= lastBit; b++) markPageDirty(out, Number(b));
      // Only a tracked page wholly inside the reported range is cleared; one that straddles its edge stays dirty.
      if (ps >= iova && pe <= end) cleared.push(p);
    }
    for (const p of cleared) this.dirty.delete(p);
    return out;
  }

  get dirtyPages(): number {
    return this.dirty.size;
  }
}
