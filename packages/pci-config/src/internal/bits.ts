// Reading named bits and fields out of a register value.

/** Whether any bit of `mask` is set in `v`. */
export const bit = (v: number, mask: number): boolean => (v & mask) !== 0;
/** The field `mask` of `v`, shifted down by `shift` (unsigned). */
export const field = (v: number, mask: number, shift: number): number => ((v & mask) >>> shift) >>> 0;
