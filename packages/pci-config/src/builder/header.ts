import { wr8, wr16 } from "../internal/bytes.js";
import { PciCommand, PciHeader, PciHeaderType, PciStatus } from "../registers/header.js";
import type { ConfigBuffers } from "./buffers.js";
import { checkInt } from "./checks.js";
import type { PciDeviceDescription } from "./description.js";

/** Writes the type-0 header's identity fields and the masks of its writable registers. */
export function writeHeader(buf: ConfigBuffers, desc: PciDeviceDescription, hasPcie: boolean): void {
  const { bytes, wmask, w1c } = buf;
  checkInt("vendorId", desc.vendorId, 0, 0xffff);
  checkInt("deviceId", desc.deviceId, 0, 0xffff);
  checkInt("classCode", desc.classCode, 0, 0xffffff);
  const pin = desc.interruptPin ?? 0;
  checkInt("interruptPin", pin, 0, 4);
  const revision = desc.revision ?? 0;
  checkInt("revision", revision, 0, 0xff);
  const ssvid = desc.subsystemVendorId ?? 0;
  const ssid = desc.subsystemId ?? 0;
  checkInt("subsystemVendorId", ssvid, 0, 0xffff);
  checkInt("subsystemId", ssid, 0, 0xffff);

  wr16(bytes, PciHeader.VENDOR_ID, desc.vendorId);
  wr16(bytes, PciHeader.DEVICE_ID, desc.deviceId);
  wr8(bytes, PciHeader.REVISION_ID, revision);
  wr8(bytes, PciHeader.CLASS_PROG, desc.classCode & 0xff);
  wr8(bytes, PciHeader.CLASS_DEVICE, (desc.classCode >>> 8) & 0xff);
  wr8(bytes, PciHeader.CLASS_BASE, (desc.classCode >>> 16) & 0xff);
  wr8(bytes, PciHeader.HEADER_TYPE, PciHeaderType.NORMAL | (desc.multiFunction ? PciHeaderType.MULTI_FUNCTION : 0));
  wr16(bytes, PciHeader.SUBSYSTEM_VENDOR_ID, ssvid);
  wr16(bytes, PciHeader.SUBSYSTEM_ID, ssid);
  wr8(bytes, PciHeader.INTERRUPT_PIN, pin);

  const commandMask =
    PciCommand.IO |
    PciCommand.MEMORY |
    PciCommand.MASTER |
    PciCommand.PARITY |
    PciCommand.SERR |
    PciCommand.INTX_DISABLE;
  wr16(wmask, PciHeader.COMMAND, commandMask);
  wr16(w1c, PciHeader.STATUS, PciStatus.ERROR_BITS);
  wr8(wmask, PciHeader.CACHE_LINE_SIZE, 0xff);
  // PCI Express hardwires the latency timer to 0.
  if (!hasPcie) wr8(wmask, PciHeader.LATENCY_TIMER, 0xff);
  wr8(wmask, PciHeader.INTERRUPT_LINE, 0xff);
}
