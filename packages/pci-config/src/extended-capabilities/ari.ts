import type { RequireLength } from "../capabilities/base.js";
import { bit } from "../internal/bits.js";
import { rd16 } from "../internal/bytes.js";
import { PciAri } from "../registers/ari.js";
import type { ExtendedCapabilityBase } from "./base.js";

/** Alternative Routing-ID Interpretation. */
export interface DecodedAri extends ExtendedCapabilityBase {
  readonly kind: "ari";
  readonly mfvcFunctionGroupsCapable: boolean;
  readonly acsFunctionGroupsCapable: boolean;
  readonly nextFunction: number;
  readonly mfvcFunctionGroupsEnabled: boolean;
  readonly acsFunctionGroupsEnabled: boolean;
  readonly functionGroup: number;
}

export function decodeAri(b: Uint8Array, o: number, base: ExtendedCapabilityBase, need: RequireLength): DecodedAri {
  need(PciAri.SIZEOF);
  const cap = rd16(b, o + PciAri.CAP);
  const ctl = rd16(b, o + PciAri.CTRL);
  return {
    ...base,
    kind: "ari",
    mfvcFunctionGroupsCapable: bit(cap, PciAri.CAP_MFVC),
    acsFunctionGroupsCapable: bit(cap, PciAri.CAP_ACS),
    nextFunction: (cap >> PciAri.CAP_NFN_SHIFT) & 0xff,
    mfvcFunctionGroupsEnabled: bit(ctl, PciAri.CTRL_MFVC),
    acsFunctionGroupsEnabled: bit(ctl, PciAri.CTRL_ACS),
    functionGroup: (ctl & PciAri.CTRL_FG_MASK) >> PciAri.CTRL_FG_SHIFT,
  };
}
