import type { RequireLength } from "../capabilities/base.js";
import { bit } from "../internal/bits.js";
import { rd16, rd32 } from "../internal/bytes.js";
import { PciPri } from "../registers/pri.js";
import type { ExtendedCapabilityBase } from "./base.js";

/** Page Request Interface. */
export interface DecodedPri extends ExtendedCapabilityBase {
  readonly kind: "pri";
  readonly enabled: boolean;
  readonly reset: boolean;
  readonly responseFailure: boolean;
  readonly unexpectedPageRequestGroupIndex: boolean;
  readonly stopped: boolean;
  readonly outstandingPageRequestCapacity: number;
  readonly outstandingPageRequestAllocation: number;
}

export function decodePri(b: Uint8Array, o: number, base: ExtendedCapabilityBase, need: RequireLength): DecodedPri {
  need(0x10);
  const ctl = rd16(b, o + PciPri.CTRL);
  const sta = rd16(b, o + PciPri.STATUS);
  return {
    ...base,
    kind: "pri",
    enabled: bit(ctl, PciPri.CTRL_ENABLE),
    reset: bit(ctl, PciPri.CTRL_RESET),
    responseFailure: bit(sta, PciPri.STATUS_RF),
    unexpectedPageRequestGroupIndex: bit(sta, PciPri.STATUS_UPRGI),
    stopped: bit(sta, PciPri.STATUS_STOPPED),
    outstandingPageRequestCapacity: rd32(b, o + PciPri.MAX_REQ),
    outstandingPageRequestAllocation: rd32(b, o + PciPri.ALLOC_REQ),
  };
}
