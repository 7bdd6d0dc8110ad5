import { capabilityTitle } from "../capability-names.js";
import { rd16 } from "../internal/bytes.js";
import { PciCapId } from "../registers/capability-ids.js";
import { PCI_CONFIG_SPACE_SIZE } from "../registers/header.js";
import { type DecodedAf, decodeAf } from "./af.js";
import { type CapabilityBase, type CapabilityContext, capabilityName } from "./base.js";
import { type DecodedDebugPort, decodeDebugPort } from "./debug-port.js";
import { type DecodedMsi, decodeMsi } from "./msi.js";
import { type DecodedMsix, decodeMsix } from "./msix.js";
import { type DecodedPcie, decodePcie } from "./pcie/capability.js";
import { type DecodedPm, decodePm } from "./pm.js";
import { type DecodedSata, decodeSata } from "./sata.js";
import { type DecodedSlotId, decodeSlotId } from "./slot-id.js";
import { type DecodedSsvid, decodeSsvid } from "./ssvid.js";
import { type DecodedVendorCap, decodeVendor } from "./vendor.js";

// ---------------------------------------------------------------------------------------------------------------
// Standard capabilities (the list from the header's capabilities pointer), decoded register by register: the
// union of what each capability decodes to, and the decoder that picks one by id.
// ---------------------------------------------------------------------------------------------------------------

/** A capability this package does not decode beyond its header (AGP, VPD, PCI-X, HyperTransport, EA, ...). */
export interface DecodedOtherCap extends CapabilityBase {
  readonly kind: "other";
}

export type DecodedCapability =
  | DecodedPm
  | DecodedMsi
  | DecodedMsix
  | DecodedPcie
  | DecodedVendorCap
  | DecodedSlotId
  | DecodedDebugPort
  | DecodedSsvid
  | DecodedAf
  | DecodedSata
  | DecodedOtherCap;

/**
 * Decodes the standard capability at `o` (its id and next pointer already read). Fields past the end of the bytes
 * read as 0; a capability that runs past config space is reported in `issues`.
 */
export function decodeCapability(
  b: Uint8Array,
  o: number,
  id: number,
  next: number,
  ctx: CapabilityContext,
  issues: string[],
): DecodedCapability {
  const word = rd16(b, o + 2);
  const base: CapabilityBase = { id, name: capabilityName(id), title: capabilityTitle(id), offset: o, next, word };
  const need = (len: number): void => {
    if (o + len > PCI_CONFIG_SPACE_SIZE || o + len > b.length)
      issues.push(`${base.name} capability at 0x${o.toString(16)} runs past the end of config space`);
  };
  switch (id) {
    case PciCapId.PM:
      return decodePm(b, o, base, need);
    case PciCapId.MSI:
      return decodeMsi(b, o, base, need);
    case PciCapId.MSIX:
      return decodeMsix(b, o, base, need);
    case PciCapId.EXP:
      return decodePcie(b, o, base, need);
    case PciCapId.VENDOR:
      return decodeVendor(b, o, base, ctx, issues, need);
    case PciCapId.SLOTID:
      return decodeSlotId(base);
    case PciCapId.DBG:
      return decodeDebugPort(base);
    case PciCapId.SSVID:
      return decodeSsvid(b, o, base, need);
    case PciCapId.AF:
      return decodeAf(b, o, base, need);
    case PciCapId.SATA:
      return decodeSata(b, o, base, need);
    default:
      return { ...base, kind: "other" };
  }
}
