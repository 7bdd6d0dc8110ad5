import type { RequireLength } from "../capabilities/base.js";
import { bit } from "../internal/bits.js";
import { rd16 } from "../internal/bytes.js";
import { PciAcs } from "../registers/acs.js";
import type { ExtendedCapabilityBase } from "./base.js";

/** Access Control Services (capability and control registers). */
export interface AcsBits {
  readonly sourceValidation: boolean;
  readonly translationBlocking: boolean;
  readonly requestRedirect: boolean;
  readonly completionRedirect: boolean;
  readonly upstreamForwarding: boolean;
  readonly egressControl: boolean;
  readonly directTranslatedP2p: boolean;
  readonly raw: number;
}

export interface DecodedAcs extends ExtendedCapabilityBase {
  readonly kind: "acs";
  readonly capabilities: AcsBits;
  readonly control: AcsBits;
  readonly egressControlVectorSize: number;
}

function acsBits(v: number): AcsBits {
  return {
    sourceValidation: bit(v, PciAcs.SV),
    translationBlocking: bit(v, PciAcs.TB),
    requestRedirect: bit(v, PciAcs.RR),
    completionRedirect: bit(v, PciAcs.CR),
    upstreamForwarding: bit(v, PciAcs.UF),
    egressControl: bit(v, PciAcs.EC),
    directTranslatedP2p: bit(v, PciAcs.DT),
    raw: v,
  };
}

export function decodeAcs(b: Uint8Array, o: number, base: ExtendedCapabilityBase, need: RequireLength): DecodedAcs {
  need(8);
  const cap = rd16(b, o + PciAcs.CAP);
  return {
    ...base,
    kind: "acs",
    capabilities: acsBits(cap),
    control: acsBits(rd16(b, o + PciAcs.CTRL)),
    egressControlVectorSize: cap >> PciAcs.CAP_ECVS_SHIFT,
  };
}
