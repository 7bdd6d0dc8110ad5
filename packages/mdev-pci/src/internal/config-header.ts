import { decodeConfigSpace } from "@emu/pci-config";
import type { PciIds, VfioDevice } from "@emu/vfio-device";
import { MdevPciError } from "../errors.js";

/** VFIO_PCI_CONFIG_REGION_INDEX. */
export const CONFIG_REGION = 7;

/** The IDs in a PCI config header, decoded by @emu/pci-config. */
export function decodeConfigIds(bytes: Uint8Array, where: string): PciIds {
  const decoded = decodeConfigSpace(bytes);
  if (!decoded.ok) throw new MdevPciError("NotVfio", `${where}: ${decoded.error.message}`, { cause: decoded.error });
  const c = decoded.value;
  if (c.vendorId === 0xffff || c.vendorId === 0) {
    throw new MdevPciError(
      "NotVfio",
      `${where}: config space reads vendor 0x${c.vendorId.toString(16)}: no function there`,
    );
  }
  return {
    vendorId: c.vendorId,
    deviceId: c.deviceId,
    revision: c.revision,
    classCode: c.classCode,
    ...(c.subsystemVendorId === undefined ? {} : { subsystemVendorId: c.subsystemVendorId }),
    ...(c.subsystemId === undefined ? {} : { subsystemDeviceId: c.subsystemId }),
  };
}

/** Reads a device's IDs through its VFIO config region (how a mediated or vfio-user device is identified). */
export async function readConfigIds(device: VfioDevice, where: string): Promise<PciIds> {
  const info = await device.getRegionInfo(CONFIG_REGION);
  const length = Number(info.size < 0x40n ? info.size : 0x40n);
  return decodeConfigIds(await device.regionRead(CONFIG_REGION, 0n, length), where);
}
