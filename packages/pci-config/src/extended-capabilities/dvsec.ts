import type { RequireLength } from "../capabilities/base.js";
import { rd16, rd32 } from "../internal/bytes.js";
import type { ExtendedCapabilityBase } from "./base.js";

/** Designated Vendor-Specific Extended Capability: its two header registers. */
export interface DecodedDvsec extends ExtendedCapabilityBase {
  readonly kind: "dvsec";
  readonly dvsecVendorId: number;
  readonly dvsecRevision: number;
  readonly dvsecLength: number;
  readonly dvsecId: number;
}

export function decodeDvsec(b: Uint8Array, o: number, base: ExtendedCapabilityBase, need: RequireLength): DecodedDvsec {
  need(10);
  const h = rd32(b, o + 4);
  return {
    ...base,
    kind: "dvsec",
    dvsecVendorId: h & 0xffff,
    dvsecRevision: (h >>> 16) & 0xf,
    dvsecLength: h >>> 20,
    dvsecId: rd16(b, o + 8),
  };
}
