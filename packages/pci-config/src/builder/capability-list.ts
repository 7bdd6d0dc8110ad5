import { or16, wr8 } from "../internal/bytes.js";
import { PCI_CONFIG_SPACE_SIZE, PCI_STD_HEADER_SIZE, PciHeader, PciStatus } from "../registers/header.js";
import { msiCapabilitySize } from "../registers/msi.js";
import { PciMsix } from "../registers/msix.js";
import { PciExp } from "../registers/pcie.js";
import { PciPm } from "../registers/pm.js";
import type { ConfigBuffers } from "./buffers.js";
import { invalid } from "./checks.js";
import type { CapabilityDescription } from "./description.js";
import type { BarLayout, MsiLayout, MsixLayout, PcieLayout, PlacedCapability, PmLayout } from "./image.js";
import { writeMsi } from "./msi.js";
import { writeMsix } from "./msix.js";
import { writePcie } from "./pcie.js";
import { writePm } from "./pm.js";
import { writeRaw } from "./raw.js";
import { writeVendor } from "./vendor.js";

/** Where the standard capabilities went, and the layouts of the ones a device model drives. */
interface CapabilityListLayout {
  readonly placed: PlacedCapability[];
  readonly pm: PmLayout | undefined;
  readonly msi: MsiLayout | undefined;
  readonly msix: MsixLayout | undefined;
  readonly pcie: PcieLayout | undefined;
}

function capSize(c: CapabilityDescription): number {
  switch (c.kind) {
    case "pm":
      return PciPm.SIZEOF;
    case "msi":
      return msiCapabilitySize(c.address64 ?? true, c.perVectorMask ?? false);
    case "msix":
      return PciMsix.SIZEOF;
    case "pcie":
      return PciExp.SIZEOF_V2;
    case "vendor":
      return 3 + c.data.length;
    case "raw":
      return 2 + c.data.length;
  }
}

/**
 * Places the standard capabilities from 0x40 in order, each 4-byte aligned, chained from the header's capabilities
 * pointer, and sets STATUS.CAP_LIST when there is one. At most one of each of PM, MSI, MSI-X and PCI Express.
 */
export function placeCapabilities(
  buf: ConfigBuffers,
  caps: readonly CapabilityDescription[],
  bars: readonly (BarLayout | undefined)[],
): CapabilityListLayout {
  const { bytes } = buf;
  const placed: PlacedCapability[] = [];
  let pm: PmLayout | undefined;
  let msi: MsiLayout | undefined;
  let msix: MsixLayout | undefined;
  let pcie: PcieLayout | undefined;
  let at = PCI_STD_HEADER_SIZE;
  let prevNext = PciHeader.CAPABILITY_LIST;
  for (const cap of caps) {
    const len = capSize(cap);
    if (at + len > PCI_CONFIG_SPACE_SIZE) invalid(`capabilities do not fit below 0x100 (at ${cap.kind})`);
    const o = at;
    wr8(bytes, prevNext, o);
    prevNext = o + 1;
    switch (cap.kind) {
      case "pm":
        if (pm) invalid("two PM capabilities");
        pm = writePm(buf, o, cap);
        break;
      case "msi":
        if (msi) invalid("two MSI capabilities");
        msi = writeMsi(buf, o, cap);
        break;
      case "msix":
        if (msix) invalid("two MSI-X capabilities");
        msix = writeMsix(buf, o, cap, bars);
        break;
      case "pcie":
        if (pcie) invalid("two PCI Express capabilities");
        pcie = writePcie(buf, o, cap);
        break;
      case "vendor":
        writeVendor(buf, o, cap);
        break;
      case "raw":
        writeRaw(buf, o, cap);
        break;
      default:
        invalid(`unknown capability kind ${(cap as { kind: unknown }).kind}`);
    }
    placed.push({ id: bytes[o] as number, offset: o, length: len });
    at = (o + len + 3) & ~3;
  }
  if (placed.length > 0) or16(bytes, PciHeader.STATUS, PciStatus.CAP_LIST);
  return { placed, pm, msi, msix, pcie };
}
