import { rd16 } from "../internal/bytes.js";
import type { CapabilityBase, RequireLength } from "./base.js";

/** Bridge subsystem vendor and device IDs. */
export interface DecodedSsvid extends CapabilityBase {
  readonly kind: "ssvid";
  readonly subsystemVendorId: number;
  readonly subsystemId: number;
}

export function decodeSsvid(b: Uint8Array, o: number, base: CapabilityBase, need: RequireLength): DecodedSsvid {
  need(8);
  return { ...base, kind: "ssvid", subsystemVendorId: rd16(b, o + 4), subsystemId: rd16(b, o + 6) };
}
