import type { RequireLength } from "../capabilities/base.js";
import { rd16 } from "../internal/bytes.js";
import { PciLtr } from "../registers/ltr.js";
import type { ExtendedCapabilityBase } from "./base.js";

/** Latency Tolerance Reporting: the two maximum latencies, in nanoseconds (value × 2^(5 × scale); the spec forbids
 * scales 6 and 7, decoded by the same rule). */
export interface DecodedLtr extends ExtendedCapabilityBase {
  readonly kind: "ltr";
  readonly maxSnoopLatencyNs: number;
  readonly maxNoSnoopLatencyNs: number;
}

function ltrNs(v: number): number {
  return (v & PciLtr.VALUE_MASK) * 2 ** (5 * ((v & PciLtr.SCALE_MASK) >> PciLtr.SCALE_SHIFT));
}

export function decodeLtr(b: Uint8Array, o: number, base: ExtendedCapabilityBase, need: RequireLength): DecodedLtr {
  need(8);
  return {
    ...base,
    kind: "ltr",
    maxSnoopLatencyNs: ltrNs(rd16(b, o + PciLtr.MAX_SNOOP)),
    maxNoSnoopLatencyNs: ltrNs(rd16(b, o + PciLtr.MAX_NOSNOOP)),
  };
}
