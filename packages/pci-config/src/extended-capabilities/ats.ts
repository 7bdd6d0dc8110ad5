import type { RequireLength } from "../capabilities/base.js";
import { bit } from "../internal/bits.js";
import { rd16 } from "../internal/bytes.js";
import { PciAts } from "../registers/ats.js";
import type { ExtendedCapabilityBase } from "./base.js";

/** Address Translation Service. */
export interface DecodedAts extends ExtendedCapabilityBase {
  readonly kind: "ats";
  readonly invalidateQueueDepth: number;
  readonly enabled: boolean;
  readonly smallestTranslationUnit: number;
}

export function decodeAts(b: Uint8Array, o: number, base: ExtendedCapabilityBase, need: RequireLength): DecodedAts {
  need(8);
  const ctl = rd16(b, o + PciAts.CTRL);
  return {
    ...base,
    kind: "ats",
    invalidateQueueDepth: rd16(b, o + PciAts.CAP) & PciAts.CAP_IQD_MASK,
    enabled: bit(ctl, PciAts.CTRL_ENABLE),
    smallestTranslationUnit: ctl & PciAts.CTRL_STU_MASK,
  };
}
