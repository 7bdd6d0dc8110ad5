import type { RequireLength } from "../capabilities/base.js";
import { rd32 } from "../internal/bytes.js";
import type { ExtendedCapabilityBase } from "./base.js";

/** Vendor-Specific Extended Capability: its header (vendor-defined id, revision, length). */
export interface DecodedVsec extends ExtendedCapabilityBase {
  readonly kind: "vsec";
  readonly vsecId: number;
  readonly vsecRevision: number;
  readonly vsecLength: number;
}

export function decodeVsec(b: Uint8Array, o: number, base: ExtendedCapabilityBase, need: RequireLength): DecodedVsec {
  need(8);
  const h = rd32(b, o + 4);
  return { ...base, kind: "vsec", vsecId: h & 0xffff, vsecRevision: (h >>> 16) & 0xf, vsecLength: h >>> 20 };
}
