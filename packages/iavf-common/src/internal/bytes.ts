/** Byte-level helpers shared by the codecs: every multi-byte field of the iavf interface is little-endian. */
import { IavfError } from "../errors.js";

/** The byte order of every field (the `littleEndian` argument of DataView). */
export const LE = true;

/** A DataView over exactly `bytes` (which may be a slice of a larger buffer). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a u64 field as a bigint. */
export function getU64(v: DataView, at: number): bigint {
  return v.getBigUint64(at, LE);
}

/** Reads a u64 field as a number (guest addresses fit in 53 bits); no allocation. */
export function getU64Number(v: DataView, at: number): number {
  return v.getUint32(at + 4, LE) * 0x1_0000_0000 + v.getUint32(at, LE);
}

/** Writes a non-negative integer number below 2^53 as a u64 field; no allocation. */
export function setU64Number(v: DataView, at: number, value: number): void {
  v.setUint32(at, value >>> 0, LE);
  v.setUint32(at + 4, Math.floor(value / 0x1_0000_0000) >>> 0, LE);
}

/**
 * Whether this host stores 32-bit words little-endian, as the descriptors are: the word forms of the descriptor codecs
 * (`…Words`, `rxWords`, `writeRxWritebackBody`) read and write host-order words, so a data path that uses them
 * refuses a big-endian host (s390x) with this.
 */
export const LITTLE_ENDIAN_HOST = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** `setU64Number` into host-order 32-bit words: words `at` (low half) and `at + 1` (high half) of `w`. */
export function setU64Words(w: Uint32Array, at: number, value: number): void {
  w[at] = value % 0x1_0000_0000;
  w[at + 1] = value / 0x1_0000_0000;
}

/** Checks that `value` is an integer in [min, max] and returns it; throws an OutOfRange error naming `field`. */
export function checkInt(value: number, max: number, field: string, opcode?: number, min = 0): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new IavfError("OutOfRange", `${field} ${value} is outside [${min}, ${max}]`, opcode);
  }
  return value;
}

/** Checks that a bigint fits in a u64 and returns it. */
export function checkU64(value: bigint, field: string, opcode?: number): bigint {
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn) {
    throw new IavfError("OutOfRange", `${field} ${value} does not fit in a u64`, opcode);
  }
  return value;
}

export const U8 = 0xff;
export const U16 = 0xffff;
export const U32 = 0xffff_ffff;
