import { LITTLE_ENDIAN } from "./byte-order.js";

const TWO_32 = 0x1_0000_0000;

/**
 * A u64 field read as a number without allocating a bigint: exact up to `Number.MAX_SAFE_INTEGER`, above it a rounded
 * number that is still above it (so range checks against real sizes fail as they should).
 */
export function readU64At(view: DataView, at: number): number {
  const lo = view.getUint32(at + (LITTLE_ENDIAN ? 0 : 4), LITTLE_ENDIAN);
  const hi = view.getUint32(at + (LITTLE_ENDIAN ? 4 : 0), LITTLE_ENDIAN);
  return hi * TWO_32 + lo;
}

/** Writes a u64 field from a bigint or a safe non-negative integer (no bigint allocated for a number). */
export function writeU64At(view: DataView, at: number, value: bigint | number): void {
  if (typeof value === "bigint") {
    view.setBigUint64(at, value, LITTLE_ENDIAN);
    return;
  }
  const lo = value >>> 0;
  view.setUint32(at + (LITTLE_ENDIAN ? 0 : 4), lo, LITTLE_ENDIAN);
  view.setUint32(at + (LITTLE_ENDIAN ? 4 : 0), (value - lo) / TWO_32, LITTLE_ENDIAN);
}
