import { invalid } from "../errors.js";

/** 2^64 - 1, the largest u64. */
export const U64_MAX = (1n << 64n) - 1n;

/** `v` as a u32, or an "InvalidArgument" error naming `what`. */
export function u32(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw invalid(`${what} must be an integer from 0 to 2^32-1, got ${String(v)}`);
  return v;
}

/** `v` as a u64 bigint, or an "InvalidArgument" error naming `what`. */
export function u64(v: unknown, what: string): bigint {
  if (typeof v !== "bigint" || v < 0n || v > U64_MAX) throw invalid(`${what} must be a bigint from 0 to 2^64-1`);
  return v;
}

/** `v` as a byte length (a non-negative safe integer), or an "InvalidArgument" error naming `what`. */
export function length(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw invalid(`${what} must be a non-negative integer, got ${String(v)}`);
  return v;
}

/** Below this an offset plus any safe-integer length stays within 2^64 (no bigint arithmetic on the hot path). */
const SAFE_END = U64_MAX + 1n - (1n << 53n);

/** True if offset + len (a safe integer) passes 2^64. */
export function overflows64(offset: bigint, len: number): boolean {
  return offset > SAFE_END && offset + BigInt(len) > U64_MAX + 1n;
}
