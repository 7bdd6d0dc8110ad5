import { rd16 } from "../internal/bytes.js";
import { PCI_CONFIG_SPACE_SIZE, PCIE_CONFIG_SPACE_SIZE, PciHeader } from "../registers/header.js";
import { writeBars, writeRom } from "./bars.js";
import type { ConfigBuffers } from "./buffers.js";
import { placeCapabilities } from "./capability-list.js";
import { invalid } from "./checks.js";
import type { PciDeviceDescription } from "./description.js";
import { placeExtendedCapabilities } from "./extended-capabilities.js";
import { writeHeader } from "./header.js";
import type { PciConfigImage } from "./image.js";

/**
 * Builds a type-0 config space from a description. Throws `PciConfigError` ("InvalidDescription") for a
 * description no hardware could have: a size that is not a power of two or out of range, overlapping BARs, an MSI-X
 * table outside its BAR, capabilities that do not fit.
 */
export function buildConfigSpace(desc: PciDeviceDescription): PciConfigImage {
  const caps = desc.capabilities ?? [];
  const extCaps = desc.extendedCapabilities ?? [];
  const hasPcie = caps.some((c) => c.kind === "pcie");
  const size = desc.configSpaceSize ?? (hasPcie || extCaps.length > 0 ? PCIE_CONFIG_SPACE_SIZE : PCI_CONFIG_SPACE_SIZE);
  if (size !== PCI_CONFIG_SPACE_SIZE && size !== PCIE_CONFIG_SPACE_SIZE) invalid(`configSpaceSize must be 256 or 4096`);
  if (extCaps.length > 0 && size !== PCIE_CONFIG_SPACE_SIZE)
    invalid("extended capabilities need 4096-byte config space");

  const bytes = new Uint8Array(size);
  const wmask = new Uint8Array(size);
  const w1c = new Uint8Array(size);
  const buf: ConfigBuffers = { bytes, wmask, w1c };

  writeHeader(buf, desc, hasPcie);
  const bars = writeBars(buf, desc.bars ?? []);
  const rom = writeRom(buf, desc.rom);
  const { placed, pm, msi, msix, pcie } = placeCapabilities(buf, caps, bars);
  const placedExt = placeExtendedCapabilities(buf, extCaps);

  // Sanity: masks must not make a read-only identity field writable.
  if (rd16(wmask, PciHeader.VENDOR_ID) !== 0) invalid("internal: vendor id writable");

  return {
    size,
    bytes,
    writeMask: wmask,
    w1cMask: w1c,
    bars,
    rom,
    capabilities: placed,
    extendedCapabilities: placedExt,
    pm,
    msi,
    msix,
    pcie,
  };
}
