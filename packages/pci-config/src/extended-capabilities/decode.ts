import { extendedCapabilityTitle } from "../capability-names.js";
import { PciExtCapId } from "../registers/capability-ids.js";
import { type DecodedAcs, decodeAcs } from "./acs.js";
import { type DecodedAer, decodeAer } from "./aer.js";
import { type DecodedAri, decodeAri } from "./ari.js";
import { type DecodedAts, decodeAts } from "./ats.js";
import { type ExtendedCapabilityBase, extendedCapabilityName } from "./base.js";
import { type DecodedDsn, decodeDsn } from "./dsn.js";
import { type DecodedDvsec, decodeDvsec } from "./dvsec.js";
import { type DecodedLtr, decodeLtr } from "./ltr.js";
import { type DecodedPasid, decodePasid } from "./pasid.js";
import { type DecodedPri, decodePri } from "./pri.js";
import { type DecodedSriov, decodeSriov } from "./sriov.js";
import { type DecodedVsec, decodeVsec } from "./vsec.js";

// ---------------------------------------------------------------------------------------------------------------
// Extended capabilities (PCI Express config space from 0x100), decoded register by register: the union of what
// each extended capability decodes to, and the decoder that picks one by id.
// ---------------------------------------------------------------------------------------------------------------

/** An extended capability this package does not decode beyond its header. */
export interface DecodedOtherExtendedCap extends ExtendedCapabilityBase {
  readonly kind: "other";
}

export type DecodedExtendedCapability =
  | DecodedAer
  | DecodedDsn
  | DecodedAri
  | DecodedSriov
  | DecodedAcs
  | DecodedAts
  | DecodedPri
  | DecodedPasid
  | DecodedLtr
  | DecodedVsec
  | DecodedDvsec
  | DecodedOtherExtendedCap;

/**
 * Decodes the extended capability at `o` whose 32-bit header is `header`. `deviceType` is the PCI Express
 * device/port type of the function (from its PCI Express capability), which decides whether AER has root registers.
 * Fields past the end of the bytes read as 0; a capability that runs past them is reported in `issues`.
 */
export function decodeExtendedCapability(
  b: Uint8Array,
  o: number,
  header: number,
  deviceType: number | undefined,
  issues: string[],
): DecodedExtendedCapability {
  const id = header & 0xffff;
  const base: ExtendedCapabilityBase = {
    id,
    name: extendedCapabilityName(id),
    title: extendedCapabilityTitle(id),
    version: (header >>> 16) & 0xf,
    offset: o,
    next: (header >>> 20) & 0xffc,
  };
  const need = (len: number): void => {
    if (o + len > b.length)
      issues.push(`${base.name} extended capability at 0x${o.toString(16)} runs past the end of config space`);
  };
  switch (id) {
    case PciExtCapId.ERR:
      return decodeAer(b, o, base, deviceType, need);
    case PciExtCapId.DSN:
      return decodeDsn(b, o, base, need);
    case PciExtCapId.ARI:
      return decodeAri(b, o, base, need);
    case PciExtCapId.SRIOV:
      return decodeSriov(b, o, base, need);
    case PciExtCapId.ACS:
      return decodeAcs(b, o, base, need);
    case PciExtCapId.ATS:
      return decodeAts(b, o, base, need);
    case PciExtCapId.PRI:
      return decodePri(b, o, base, need);
    case PciExtCapId.PASID:
      return decodePasid(b, o, base, need);
    case PciExtCapId.LTR:
      return decodeLtr(b, o, base, need);
    case PciExtCapId.VENDOR:
      return decodeVsec(b, o, base, need);
    case PciExtCapId.DVSEC:
      return decodeDvsec(b, o, base, need);
    default:
      return { ...base, kind: "other" };
  }
}
