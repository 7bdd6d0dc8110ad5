/**
 * The two lengths a list message may have (doc §4.6). The C headers once declared each trailing array with one
 * element, so the "legacy" wire length counts that placeholder: header + (n + 1) elements; the "exact" length is
 * header + n elements. Decoders accept both; encoders always send the legacy one, which every PF validator expects.
 */
import { IavfError } from "../errors.js";
import { virtchnlOpName } from "../virtchnl/opcodes.js";

/** Legacy length of a list message with `n` elements of `elem` bytes after a `header`-byte header. */
export function legacyListLength(header: number, elem: number, n: number): number {
  return header + (n + 1) * elem;
}

/** Throws `BadLength` unless `len` is the exact or the legacy length for `n` elements. */
export function checkListLength(opcode: number, len: number, header: number, elem: number, n: number): void {
  const exact = header + n * elem;
  const legacy = legacyListLength(header, elem, n);
  if (len !== exact && len !== legacy) {
    throw new IavfError(
      "BadLength",
      `${virtchnlOpName(opcode)}: ${len} bytes for ${n} element(s); expected ${legacy} (legacy) or ${exact} (exact)`,
      opcode,
    );
  }
}

/** Legacy length of a byte-array message (RSS key/LUT: a 4-byte header, one placeholder byte, padded to 6). */
export function legacyByteListLength(n: number): number {
  return n === 0 ? 6 : 5 + n;
}

/**
 * Throws `BadLength` unless `len` is the exact (4 + n) or a legacy length of a byte-array message: 5 + n (one
 * placeholder byte; what VPP sends even for n = 0) or, for n = 0, the 6-byte padded struct (what the PF validator wants).
 */
export function checkByteListLength(opcode: number, len: number, n: number): void {
  const legacy = legacyByteListLength(n);
  if (len !== 4 + n && len !== 5 + n && len !== legacy) {
    throw new IavfError(
      "BadLength",
      `${virtchnlOpName(opcode)}: ${len} bytes for ${n} byte(s); expected ${legacy} (legacy) or ${4 + n} (exact)`,
      opcode,
    );
  }
}

/** Throws `BadLength` unless `len` is exactly `expected` (fixed-size messages). */
export function checkFixedLength(opcode: number, len: number, expected: number): void {
  if (len !== expected) {
    throw new IavfError("BadLength", `${virtchnlOpName(opcode)}: ${len} bytes, expected ${expected}`, opcode);
  }
}

/** Throws `BadLength` if `len` is below the `min` bytes needed to read a message's counts. */
export function checkMinLength(opcode: number, len: number, min: number): void {
  if (len < min) {
    throw new IavfError("BadLength", `${virtchnlOpName(opcode)}: ${len} bytes, at least ${min} needed`, opcode);
  }
}

/** Throws `BadFormat` for a count that must not be zero. */
export function checkNonZero(opcode: number, n: number, what: string): void {
  if (n === 0) throw new IavfError("BadFormat", `${virtchnlOpName(opcode)}: ${what} is 0`, opcode);
}
