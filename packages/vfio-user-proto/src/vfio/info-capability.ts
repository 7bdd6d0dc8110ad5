/**
 * A capability of a VFIO info structure whose body this package does not interpret. It is kept as raw bytes so it
 * can be passed on or re-encoded; the chain walker skips it safely using the `next` offsets.
 */
export interface RawInfoCapability {
  readonly kind: "Unknown";
  readonly id: number;
  readonly version: number;
  /**
   * The bytes after the 8-byte capability header, up to the next capability in memory (or the end of the structure),
   * so including any alignment padding. A view of the input (zero-copy).
   */
  readonly data: Uint8Array;
}
