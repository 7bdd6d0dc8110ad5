import { ProtoError } from "./errors.js";

/**
 * Dirty-page bitmaps (DMA_LOGGING_REPORT, DMA_UNMAP GET_DIRTY_BITMAP): an array of little-endian u64 words, one bit
 * per page, so bit n is bit (n & 7) of byte (n >> 3). Bits past the range must be zero.
 */

/** Bytes of bitmap for `length` bytes of IOVA at `pageSize` pages: whole u64 words. */
export function dirtyBitmapSize(length: bigint, pageSize: bigint): number {
  if (pageSize <= 0n || (pageSize & (pageSize - 1n)) !== 0n) {
    throw new ProtoError("OutOfRange", `page size ${pageSize} is not a power of two`);
  }
  const pages = (length + pageSize - 1n) / pageSize;
  const bytes = ((pages + 63n) / 64n) * 8n;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtoError("TooLarge", `bitmap of ${bytes} bytes`);
  return Number(bytes);
}

/** True if page `page` (counted from the range's `iova`) is marked dirty. Pages past the bitmap read as clean. */
export function isPageDirty(bitmap: Uint8Array, page: number): boolean {
  const byte = bitmap[page >>> 3];
  return byte !== undefined && (byte & (1 << (page & 7))) !== 0;
}

/** Marks page `page` dirty. Throws `ProtoError("OutOfRange")` past the bitmap. */
export function markPageDirty(bitmap: Uint8Array, page: number): void {
  const i = page >>> 3;
  if (!Number.isInteger(page) || page < 0 || i >= bitmap.length) {
    throw new ProtoError("OutOfRange", `page ${page} outside a bitmap of ${bitmap.length * 8} pages`);
  }
  bitmap[i] = (bitmap[i] as number) | (1 << (page & 7));
}
