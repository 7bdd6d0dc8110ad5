import { decodeConfigSpace, type PciConfigError, type Result } from "@emu/pci-config";
import type { PciIds } from "./bus-source.js";

/**
 * The IDs in a PCI config header (at least its first 64 bytes): vendor, device, revision, class code, and the
 * subsystem IDs of a type-0 header. Decoded by `@emu/pci-config`; bytes that do not decode are an error result.
 * Whether the vendor means "no function there" (0xffff, 0) is the caller's call.
 */
export function pciIdsFromConfig(config: Uint8Array): Result<PciIds, PciConfigError> {
  const decoded = decodeConfigSpace(config);
  if (!decoded.ok) return decoded;
  const c = decoded.value;
  return {
    ok: true,
    value: {
      vendorId: c.vendorId,
      deviceId: c.deviceId,
      revision: c.revision,
      classCode: c.classCode,
      ...(c.subsystemVendorId === undefined ? {} : { subsystemVendorId: c.subsystemVendorId }),
      ...(c.subsystemId === undefined ? {} : { subsystemDeviceId: c.subsystemId }),
    },
  };
}
