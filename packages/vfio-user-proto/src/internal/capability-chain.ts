import { LITTLE_ENDIAN } from "./byte-order.js";
import type { Reader } from "./reader.js";

/** A capability as found in a chain: header fields plus the bytes up to the next capability (or the end). */
export interface RawCapability {
  readonly id: number;
  readonly version: number;
  /** Offset of the capability header from the start of the info structure. */
  readonly at: number;
  /** Bytes after the 8-byte header, up to the next capability in memory or the end of the structure. */
  readonly body: Uint8Array;
}

export const CAP_HEADER_SIZE = 8;

/**
 * Walks a `vfio_info_cap_header` chain (`id` u16, `version` u16, `next` u32; offsets from the start of the info
 * structure, 0 ends the chain) inside `r.bytes`. Throws `BadCapabilityChain` on a loop, an offset inside the fixed
 * part (`minOffset`), a header or body past the end, or overlapping capabilities. Always terminates: every offset is
 * visited at most once.
 */
export function readCapabilityChain(r: Reader, first: number, minOffset: number): RawCapability[] {
  const bytes = r.bytes;
  const seen = new Set<number>();
  const found: { id: number; version: number; at: number }[] = [];
  for (let at = first; at !== 0; ) {
    if (at < minOffset || at + CAP_HEADER_SIZE > bytes.length) {
      r.fail("BadCapabilityChain", `capability offset ${at} outside ${minOffset}..${bytes.length - CAP_HEADER_SIZE}`);
    }
    if (seen.has(at)) r.fail("BadCapabilityChain", `capability chain loops back to offset ${at}`);
    seen.add(at);
    found.push({ id: r.view.getUint16(at, LITTLE_ENDIAN), version: r.view.getUint16(at + 2, LITTLE_ENDIAN), at });
    at = r.view.getUint32(at + 4, LITTLE_ENDIAN);
  }
  const starts = found.map((c) => c.at).sort((a, b) => a - b);
  return found.map((c) => {
    const i = starts.indexOf(c.at);
    const end = i + 1 < starts.length ? (starts[i + 1] as number) : bytes.length;
    if (end < c.at + CAP_HEADER_SIZE) r.fail("BadCapabilityChain", `capabilities at ${c.at} and ${end} overlap`);
    return { ...c, body: bytes.subarray(c.at + CAP_HEADER_SIZE, end) };
  });
}
