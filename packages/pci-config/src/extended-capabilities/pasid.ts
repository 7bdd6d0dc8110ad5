import type { RequireLength } from "../capabilities/base.js";
import { bit } from "../internal/bits.js";
import { rd16 } from "../internal/bytes.js";
import { PciPasid } from "../registers/pasid.js";
import type { ExtendedCapabilityBase } from "./base.js";

/** Process Address Space ID. */
export interface DecodedPasid extends ExtendedCapabilityBase {
  readonly kind: "pasid";
  readonly executePermissionSupported: boolean;
  readonly privilegedModeSupported: boolean;
  readonly maxPasidWidth: number;
  readonly enabled: boolean;
  readonly executePermissionEnabled: boolean;
  readonly privilegedModeEnabled: boolean;
}

export function decodePasid(b: Uint8Array, o: number, base: ExtendedCapabilityBase, need: RequireLength): DecodedPasid {
  need(8);
  const cap = rd16(b, o + PciPasid.CAP);
  const ctl = rd16(b, o + PciPasid.CTRL);
  return {
    ...base,
    kind: "pasid",
    executePermissionSupported: bit(cap, PciPasid.CAP_EXEC),
    privilegedModeSupported: bit(cap, PciPasid.CAP_PRIV),
    maxPasidWidth: (cap & PciPasid.CAP_WIDTH_MASK) >> PciPasid.CAP_WIDTH_SHIFT,
    enabled: bit(ctl, PciPasid.CTRL_ENABLE),
    executePermissionEnabled: bit(ctl, PciPasid.CTRL_EXEC),
    privilegedModeEnabled: bit(ctl, PciPasid.CTRL_PRIV),
  };
}
