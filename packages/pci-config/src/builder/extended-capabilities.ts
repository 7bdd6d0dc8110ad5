import { wr16, wr32 } from "../internal/bytes.js";
import { PCI_EXT_CAP_START, PCIE_CONFIG_SPACE_SIZE } from "../registers/header.js";
import type { ConfigBuffers } from "./buffers.js";
import { checkInt, invalid } from "./checks.js";
import type { ExtendedCapabilityDescription } from "./description.js";
import type { PlacedCapability } from "./image.js";

/** Places the extended capabilities from 0x100 in order, each 4-byte aligned, linking each header to the next. */
export function placeExtendedCapabilities(
  buf: ConfigBuffers,
  extCaps: readonly ExtendedCapabilityDescription[],
): PlacedCapability[] {
  const { bytes, wmask, w1c } = buf;
  const placedExt: PlacedCapability[] = [];
  let eat = PCI_EXT_CAP_START;
  let prevHeader = -1;
  for (const ext of extCaps) {
    checkInt("extended capability id", ext.id, 1, 0xffff);
    checkInt("extended capability version", ext.version, 0, 0xf);
    const len = 4 + ext.data.length;
    if (eat + len > PCIE_CONFIG_SPACE_SIZE) invalid("extended capabilities do not fit below 0x1000");
    wr32(bytes, eat, (ext.id | (ext.version << 16)) >>> 0);
    bytes.set(ext.data, eat + 4);
    if (ext.writeMask) {
      if (ext.writeMask.length !== ext.data.length) invalid("extended capability writeMask length differs from data");
      wmask.set(ext.writeMask, eat + 4);
    }
    if (ext.w1cMask) {
      if (ext.w1cMask.length !== ext.data.length) invalid("extended capability w1cMask length differs from data");
      w1c.set(ext.w1cMask, eat + 4);
    }
    if (prevHeader >= 0) {
      // next pointer: bits 20..31 of the previous header.
      const prev = (bytes[prevHeader + 2] as number) | ((bytes[prevHeader + 3] as number) << 8);
      const withNext = (prev & 0x000f) | (eat << 4);
      wr16(bytes, prevHeader + 2, withNext);
    }
    placedExt.push({ id: ext.id, offset: eat, length: len });
    prevHeader = eat;
    eat = (eat + len + 3) & ~3;
  }
  return placedExt;
}
